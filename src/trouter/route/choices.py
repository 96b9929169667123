"""A router's choices at every utility setting of an evaluation, per training seed: read from
its predictions.csv, or routed by predicted utility from its estimates.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trouter.errors import DataError
from trouter.io import read_csv
from trouter.route.utility import route_by_utility
from trouter.routers.base import PREDICTION_COLUMNS, one_hot


def with_seed(table: pd.DataFrame) -> pd.DataFrame:
    """A router's table from before the seed column (one training seed): seed 0."""
    return table if "seed" in table else table.assign(seed="0")


def router_choices(path, ids: list[str], models: list[str], settings) -> dict[int, np.ndarray]:
    """seed -> [S, N, M] choices from a router's predictions.csv, checked against the test
    queries."""
    pred = with_seed(read_csv(path, [c for c in PREDICTION_COLUMNS if c != "seed"]))
    for col in ("mu_r", "mu_c", "p"):
        pred[col] = pred[col].astype(float)
    row = {q: i for i, q in enumerate(ids)}
    col = {m: j for j, m in enumerate(models)}
    setting = {mu: s for s, mu in enumerate(settings)}
    keys = list(zip(pred["mu_r"].round(6), pred["mu_c"].round(6), strict=True))
    unknown = ({q for q in pred["query_id"] if q not in row} | {m for m in pred["model"]
               if m not in col} | {k for k in keys if k not in setting})
    if unknown:
        raise DataError(f"{path}: queries, models or settings not in this evaluation, e.g. "
                        f"{sorted(map(str, unknown))[:3]}; rerun train_router")
    out = {}
    for seed, part in pred.assign(key=keys).groupby("seed", sort=False):
        p = np.zeros((len(settings), len(ids), len(models)))
        np.add.at(p, ([setting[k] for k in part["key"]], part["query_id"].map(row).to_numpy(),
                      part["model"].map(col).to_numpy()), part["p"].to_numpy())
        if not np.allclose(p.sum(-1), 1.0):
            raise DataError(f"{path}: seed {seed}'s choices cover "
                            f"{int((~np.isclose(p.sum(-1), 1)).sum())} (query, setting) pairs "
                            "not exactly once; rerun train_router")
        out[int(seed)] = p
    return out


def estimate_choices(path, ids: list[str], models: list[str],
                     settings) -> dict[int, np.ndarray]:
    """seed -> [S, N, M] choices of a router that estimates, at any setting: the candidate with
    the highest predicted utility (ties to the cheaper one), as the router's own `choose`."""
    out = {}
    for seed, est in with_seed(read_csv(path, ["query_id", "model", "r_hat",
                                               "c_hat"])).groupby("seed", sort=False):
        table = est.pivot_table(index="query_id", columns="model", values=["r_hat", "c_hat"],
                                aggfunc="first")
        missing = [q for q in ids if q not in table.index]
        if missing or any(m not in table["r_hat"].columns for m in models):
            raise DataError(f"{path}: no estimates for {len(missing)} test queries (e.g. "
                            f"{missing[:3]}) or some models of {models}; rerun train_router")
        r = table["r_hat"].loc[ids, models].to_numpy(float)
        c = table["c_hat"].loc[ids, models].to_numpy(float)
        out[int(seed)] = np.stack([one_hot(route_by_utility(r, c, mu_r, mu_c), len(models))
                                   for mu_r, mu_c in settings])
    return out
