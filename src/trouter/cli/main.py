"""`trouter`: the commands around the Snakemake workflow.

  trouter sweep NAME [-m AXIS ...] [--slurm] [-- SNAKEMAKE ARGS]
      a sweep (conf/sweep/NAME.yaml, or the -m axes) as one DAG
  trouter estimate [...]         LLM calls, tokens and cost, before any call
  trouter plan KEY=VALUE ...     a point's resolved config and manifest
  trouter compare STORE RUN ...  a sweep's comparison again"""

from __future__ import annotations

import sys

from trouter.cli import compare, estimate, plan, sweep

COMMANDS = {"sweep": sweep.main, "estimate": estimate.main, "plan": plan.main,
            "compare": compare.main}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(0 if argv and argv[0] in ("-h", "--help") else 2)
    COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    main()
