"""assign_tasks -> train_router -> evaluate -> report on a small made-up run folder."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from tests.test_config import CONF
from trouter.errors import TrouterError
from trouter.io import read_json, write_csv
from trouter.label.answer import LABEL_COLUMNS
from trouter.label.tables import SUMMARY_COLUMNS, summarize
from trouter.layout import Layout
from trouter.plan import write_point
from trouter.route.data import pack_texts
from trouter.route.pool import write_pool
from trouter.stages import assign_tasks, evaluate, report, train_router
from trouter.stages.embed_queries import save_npz

MODELS = ["smollm2-135m-local", "qwen2.5-coder-0.5b-local"]  # the smoke pool, cheapest first
NODES = [("nD", "", "domain"), ("nS", "nD", "subcategory"), ("nA", "nS", "difficulty"),
         ("nB", "nS", "difficulty")]


def make_run(root, rng, benchmarks=("gsm8k",), extra=()) -> Layout:
    """Synthetic queries of two task types: the big model is needed on nB only; benchmark
    queries look like one or the other. Written where the layout of config(root, *extra) reads
    them."""
    lay = Layout(config(root, *extra))
    write_csv(lay.taxonomy() / "nodes.csv", pd.DataFrame(
        [{"id": i, "parent_id": p, "level": lv, "name": i, "definition": "d", "example": "e"}
         for i, p, lv in NODES]), ["id", "parent_id", "level", "name", "definition", "example"])
    centers = {"nA": rng.normal(size=16), "nB": rng.normal(size=16)}
    rows, vecs = [], {}
    specs = [("synthetic", "train", 20), ("synthetic", "val", 6),
             *[(b, split, n) for b in benchmarks for split, n in
               (("train", 10), ("val", 4), ("test", 12))]]
    for dataset, split, n in specs:
        for i in range(n):
            node = "nA" if i % 2 else "nB"
            qid = f"{dataset}-{split}-{i}"
            v = centers[node] + rng.normal(0, 0.1, 16)
            vecs[qid] = v / np.linalg.norm(v)
            for j, model in enumerate(MODELS):
                score = 1.0 if (node == "nA" or j == 1) else 0.0
                cost = 1e-6 * (1 + 4 * j)
                rows.append({"query_id": qid, "dataset": dataset, "task": dataset, "split": split,
                             "node_id": node if dataset == "synthetic" else "", "model": model,
                             "prompt": qid, "response": "r", "score": score, "extracted": "",
                             "finish_reason": "stop", "prompt_tokens": 10,
                             "completion_tokens": 5, "cost": cost, "currency": "USD-nominal",
                             "latency_s": 0.1, "cached": False, "error": "", "cost_norm": j})
    write_csv(lay.collected() / "labels.csv", pd.DataFrame(rows), [*LABEL_COLUMNS, "cost_norm"])
    write_csv(lay.collected() / "summary.csv", summarize(pd.DataFrame(rows)), SUMMARY_COLUMNS)
    write_pool(lay.collected() / "pool.json",
               {"models": MODELS, "ordered_by": "price", "prices": None,
                "currency": "USD-nominal", "cost_basis": "made up"})
    ids = sorted(vecs)
    save_npz(lay.embed() / "queries.npz", ids=np.array(ids),
             vectors=np.stack([vecs[q] for q in ids]).astype(np.float32),
             **pack_texts([f"question {q}" for q in ids]))
    tasks = np.stack([centers["nA"], centers["nB"]])
    tasks /= np.linalg.norm(tasks, axis=1, keepdims=True)
    coarse = tasks.mean(0, keepdims=True)
    coarse /= np.linalg.norm(coarse)
    save_npz(lay.embed() / "task_types.npz", ids=np.array(["nA", "nB"]),
             texts=np.array(["a", "b"]), vectors=tasks.astype(np.float32),
             ancestors=np.array([["nD", "nS"], ["nD", "nS"]]),
             coarse_ids=np.array(["nD", "nS"]), coarse_levels=np.array(["domain", "subcategory"]),
             coarse_vectors=np.concatenate([coarse, coarse]).astype(np.float32))
    return lay


def overrides(root, *extra, router="trouter"):
    """TRouter tuned for the tiny table; like every router.* override of a run, the tuning is
    part of every router's config (the others ignore it)."""
    return ["experiment=smoke", f"paths.results_dir={root}", "routing.logger=none",
            f"router={router}", "routing.routers=[trouter,adaptive_llm]", "routing.star=[]",
            "++router.max_epochs=60", "++router.lr=0.01", *extra]


def config(root, *extra, router="trouter"):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=overrides(root, *extra, router=router))


def router_dir(root, router, protocol, *extra):
    """Where train_router wrote this router's outputs."""
    return Layout(config(root, f"routing.protocol={protocol}", *extra, router=router)).router(
        router, protocol)


def test_routing_stages(tmp_path):
    lay = make_run(tmp_path, np.random.default_rng(0))
    summary = assign_tasks.run(config(tmp_path))
    assigned = pd.read_csv(lay.assign() / "assignments.csv")
    # every real query gets one: train and val are in-domain priors, test the recognition reference
    assert summary["method"] == "nearest" and len(assigned) == 26
    # odd questions were drawn around nA, even ones around nB
    want = ["nA" if int(q.rsplit("-", 1)[1]) % 2 else "nB" for q in assigned["query_id"]]
    assert list(assigned["node_id"]) == want
    for protocol in ("cold_start", "in_domain"):
        s = train_router.run(config(tmp_path, f"routing.protocol={protocol}"))
        assert s["models"] == MODELS and s["folds"]["all"]["epochs"] >= 1
        folder = router_dir(tmp_path, "trouter", protocol)
        # the grid's tries each in their folder; the chosen one's checkpoint in the summary
        chosen = Path(s["folds"]["all"]["checkpoint"])
        assert chosen.is_file() and chosen.parent.parent == folder / "all"
        assert len(s["folds"]["all"]["selection"]["tried"]) == 2
        metrics = pd.read_csv(chosen.parent / "metrics.csv")
        assert {"train/loss", "val/loss", "val/task_acc"} <= set(metrics.columns)
        assert not list(folder.glob("all/*/wandb"))  # logger=none
        # test queries were drawn around their task type: recognition finds every one
        assert s["task_recognition"]["gsm8k"] == {"queries": 12, "top1": 1.0,
                                                  "against": "assigned task type"}
        pred = pd.read_csv(folder / "predictions.csv")
        assert (pred["p"] == 1).all() and len(pred) == 12 * 21  # one pick per query and setting
        a = train_router.run(config(tmp_path, f"routing.protocol={protocol}",
                                    router="adaptive_llm"))
        assert a["folds"]["all"] == {"train_queries": 20 if protocol == "cold_start" else 10,
                                     "val_queries": 6 if protocol == "cold_start" else 4,
                                     "test_queries": 12}
    write_point(overrides(tmp_path))
    evaluate.run(config(tmp_path))
    report.run(config(tmp_path))
    run = lay.run
    utility = pd.read_csv(run / "report/utility.csv")
    sums = ["cost_first", "balanced", "perf_first", "utility_sum"]
    assert list(utility.columns) == ["protocol", "method", *[
        f"{c}{k}{x}" for k in ("", "_macro") for c in sums for x in ("", "_lo", "_hi")]]
    # one benchmark: its macro average is the pooled mean
    assert np.allclose(utility["utility_sum_macro"], utility["utility_sum"])
    for c in sums:  # every mean inside its interval
        assert (utility[f"{c}_lo"] <= utility[c] + 1e-12).all()
        assert (utility[c] <= utility[f"{c}_hi"] + 1e-12).all()
    methods = {"oracle", "random", "task_best", "adaptive_llm", "trouter", *MODELS}
    for setting in ("cold_start", "in_domain"):
        rows = utility[utility["protocol"] == setting].set_index("method").drop(columns="protocol")
        assert set(rows.index) == methods
        assert (rows.drop(index="oracle") <= rows.loc["oracle"] + 1e-12).all().all()
        # the router learned which task type needs the big model: it matches the oracle
        assert rows.loc["trouter", "utility_sum"] == pytest.approx(rows.loc["oracle",
                                                                            "utility_sum"])
    assert (utility["utility_sum"] - utility[["cost_first", "balanced", "perf_first"]]
            .sum(axis=1)).abs().max() < 1e-12
    # the router matches the oracle here: it closes the whole gap and beats the references
    gap = pd.read_csv(run / "evaluate/gap.csv").set_index(["protocol", "method"])
    assert gap.loc[("cold_start", "trouter"), "utility_sum"] == pytest.approx(1.0)
    assert gap["cost_first"].isna().all()  # the cheap model is the oracle there: no gap
    comparisons = pd.read_csv(run / "evaluate/comparisons.csv")
    trouter = comparisons[comparisons["method"] == "trouter"]
    assert set(trouter["against"]) == {"adaptive_llm", MODELS[0], "task_best"}
    assert (trouter["utility_sum_diff"] > 0).all() and (trouter["p_value"] < 0.05).all()
    adaptive = comparisons[comparisons["method"] == "adaptive_llm"]
    assert set(adaptive["against"]) == {MODELS[0], "task_best"}  # not against itself
    # the best model per task: on gsm8k's training rows the small model scores 0.5 at cost_norm
    # 0, the big one 1.0 at 1; mean training utility picks small, small, big per setting
    choices = pd.read_csv(run / "evaluate/choices.csv")
    lookup = choices[(choices["method"] == "task_best") & (choices["protocol"] == "in_domain")]
    assert lookup.groupby("utility_setting")["model"].agg(set).to_dict() == {
        "cost_first": {MODELS[0]}, "balanced": {MODELS[0]}, "perf_first": {MODELS[1]}}
    assert set(comparisons[comparisons["method"] == "task_best"]["against"]) == {
        MODELS[0], "adaptive_llm"}
    assert ("in_domain", "task_best") in gap.index
    assert "| *best model per task* |" in (run / "report/table.md").read_text()
    assert (run / "report/cost_quality.png").stat().st_size > 10_000
    aiq = pd.read_csv(run / "report/aiq.csv")
    assert set(aiq["dataset"]) == {"gsm8k", "mean"} and (aiq["points"] == 21).all()
    aiq = aiq[aiq["dataset"] == "mean"].set_index(["protocol", "method"])["aiq"]
    assert aiq[("cold_start", "oracle")] >= aiq.max() - 1e-12
    assert aiq[("cold_start", "trouter")] == pytest.approx(aiq[("cold_start", "oracle")])
    table = (run / "report/table.md").read_text()
    assert "| trouter |" in table and "| trouter | cold_start | gsm8k | 12 | 1.00 |" in table
    assert "**Routers against the references**" in table and "**AIQ**" in table
    assert "| cold_start | trouter | smollm2-135m-local | – | – | 1.00 | 1.00 |" in table
    recognition = pd.read_csv(run / "report/task_recognition.csv")
    assert set(recognition["method"]) == {"trouter"} and len(recognition) == 2


def test_star_variants_ablations_and_the_paper_table(tmp_path):
    lay = make_run(tmp_path, np.random.default_rng(0), benchmarks=("gsm8k", "squad"))
    run = lay.run
    routing = ["routing.routers=[trouter,adaptive_llm,metric_router,trouter_domain,knn]",
               "routing.star=[metric_router]", "routing.protocols=[cold_start]"]
    assign_tasks.run(config(tmp_path, *routing))
    for router in ("trouter", "adaptive_llm", "metric_router", "trouter_domain", "knn"):
        train_router.run(config(tmp_path, *routing, "routing.protocol=cold_start",
                                router=router))
    star = train_router.run(config(tmp_path, *routing, "routing.protocol=cold_start",
                                   "routing.variant=star", router="metric_router"))
    # metric_router_star: per benchmark, trained on the other benchmark's real data only
    assert star["router"] == "metric_router_star" and star["trained_on"].startswith("leave_one")
    assert sorted(star["folds"]) == ["gsm8k", "squad"]
    assert all(f["train_queries"] == 10 and f["test_queries"] == 12
               for f in star["folds"].values())
    assert star["folds"]["gsm8k"]["selection"]["chosen_on"] == "validation loss"
    domain = read_json(router_dir(tmp_path, "trouter_domain", "cold_start", *routing)
                       / "summary.json")
    assert domain["task_level"] == "domain" and domain["task_types"] == 1
    with pytest.raises(TrouterError, match="no star variant"):
        train_router.run(config(tmp_path, *routing, "routing.protocol=cold_start",
                                "routing.variant=star", router="trouter"))
    write_point(overrides(tmp_path, *routing))
    evaluate.run(config(tmp_path, *routing))
    shares = pd.read_csv(run / "evaluate/shares.csv")
    assert set(shares["method"]) == {"oracle", "random", "task_best", "trouter", "adaptive_llm",
                                     "knn", "metric_router", "trouter_domain",
                                     "metric_router_star"}
    comparisons = pd.read_csv(run / "evaluate/comparisons.csv")
    against = comparisons[comparisons["method"] == "trouter"]["against"]
    assert set(against) == {MODELS[0], "adaptive_llm", "knn", "task_best"}  # the bars to pass
    assert np.allclose(shares.groupby(["method", "utility_setting"])["share"].sum(), 1.0)
    report.run(config(tmp_path, *routing))
    table = (run / "report/table.md").read_text()
    lines = table.splitlines()
    head = lines.index("**Cold-start (trained on synthetic data only)**")
    rows = [line.split(" | ")[0].lstrip("| ") for line in lines[head + 4: head + 11]]
    assert rows == ["Adaptive LLM", "MetricRouter⋆", "TRouter", "kNN", "MetricRouter",
                    "TRouter, domain-level task types", f"*best single model ({MODELS[0]})*"]
    assert "**Utility Sum per benchmark**" in table and "| Method | gsm8k | squad |" in table
    assert "| w/o quality evaluator | smoke-no-evaluator: trouter | not run: no " in table
    assert "| w/o task-recognition loss | trouter_no_task_loss | not run: routing.routers" \
        in table
    assert "| w/o synthesis (Adaptive LLM) | adaptive_llm | " in table
    # the evaluator-off run's results, once there, fill its row
    other = tmp_path / "smoke-no-evaluator/evaluate"
    other.mkdir(parents=True)
    (other / "utility.csv").write_text((run / "evaluate/utility.csv").read_text())
    report.run(config(tmp_path, *routing))
    table = (run / "report/table.md").read_text()
    trouter_row = next(x for x in table.splitlines() if x.startswith("| TRouter | trouter |"))
    cells = trouter_row.split("| trouter |", 1)[1]
    assert f"| w/o quality evaluator | smoke-no-evaluator: trouter |{cells}" in table
    assert "**Selection share**" in table


def test_the_authors_architecture_trains(tmp_path):
    make_run(tmp_path, np.random.default_rng(0))
    assign_tasks.run(config(tmp_path))
    s = train_router.run(config(tmp_path, "routing.protocol=cold_start", router="trouter_paper"))
    # branches 16->256->16, matcher 32->256->256->1, 2 x 2 heads 16->256->256->1 (16-dim here)
    assert s["folds"]["all"]["parameters"] == 2 * (16 * 256 + 256 + 256 * 16 + 16) + \
        (32 * 256 + 256) + (256 * 256 + 256) + 257 + \
        4 * (16 * 256 + 256 + 256 * 256 + 256 + 257)
    pred = pd.read_csv(router_dir(tmp_path, "trouter_paper", "cold_start") / "estimates.csv")
    assert pred["r_hat"].between(0, 1).all() and pred["c_hat"].between(0, 1).all()  # sigmoid


def test_unknown_protocol_and_prior_are_refused(tmp_path):
    make_run(tmp_path, np.random.default_rng(0))
    with pytest.raises(TrouterError, match="protocol 'warm'"):
        train_router.run(config(tmp_path, "routing.protocol=warm"))
    with pytest.raises(TrouterError, match="routing.task_prior='random'"):
        assign_tasks.run(config(tmp_path, "routing.task_prior=random"))


def test_llm_labeller_with_fallback(tmp_path):
    from tests.scripted_server import Reply, ScriptedServer

    def backend(request):
        query = request["messages"][-1]["content"]
        if "train-3" in query:
            return Reply(content="It is hard to say.")
        return Reply(content='{"task": 2}')  # always nB

    with ScriptedServer(responder=backend) as srv:
        extra = ("routing.task_prior=llm", "judge.local=null", f"judge.base_url={srv.base_url}")
        lay = make_run(tmp_path, np.random.default_rng(0), extra=extra)
        summary = assign_tasks.run(config(tmp_path, *extra))
        listing = srv.requests[0]["messages"][0]["content"]
    assert "1. " in listing and "2. " in listing  # the numbered task types
    table = pd.read_csv(lay.assign() / "assignments.csv").set_index("query_id")
    fallback = table.loc["gsm8k-train-3"]
    assert fallback["method"].startswith("nearest (") and fallback["node_id"] == "nA"
    others = table.drop(index="gsm8k-train-3")
    assert (others["method"] == "llm").all() and (others["node_id"] == "nB").all()
    assert summary["fallbacks"] == 1 and summary["labeller_prompt"] == "task-labeller-v1"


def test_authors_labeller_walks_domain_subcategory_difficulty(tmp_path):
    """few_shot_t_labeler.py's three multiple-choice steps, 'Answer: **X**' replies; a reply
    with no usable letter after the re-asks falls back to nearest and is counted."""
    from tests.scripted_server import Reply, ScriptedServer

    def backend(request):
        text = request["messages"][-1]["content"]
        if "train-5" in text and "difficulty level" in text:
            return Reply(content="I cannot tell.")
        if "difficulty level" in text:
            return Reply(content="Answer: **B**")  # nB
        return Reply(content="Answer: **A**")  # the only domain and subcategory

    with ScriptedServer(responder=backend) as srv:
        extra = ("routing.task_prior=llm", "routing.labeller_prompt=authors", "judge.local=null",
                 f"judge.base_url={srv.base_url}")
        lay = make_run(tmp_path, np.random.default_rng(0), extra=extra)
        summary = assign_tasks.run(config(tmp_path, *extra))
        prompts = [r["messages"][-1]["content"] for r in srv.requests]
    assert prompts[0].startswith("Based on the following query, select the most appropriate "
                                 "domain.") and "A. nD: d" in prompts[0]
    assert any(p.startswith('Within the domain "nD"') and "A. nS: d" in p for p in prompts)
    assert any(p.startswith('Within the subcategory "nS"') and "B. nB: d" in p for p in prompts)
    assert all(r["max_tokens"] == 50 and r["temperature"] == 0.0 for r in srv.requests)
    table = pd.read_csv(lay.assign() / "assignments.csv").set_index("query_id")
    assert table.loc["gsm8k-train-5", "method"].startswith("nearest (")
    others = table.drop(index="gsm8k-train-5")
    assert (others["method"] == "llm").all() and (others["node_id"] == "nB").all()
    assert summary["fallbacks"] == 1 and summary["labeller_prompt"] == "task-labeller-authors"


def test_hydra_multirun_of_one_stage_writes_distinct_folders(tmp_path):
    """A router setting searched with Hydra's own -m: one folder per setting, none overwritten."""
    import subprocess
    import sys

    from tests.workflow_run import ROOT

    make_run(tmp_path, np.random.default_rng(0))
    assign_tasks.run(config(tmp_path))
    cmd = [sys.executable, "-m", "trouter.cli.train_router", "-m",
           *overrides(tmp_path, "routing.protocol=cold_start", router="metric_router"),
           "router.hidden=8,16", "router.max_epochs=3"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    folders = {router_dir(tmp_path, "metric_router", "cold_start", f"router.hidden={h}",
                          "router.max_epochs=3") for h in (8, 16)}
    assert len(folders) == 2
    for folder in folders:
        assert (folder / "predictions.csv").is_file()
    # Hydra's record of the multirun sits under the results, not in the working directory
    assert not (ROOT / "multirun").exists() and not (ROOT / "multirun.yaml").exists()
    assert list(tmp_path.rglob("multirun/multirun.yaml"))


def test_task_prior_by_dataset_and_where_priors_land(tmp_path):
    """routing.task_prior=dataset: every query takes the node its dataset is named on; a dataset
    no node names is an error; nearest's landing per dataset is reported."""
    from trouter.errors import DataError
    from trouter.route.tasks import dataset_nodes, landing

    lay = make_run(tmp_path, np.random.default_rng(0))
    path = lay.taxonomy() / "nodes.csv"
    nodes = pd.read_csv(path, keep_default_na=False)
    nodes["dataset"] = nodes["id"].map({"nB": "gsm8k"}).fillna("")
    nodes.to_csv(path, index=False)
    by_dataset = ("routing.task_prior=dataset",)
    summary = assign_tasks.run(config(tmp_path, *by_dataset))
    assigned = pd.read_csv(Layout(config(tmp_path, *by_dataset)).assign() / "assignments.csv")
    assert (assigned["node_id"] == "nB").all() and (assigned["method"] == "dataset").all()
    assert summary["per_dataset"]["gsm8k"]["own_share"] == 1.0 and not summary["warnings"]
    # recognition is scored against the dataset's own node (half the test queries look like nA)
    s = train_router.run(config(tmp_path, *by_dataset, "routing.protocol=cold_start"))
    assert s["task_recognition"]["gsm8k"] == {"queries": 12, "top1": 0.5,
                                              "against": "dataset node"}
    # nearest puts the odd (nA-like) half elsewhere: reported per dataset
    summary = assign_tasks.run(config(tmp_path))
    assert summary["per_dataset"]["gsm8k"]["own_share"] == pytest.approx(0.5)
    nodes["dataset"] = nodes["id"].map({"nB": "squad"}).fillna("")
    nodes.to_csv(path, index=False)
    with pytest.raises(TrouterError, match=r"no node names dataset\(s\) \['gsm8k'\]"):
        assign_tasks.run(config(tmp_path, "routing.task_prior=dataset"))
    # mostly on another dataset's node, or mostly off its own: warned
    table = pd.DataFrame({"dataset": ["winogrande"] * 4 + ["arc"] * 2,
                          "node_id": ["n-arc", "n-arc", "n-arc", "n-wino", "n-arc", "n-arc"]})
    report, warnings = landing(table, {"arc": "n-arc", "winogrande": "n-wino"})
    assert report["winogrande"]["own_share"] == 0.25 and report["arc"]["own_share"] == 1.0
    assert warnings == ["75% of winogrande's 4 queries were assigned n-arc, the task type of arc"]
    assert landing(table.assign(node_id="n-x"), {"arc": "n-arc"})[1] == [
        "only 0% of arc's 2 queries were assigned its own task type n-arc"]
    with pytest.raises(DataError, match="named by nodes 'a' and 'b'"):
        dataset_nodes([{"id": i, "level": "difficulty", "dataset": "d"} for i in "ab"], "t.csv")
    with pytest.raises(DataError, match="only difficulty nodes"):
        dataset_nodes([{"id": "a", "level": "domain", "dataset": "d"}], "t.csv")


def test_several_training_seeds_in_one_job(tmp_path):
    """routing.seeds: a seeded router trains once per seed in one job; evaluate reports the mean
    over seeds, its spread and an interval over seeds and queries, and in how many seeds each
    comparison holds; an unseeded router trains once."""
    seeds = ("routing.seeds=[1234,7,8]", "routing.seeds_per_protocol.in_domain=2",
             "routing.routers=[trouter,knn]", "routing.protocols=[cold_start,in_domain]")
    lay = make_run(tmp_path, np.random.default_rng(0), extra=seeds)
    assign_tasks.run(config(tmp_path, *seeds))
    for protocol in ("cold_start", "in_domain"):
        for router in ("trouter", "knn"):
            s = train_router.run(config(tmp_path, *seeds, f"routing.protocol={protocol}",
                                        router=router))
            want = ([1234] if router == "knn" else
                    [1234, 7, 8] if protocol == "cold_start" else [1234, 7])
            assert s["seeds"] == want and list(s["other_seeds"]) == [str(x) for x in want[1:]]
            pred = pd.read_csv(router_dir(tmp_path, router, protocol, *seeds) /
                               "predictions.csv")
            assert sorted(set(pred["seed"])) == sorted(want) and len(pred) == 12 * 21 * len(want)
    write_point(overrides(tmp_path, *seeds))
    evaluate.run(config(tmp_path, *seeds))
    table = pd.read_csv(lay.run / "evaluate/seeds.csv").set_index(["protocol", "method"])
    assert list(table.index) == [("cold_start", "trouter"), ("in_domain", "trouter")]
    row = table.loc[("cold_start", "trouter")]
    assert row["seeds"] == 3 and row["min"] <= row["utility_sum"] <= row["max"]
    assert row["lo"] <= row["utility_sum"] <= row["hi"]
    utility = pd.read_csv(lay.run / "evaluate/utility.csv").set_index(["protocol", "method"])
    assert utility.loc[("cold_start", "trouter"), "utility_sum"] == pytest.approx(
        row["utility_sum"])  # the mean over seeds is the seed-averaged choice's utility
    comparisons = pd.read_csv(lay.run / "evaluate/comparisons.csv")
    mine = comparisons[comparisons["method"] == "trouter"].set_index(["protocol", "against"])
    assert (mine.xs("cold_start")["seeds"] == 3).all()
    assert mine["holds_in"].between(0, mine["seeds"]).all()
    knn = comparisons[comparisons["method"] == "knn"]
    assert (knn["seeds"] == 1).all()
    with pytest.raises(TrouterError, match="lists a seed twice"):
        write_point(overrides(tmp_path, "routing.seeds=[1,1]"))


def test_same_seed_same_machine_same_predictions(tmp_path):
    """Determinism: the same inputs and seed give byte-identical predictions and estimates."""
    outputs = []
    for run in ("a", "b"):
        root = tmp_path / run
        make_run(root, np.random.default_rng(0))
        assign_tasks.run(config(root))
        train_router.run(config(root, "routing.protocol=in_domain"))
        folder = router_dir(root, "trouter", "in_domain")
        outputs.append([(folder / f).read_bytes() for f in ("predictions.csv",
                                                            "estimates.csv")])
    assert outputs[0] == outputs[1]
