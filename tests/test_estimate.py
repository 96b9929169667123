"""trouter estimate: calls counted from the config, work already done is free, the budget."""

import json
import subprocess
import sys

import pytest

from tests.workflow_run import ROOT
from trouter.errors import TrouterError
from trouter.estimate import check_budget, estimate, totals
from trouter.sweep import plans


def calls(table, stage, role):
    rows = table[(table["stage"] == stage) & (table["role"] == role)]
    return int(rows["calls"].sum()), int(rows["cached"].sum())


def test_smoke_calls_follow_the_config(tmp_path):
    (point,) = plans("smoke", str(tmp_path), ["routing.routers=[trouter,prompt_llm]"])
    table = estimate([point], point.cfg.estimate)
    # 1 domain, 2 subcategories: 3 expansions, each proposed once and reviewed `patience` (1) times
    assert calls(table, "expand_taxonomy", "generator") == (3, 0)
    assert calls(table, "expand_taxonomy", "evaluator") == (3, 0)
    # 4 difficulty nodes x ceil(3 QA / batch of 3)
    assert calls(table, "generate_qa", "qa_writer") == (4, 0)
    # 5 benchmarks x (1 + 1 + 1) questions + 4 nodes x (2 + 1) synthetic, for each of 2 candidates
    assert calls(table, "label_candidates", "candidate") == (2 * (15 + 12), 0)
    assert calls(table, "label_candidates", "judge") == (2 * 12, 0)
    # PromptLLM: 3 named settings x 5 test questions, once (the second protocol is cached)
    assert calls(table, "train_router", "router") == (15, 0)
    total = totals(table)
    assert list(total["currency"]) == ["USD-nominal"] and total["cost"].iloc[0] > 0


def test_the_authors_labeller_asks_three_times_a_query(tmp_path):
    one, = plans("smoke", str(tmp_path), ["routing.task_prior=llm"])
    three, = plans("smoke", str(tmp_path), ["routing.task_prior=llm",
                                            "routing.labeller_prompt=authors"])
    ours = calls(estimate([one], one.cfg.estimate), "assign_tasks", "labeller")[0]
    # 5 benchmarks x (1 train + 1 val + 1 test) real questions
    assert ours == 15 and calls(estimate([three], three.cfg.estimate), "assign_tasks",
                                "labeller")[0] == 3 * ours


def test_finished_and_half_done_work_is_free(tmp_path):
    (point,) = plans("smoke", str(tmp_path), [])
    lay = point.layout
    done = lay.labels("gsm8k", "smollm2-135m-local")
    done.mkdir(parents=True)
    (done / "labels.csv").write_text("query_id\n")
    half = lay.labels("squad", "smollm2-135m-local")
    half.mkdir(parents=True)
    rows = [{"key": "a", "error": None}, {"key": "b", "error": None},
            {"key": "c", "error": "timeout"}]
    (half / "calls.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    table = estimate([point], point.cfg.estimate)
    # gsm8k's 3 and 2 of squad's 3 are free for this candidate
    assert calls(table, "label_candidates", "candidate") == (2 * 27 - 5, 5)


def test_budget_refuses_an_expensive_run(tmp_path):
    (point,) = plans("smoke", str(tmp_path), [])
    table = estimate([point], point.cfg.estimate)
    check_budget(table, {"USD-nominal": 1.0})
    with pytest.raises(TrouterError, match="USD-nominal: estimated .* > budget 1e-09"):
        check_budget(table, {"USD-nominal": 1e-9})
    with pytest.raises(TrouterError, match="budget.USD"):
        check_budget(table, {"USD": -1})
    # Snakemake refuses to start (before any job) and says why
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", "--config", "experiment=smoke",
         f"results_dir={tmp_path}", 'overrides=["+budget.USD-nominal=1e-9"]'],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "exceeds its budget" in proc.stdout + proc.stderr
    assert not list(tmp_path.rglob("labels.csv")) and not list(tmp_path.rglob("nodes.csv"))
