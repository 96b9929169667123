"""`trouter sweep NAME`: a sweep as one Snakemake DAG.

  trouter sweep smoke                                       # conf/sweep/smoke.yaml
  trouter sweep synth -m synthesizer=a,b router=trouter,knn seed=1,2,3 --experiment demo
  trouter sweep synth --slurm -- --default-resources slurm_partition=gpu slurm_account=me
The axes use Hydra's multirun syntax (a,b / range(1,4) / choice(...)); points go to
results/NAME/points/<point>/, the comparison to results/NAME/compare/. Arguments after `--` go to
snakemake as they are (-n for a dry run, --cores, ...)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

PROFILES = {False: "workflow/profiles/default", True: "workflow/profiles/slurm"}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[:argv.index("--")] if "--" in argv else argv
    ap = argparse.ArgumentParser(prog="trouter sweep", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", help="the sweep's name (and conf/sweep/<name>.yaml without -m)")
    ap.add_argument("-m", "--multirun", nargs="+", default=[], metavar="AXIS")
    ap.add_argument("--experiment", default="smoke")
    ap.add_argument("--results-dir", default="results")
    ap.add_argument("--slurm", action="store_true", help="submit through workflow/profiles/slurm")
    args = ap.parse_args(own)
    axes = "[" + ",".join(f'"{a}"' for a in args.multirun) + "]"
    cmd = [sys.executable, "-m", "snakemake", "--workflow-profile", PROFILES[args.slurm],
           "--config", f"sweep={args.name}", f"experiment={args.experiment}",
           f"results_dir={args.results_dir}", f"multirun={axes}", *extra]
    env = {**os.environ, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"),
           "WANDB_MODE": os.environ.get("WANDB_MODE", "offline")}
    sys.exit(subprocess.call(cmd, env=env))


if __name__ == "__main__":
    main()
