"""Thin Hydra entry points, one per Snakemake rule: `python -m trouter.cli.<rule> key=value ...`."""
