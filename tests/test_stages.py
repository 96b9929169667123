"""The three synthesis stages on a deterministic OpenAI-compatible backend (no local model)."""

import json
import re

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from tests.scripted_server import Reply, ScriptedServer
from tests.test_config import CONF
from trouter.errors import TrouterError
from trouter.io import read_jsonl
from trouter.layout import Layout
from trouter.stages import dedup_qa, expand_taxonomy, generate_qa

QUESTIONS = [
    "What is the boiling point of water at sea level?", "Who wrote the novel Moby-Dick?",
    "How many legs does a spider have?", "Which planet is known as the Red Planet?",
    "What is the derivative of x squared?", "Name the largest ocean on Earth.",
    "What language is spoken in Brazil?", "How do vaccines train the immune system?",
    "Write a Python function that reverses a string.", "What causes the seasons on Earth?",
    "Which gas do plants absorb during photosynthesis?", "What is the capital of Australia?",
]


def backend(request):
    """Answer like a well-behaved synthesizer, deterministically from the prompt."""
    prompt = request["messages"][-1]["content"]
    if "Write " in prompt and "question-answer pairs" in prompt:
        n = int(re.search(r"Write (\d+) new", prompt).group(1))
        start = 3 * request["seed"]
        qs = [QUESTIONS[(start + i) % len(QUESTIONS)] for i in range(n)]
        if "already exist" not in prompt:  # the first call repeats itself once
            qs[-1] = qs[0]
        pairs = [{"question": q, "answer": f"answer {i}"} for i, q in enumerate(qs)]
        return Reply(content=json.dumps({"pairs": pairs}))
    if "Propose up to" in prompt:  # new domains
        return Reply(content=json.dumps({"items": [
            {"name": "Translation", "definition": "Rewrite text in another language.",
             "example": "Translate 'hello' into French."}]}))
    if "Proposed set:" in prompt:  # review: keep the set as is
        items = json.loads(prompt.split("Proposed set:\n", 1)[1].split("\n\nReview", 1)[0])
        return Reply(content=json.dumps(items))
    parent = re.findall(r'of the (?:domain|subcategory) "([^"]+)"', prompt)[0]
    count = int(re.search(r"Propose exactly (\d+)", prompt).group(1))
    items = [{"name": f"{parent} part {i}", "definition": f"Part {i} of {parent}.",
              "example": f"An example of {parent} part {i}."} for i in range(count)]
    return Reply(content=json.dumps({"items": items}))


@pytest.fixture
def cfg(tmp_path):
    with ScriptedServer(responder=backend) as srv, \
            initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        card = ["synthesizer.local=null", f"+synthesizer.base_url={srv.base_url}"]
        yield compose("config", overrides=[
            "experiment=smoke", f"paths.results_dir={tmp_path}", *card,
            "taxonomy.max_domains=2", "taxonomy.patience=2", "taxonomy.max_rounds=3",
            "qa.target_per_node=4", "qa.batch_size=3", "qa.max_calls_per_node=2"])


def test_three_stages(cfg, tmp_path):
    summary = expand_taxonomy.run(cfg)
    assert summary["nodes_per_level"] == {"domain": 2, "subcategory": 4, "difficulty": 8}
    assert summary["unstable"] == [] and summary["failed_rounds"] == 0
    nodes = pd.read_csv(Layout(cfg).taxonomy() / "nodes.csv", keep_default_na=False)
    assert list(nodes.loc[nodes["level"] == "domain", "name"]) == ["Mathematics", "Translation"]
    rounds = read_jsonl(Layout(cfg).taxonomy() / "rounds.jsonl")
    # propose + 2 unchanged reviews for the domain step and each of the 6 expansions
    assert len(rounds) == 7 * 3

    gen = generate_qa.run(cfg)
    assert gen["nodes_short_of_target"] == []
    report = pd.read_csv(Layout(cfg).qa() / "report.csv")
    # 3 per call with one duplicate in the first call: 2 + 3 accepted after two calls
    assert (report["calls"] == 2).all() and (report["accepted"] == 4).all()
    assert (report["generated"] == 6).all()

    dd = dedup_qa.run(cfg)
    assert dd["accepted"] == 8 * 4 and dd["dropped"] == 8 * 2
    dropped = pd.read_csv(Layout(cfg).dedup() / "dropped.csv", keep_default_na=False)
    assert sorted(dropped["reason"].unique()) == ["near_duplicate", "surplus"]
    near = dropped[dropped["reason"] == "near_duplicate"]
    assert (near["max_sim"].astype(float) > 0.9).all() and len(near) == 8

    # an immediate rerun is answered from the cache
    again = expand_taxonomy.run(cfg)
    assert all(s["live_calls"] == 0 for s in again["llm"].values())


def test_without_the_quality_evaluator_the_proposal_stands(cfg, tmp_path):
    cfg.taxonomy.evaluator = False
    summary = expand_taxonomy.run(cfg)
    assert summary["evaluator"] is False and summary["unstable"] == []
    assert summary["nodes_per_level"] == {"domain": 2, "subcategory": 4, "difficulty": 8}
    rounds = read_jsonl(Layout(cfg).taxonomy() / "rounds.jsonl")
    assert {r["step"] for r in rounds} == {"propose"} and len(rounds) == 7
    cfg.taxonomy.evaluator = "no"
    with pytest.raises(TrouterError, match="taxonomy.evaluator='no'"):
        expand_taxonomy.run(cfg)


def test_short_node_is_reported(cfg, tmp_path):
    expand_taxonomy.run(cfg)
    cfg.qa.max_calls_per_node = 1
    gen = generate_qa.run(cfg)
    assert len(gen["nodes_short_of_target"]) == 8
    assert dedup_qa.run(cfg)["nodes_short_of_target"] == gen["nodes_short_of_target"]


def test_unusable_replies_fail_loudly(tmp_path):
    with ScriptedServer(default=Reply(content="I cannot do that.")) as srv, \
            initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[
            "experiment=smoke", f"paths.results_dir={tmp_path}", "synthesizer.local=null",
            f"+synthesizer.base_url={srv.base_url}"])
        with pytest.raises(TrouterError, match="no difficulty-level node"):
            expand_taxonomy.run(cfg)
    summary_missing = not (Layout(cfg).taxonomy() / "nodes.csv").exists()
    rounds = (Layout(cfg).taxonomy() / "rounds.jsonl").read_text()
    assert summary_missing and '"failed": true' in rounds


def test_dedup_rejects_rows_of_unknown_nodes(cfg, tmp_path):
    from trouter.errors import DataError

    expand_taxonomy.run(cfg)
    generate_qa.run(cfg)
    path = Layout(cfg).qa() / "generated.jsonl"
    rows = read_jsonl(path)
    rows[1]["node_id"] = "nBOGUS"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError, match=r"generated.jsonl:2: node_id 'nBOGUS'"):
        dedup_qa.run(cfg)
    assert not (Layout(cfg).dedup() / "qa.csv").exists()


def test_concurrent_expansion_matches_sequential(cfg, tmp_path):
    """Each level's nodes are expanded at once; the outputs keep breadth-first order."""
    outputs = {}
    for workers in (1, 4):
        cfg.synthesizer.max_concurrency = workers
        cfg.paths.cache_dir = str(tmp_path / f"cache{workers}")
        cfg.paths.results_dir = str(tmp_path / f"run{workers}")
        summary = expand_taxonomy.run(cfg)
        folder = Layout(cfg).taxonomy()
        outputs[workers] = ((folder / "nodes.csv").read_text(),
                            [(r["node"], r["round"]) for r in read_jsonl(folder / "rounds.jsonl")],
                            summary["expansions"])
    assert outputs[1] == outputs[4]
