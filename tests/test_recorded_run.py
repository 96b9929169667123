"""The recorded experiment through Snakemake: import -> embed -> assign -> train -> evaluate ->
report, on a per-task sample of LLMRouter's outcomes (no LLM server involved)."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from tests.data_paths import data_dir
from tests.workflow_run import ROOT, folder, run_or_fail

# Three of the experiment's routers (the others have their own tests; RouterDC and the authors'
# TRouter take minutes even here), each trained once (no grid: the search has its own tests).
TRAIN, TEST = 20, 4  # queries per task
OVERRIDES = [f"recorded.limit_per_task={{train:{TRAIN},test:{TEST}}}",
             "routing.routers=[trouter,adaptive_llm,knn]",
             "++router.max_epochs=8", "++router.grid=null", "evaluation.resamples=1000"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    overrides = "[" + ",".join(f'"{o}"' for o in OVERRIDES) + "]"
    return run_or_fail("llmrouter", tmp_path_factory.mktemp("results"),
                       f"overrides={overrides}", env={"TROUTER_DATA_DIR": str(data_dir())},
                       timeout=900)


def test_no_synthesis_or_labeling(run_dir):
    assert not (run_dir / "expand_taxonomy").exists() and not (run_dir / "data").exists()
    imported = json.loads((folder(run_dir, "import_routing") / "import.json").read_text())
    assert imported["dropped"]["overlap_train_test"] == 119  # counted before sampling
    pool = json.loads((folder(run_dir, "import_routing") / "pool.json").read_text())
    assert len(pool["models"]) == 9 and pool["ordered_by"].startswith("price")
    assert pool["cost_basis"].startswith("ESTIMATED")
    prices = [sum(pool["prices"][m].values()) for m in pool["models"]]
    assert prices == sorted(prices)
    embed = json.loads((folder(run_dir, "embed_queries") / "summary.json").read_text())
    assert embed["taxonomy"].endswith("conf/taxonomies/llmrouter.csv")
    assert embed["task_types"] == 14 and embed["collisions"]["queries"] == 0


def test_every_router_and_protocol_is_reported(run_dir):
    utility = pd.read_csv(run_dir / "report/utility.csv")
    pool = json.loads((folder(run_dir, "import_routing") / "pool.json").read_text())
    methods = {"oracle", "random", "task_best", "trouter", "adaptive_llm", "knn",
               *pool["models"]}
    for protocol in ("in_domain", "leave_one_task_out"):
        rows = utility[utility["protocol"] == protocol].set_index("method")
        assert set(rows.index) == methods
        assert (rows["utility_sum"] <= rows.loc["oracle", "utility_sum"] + 1e-9).all()
    # oracle and single models do not depend on the protocol
    refs = utility[utility["method"].isin(["oracle", *pool["models"]])]
    assert refs.groupby("method")["utility_sum"].nunique().max() == 1
    loto = json.loads((folder(run_dir, "train_router/trouter/leave_one_task_out") / "summary.json")
                      .read_text())
    tested = {f: v["test_queries"] for f, v in loto["folds"].items()}
    assert len(tested) == 10 and set(tested.values()) == {TEST}  # 10 tasks have test queries
    # at most the 13 other tasks' TRAIN - 2 (2 carved for validation): the held-out task's
    # queries are not trained on (with them, a fold would train on 14 x 18)
    assert all(v["train_queries"] <= 13 * (TRAIN - 2) for v in loto["folds"].values())
    points = pd.read_csv(run_dir / "evaluate/points.csv")
    assert len(points) == 2 * len(methods) * 21
    aiq = pd.read_csv(run_dir / "report/aiq.csv")
    assert aiq["aiq"].between(0, 1).all() and (aiq["dataset"] == "mean").sum() == 2 * len(methods)
    table = (run_dir / "report/table.md").read_text()
    assert "**Leave one task out" in table and "ESTIMATED" in table
    assert "| kNN |" in table and "| in_domain | trouter | knn |" in table
    # the experiment's seeds: TRouter 5 in-domain, 1 leaving a task out; kNN has no randomness
    seeds = pd.read_csv(run_dir / "evaluate/seeds.csv").set_index(["protocol", "method"])
    assert list(seeds.index) == [("in_domain", "trouter")] and seeds["seeds"].iloc[0] == 5
    comparisons = pd.read_csv(run_dir / "evaluate/comparisons.csv")
    mine = comparisons[comparisons["method"] == "trouter"].set_index("protocol")
    assert set(mine.loc["in_domain", "seeds"]) == {5} and set(
        mine.loc["leave_one_task_out", "seeds"]) == {1}
    # every recorded query takes its own task's node (task_prior=dataset)
    prior = json.loads((folder(run_dir, "assign_tasks") / "summary.json").read_text())
    assert prior["method"] == "dataset" and not prior["warnings"]
    assert all(v["own_share"] == 1.0 for v in prior["per_dataset"].values())
    assert "**Ablations**" not in table  # no cold-start on recorded data
    assert (run_dir / "report/cost_quality.png").stat().st_size > 10_000


def test_bad_recorded_data_exits_non_zero_and_names_the_place(tmp_path):
    bad = tmp_path / "logs.csv"
    bad.write_text("query_id,task,query,model,score,cost\n"
                   "1,math,What is 2+2?,a,1.0,0.1\n1,math,What is 2+2?,b,1.5,0.2\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline"}
    proc = subprocess.run([sys.executable, "-m", "trouter.cli.import_routing", "recorded=long",
                           f"recorded.path={bad}", f"paths.results_dir={tmp_path}/results"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "logs.csv" in proc.stderr and "row 2" in proc.stderr and "score" in proc.stderr
    assert not list((tmp_path / "results").rglob("labels*"))  # nothing that looks complete
