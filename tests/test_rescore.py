"""scripts/rescore.py on a hand-made run: stored scores against today's scorers, per benchmark
and model, and against another commit's scorers."""

import json
import subprocess
import sys

import pandas as pd
import pytest
from omegaconf import OmegaConf

from tests.workflow_run import ROOT
from trouter.io import write_csv
from trouter.label.answer import LABEL_COLUMNS

# (query id, reply, score stored by an older scorer)
REPLIES = [("g1", "#### Step 2: Money\n9 x 2 = 18\n\n**Final Answer:** \\boxed{18}", 0.0),
           ("g2", "#### 18", 1.0), ("g3", "\\boxed{1{,}000}", 0.0)]


def make_run(tmp_path):
    run, labels, data = tmp_path / "run", tmp_path / "labels", tmp_path / "data"
    for folder in (run, labels, data):
        folder.mkdir()
    golds = {"g1": "18", "g2": "18", "g3": "1000"}
    (data / "queries.jsonl").write_text("".join(
        json.dumps({"query_id": q, "dataset": "gsm8k", "fields": {}, "reference": g}) + "\n"
        for q, g in golds.items()))
    rows = [{c: "" for c in LABEL_COLUMNS} | {"query_id": q, "dataset": "gsm8k", "model": m,
                                               "response": reply, "score": score, "cost": 0.0,
                                               "split": "test"}
            for q, reply, score in REPLIES for m in ("a", "b")]
    write_csv(labels / "labels.csv", pd.DataFrame(rows), LABEL_COLUMNS)
    (run / "point.json").write_text(json.dumps({"folders": {
        "collect_labels": {"dir": str(labels)}, "data/gsm8k": {"dir": str(data)}}}))
    OmegaConf.save(OmegaConf.create({"labeling": {"sandbox": {"timeout_s": 5, "memory_mb": 512}},
                                     "benchmarks": {"multi_news": {"metric": "rouge_l"}}}),
                   run / "config.yaml")
    return run


def rescore(*args):
    return subprocess.run([sys.executable, str(ROOT / "scripts/rescore.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=120, check=True).stdout


def test_stored_scores_against_todays_scorers(tmp_path):
    out = rescore(make_run(tmp_path), "--show", "1")
    lines = out.splitlines()
    # g1 (a Markdown heading before the boxed answer) and g3 (LaTeX thousands) change, per model
    assert any(line.split()[:4] == ["gsm8k", "a", "3", "2"] for line in lines), out
    assert any(line.split()[:4] == ["gsm8k", "b", "3", "2"] for line in lines), out
    assert "all: 4 of 6 labels change score" in out
    assert "g1: 0.000 -> 1.000" in out


OLD = "b626895"  # the last commit before this suite


def has_commit(commit: str) -> bool:
    return subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{commit}^{{commit}}"],
                          capture_output=True).returncode == 0


@pytest.mark.skipif(not has_commit(OLD), reason=f"this clone lacks commit {OLD} (shallow)")
def test_another_commits_scorers(tmp_path):
    # its scorers take the heading's 2 and read 1{,}000 as 0: the stored scores again
    out = rescore(make_run(tmp_path), "--against", OLD)
    assert "all: 4 of 6 labels change score" in out


def test_the_suite_with_this_trees_scorers():
    out = rescore("--suite")
    scored = sum('"score": null' not in line for line in
                 (ROOT / "tests/data/scorer_cases.jsonl").read_text().splitlines())
    assert f"all: 0 of {scored} cases missed" in out
