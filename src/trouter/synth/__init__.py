"""Synthesis: taxonomy expansion, QA generation, dedup."""
