"""Every method's choice per test query and utility setting, and what that choice earns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trouter.route.utility import SETTINGS, adaptive_index, route_by_utility, utility

CHOICE_COLUMNS = ["setting", "method", "utility_setting", "query_id", "dataset", "model",
                  "score", "cost", "cost_norm", "utility"]


def choices(method: str, picks: np.ndarray | None, r: pd.DataFrame, cost: pd.DataFrame,
            c_norm: pd.DataFrame, datasets: pd.Series, mu: tuple[float, float]) -> pd.DataFrame:
    """Rows for one method and setting; picks are column indices into the model tables.

    `picks=None` is the random reference: the expected value of a uniform choice (its `model`
    is 'uniform'), not one sampled draw."""
    tables = {"score": r.to_numpy(), "cost": cost.to_numpy(), "cost_norm": c_norm.to_numpy()}
    tables["utility"] = utility(tables["score"], tables["cost_norm"], *mu)
    if picks is None:
        values = {k: v.mean(axis=1) for k, v in tables.items()}
        model = np.full(len(r), "uniform")
    else:
        rows = np.arange(len(r))
        values = {k: v[rows, picks] for k, v in tables.items()}
        model = np.asarray(r.columns)[picks]
    return pd.DataFrame({"method": method, "query_id": r.index,
                         "dataset": datasets.loc[r.index].to_numpy(), "model": model, **values})


def all_choices(r, cost, c_norm, datasets, predictions: dict[str, tuple]) -> pd.DataFrame:
    """Oracle, random, each single model, Adaptive LLM and every trained router (predictions:
    name -> (r_hat, c_hat) tables aligned with r), under every utility setting."""
    models = list(r.columns)
    frames = []
    for name, mu in SETTINGS.items():
        u = utility(r.to_numpy(), c_norm.to_numpy(), *mu)
        picks = {"oracle": np.argmax(u, axis=1), "random": None,
                 "adaptive_llm": np.full(len(r), adaptive_index(len(models), *mu))}
        picks |= {m: np.full(len(r), j) for j, m in enumerate(models)}
        picks |= {k: route_by_utility(rh.to_numpy(), ch.to_numpy(), *mu)
                  for k, (rh, ch) in predictions.items()}
        for method, p in picks.items():
            frames.append(choices(method, p, r, cost, c_norm, datasets, mu)
                          .assign(utility_setting=name))
    return pd.concat(frames, ignore_index=True)
