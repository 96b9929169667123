"""Entry point of the Snakemake rule compare: `python -m trouter.cli.compare STORE RUN...` writes
STORE/compare/ from the points' run folders."""

import argparse
import logging
import os
import sys
from pathlib import Path

from trouter.errors import TrouterError
from trouter.stages.compare import run

log = logging.getLogger("trouter")


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("store", type=Path, help="the sweep's folder, results/<sweep>")
    ap.add_argument("runs", type=Path, nargs="+", help="the points' run folders")
    ap.add_argument("--logger", choices=("wandb", "none"), default="wandb")
    args = ap.parse_args(argv)
    os.environ.setdefault("WANDB_MODE", "offline")
    try:
        out = run(args.store, args.runs, args.logger)
    except (TrouterError, OSError) as exc:
        log.error("compare failed: %s", exc)
        sys.exit(2)
    log.info("compared %d points in %s", out["points"], args.store / "compare")


if __name__ == "__main__":
    main()
