"""Rule evaluate: every method on the benchmarks' test queries under the three utility settings."""

from __future__ import annotations

import pandas as pd
from omegaconf import DictConfig

from trouter.errors import DataError
from trouter.io import read_csv, write_csv, write_json
from trouter.route.data import read_labels, wide
from trouter.route.methods import CHOICE_COLUMNS, all_choices
from trouter.route.pool import models_by_price
from trouter.route.stats import intervals, p_better, resample_indices
from trouter.route.utility import SETTINGS
from trouter.stages.common import log, stage_dir
from trouter.stages.prepare_data import SYNTHETIC
from trouter.stages.train_router import PROTOCOLS

ROUTERS = ["trouter"]  # trained routers compared with the references

SUMS = [*SETTINGS, "utility_sum"]
UTILITY_COLUMNS = ["setting", "method", *[f"{c}{x}" for c in SUMS for x in ("", "_lo", "_hi")]]
COMPARISON_COLUMNS = ["setting", "method", "against", "utility_sum_diff", "p_value"]
GAP_COLUMNS = ["setting", "method", "best_single", *SUMS]
POINT_COLUMNS = ["setting", "method", "utility_setting", "mean_score", "mean_cost",
                 "mean_cost_norm", "utility"]


def test_tables(labels: pd.DataFrame, models: list[str]):
    test = labels[(labels["dataset"] != SYNTHETIC) & (labels["split"] == "test")]
    if test.empty:
        raise DataError("no benchmark test rows in the labels")
    r = wide(test, models, "score")
    if r.isna().any().any():
        raise DataError(f"{int(r.isna().sum().sum())} test labels have no score")
    datasets = test.drop_duplicates("query_id").set_index("query_id")["dataset"]
    cost = wide(test, models, "cost").loc[r.index]
    c_norm = wide(test, models, "cost_norm").loc[r.index]
    return r, cost, c_norm, datasets


def router_predictions(cfg: DictConfig, protocol: str, index, models) -> dict[str, tuple]:
    path = stage_dir(cfg, "train_router") / protocol / "predictions.csv"
    pred = read_csv(path, ["query_id", "model", "r_hat", "c_hat"])
    for col in ("r_hat", "c_hat"):
        pred[col] = pred[col].astype(float)
    r_hat = wide(pred, models, "r_hat").reindex(index)
    if r_hat.isna().any().any():
        raise DataError(f"{path}: predictions missing for some test queries")
    return {"trouter": (r_hat, wide(pred, models, "c_hat").reindex(index))}


def per_query(chosen: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per utility setting and for the Utility Sum: a query x method table of utilities."""
    wide = chosen.pivot_table(index="query_id", columns=["utility_setting", "method"],
                              values="utility")
    tables = {s: wide[s] for s in SETTINGS}
    tables["utility_sum"] = sum(tables[s] for s in SETTINGS)
    return tables


def utility_rows(chosen: pd.DataFrame, ev: DictConfig) -> pd.DataFrame:
    """Mean utility per method under each setting and their sum, each with its paired-bootstrap
    interval over the queries of `chosen`."""
    tables = per_query(chosen)
    idx = resample_indices(len(tables["utility_sum"]), int(ev.resamples), int(ev.seed))
    out = pd.DataFrame(index=tables["utility_sum"].columns)
    for name, table in tables.items():
        ci = intervals(table, idx, float(ev.confidence))
        out[name], out[f"{name}_lo"], out[f"{name}_hi"] = ci["mean"], ci["lo"], ci["hi"]
    return out.rename_axis("method").reset_index()


def utility_table(chosen: pd.DataFrame, by: list[str], ev: DictConfig) -> pd.DataFrame:
    frames = []
    for key, part in chosen.groupby(["setting", *by], sort=False):
        frames.append(utility_rows(part, ev).assign(**dict(zip(["setting", *by], key,
                                                                strict=True))))
    return pd.concat(frames, ignore_index=True)[["setting", "method", *by, *UTILITY_COLUMNS[2:]]]


def routers_against_references(chosen: pd.DataFrame, routers: list[str], models: list[str],
                               ev: DictConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per protocol and router: the Utility Sum's paired difference from the best single model
    and from Adaptive LLM with a one-sided p-value, and the share of the best-single -> oracle gap
    the router closes under each setting."""
    comparisons, gaps = [], []
    for protocol, part in chosen.groupby("setting", sort=False):
        tables = per_query(part)
        sums = tables["utility_sum"]
        idx = resample_indices(len(sums), int(ev.resamples), int(ev.seed))
        best = sums[models].mean().idxmax()
        for router in routers:
            for other in (best, "adaptive_llm"):
                comparisons.append({
                    "setting": protocol, "method": router, "against": other,
                    "utility_sum_diff": float(sums[router].mean() - sums[other].mean()),
                    "p_value": p_better(sums[router], sums[other], idx)})
            row = {"setting": protocol, "method": router, "best_single": best}
            for name, table in tables.items():
                means = table.mean()
                single = means[models].max()
                room = means["oracle"] - single
                row[name] = float((means[router] - single) / room) if room > 0 else float("nan")
            gaps.append(row)
    return (pd.DataFrame(comparisons, columns=COMPARISON_COLUMNS),
            pd.DataFrame(gaps, columns=GAP_COLUMNS))


def run(cfg: DictConfig) -> dict:
    labels = read_labels(stage_dir(cfg, "labels") / "labels.csv")
    models = models_by_price(cfg)
    r, cost, c_norm, datasets = test_tables(labels, models)
    frames = []
    for protocol in PROTOCOLS:
        preds = router_predictions(cfg, protocol, r.index, models)
        frames.append(all_choices(r, cost, c_norm, datasets, preds).assign(setting=protocol))
    chosen = pd.concat(frames, ignore_index=True)
    out = stage_dir(cfg, "evaluate")
    write_csv(out / "choices.csv", chosen, CHOICE_COLUMNS)
    ev = cfg.evaluation
    pooled = utility_table(chosen, [], ev)
    per_bench = utility_table(chosen, ["dataset"], ev)
    comparisons, gaps = routers_against_references(chosen, ROUTERS, models, ev)
    points = chosen.groupby(["setting", "method", "utility_setting"], sort=False).agg(
        mean_score=("score", "mean"), mean_cost=("cost", "mean"),
        mean_cost_norm=("cost_norm", "mean"), utility=("utility", "mean")).reset_index()
    write_csv(out / "utility.csv", pooled, UTILITY_COLUMNS)
    write_csv(out / "utility_per_benchmark.csv", per_bench, list(per_bench.columns))
    write_csv(out / "points.csv", points, POINT_COLUMNS)
    write_csv(out / "comparisons.csv", comparisons, COMPARISON_COLUMNS)
    write_csv(out / "gap.csv", gaps, GAP_COLUMNS)
    summary = {"test_queries": len(r), "per_benchmark": datasets.value_counts().to_dict(),
               "models": models, "settings": {k: list(v) for k, v in SETTINGS.items()},
               "bootstrap": {"resamples": int(ev.resamples), "seed": int(ev.seed),
                             "confidence": float(ev.confidence), "paired": True}}
    write_json(out / "summary.json", summary)
    log.info("evaluated %d methods on %d test queries", pooled["method"].nunique(), len(r))
    return summary
