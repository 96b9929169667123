"""The macro average of the utility table, AIQ per benchmark in the evaluate and report stages,
and the mark on routers whose sweep holds the named settings only."""

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from tests.test_routing_stages import MODELS, config, make_run, overrides, router_dir
from trouter.io import write_csv, write_json
from trouter.label.tables import SUMMARY_COLUMNS, summarize
from trouter.layout import Layout
from trouter.plan import write_point
from trouter.route.aiq import aiq_table
from trouter.route.means import utility_table
from trouter.route.report import aiq_markdown
from trouter.route.stats import macro_weights, resample_indices
from trouter.route.utility import SETTINGS, adaptive_index, sweep_settings
from trouter.routers.base import PREDICTION_COLUMNS
from trouter.stages import assign_tasks, evaluate, report, train_router

EV = OmegaConf.create({"resamples": 1000, "seed": 0, "confidence": 0.95})
GRID = sweep_settings(21)


def nearest(mu_r: float) -> tuple[float, float]:
    """The named setting with the nearest mu_r, ties to the lower (as RouterDC and PromptLLM)."""
    return min(SETTINGS.values(), key=lambda mu: (round(abs(mu[0] - mu_r), 9), mu[0]))


def named_only(picks: dict, m: int, fallback=()) -> np.ndarray:
    """[S, N, M] one-hot choices: each setting takes its nearest named setting's picks
    (picks: named setting -> per query a model index); `fallback` queries take Adaptive LLM's
    choice of each setting itself, as PromptLLM's unusable replies."""
    p = np.zeros((len(GRID), len(next(iter(picks.values()))), m))
    for s, mu in enumerate(GRID):
        for q, j in enumerate(picks[nearest(mu[0])]):
            p[s, q, adaptive_index(m, *mu) if q in fallback else j] = 1
    return p


def test_macro_average_is_the_mean_of_the_benchmark_means():
    # A: one query; B: three. Method a earns 1 per setting on A and 0 on B, b 0.3 everywhere
    rows = [{"protocol": "p", "method": m, "utility_setting": s, "query_id": q, "dataset": d,
             "utility": (1.0 if d == "A" else 0.0) if m == "a" else 0.3}
            for m in ("a", "b") for s in SETTINGS
            for q, d in (("q0", "A"), ("q1", "B"), ("q2", "B"), ("q3", "B"))]
    table = utility_table(pd.DataFrame(rows), [], EV).set_index("method")
    a = table.loc["a"]
    assert a["utility_sum"] == pytest.approx(3 / 4)  # pooled: A weighs 1/4
    assert a["utility_sum_macro"] == pytest.approx((3 + 0) / 2)  # each benchmark 1/2
    assert a["cost_first_macro"] == pytest.approx(0.5)
    # resampled within each benchmark: A's one query and B's constant never move the macro
    assert a["utility_sum_macro_lo"] == a["utility_sum_macro_hi"] == pytest.approx(1.5)
    assert a["utility_sum_lo"] < 0.75 < a["utility_sum_hi"]
    assert table.loc["b", "utility_sum_macro"] == pytest.approx(0.9) == table.loc["b",
                                                                                  "utility_sum"]


def test_stratified_resamples_stay_in_their_benchmark():
    strata = np.array(["A", "B", "B", "A", "B"])
    idx = resample_indices(5, 1000, 0, strata)
    assert (strata[idx] == strata).all() and set(np.unique(idx[:, 1])) == {1, 2, 4}
    assert macro_weights(strata) == pytest.approx([1 / 4, 1 / 6, 1 / 6, 1 / 4, 1 / 6])


def test_routers_answering_the_named_settings_only_are_declared():
    from trouter.plan import named_settings_only

    assert named_settings_only(OmegaConf.create({"settings": "named"}))  # PromptLLM
    assert named_settings_only(OmegaConf.create({"train_settings": "named"}))  # RouterDC
    assert not named_settings_only(OmegaConf.create({"train_settings": "sweep"}))
    assert not named_settings_only(OmegaConf.create({"k": [5]}))


def test_aiq_markdown_marks_hulls_of_the_named_settings_only():
    score, cost = np.full((21, 2), 0.5), np.ones((21, 2))
    sweeps = {"trouter": (score, cost), "prompt_llm": (score[:3], cost[:3])}
    table = aiq_table("in_domain", sweeps, np.array(["A", "B"]))
    assert table.groupby("method")["points"].first().to_dict() == {"trouter": 21,
                                                                   "prompt_llm": 3}
    text = aiq_markdown(table, MODELS)
    assert "| prompt_llm | 0.0000† |" in text and "| trouter | 0.0000 |" in text
    assert "†: its hull has the 3 named settings only" in text
    assert "†" not in aiq_markdown(table[table["method"] == "trouter"], MODELS)


def test_evaluate_and_report_average_over_benchmarks(tmp_path):
    routing = ["routing.routers=[adaptive_llm,prompt_llm]", "routing.protocols=[cold_start]"]
    lay = make_run(tmp_path, np.random.default_rng(0), benchmarks=("gsm8k", "squad"),
                   extra=routing)
    # squad keeps 4 test queries, 3 of them of the task type that needs the big model
    labels = pd.read_csv(lay.collected() / "labels.csv", keep_default_na=False)
    keep = ~labels["query_id"].str.startswith("squad-test-") | labels["query_id"].isin(
        [f"squad-test-{i}" for i in (0, 1, 2, 4)])
    labels = labels[keep]
    labels.to_csv(lay.collected() / "labels.csv", index=False)
    # the small model's squad replies were all cut by max_tokens: the report says so
    labels.loc[labels["query_id"].str.startswith("squad") & (labels["model"] == MODELS[0]),
               "finish_reason"] = "length"
    write_csv(lay.collected() / "summary.csv", summarize(labels), SUMMARY_COLUMNS)
    assign_tasks.run(config(tmp_path, *routing))
    train_router.run(config(tmp_path, *routing, "routing.protocol=cold_start",
                            router="adaptive_llm"))
    # PromptLLM's predictions, written by hand: the named settings' picks (the big model on the
    # even queries at balanced), repeated at every other setting; gsm8k-test-1 falls back
    ids = [f"gsm8k-test-{i}" for i in range(12)] + [f"squad-test-{i}" for i in (0, 1, 2, 4)]
    even = [1 - int(q.rsplit("-", 1)[1]) % 2 for q in ids]
    picks = {SETTINGS["cost_first"]: [0] * 16, SETTINGS["balanced"]: even,
             SETTINGS["perf_first"]: [1] * 16}
    p = named_only(picks, 2, fallback={1})
    folder = router_dir(tmp_path, "prompt_llm", "cold_start", *routing)
    write_csv(folder / "predictions.csv", pd.DataFrame(
        [{"fold": "all", "query_id": q, "dataset": q.split("-")[0], "mu_r": mu[0],
          "mu_c": mu[1], "model": MODELS[int(p[s, i].argmax())], "p": 1.0, "seed": 1234}
         for s, mu in enumerate(GRID) for i, q in enumerate(ids)]), PREDICTION_COLUMNS)
    write_json(folder / "summary.json", {"task_recognition": {}})
    write_point(overrides(tmp_path, *routing))
    evaluate.run(config(tmp_path, *routing))
    report.run(config(tmp_path, *routing))
    run = Layout(config(tmp_path, *routing)).run
    utility = pd.read_csv(run / "report/utility.csv").set_index("method")
    per_bench = pd.read_csv(run / "report/utility_per_benchmark.csv")
    means = per_bench.pivot_table(index="method", columns="dataset", values="utility_sum")
    assert utility["utility_sum_macro"].to_dict() == pytest.approx(means.mean(axis=1).to_dict())
    # the small model: score 1 on 6 of gsm8k's 12 and 1 of squad's 4 queries, no cost, so a
    # Utility Sum of (0.2 + 0.5 + 0.8) x score; pooled squad weighs 1/4, in the macro 1/2
    assert utility.loc[MODELS[0], "utility_sum"] == pytest.approx(1.5 * (6 + 1) / 16)
    assert utility.loc[MODELS[0], "utility_sum_macro"] == pytest.approx(1.5 * (0.5 + 0.25) / 2)
    aiq = pd.read_csv(run / "report/aiq.csv", keep_default_na=False)
    assert sorted(set(aiq["dataset"])) == ["gsm8k", "mean", "squad"]
    table = aiq.pivot_table(index="method", columns="dataset", values="aiq")
    both = table[["gsm8k", "squad"]].mean(axis=1)
    assert table["mean"].to_dict() == pytest.approx(both.to_dict())
    points = aiq.groupby("method")["points"].agg(set).to_dict()
    assert points.pop("prompt_llm") == {3} and all(v == {21} for v in points.values())
    text = (run / "report/table.md").read_text()
    lines = text.split("**AIQ**")[1].splitlines()
    assert next(x for x in lines if x.startswith("| prompt_llm |")).endswith("† |")
    assert not next(x for x in lines if x.startswith("| adaptive_llm |")).endswith("† |")
    assert "| Utility Sum | Utility Sum (macro) |" in text
    assert text.startswith("**Replies cut by max_tokens**")
    assert f"| squad | {MODELS[0]} | 100.0% |" in text and f"| gsm8k | {MODELS[0]} |" not in text


def test_seed_interval_holds_training_variance():
    from trouter.route.seeds import joint_interval, seed_rows

    idx = resample_indices(40, 1000, 0)
    # seeds that agree: the interval is the queries' alone
    same = pd.DataFrame({s: np.tile([0.0, 1.0], 20) for s in (1, 2, 3)})
    lo, hi = joint_interval(same, idx, 0.95, 0)
    alone = np.percentile(same[1].to_numpy()[idx].mean(1), [2.5, 97.5])
    assert (lo, hi) == pytest.approx(tuple(alone))
    # queries that agree, seeds that do not (means 0.2, 0.5, 0.8): only the seeds spread it
    apart = pd.DataFrame({1: np.full(40, 0.2), 2: np.full(40, 0.5), 3: np.full(40, 0.8)})
    lo, hi = joint_interval(apart, idx, 0.95, 0)
    assert lo == pytest.approx(0.2) and hi == pytest.approx(0.8)
    row = seed_rows("in_domain", {"r": apart}, idx, 0.95, 0).iloc[0]
    assert (row["seeds"], row["utility_sum"], row["min"], row["max"]) == (3, pytest.approx(0.5),
                                                                         0.2, 0.8)
    assert row["sd"] == pytest.approx(0.3)
