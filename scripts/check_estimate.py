"""How close `trouter estimate` comes to what a finished run really spent.

    python scripts/check_estimate.py results/demo --experiment demo

Reads every calls.jsonl under the run folder (live, successful calls: the run's first pass; later
reruns were answered by the cache) and prints, per stage and role, the estimate of a fresh run of
the same experiment next to the measured calls and tokens, with the relative errors."""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from pathlib import Path

import pandas as pd

from trouter.estimate import estimate
from trouter.route.report import frame_markdown
from trouter.sweep import plans

STAGES = {"labels": "label_candidates"}


def measured(run: Path) -> pd.DataFrame:
    agg = defaultdict(lambda: [0, 0, 0])
    for path in run.rglob("calls.jsonl"):
        stage = path.relative_to(run).parts[0]
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row.get("error") or row.get("cached"):
                continue
            a = agg[(STAGES.get(stage, stage), row["role"])]
            a[0] += 1
            a[1] += row["prompt_tokens"]
            a[2] += row["completion_tokens"]
    return pd.DataFrame([(s, r, *v) for (s, r), v in agg.items()],
                        columns=["stage", "role", "calls", "prompt_tokens", "completion_tokens"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path)
    ap.add_argument("--experiment", default="demo")
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as fresh:
        points = plans(args.experiment, fresh, args.overrides)
        est = estimate(points, points[0].cfg.estimate)
    cols = ["calls", "prompt_tokens", "completion_tokens"]
    est = est.groupby(["stage", "role"], as_index=False)[cols].sum()
    got = measured(args.run)
    table = est.merge(got, on=["stage", "role"], how="outer", suffixes=("_est", "_measured"))
    table = table.fillna(0)
    total = table[[c for c in table.columns if c not in ("stage", "role")]].sum()
    table.loc[len(table)] = {"stage": "total", "role": "", **total.to_dict()}
    for c in cols:
        table[f"{c}_error"] = (table[f"{c}_est"] - table[f"{c}_measured"]) / table[
            f"{c}_measured"].where(table[f"{c}_measured"] > 0)
    print(frame_markdown(table, 3))


if __name__ == "__main__":
    main()
