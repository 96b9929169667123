"""Bad inputs, one table: configs, model cards, model replies and data files, each with the exact
error it must give and no output that looks complete. (Recorded routing data has its own table
in test_recorded.py: BAD, 16 more.)"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import make_card
from tests.scripted_server import Reply, ScriptedServer
from tests.workflow_run import ROOT
from trouter.data.benchmarks import load_gsm8k
from trouter.errors import ConfigError, DataError, LLMError
from trouter.io import read_jsonl
from trouter.label.answer import LABEL_COLUMNS, base_row
from trouter.label.tables import read_label_table
from trouter.llm.cache import RequestCache
from trouter.llm.cards import card_from_config
from trouter.llm.client import LLMClient
from trouter.llm.faults import RetryPolicy
from trouter.llm.parse import ReplyError, extract_json
from trouter.plan import compose_config, hydra_conf
from trouter.score.judge import parse_verdict

C = "config: "
CONFIGS = [
    ("name=..", C + "name must be one folder name inside the results folder (no '/', not '.' "
                    "or '..'), got '..'"),
    ("name=a/b", C + "name must be one folder name inside the results folder (no '/', not '.' "
                     "or '..'), got 'a/b'"),
    ("labeling.max_tokens=0", C + "labeling.max_tokens must be an integer >= 1, got 0"),
    ("benchmarks.gsm8k.max_tokens=0",
     C + "benchmarks.gsm8k.max_tokens must be an integer >= 1 or null, got 0"),
    ("router.lr=abc", C + "router.lr must be a number > 0, got 'abc'"),
    ("seed=-1", C + "seed must be an integer in [0, 4294967295], got -1"),
    ("labeling.temperature=nan", C + "labeling.temperature must be a number in [0, 2], got nan"),
    ("labeling.sandbox.timeout_s=0", C + "labeling.sandbox.timeout_s must be a number > 0, got 0"),
    ("labeling.sandbox.memory_mb=-5",
     C + "labeling.sandbox.memory_mb must be an integer >= 1, got -5"),
    ("llm.max_reasks=-1", C + "llm.max_reasks must be an integer >= 0, got -1"),
    ("llm.max_retries=true", C + "llm.max_retries must be an integer >= 0, got True"),
    ("router.hidden=0", C + "router.hidden must be an integer >= 1, got 0"),
    ("qa.batch_size=1.5", C + "qa.batch_size must be an integer >= 1, got 1.5"),
    ("evaluation.weights=[[0.5,2]]",
     C + "evaluation.weights holds pairs [mu_r, mu_c] in [0, 1] (not both 0), got [0.5, 2]"),
    ("data.limit.test=-3", C + "data.limit.test must be an integer >= 0 or null, got -3"),
    ("dedup.threshold=1.5", C + "dedup.threshold must be a number in [-1, 1], got 1.5"),
    ("router.dropout=1", C + "router.dropout must be a number in [0, 1), got 1"),
    ("evaluation.confidence=1", C + "evaluation.confidence must be a number in (0, 1), got 1"),
    ("taxonomy.patience=0", C + "taxonomy.patience must be an integer >= 1, got 0"),
    ("synthesizer.generation.top_p=0",
     C + "synthesizer.generation.top_p must be a number in (0, 1], got 0"),
]


@pytest.mark.parametrize("override,message", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_bad_config(override, message):
    with hydra_conf(), pytest.raises(ConfigError) as err:
        compose_config([override])
    assert str(err.value) == message


@pytest.mark.parametrize("override", ["name=..", "labeling.max_tokens=0", "router.hidden=0"])
def test_bad_config_stops_a_stage_before_it_writes(tmp_path, override):
    results = tmp_path / "results"
    proc = subprocess.run([sys.executable, "-m", "trouter.cli.expand_taxonomy", "experiment=smoke",
                           f"paths.results_dir={results}", override],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    message = dict(CONFIGS)[override]
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr[-2000:]
    assert not results.exists() or not any(results.rglob("*"))


CARD = {"key": "k", "model_id": "m", "base_url": "http://127.0.0.1:1/v1",
        "price": {"input_per_1m": 1.0, "output_per_1m": 2.0, "currency": "USD"}}
W = "model card cards/k.yaml (k): "
CARDS = [
    ("price_nan", {"price": {"input_per_1m": math.nan, "output_per_1m": 1, "currency": "USD"}},
     W + "price.input_per_1m must be a finite number >= 0, got nan"),
    ("price_inf", {"price": {"input_per_1m": 1, "output_per_1m": math.inf, "currency": "USD"}},
     W + "price.output_per_1m must be a finite number >= 0, got inf"),
    ("price_negative", {"price": {"input_per_1m": -1, "output_per_1m": 1, "currency": "USD"}},
     W + "price.input_per_1m must be a finite number >= 0, got -1"),
    ("price_text", {"price": {"input_per_1m": "cheap", "output_per_1m": 1, "currency": "USD"}},
     W + "price.input_per_1m must be a finite number >= 0, got 'cheap'"),
    ("price_bool", {"price": {"input_per_1m": True, "output_per_1m": 1, "currency": "USD"}},
     W + "price.input_per_1m must be a finite number >= 0, got True"),
    ("currency_missing", {"price": {"input_per_1m": 1, "output_per_1m": 1}},
     W + "price.currency is required (e.g. USD), got None"),
    ("currency_null", {"price": {"input_per_1m": 1, "output_per_1m": 1, "currency": None}},
     W + "price.currency is required (e.g. USD), got None"),
    ("currency_blank", {"price": {"input_per_1m": 1, "output_per_1m": 1, "currency": " "}},
     W + "price.currency is required (e.g. USD), got ' '"),
    ("price_list", {"price": [1, 2]}, W + "price must be a mapping, got [1, 2]"),
    ("structured", {"structured_output": "xml"},
     W + "structured_output='xml', expected one of ('json_schema', 'llama_cpp', 'none')"),
    ("params_b", {"params_b": -1}, W + "params_b must be a positive number of billions or null, "
                                       "got -1"),
    ("concurrency", {"max_concurrency": 0}, W + "max_concurrency must be >= 1, got 0"),
    ("no_endpoint", {"base_url": None}, W + "a remote model needs base_url"),
]


@pytest.mark.parametrize("change,message", [c[1:] for c in CARDS], ids=[c[0] for c in CARDS])
def test_bad_model_card(change, message):
    with pytest.raises(ConfigError) as err:
        card_from_config({**CARD, **change}, where="cards/k.yaml")
    assert str(err.value) == message


VERDICT = 'expected only {"verdict": "equivalent" | "partial" | "wrong"}'
REPLIES = [
    ("not_equivalent", "not equivalent", VERDICT),
    ("hedge", '{"verdict": "equivalent"} -- not really', VERDICT),
    ("verdict_outside", '{"verdict": "maybe"}',
     "verdict 'maybe' is not one of ['equivalent', 'partial', 'wrong']"),
    ("extra_key", '{"verdict": "wrong", "why": "x"}',
     'expected only {"verdict": ...}, got \'{"verdict": "wrong", "why": "x"}\''),
]


@pytest.mark.parametrize("text,message", [c[1:] for c in REPLIES], ids=[c[0] for c in REPLIES])
def test_bad_judge_reply_is_re_asked(text, message):
    with pytest.raises(ReplyError) as err:
        parse_verdict(text)
    assert str(err.value) == message


def test_empty_reply_where_json_is_expected():
    with pytest.raises(ReplyError) as err:
        extract_json("  \n")
    assert str(err.value) == "the reply is empty"


def usage_body(usage) -> bytes:
    return json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": "7"}}],
                       **({"usage": usage} if usage else {})}).encode()


Q = {"query_id": "q", "dataset": "gsm8k", "task": "gsm8k", "split": "test", "node_id": ""}
USAGE = [
    ("usage_missing", None, "reply has no token usage (prompt_tokens missing): cost unknown"),
    ("usage_negative", {"prompt_tokens": 5, "completion_tokens": -1},
     "reply has invalid token usage (completion_tokens=-1): cost unknown"),
]


@pytest.mark.parametrize("usage,message", [c[1:] for c in USAGE], ids=[c[0] for c in USAGE])
def test_reply_with_bad_usage_flags_its_row(tmp_path, usage, message):
    with ScriptedServer([Reply(raw_body=usage_body(usage))]) as srv:
        client = LLMClient(make_card(), RequestCache(tmp_path / "c"), base_url=srv.base_url)
        result = client.chat([{"role": "user", "content": "q"}])
    row = base_row(Q, "m", [{"role": "user", "content": "q"}], result, "USD")
    assert row["error"] == message and math.isnan(row["cost"])


def test_malformed_replies_end_in_a_named_error(tmp_path):
    with ScriptedServer(default=Reply(raw_body=b"<html>bad gateway</html>")) as srv:
        client = LLMClient(make_card(), RequestCache(tmp_path / "c"), base_url=srv.base_url,
                           retry=RetryPolicy(max_retries=2), sleep=lambda s: None)
        with pytest.raises(LLMError) as err:
            client.chat([{"role": "user", "content": "q"}])
    assert str(err.value).startswith("model scripted: call failed after 2 retries: ")
    assert len(srv.requests) == 3


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def gsm8k_files(tmp_path, train: str) -> dict:
    folder = tmp_path / "benchmarks" / "gsm8k"
    return {"benchmarks/gsm8k/train.jsonl": write(folder / "train.jsonl", train),
            "benchmarks/gsm8k/test.jsonl": write(folder / "test.jsonl", "")}


def labels_csv(tmp_path, change) -> Path:
    row = {c: "" for c in LABEL_COLUMNS} | {"query_id": "q1", "dataset": "gsm8k", "model": "m",
                                          "score": "1", "prompt_tokens": "3", "cost": "0.1"}
    df = change(pd.DataFrame([row, {**row, "query_id": "q2"}]))
    path = tmp_path / "labels.csv"
    df.to_csv(path, index=False)
    return path


FILES = [
    ("jsonl_broken", lambda t: read_jsonl(write(t / "q.jsonl", '{"a": 1}\n{"a": \n')),
     "{t}/q.jsonl:2: not valid JSON (Expecting value)"),
    ("gsm8k_not_json", lambda t: load_gsm8k(gsm8k_files(t, "{oops\n"), {}),
     "{t}/benchmarks/gsm8k/train.jsonl: not valid JSON lines (Expecting property name enclosed "
     "in double quotes)"),
    ("gsm8k_field", lambda t: load_gsm8k(gsm8k_files(t, '{"question": "1+1?"}\n'), {}),
     "{t}/benchmarks/gsm8k/train.jsonl:1: missing field(s) ['answer']"),
    ("gsm8k_answer", lambda t: load_gsm8k(
        gsm8k_files(t, '{"question": "1+1?", "answer": "two"}\n'), {}), None),
    ("labels_score_text", lambda t: read_label_table(
        labels_csv(t, lambda d: d.assign(score=["1", "high"])), LABEL_COLUMNS),
     "{t}/labels.csv row 2: field 'score' is 'high', not a number"),
    ("labels_cost_text", lambda t: read_label_table(
        labels_csv(t, lambda d: d.assign(cost=["free", "0.1"])), LABEL_COLUMNS),
     "{t}/labels.csv row 1: field 'cost' is 'free', not a number"),
    ("labels_column", lambda t: read_label_table(
        labels_csv(t, lambda d: d.drop(columns="cost")), LABEL_COLUMNS), None),
    ("labels_missing", lambda t: read_label_table(t / "none.csv", LABEL_COLUMNS),
     "{t}/none.csv: file not found"),
]


@pytest.mark.parametrize("load,message", [c[1:] for c in FILES], ids=[c[0] for c in FILES])
def test_bad_data_file(tmp_path, load, message):
    with pytest.raises(DataError) as err:
        load(tmp_path)
    if message is None:  # long messages: the file and the field named
        assert str(err.value).startswith(str(tmp_path)), err.value
        assert "answer" in str(err.value) or "cost" in str(err.value)
    else:
        assert str(err.value) == message.format(t=tmp_path)

