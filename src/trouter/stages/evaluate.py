"""Rule evaluate: every method on the benchmarks' test queries under the three utility settings."""

from __future__ import annotations

import pandas as pd
from omegaconf import DictConfig

from trouter.errors import DataError
from trouter.io import read_csv, write_csv, write_json
from trouter.route.data import read_labels, wide
from trouter.route.methods import CHOICE_COLUMNS, all_choices
from trouter.route.pool import models_by_price
from trouter.route.utility import SETTINGS
from trouter.stages.common import log, stage_dir
from trouter.stages.prepare_data import SYNTHETIC
from trouter.stages.train_router import PROTOCOLS

UTILITY_COLUMNS = ["setting", "method", *SETTINGS, "utility_sum"]
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


def utility_table(chosen: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean utility per method (and `by`) under each setting, plus the Utility Sum."""
    table = chosen.pivot_table(index=["setting", "method", *by], columns="utility_setting",
                               values="utility", aggfunc="mean").reset_index()
    table["utility_sum"] = table[list(SETTINGS)].sum(axis=1)
    return table[["setting", "method", *by, *SETTINGS, "utility_sum"]]


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
    pooled = utility_table(chosen, [])
    per_bench = utility_table(chosen, ["dataset"])
    points = chosen.groupby(["setting", "method", "utility_setting"], sort=False).agg(
        mean_score=("score", "mean"), mean_cost=("cost", "mean"),
        mean_cost_norm=("cost_norm", "mean"), utility=("utility", "mean")).reset_index()
    write_csv(out / "utility.csv", pooled, UTILITY_COLUMNS)
    write_csv(out / "utility_per_benchmark.csv", per_bench, list(per_bench.columns))
    write_csv(out / "points.csv", points, POINT_COLUMNS)
    summary = {"test_queries": len(r), "per_benchmark": datasets.value_counts().to_dict(),
               "models": models, "settings": {k: list(v) for k, v in SETTINGS.items()}}
    write_json(out / "summary.json", summary)
    log.info("evaluated %d methods on %d test queries", pooled["method"].nunique(), len(r))
    return summary
