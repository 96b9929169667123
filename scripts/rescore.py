"""Re-score a run's recorded benchmark answers and count, per benchmark and model, the labels
whose score changes: the scores stored in the run against this tree's scorers, or (--against)
another commit's scorers against this tree's. Nothing in the run is changed. With --suite, the
scorer conformance suite (tests/data/scorer_cases.jsonl) instead of a run: per benchmark, the
cases whose expected score the scorers (this tree's, or --against a commit's) miss.

    python scripts/rescore.py results/demo
    python scripts/rescore.py results/demo --against b626895 --show 5
    python scripts/rescore.py --suite --against b626895
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from trouter.io import read_jsonl
from trouter.label.answer import LABEL_COLUMNS
from trouter.label.tables import read_label_table
from trouter.layout import CONFIG, LABELS, MANIFEST, QUERIES_JSONL

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "tests" / "data" / "scorer_cases.jsonl"
# Scores every (query, response) of a JSON file with the scorers found on PYTHONPATH; older
# trees take no Multi-News metric.
SCORE = """
import inspect, json, sys
from trouter.label.scoring import score_response
from trouter.score.sandbox import Limits
rows, limits, metric = json.load(open(sys.argv[1]))
extra = [metric] if len(inspect.signature(score_response).parameters) > 3 else []
print(json.dumps([score_response(q, r, Limits(*limits), *extra)[0] for q, r in rows]))
"""


def scores(src: Path, rows_file: Path) -> list[float]:
    out = subprocess.run([sys.executable, "-c", SCORE, str(rows_file)], check=True,
                         capture_output=True, text=True, env={"PYTHONPATH": str(src)})
    return json.loads(out.stdout)


def checkout_src(commit: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "src/trouter"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def answered_labels(run_dir: Path) -> tuple[pd.DataFrame, dict, dict]:
    """The run's benchmark labels that hold a response, their query records by id, and the
    run's config (sandbox limits, Multi-News metric)."""
    folders = json.loads((run_dir / MANIFEST).read_text())["folders"]
    cfg = OmegaConf.load(run_dir / CONFIG)
    if "collect_labels" not in folders:
        sys.exit(f"{run_dir}: recorded outcomes (no candidate responses): nothing to re-score")
    labels = read_label_table(Path(folders["collect_labels"]["dir"]) / LABELS, LABEL_COLUMNS)
    labels = labels[(labels["dataset"] != "synthetic") & (labels["error"] == "")]
    records = {r["query_id"]: r for d in sorted(set(labels["dataset"]))
               for r in read_jsonl(Path(folders[f"data/{d}"]["dir"]) / QUERIES_JSONL)}
    return labels.reset_index(drop=True), records, cfg


def suite(against: str | None) -> None:
    """Per benchmark, how many scored cases of the conformance suite miss their expected score."""
    sys.path.insert(0, str(ROOT))
    from tests.test_scorer_cases import CASES, query

    cases = [c for c in CASES if c["score"] is not None]
    with tempfile.TemporaryDirectory() as tmp:
        rows_file = Path(tmp) / "rows.json"
        rows_file.write_text(json.dumps([[(query(c), c["response"]) for c in cases], [10, 512],
                                         "rouge_l"]))
        src = checkout_src(against, Path(tmp)) if against else ROOT / "src"
        got = scores(src, rows_file)
    table = pd.DataFrame({"benchmark": [c["benchmark"] for c in cases],
                          "missed": [abs(g - c["score"]) > 1e-4 for g, c in zip(got, cases,
                                                                               strict=True)]})
    print(f"scorers of {'commit ' + against if against else 'this tree'} on {SUITE.name}")
    print(table.groupby("benchmark")["missed"].agg(["sum", "size"]).rename(
        columns={"sum": "missed", "size": "cases"}).to_string())
    print(f"all: {int(table['missed'].sum())} of {len(table)} cases missed")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path, nargs="?", help="a run folder, e.g. results/demo")
    ap.add_argument("--against", help="score with this commit's scorers instead of the stored "
                                      "scores (or this tree's, with --suite)")
    ap.add_argument("--suite", action="store_true", help="score the conformance suite")
    ap.add_argument("--show", type=int, default=0, help="print this many changed labels")
    args = ap.parse_args()
    if args.suite:
        return suite(args.against)
    if args.run_dir is None:
        ap.error("name a run folder, or --suite")
    labels, records, cfg = answered_labels(args.run_dir)
    pairs = [(records[q], r) for q, r in zip(labels["query_id"], labels["response"], strict=True)]
    limits = [float(cfg.labeling.sandbox.timeout_s), int(cfg.labeling.sandbox.memory_mb)]
    with tempfile.TemporaryDirectory() as tmp:
        rows_file = Path(tmp) / "rows.json"
        rows_file.write_text(json.dumps([pairs, limits, str(cfg.benchmarks.multi_news.metric)]))
        labels["new"] = scores(ROOT / "src", rows_file)
        labels["old"] = (scores(checkout_src(args.against, Path(tmp)), rows_file)
                         if args.against else labels["score"])
    labels["changed"] = (labels["old"] - labels["new"]).abs() > 1e-12
    table = labels.groupby(["dataset", "model"]).agg(
        labels=("changed", "size"), changed=("changed", "sum"), mean_before=("old", "mean"),
        mean_after=("new", "mean")).reset_index()
    print(f"{args.run_dir}: {'commit ' + args.against if args.against else 'stored scores'} "
          "-> this tree's scorers")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    print(f"all: {int(labels['changed'].sum())} of {len(labels)} labels change score")
    for row in labels[labels["changed"]].head(args.show).itertuples(index=False):
        print(f"\n{row.dataset} {row.model} {row.query_id}: {row.old:.3f} -> {row.new:.3f}\n"
              f"  {row.response[-300:]!r}")


if __name__ == "__main__":
    main()
