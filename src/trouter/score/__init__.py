"""Scorers: a response and a reference in, a score in [0, 1] out."""
