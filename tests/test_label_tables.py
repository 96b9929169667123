"""Cost normalisation and the per-dataset summary on hand-made label tables."""

import math

import pandas as pd
import pytest

from trouter.errors import DataError
from trouter.label.tables import (
    best_choices,
    fit_cost_norm,
    normalised_cost,
    summarize,
    truncation_markdown,
)


def labels(rows):
    cols = ["dataset", "query_id", "split", "model", "score", "cost", "latency_s", "error"]
    df = pd.DataFrame(rows, columns=cols)
    df["currency"] = "USD"
    return df


ROWS = [
    # dataset d: q1 (train), q2 (train), q3 (test); models small and big
    ("d", "q1", "train", "small", 1.0, 1.0, 0.1, ""),
    ("d", "q1", "train", "big", 1.0, 3.0, 0.3, ""),
    ("d", "q2", "train", "small", 0.0, 2.0, 0.1, ""),
    ("d", "q2", "train", "big", 0.5, 5.0, 0.3, ""),
    ("d", "q3", "test", "small", 0.0, 1.0, 0.1, ""),
    ("d", "q3", "test", "big", 1.0, 100.0, 0.3, ""),
]


def test_cost_constants_come_from_training_rows_only():
    df = labels(ROWS)
    norms = fit_cost_norm(df)
    # the test row that costs 100 must not move the constants
    assert (norms["d"]["cost_min"], norms["d"]["cost_max"]) == (1.0, 5.0)
    c = normalised_cost(df, norms)
    assert list(c) == pytest.approx([0.0, 0.5, 0.25, 1.0, 0.0, 99 / 4])


def test_cost_norm_needs_training_rows_and_handles_a_flat_range():
    with pytest.raises(DataError, match="no training rows"):
        fit_cost_norm(labels([r for r in ROWS if r[2] == "test"]))
    flat = labels([("e", "q", "train", "m", 1.0, 2.0, 0.1, "")])
    assert list(normalised_cost(flat, fit_cost_norm(flat))) == [0.0]


def test_cost_norm_per_difficulty_node_for_synthetic_rows():
    rows = [("synthetic", "a1", "train", "m", 1.0, 1.0, 0.1, ""),
            ("synthetic", "a2", "train", "m", 1.0, 3.0, 0.1, ""),
            ("synthetic", "b1", "train", "m", 1.0, 10.0, 0.1, ""),
            ("synthetic", "b2", "train", "m", 1.0, 30.0, 0.1, ""),
            ("synthetic", "b3", "val", "m", 1.0, 20.0, 0.1, ""),
            ("gsm8k", "g1", "train", "m", 1.0, 2.0, 0.1, ""),
            ("gsm8k", "g2", "train", "m", 1.0, 4.0, 0.1, "")]
    df = labels(rows).assign(node_id=["nA", "nA", "nB", "nB", "nB", "", ""])
    by_dataset = normalised_cost(df, fit_cost_norm(df), "dataset")
    assert list(by_dataset) == pytest.approx([0.0, 2 / 29, 9 / 29, 1.0, 19 / 29, 0.0, 1.0])
    norms = fit_cost_norm(df, "node")
    assert sorted(norms) == ["gsm8k", "synthetic/nA", "synthetic/nB"]
    by_node = normalised_cost(df, norms, "node")
    assert list(by_node) == pytest.approx([0.0, 1.0, 0.0, 1.0, 0.5, 0.0, 1.0])
    with pytest.raises(DataError, match="labeling.cost_norm='task'"):
        fit_cost_norm(df, "task")


def test_best_choice_ties_go_to_the_cheaper_model():
    best = best_choices(labels(ROWS)).set_index("query_id")["model"]
    assert best.to_dict() == {"q1": "small", "q2": "big", "q3": "big"}


def test_summary_accuracy_share_and_oracle():
    rows = [*ROWS, ("d", "q4", "test", "small", math.nan, 1.0, 0.1, "judge reply unparsable"),
            ("d", "q4", "test", "big", 0.0, 4.0, 0.3, "")]
    s = summarize(labels(rows)).set_index("model")
    assert list(s.index) == ["big", "small", "oracle"]
    assert s.loc["small", "accuracy"] == pytest.approx(1 / 3)  # the flagged row is not scored
    assert (s.loc["small", "scored"], s.loc["small", "flagged"]) == (3, 1)
    assert s.loc["big", "accuracy"] == pytest.approx(2.5 / 4)
    assert s.loc["big", "best_share"] == pytest.approx(3 / 4)
    assert s.loc["small", "best_share"] == pytest.approx(1 / 4)
    # oracle: q1 small 1.0, q2 big 0.5, q3 big 1.0, q4 big 0.0
    assert s.loc["oracle", "accuracy"] == pytest.approx(2.5 / 4)
    assert s.loc["oracle", "mean_cost"] == pytest.approx((1 + 5 + 100 + 4) / 4)
    assert (s["accuracy"] <= s.loc["oracle", "accuracy"] + 1e-12).all()


def test_replies_cut_by_max_tokens_are_counted_and_reported_above_one_percent():
    df = labels(ROWS)
    df["finish_reason"] = ["stop", "length", "stop", "length", "stop", "stop"]
    s = summarize(df).set_index("model")
    assert s.loc["big", "truncated_share"] == pytest.approx(2 / 3)
    assert s.loc["small", "truncated_share"] == 0.0
    text = truncation_markdown(s.reset_index())
    assert "| d | big | 66.7% |" in text and "| d | small |" not in text
    assert "oracle" not in text
    df["finish_reason"] = "stop"
    assert truncation_markdown(summarize(df)) == ""
    # recorded outcomes say nothing of how replies ended: unknown, never "none cut"
    df["finish_reason"] = ""
    assert summarize(df)["truncated_share"].isna().all()
