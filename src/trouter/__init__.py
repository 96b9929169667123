"""trouter: a reproducible pipeline for cold-start LLM routing."""

__version__ = "0.1.0"
