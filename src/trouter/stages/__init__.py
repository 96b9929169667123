"""One pure `run(cfg)` per Snakemake rule; the Hydra shims live in trouter.cli."""
