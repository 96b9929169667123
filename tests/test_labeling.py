"""prepare_data -> label_candidates -> collect_labels on a deterministic backend."""

import json
import math

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from tests.data_paths import data_dir
from tests.scripted_server import Reply, ScriptedServer
from tests.test_config import CONF
from trouter.errors import TrouterError
from trouter.io import read_jsonl, write_csv
from trouter.layout import Layout
from trouter.stages import collect_labels, label_candidates, prepare_data

SMALL, BIG = "smollm2-135m-local", "qwen2.5-coder-0.5b-local"
NODES = [
    {"id": "nD", "parent_id": "", "level": "domain", "name": "Maths", "definition": "d",
     "example": "e"},
    {"id": "nS", "parent_id": "nD", "level": "subcategory", "name": "Sums", "definition": "d",
     "example": "e"},
    {"id": "nE", "parent_id": "nS", "level": "difficulty", "name": "Easy", "definition": "d",
     "example": "e"},
]
QA = [{"qa_id": f"q{i}", "node_id": "nE", "question": f"What is {i} + {i}?",
       "answer": str(2 * i)} for i in range(1, 5)]


def backend(request):
    """Candidates: the small model always says 0, the big one is right but for question 3.
    Judge: a matching number is equivalent; question 1 is never judged in a usable format."""
    msgs = request["messages"]
    if msgs[0]["role"] == "system" and msgs[0]["content"].startswith("You grade answers"):
        user = msgs[-1]["content"]
        if "What is 1 + 1?" in user:
            return Reply(content="I am not sure.")
        ref = user.split("Reference answer:\n")[1].split("\n")[0]
        got = user.split("Candidate answer:\n")[1].split("\n")[0]
        verdict = "equivalent" if got == ref else "wrong"
        return Reply(content=json.dumps({"verdict": verdict}))
    prompt = msgs[-1]["content"]
    big = request["model"] == "qwen2.5-coder-0.5b-instruct"
    if prompt.startswith("What is"):
        i = int(prompt.split()[2])
        return Reply(content=str(2 * i if big and i != 3 else 0))
    if "'#### <number>'" in prompt:
        return Reply(content="#### 18" if big else "I do not know")
    return Reply(content="?")


@pytest.fixture
def server():
    with ScriptedServer(responder=backend) as srv:
        yield srv


def config(server, tmp_path, *extra):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=[
            "experiment=smoke", f"paths.results_dir={tmp_path}", f"paths.data_dir={data_dir()}",
            "data.source=mirror", "data.benchmarks=[gsm8k]",
            "data.synthetic.val_per_node=1", "data.synthetic.train_per_node=2",
            "judge.local=null", f"judge.base_url={server.base_url}", *extra])


def label(server, tmp_path, dataset, model, *extra):
    cfg = config(server, tmp_path, f"data.dataset={dataset}", f"+model@candidate={model}",
                 "candidate.local=null", f"candidate.base_url={server.base_url}", *extra)
    return label_candidates.run(cfg)


def write_synthesis(server, tmp_path) -> Layout:
    lay = Layout(config(server, tmp_path))
    write_csv(lay.taxonomy() / "nodes.csv", pd.DataFrame(NODES), list(NODES[0]))
    write_csv(lay.dedup() / "qa.csv", pd.DataFrame(QA), list(QA[0]))
    return lay


def test_label_pipeline(server, tmp_path):
    lay = write_synthesis(server, tmp_path)
    for dataset in ("synthetic", "gsm8k"):
        prepare_data.run(config(server, tmp_path, f"data.dataset={dataset}"))
    synthetic = read_jsonl(lay.data("synthetic") / "queries.jsonl")
    # one of the 4 QA is left over beyond 1 val + 2 train
    assert sorted(r["split"] for r in synthetic) == ["train", "train", "val"]
    assert {r["task"] for r in synthetic} == {"Maths"}

    summary = label(server, tmp_path, "synthetic", BIG)
    assert summary["queries"] == 3 and summary["judge"] == SMALL
    rows = pd.read_csv(lay.labels("synthetic", BIG) / "labels.csv",
                       keep_default_na=False, na_values={"score": [""]})
    by_q = rows.set_index("query_id")
    for qid in by_q.index:
        want = {"q2": 1.0, "q3": 0.0, "q4": 1.0}.get(qid)
        if qid == "q1":  # the judge never answered usably: flagged, not scored
            assert math.isnan(by_q.loc[qid, "score"]) and "unparsable" in by_q.loc[qid, "error"]
        else:
            assert by_q.loc[qid, "score"] == want and by_q.loc[qid, "error"] == ""
    assert "q1" in by_q.index and summary["flagged"] == 1
    # the unusable verdict was asked for 1 + judge_max_reasks times before it was flagged
    judged_q1 = [r for r in server.requests if r["messages"][0]["role"] == "system"
                 and "What is 1 + 1?" in r["messages"][-1]["content"]]
    assert len(judged_q1) == 1 + 2
    # cost = tokens x price of the card (10 prompt + 5 completion tokens per scripted reply)
    assert by_q["cost"].iloc[0] == pytest.approx((10 * 0.05 + 5 * 0.2) / 1e6)
    assert (rows["currency"] == "USD-nominal").all() and (rows["prompt"] != "").all()

    label(server, tmp_path, "synthetic", SMALL)
    for model in (SMALL, BIG):
        label(server, tmp_path, "gsm8k", model)
    gsm = pd.read_csv(lay.labels("gsm8k", BIG) / "labels.csv", keep_default_na=False)
    refs = {q["query_id"]: q["reference"] for q in read_jsonl(lay.data("gsm8k") / "queries.jsonl")}
    assert list(gsm["score"]) == [float(refs[q] == "18") for q in gsm["query_id"]]

    # a rerun is answered from the cache
    again = label(server, tmp_path, "gsm8k", BIG)
    assert again["llm"]["candidate"]["live_calls"] == 0

    collected = collect_labels.run(config(server, tmp_path))
    table = pd.read_csv(lay.collected() / "labels.csv", keep_default_na=False,
                        na_values={"score": [""]})
    assert collected["rows"] == len(table) == 2 * (3 + 3)  # synthetic + gsm8k (1 + 1 + 1)
    train = table[table["split"] == "train"]
    for dataset, norm in collected["norms"].items():
        sub = train[train["dataset"] == dataset]
        assert (norm["cost_min"], norm["cost_max"]) == (sub["cost"].min(), sub["cost"].max())
    summary = pd.read_csv(lay.collected() / "summary.csv")
    syn = summary[summary["dataset"] == "synthetic"].set_index("model")
    big_scores = by_q["score"].dropna()
    assert syn.loc[SMALL, "accuracy"] == 0.0
    assert syn.loc["oracle", "accuracy"] == pytest.approx(big_scores.mean())
    assert syn.loc[BIG, "accuracy"] == pytest.approx(big_scores.mean())
    assert (lay.collected() / "summary.md").read_text().startswith("| dataset |")


def test_candidate_outside_the_pool_is_refused(server, tmp_path):
    with pytest.raises(TrouterError, match="not in the pool"):
        label(server, tmp_path, "gsm8k", "qwen2.5-coder-1.5b-local")


def test_missing_labels_are_named(server, tmp_path):
    lay = write_synthesis(server, tmp_path)
    prepare_data.run(config(server, tmp_path, "data.dataset=synthetic"))
    prepare_data.run(config(server, tmp_path, "data.dataset=gsm8k"))
    label(server, tmp_path, "synthetic", BIG)
    with pytest.raises(TrouterError, match=f"synthetic/{SMALL}/[0-9a-f]+/labels.csv: file not"):
        collect_labels.run(config(server, tmp_path))
    assert not (lay.collected() / "labels.csv").exists()


def test_authors_decoding_on_synthetic_and_benchmark_questions(server, tmp_path):
    """experiment=paper's decoding: synthetic QA greedy, 2,048 tokens and the authors' prompt;
    benchmarks at temperature 0.7 and their own max_tokens."""
    extra = ("labeling.temperature=0.7", "labeling.synthetic_temperature=0.0",
             "labeling.max_tokens=2048", "labeling.synthetic_prompt=authors",
             "benchmarks.gsm8k.max_tokens=2000")
    write_synthesis(server, tmp_path)
    for dataset in ("synthetic", "gsm8k"):
        prepare_data.run(config(server, tmp_path, f"data.dataset={dataset}", *extra))
    start = len(server.requests)
    summary = label(server, tmp_path, "synthetic", BIG, *extra)
    asked = [r for r in server.requests[start:] if r["model"] == "qwen2.5-coder-0.5b-instruct"]
    assert sorted(r["messages"][0]["content"] for r in asked) == [
        f"Please answer the following question: What is {i} + {i}?\n\nAnswer:"
        for i in (1, 2, 3)] and all(len(r["messages"]) == 1 for r in asked)
    assert {(r["temperature"], r["max_tokens"]) for r in asked} == {(0.0, 2048)}
    assert summary["answer_prompt"] == "answer-v1/synthetic-authors"
    start = len(server.requests)
    label(server, tmp_path, "gsm8k", BIG, *extra)
    assert {(r["temperature"], r["max_tokens"]) for r in server.requests[start:]} == {(0.7, 2000)}
