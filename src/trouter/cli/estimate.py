"""`trouter estimate`: what a run or sweep will spend, before any call.

  trouter estimate --experiment demo
  trouter estimate --sweep smoke                       # conf/sweep/smoke.yaml
  trouter estimate --sweep mine -m synthesizer=a,b seed=1,2 --experiment smoke
Extra KEY=VALUE arguments are Hydra overrides of every point (as `overrides` in Snakemake)."""

from __future__ import annotations

import argparse
import logging
import sys

from trouter.errors import TrouterError
from trouter.estimate import check_budget, estimate, totals
from trouter.route.report import frame_markdown
from trouter.sweep import plans

log = logging.getLogger("trouter")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="trouter estimate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experiment", default="demo")
    ap.add_argument("--name", default="")
    ap.add_argument("--results-dir", default="results")
    ap.add_argument("--sweep", default="")
    ap.add_argument("-m", "--multirun", nargs="+", default=[], metavar="AXIS")
    ap.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    return ap


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    args = parser().parse_args(argv)
    try:
        points = plans(args.experiment, args.results_dir, args.overrides, name=args.name,
                       sweep=args.sweep, multirun=args.multirun)
        table = estimate(points, points[0].cfg.estimate)
        print(f"{len(points)} point(s); calls still to make (the cache holds `cached`):\n")
        print(frame_markdown(table, 6) if len(table) else "no LLM calls")
        print("\nTotal per currency:\n")
        print(frame_markdown(totals(table), 6) if len(table) else "nothing to spend")
        check_budget(table, points[0].cfg.budget)
    except TrouterError as exc:
        log.error("estimate: %s", exc)
        sys.exit(2)


if __name__ == "__main__":
    main()
