"""End to end: the smoke experiment through Snakemake on real local llama.cpp servers."""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from tests.workflow_run import folder, run_or_fail, snakemake
from trouter.embed import encode
from trouter.io import read_json, read_jsonl
from trouter.llm.server import llama_server_binary

ROOT = Path(__file__).resolve().parents[1]
THRESHOLD = 0.9
TARGET = 3

pytestmark = pytest.mark.e2e


# TRouter trained once, not per setting of its grid (the search has its own tests)
OVERRIDES = 'overrides=["++router.grid=null"]'


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return run_or_fail("smoke", tmp_path_factory.mktemp("results"), OVERRIDES)


def test_taxonomy_shape(run_dir):
    nodes = pd.read_csv(folder(run_dir, "expand_taxonomy") / "nodes.csv", keep_default_na=False)
    summary = json.loads((folder(run_dir, "expand_taxonomy") / "summary.json").read_text())
    counts = nodes["level"].value_counts().to_dict()
    assert (counts["domain"], counts["subcategory"]) == (1, 2)
    # 2 difficulty levels per subcategory; SmolLM2 may fail to propose them for one (its replies
    # repeat a name), which the summary then names as unstable
    subs = set(nodes.loc[nodes["level"] == "subcategory", "id"])
    added = {e["node"]: e["added"] for e in summary["expansions"] if e["node"] in subs}
    assert counts["difficulty"] == sum(added.values()) >= 2
    assert set(added.values()) <= {0, 2}
    assert {k for k, v in added.items() if v == 0} <= set(summary["unstable"])
    assert nodes["id"].is_unique
    ids = set(nodes["id"])
    assert all(p in ids for p in nodes.loc[nodes["level"] != "domain", "parent_id"])
    assert (nodes[["name", "definition", "example"]] != "").all().all()
    tree = json.loads((folder(run_dir, "expand_taxonomy") / "taxonomy.json").read_text())
    assert len(tree["domains"]) == 1 and len(tree["domains"][0]["children"]) == 2
    rounds = read_jsonl(folder(run_dir, "expand_taxonomy") / "rounds.jsonl")
    assert {r["step"] for r in rounds} == {"propose", "review"}
    assert summary["servers_started"] == ["smollm2-135m-local"]
    # the managed server is llama.cpp's llama-server with its slots, when it is built
    log = (folder(run_dir, "expand_taxonomy") / "servers" / "smollm2-135m-local.log").read_text()
    assert ("n_slots = 4" in log) == (llama_server_binary() is not None)


def test_qa_after_dedup(run_dir):
    nodes = pd.read_csv(folder(run_dir, "expand_taxonomy") / "nodes.csv", keep_default_na=False)
    leaves = set(nodes.loc[nodes["level"] == "difficulty", "id"])
    qa = pd.read_csv(folder(run_dir, "dedup_qa") / "qa.csv", keep_default_na=False)
    dropped = pd.read_csv(folder(run_dir, "dedup_qa") / "dropped.csv", keep_default_na=False)
    generated = read_jsonl(folder(run_dir, "generate_qa") / "generated.jsonl")
    summary = json.loads((folder(run_dir, "dedup_qa") / "summary.json").read_text())

    assert set(qa["node_id"]) <= leaves
    assert len(qa) + len(dropped) == len(generated)
    assert set(qa["qa_id"]).isdisjoint(dropped["qa_id"])
    counts = qa["node_id"].value_counts().reindex(sorted(leaves), fill_value=0)
    assert (counts <= TARGET).all()
    short = sorted(counts[counts < TARGET].index)
    assert sorted(summary["nodes_short_of_target"]) == short
    report = pd.read_csv(folder(run_dir, "generate_qa") / "report.csv")
    for _, r in report.iterrows():  # a short node used all its calls
        assert r["accepted"] == counts[r["node_id"]]
        assert r["reached"] or r["calls"] == 3

    for node, group in qa.groupby("node_id"):  # no accepted pair above the threshold
        v = encode(group["question"].tolist())
        sims = v @ v.T
        np.fill_diagonal(sims, -1)
        assert sims.max() <= THRESHOLD + 1e-6, node

    accepted_by_node = qa.groupby("node_id")["qa_id"].apply(set).to_dict()
    for _, d in dropped.iterrows():  # every dropped row explained
        assert d["reason"] in {"near_duplicate", "surplus"}
        if d["reason"] == "near_duplicate":
            assert float(d["max_sim"]) > THRESHOLD
            assert d["nearest_qa_id"] in accepted_by_node[d["node_id"]]
        else:
            assert counts[d["node_id"]] == TARGET


MODELS = ["smollm2-135m-local", "qwen2.5-coder-0.5b-local"]
DATASETS = ["synthetic", "gsm8k", "mmlu_redux", "humaneval", "squad", "multi_news"]


def label_summaries(run_dir):
    return [folder(run_dir, f"labels/{d}/{m}") / "summary.json" for d in DATASETS for m in MODELS]


def test_labels_cover_every_query_and_model(run_dir):
    table = pd.read_csv(folder(run_dir, "collect_labels") / "labels.csv", keep_default_na=False,
                        na_values={"score": [""]})
    for dataset in DATASETS:
        queries = read_jsonl(folder(run_dir, f"data/{dataset}") / "queries.jsonl")
        ids = {q["query_id"] for q in queries}
        sub = table[table["dataset"] == dataset]
        assert sorted(sub["model"].unique()) == sorted(MODELS)
        for _, rows in sub.groupby("model"):
            assert set(rows["query_id"]) == ids and len(rows) == len(ids)
    assert {len(set(table.loc[table["dataset"] == d, "query_id"])) for d in DATASETS[1:]} == {3}
    scored = table["score"].notna()
    assert table.loc[scored, "score"].between(0, 1).all()
    assert (table.loc[~scored, "error"] != "").all()  # never silently unscored
    assert set(table.loc[table["dataset"] == "synthetic", "score"].dropna()) <= {0, 0.5, 1}
    for model in MODELS:  # cost = tokens x the card's prices
        price = OmegaConf.load(ROOT / f"conf/model/{model}.yaml").price
        rows = table[table["model"] == model]
        want = (rows["prompt_tokens"] * price.input_per_1m
                + rows["completion_tokens"] * price.output_per_1m) / 1e6
        assert np.allclose(rows["cost"], want) and (rows["currency"] == "USD-nominal").all()
    assert (table["latency_s"] > 0).all() and (table["completion_tokens"] > 0).all()
    humaneval = table[table["dataset"] == "humaneval"]
    assert (humaneval["extracted"] != "").all()  # every program was run
    norms = json.loads((folder(run_dir, "collect_labels") / "cost_norm.json").read_text())
    assert sorted(norms) == sorted(DATASETS)
    assert all(n["fitted_on"] == "train" and n["cost_min"] <= n["cost_max"]
               for n in norms.values())


def test_summary_has_every_model_and_the_oracle(run_dir):
    summary = pd.read_csv(folder(run_dir, "collect_labels") / "summary.csv")
    for dataset, rows in summary.groupby("dataset"):
        assert sorted(rows["model"]) == sorted([*MODELS, "oracle"]), dataset
        oracle = rows[rows["model"] == "oracle"].iloc[0]
        models = rows[rows["model"] != "oracle"]
        assert (models["accuracy"] <= oracle["accuracy"] + 1e-9).all()
        assert models["best_share"].sum() == pytest.approx(1.0)
    for path in label_summaries(run_dir):
        s = json.loads(path.read_text())
        assert s["answer_prompt"] == "answer-v1" and s["llm"]["candidate"]["failed_calls"] == 0


def test_report_has_every_expected_row(run_dir):
    utility = pd.read_csv(run_dir / "report/utility.csv")
    sums = ["cost_first", "balanced", "perf_first", "utility_sum"]
    assert list(utility.columns) == ["protocol", "method", *[
        f"{c}{k}{x}" for k in ("", "_macro") for c in sums for x in ("", "_lo", "_hi")]]
    methods = ["oracle", "random", "task_best", "adaptive_llm", "trouter", "knn", *MODELS]
    want = {(s, m) for s in ("cold_start", "in_domain") for m in methods}
    want.add(("cold_start", "knn_star"))  # fitted on the other benchmarks' real data
    assert set(zip(utility["protocol"], utility["method"], strict=True)) == want
    assert len(utility) == len(want)
    numbers = utility.set_index(["protocol", "method"])[sums]
    for setting in ("cold_start", "in_domain"):
        rows = numbers.loc[setting]
        assert (rows <= rows.loc["oracle"] + 1e-9).all().all()
    per_bench = pd.read_csv(run_dir / "report/utility_per_benchmark.csv")
    assert set(per_bench["dataset"]) == set(DATASETS[1:])
    assert (run_dir / "report/cost_quality.png").stat().st_size > 10_000
    table = (run_dir / "report/table.md").read_text()
    assert "**Cold-start" in table and "**Task recognition**" in table and "**AIQ**" in table
    assert "| kNN⋆ |" in table and "**Ablations**" in table
    # every number traceable: the config, the code, the inputs and the cards behind it
    record = read_json(run_dir / "provenance.json")
    assert record["config_sha256"] in table and record["code"]["commit"] in table
    assert (run_dir / "config.yaml").is_file() and len(record["data_files"]) >= 5
    assert all(len(h) == 64 for h in record["data_files"].values())
    assert all(c["weights_sha256"] for c in record["models"]["candidates"].values())
    star = read_json(folder(run_dir, "train_router/knn_star/cold_start") / "summary.json")
    assert sorted(star["folds"]) == sorted(DATASETS[1:])  # one fold per held-out benchmark
    # every level, for ablations
    with np.load(folder(run_dir, "embed_queries") / "task_types.npz") as z:
        assert set(z["coarse_levels"]) == {"domain", "subcategory"}
        assert z["ancestors"].shape == (len(z["ids"]), 2)
        assert len(z["coarse_vectors"]) == len(z["coarse_ids"])
    embed = json.loads((folder(run_dir, "embed_queries") / "summary.json").read_text())
    assert embed["embed"] == "query" and sorted(embed["truncation"]) == sorted(DATASETS)
    assert all(c["question_truncated"] == 0 for c in embed["truncation"].values())
    for protocol in ("cold_start", "in_domain"):
        folder_ = folder(run_dir, f"train_router/trouter/{protocol}")
        summary = json.loads((folder_ / "summary.json").read_text())
        assert summary["models"] == MODELS and summary["folds"]["all"]["epochs"] >= 1
        recognition = summary["task_recognition"]
        assert sorted(recognition) == sorted(DATASETS[1:])
        assert all(0 <= v["top1"] <= 1 for v in recognition.values())
        chosen = Path(summary["folds"]["all"]["checkpoint"])
        assert chosen.is_file() and (chosen.parent / "metrics.csv").is_file()
        assert list((chosen.parent / "wandb").glob("offline-run-*"))  # wandb, offline by default


def test_rerun_makes_no_llm_calls(run_dir):
    # the LLM stages again up to the labels (--until): the synthesis path, its labels (answers
    # and the judge) and GSM8K's; the other benchmarks' label jobs answer from the same cache
    gsm8k = [folder(run_dir, f"labels/gsm8k/{m}") / "labels.csv" for m in MODELS]
    proc = snakemake("smoke", run_dir.parent, OVERRIDES, "--forcerun", "expand_taxonomy",
                     *map(str, gsm8k), "--until", "label_candidates")
    assert proc.returncode == 0, proc.stderr[-3000:]
    summaries = [folder(run_dir, s) / "summary.json" for s in ("expand_taxonomy", "generate_qa")]
    summaries += [folder(run_dir, f"labels/{d}/{m}") / "summary.json"
                  for d in ("synthetic", "gsm8k") for m in MODELS]
    for path in summaries:
        summary = json.loads(path.read_text())
        llm = summary["llm"]
        assert llm and all(s["live_calls"] == 0 and s["cached_calls"] > 0
                           for s in llm.values()), (path, llm)
        assert summary["servers_started"] == []


def test_no_server_left_running(run_dir):
    """No process holds a file of this run open: a server left running would hold its log
    (<stage>/servers/<model>.log). Servers of tests running beside this one do not count."""
    root = str(run_dir.parent)
    held = set()
    for fds in Path("/proc").glob("[0-9]*/fd"):
        try:
            held |= {fds.parent.name for fd in fds.iterdir() if os.readlink(fd).startswith(root)}
        except OSError:  # the process ended meanwhile
            continue
    assert not held, [Path(f"/proc/{pid}/cmdline").read_bytes()[:200] for pid in held]
