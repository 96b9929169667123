"""Routers, baselines and the utility they are judged by."""
