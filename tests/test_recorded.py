"""Importing recorded routing outcomes: the three formats, splits, overlaps, costs and errors."""

import hashlib
import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.data_paths import data_dir
from trouter.errors import ConfigError, DataError
from trouter.label.answer import LABEL_COLUMNS
from trouter.recorded import RecordedSettings, import_recorded

FIX = Path(__file__).parent / "fixtures" / "recorded"
LONG_CSV = FIX / "long_small.csv"
LONG_SPLIT = FIX / "long_split.jsonl"
PRICES = FIX / "prices.json"
ROUTERBENCH = FIX / "routerbench_small.csv"
LLMROUTER_SMALL = FIX / "llmrouter_small"


def load(fmt, path, **kw):
    return import_recorded(RecordedSettings(format=fmt, path=str(path), **kw))


def split_of(imported):
    return {q["query_id"]: q["split"] for q in imported.queries}


@pytest.fixture(scope="module")
def llmrouter():
    return load("llmrouter", data_dir() / "routing" / "llmrouter")


# --- long -----------------------------------------------------------------------------------

def test_long_csv_round_trip():
    r = load("long", LONG_CSV)
    lab = r.labels
    assert list(lab.columns) == LABEL_COLUMNS
    assert len(lab) == 40 and len(r.queries) == 20 and r.models == ["alpha", "beta"]
    # per task of 10: round(0.2 x 10) = 2 test, then round(0.1 x 8) = 1 validation
    assert r.summary["queries_per_split"] == {"train": 14, "val": 2, "test": 4}
    assert r.summary["tasks"]["agent-math"] == {"dataset": "agent_math", "train": 7, "val": 1,
                                                "test": 2}
    q1 = lab[lab["prompt"] == "What is 3 + 8?"]
    digest = hashlib.sha1(b"agent-math\nWhat is 3 + 8?").hexdigest()[:12]
    assert set(q1["query_id"]) == {f"agent_math-{digest}"}
    assert list(q1["model"]) == ["alpha", "beta"]
    assert list(q1["cost"]) == pytest.approx([0.0011, 0.021])
    assert list(q1["latency_s"]) == [0.5, 1.5]
    assert set(lab["currency"]) == {"EUR"} and set(lab["dataset"]) == {"agent_math", "trivia"}
    assert lab["prompt_tokens"].isna().all() and (lab["node_id"] == "").all()
    assert r.cost_basis == "recorded per-query cost" and r.prices is None
    assert r.summary["fractional_scores"] == {"agent-math": 0, "trivia": 3}
    assert r.summary["rows_read"] == {"long_small.csv": 40}
    q = r.queries[0]
    assert q["question"] == q["query"] == "What is 3 + 8?" and q["task"] == "agent-math"


def test_long_jsonl_and_parquet_give_the_same_table(tmp_path):
    df = pd.read_csv(LONG_CSV)
    df.to_json(tmp_path / "x.jsonl", orient="records", lines=True)
    df.to_parquet(tmp_path / "x.parquet")
    want = load("long", LONG_CSV).labels
    for name in ("x.jsonl", "x.parquet"):
        pd.testing.assert_frame_equal(load("long", tmp_path / name).labels, want)


def test_long_with_splits_tokens_prices_overlap_and_duplicate():
    r = load("long", LONG_SPLIT, prices=str(PRICES), validation_share=0.25)
    d = r.summary["dropped"]
    # c5 = c7 (same scores) and a5 = a7 (different scores) are in train and test; a4-copy = a4
    assert (d["overlap_train_test"], d["overlap_train_test_different_scores"]) == (2, 1)
    assert (d["duplicate_query"], d["duplicate_query_different_scores"]) == (1, 1)
    assert r.summary["queries_per_split"] == {"train": 6, "val": 2, "test": 4}
    beta = r.labels[r.labels["model"] == "beta"]
    assert beta["cost"].tolist() == pytest.approx(((beta["prompt_tokens"] * 10 + 40 * 30)
                                                   / 1e6).tolist())
    assert r.labels["cost"].iloc[0] == pytest.approx((19 * 1 + 20 * 2) / 1e6)
    assert r.prices == {"alpha": {"input_per_1m": 1.0, "output_per_1m": 2.0},
                        "beta": {"input_per_1m": 10.0, "output_per_1m": 30.0}}
    assert r.cost_basis == "prompt/completion tokens x price table"
    assert r.labels["currency"].unique().tolist() == ["USD"]
    with pytest.raises(DataError, match=r"2 train queries have a text that is also in test "
                                        r"\(1 of them with different scores\), e.g. .*row 9"):
        load("long", LONG_SPLIT, prices=str(PRICES), on_overlap="error")


# --- routerbench ----------------------------------------------------------------------------

def test_routerbench_fixture_and_pickle(tmp_path):
    r = load("routerbench", ROUTERBENCH)
    assert r.models == ["acme/medium-chat", "acme/small-chat", "bigco/large-chat"]
    assert r.summary["queries_per_split"] == {"train": 15, "val": 3, "test": 6}
    assert sorted(r.summary["tasks"]) == ["mt-bench-lite", "spell.check", "unit-convert"]
    assert r.summary["tasks"]["spell.check"]["dataset"] == "spell_check"
    assert r.summary["fractional_scores"] == {"mt-bench-lite": 24, "spell.check": 0,
                                              "unit-convert": 0}
    first = r.labels[r.labels["prompt"] == "['How many grams are in 1 kilograms?']"]
    assert list(first["cost"]) == pytest.approx([0.0004, 0.00002, 0.006])
    assert list(first["score"]) == [1.0, 0.0, 1.0]
    assert r.cost_basis == "recorded per-query cost" and r.prices is None
    pd.read_csv(ROUTERBENCH).to_pickle(tmp_path / "rb.pkl")
    pd.testing.assert_frame_equal(load("routerbench", tmp_path / "rb.pkl").labels, r.labels)


def test_routerbench_needs_cost_columns(tmp_path):
    df = pd.read_csv(ROUTERBENCH)
    df.drop(columns=[c for c in df.columns if c.endswith("|total_cost")]).to_csv(
        tmp_path / "rb.csv", index=False)
    with pytest.raises(DataError, match=r"rb.csv: missing required column\(s\) "
                                        r"\['<model>\|total_cost.*found columns \['sample_id'"):
        load("routerbench", tmp_path / "rb.csv")
    df["acme/small-chat|total_cost"] = df["acme/small-chat|total_cost"].astype(object)
    df.loc[3, "acme/small-chat|total_cost"] = "free"
    df.to_csv(tmp_path / "rb.csv", index=False)
    with pytest.raises(DataError, match=r"rb.csv row 4: field 'acme/small-chat\|total_cost' "
                                        r"\(model 'acme/small-chat'\) 'free' is not a number"):
        load("routerbench", tmp_path / "rb.csv")


# --- llmrouter ------------------------------------------------------------------------------

def test_llmrouter_real_data(llmrouter):
    r, s = llmrouter, llmrouter.summary
    assert len(r.models) == 9 and len(s["tasks"]) == 14
    assert s["rows_read"] == {"query_train.jsonl": 5616, "query_test.jsonl": 706,
                              "dcrouter_train.json": 5608, "dcrouter_test.json": 500}
    d = s["dropped"]
    assert (d["overlap_train_test"], d["overlap_train_test_different_scores"]) == (119, 50)
    assert (d["not_in_query_files"], d["ambiguous_task"], d["duplicate_query"]) == (0, 6, 0)
    assert s["queries_per_split"] == {"train": 4935, "val": 548, "test": 500}
    assert len(r.labels) == 9 * 5983 and (r.labels["cost"] > 0).all()
    assert s["fractional_scores"]["commongen"] == 1753 and s["fractional_scores"]["gsm8k"] == 0
    assert r.cost_basis.startswith("ESTIMATED: ceil(characters/4) prompt tokens x input price "
                                   "+ 128 assumed output tokens")
    # for one query the estimated cost grows with the model's price
    one = r.labels[r.labels["query_id"] == r.labels["query_id"].iloc[0]].copy()
    one["price"] = one["model"].map(lambda m: r.prices[m]["input_per_1m"])
    one = one.sort_values("price")
    assert one["cost"].is_monotonic_increasing and one["cost"].iloc[-1] > one["cost"].iloc[0]
    tokens = math.ceil(len(one["prompt"].iloc[0]) / 4)
    assert (one["prompt_tokens"] == tokens).all() and (one["completion_tokens"] == 128).all()
    assert one["cost"].tolist() == pytest.approx(((tokens + 128) * one["price"] / 1e6).tolist())


def test_llmrouter_real_data_limited_and_overlap_error():
    path = data_dir() / "routing" / "llmrouter"
    r = load("llmrouter", path, limit_per_task={"train": 20, "test": 5})
    tasks = r.summary["tasks"]
    assert all(t["train"] + t["val"] == 20 and t["val"] == 2 for t in tasks.values())
    assert sum(t["test"] for t in tasks.values()) == 50  # 10 of the 14 tasks have test questions
    assert r.summary["dropped"]["overlap_train_test"] == 119
    with pytest.raises(DataError, match=r"119 train queries have a text that is also in test "
                                        r"\(50 of them with different scores\), e.g. "
                                        r".*dcrouter_train.json record \d+: "):
        load("llmrouter", path, on_overlap="error")


def test_llmrouter_small_folder():
    r = load("llmrouter", LLMROUTER_SMALL, validation_share=0.4, chars_per_token=2.0,
             output_tokens=10)
    d = r.summary["dropped"]
    assert (d["not_in_query_files"], d["ambiguous_task"], d["overlap_train_test"],
            d["overlap_train_test_different_scores"]) == (1, 1, 1, 1)
    assert r.summary["queries_per_split"] == {"train": 3, "val": 2, "test": 3}
    assert r.models == ["large", "small"] and "unused" not in r.prices
    row = r.labels[(r.labels["prompt"] == "Halve 88.") & (r.labels["model"] == "large")].iloc[0]
    assert (row["prompt_tokens"], row["completion_tokens"]) == (5, 10)  # ceil(9 / 2)
    assert row["cost"] == pytest.approx((5 * 0.9 + 10 * 1.8) / 1e6)
    assert "ceil(characters/2) prompt tokens" in r.cost_basis
    assert "10 assumed output tokens" in r.cost_basis


def test_llmrouter_missing_model_and_price(tmp_path):
    folder = tmp_path / "lr"
    shutil.copytree(LLMROUTER_SMALL, folder)
    records = json.loads((folder / "dcrouter_train.json").read_text())
    del records[1]["scores"]["large"]
    (folder / "dcrouter_train.json").write_text(json.dumps(records))
    with pytest.raises(DataError, match=r"dcrouter_train.json record 2: record 'train:2' "
                                        r"\(task 'agent-math'\) has no row for model 'large'"):
        load("llmrouter", folder)
    records[1]["scores"]["huge"] = 1.0
    (folder / "dcrouter_train.json").write_text(json.dumps(records))
    with pytest.raises(DataError, match=r"llm_candidates.json: no prices for model 'huge' "
                                        r"\(scored in .*dcrouter_train.json record 2\)"):
        load("llmrouter", folder)


# --- splits ---------------------------------------------------------------------------------

def test_splits_are_seeded_stable_and_disjoint():
    a, b = load("routerbench", ROUTERBENCH), load("routerbench", ROUTERBENCH)
    c = load("routerbench", ROUTERBENCH, seed=1)
    assert split_of(a) == split_of(b) and split_of(a) != split_of(c)
    for r in (a, c):
        text = {s: {q["query"] for q in r.queries if q["split"] == s} for s in
                ("train", "val", "test")}
        assert not text["train"] & text["val"] and not text["train"] & text["test"]
        assert not text["val"] & text["test"]
        assert all(t == {"dataset": t["dataset"], "train": 5, "val": 1, "test": 2}
                   for t in r.summary["tasks"].values())


def test_a_split_left_empty_is_an_error(tmp_path):
    df = pd.read_json(LONG_SPLIT, lines=True)
    df[df["split"] == "train"].to_json(tmp_path / "x.jsonl", orient="records", lines=True)
    with pytest.raises(DataError, match=r"x.jsonl: no test queries left"):
        load("long", tmp_path / "x.jsonl", prices=str(PRICES))


# --- bad inputs -----------------------------------------------------------------------------

def base():
    return pd.read_csv(LONG_CSV, dtype=str, keep_default_na=False)


def set_cell(row, col, value):
    def change(df):
        df.loc[row, col] = value
        return df
    return change


BAD = [
    ("missing_model", lambda df: df.drop(index=5), r"row 5: query_id 'm03' \(task 'agent-math'\) "
     r"has no row for model 'beta'; 1 of 20 queries lack a model"),
    ("duplicate", lambda df: pd.concat([df, df.iloc[[6]]]), r"row 41: duplicate row for "
     r"query_id 'm04' \(task 'agent-math'\) and model 'alpha'"),
    ("score_high", set_cell(2, "score", "1.5"), r"row 3: field 'score' \(model 'alpha'\) '1.5' "
     r"is outside \[0, 1\]"),
    ("score_text", set_cell(3, "score", "yes"), r"row 4: field 'score' \(model 'beta'\) 'yes' "
     r"is not a number"),
    ("score_missing", set_cell(3, "score", ""), r"row 4: field 'score' \(model 'beta'\) is "
     r"missing"),
    ("cost_negative", set_cell(7, "cost", "-0.1"), r"row 8: field 'cost' \(model 'beta'\) "
     r"'-0.1' must be a finite number >= 0"),
    ("cost_text", set_cell(7, "cost", "cheap"), r"row 8: field 'cost' \(model 'beta'\) 'cheap' "
     r"is not a number"),
    ("cost_no_prices", set_cell(7, "cost", ""), r"row 8: field 'cost' is missing \(model 'beta'\) "
     r"and no price table"),
    ("currency", set_cell(11, "currency", "USD"), r"field 'currency' mixes currencies "
     r"\['EUR', 'USD'\] \(row 1: 'EUR', row 12: 'USD'\)"),
    ("task_empty", set_cell(0, "task", " "), r"row 1: field 'task' is empty"),
    ("query_empty", set_cell(4, "query", ""), r"row 5: field 'query' is empty"),
    ("missing_column", lambda df: df.drop(columns="score"), r"missing required column\(s\) "
     r"\['score'\]; found columns \['query_id', 'task', 'query', 'model', 'cost'"),
    ("split_value", lambda df: df.assign(split=["train"] * 9 + ["dev"] + ["test"] * 30),
     r"row 10: field 'split' is 'dev'; expected one of \['train', 'val', 'test'\]"),
    ("dataset_clash", lambda df: df.assign(task=df["task"].where(df.index < 20, "agent_math")),
     r"tasks 'agent-math' and 'agent_math' both map to the dataset name 'agent_math'"),
    ("two_texts", set_cell(1, "query", "What is 4 + 8?"), r"query_id 'm01' \(task 'agent-math'\) "
     r"has rows with different values of field 'query'"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_long_input_names_file_row_and_field(tmp_path, case):
    _, change, message = case
    path = tmp_path / "bad.csv"
    change(base()).to_csv(path, index=False)
    with pytest.raises(DataError, match=message) as err:
        load("long", path)
    assert str(path) in str(err.value)


def test_cost_from_a_price_table_without_the_model(tmp_path):
    df = pd.read_json(LONG_SPLIT, lines=True)
    df.loc[df["model"] == "beta", "model"] = "delta"
    df.to_json(tmp_path / "x.jsonl", orient="records", lines=True)
    with pytest.raises(DataError, match=r"x.jsonl row 2: field 'cost' is missing and the price "
                                        r"table .*prices.json has no model 'delta'"):
        load("long", tmp_path / "x.jsonl", prices=str(PRICES))


@pytest.mark.parametrize("change, message", [
    ({"format": "wide"}, r"recorded.format='wide': expected one of"),
    ({"validation_share": 1.0}, r"recorded.validation_share=1.0: expected a number in \[0, 1\)"),
    ({"test_share": -0.1}, r"recorded.test_share=-0.1"),
    ({"on_overlap": "keep"}, r"recorded.on_overlap='keep': expected 'drop' or 'error'"),
    ({"limit_per_task": {"dev": 3}}, r"recorded.limit_per_task=\{'dev': 3\}"),
    ({"limit_per_task": {"train": 0}}, r"recorded.limit_per_task.train=0"),
])
def test_settings_out_of_range(change, message):
    with pytest.raises(ConfigError, match=message):
        import_recorded(RecordedSettings(**{"format": "long", "path": str(LONG_CSV), **change}))


def test_missing_path_and_unknown_extension(tmp_path):
    with pytest.raises(DataError, match=r"nowhere.csv: not found"):
        load("long", tmp_path / "nowhere.csv")
    (tmp_path / "x.tsv").write_text("query_id\n")
    with pytest.raises(DataError, match=r"x.tsv: unknown extension '.tsv'"):
        load("long", tmp_path / "x.tsv")
    with pytest.raises(DataError, match=r"the llmrouter format reads a folder"):
        load("llmrouter", LONG_CSV)


def test_recorded_and_computed_costs_mix(tmp_path):
    df = pd.read_json(LONG_SPLIT, lines=True)
    df["cost"] = [0.5 if m == "beta" else None for m in df["model"]]
    df.to_json(tmp_path / "x.jsonl", orient="records", lines=True)
    r = load("long", tmp_path / "x.jsonl", prices=str(PRICES), validation_share=0.25)
    assert (r.labels.loc[r.labels["model"] == "beta", "cost"] == 0.5).all()
    assert r.cost_basis == ("recorded per-query cost (15 rows); prompt/completion tokens x "
                            "price table (15 rows)")
    assert sorted(r.prices) == ["alpha", "beta"]
    df.loc[df["model"] == "beta", "model"] = "delta"
    df.to_json(tmp_path / "x.jsonl", orient="records", lines=True)
    r = load("long", tmp_path / "x.jsonl", prices=str(PRICES), validation_share=0.25)
    assert r.prices is None  # the table has no price for delta
