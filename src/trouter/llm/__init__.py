"""One client layer for any OpenAI-compatible endpoint, plus managed local llama.cpp servers."""
