"""The references every router is compared with, in the routers' choice contract, and what a
choice earns: score, cost and utility per query and utility setting."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from trouter.data import SYNTHETIC
from trouter.route.data import wide
from trouter.route.utility import SETTINGS, route_by_utility, utility
from trouter.routers.base import one_hot

CHOICE_COLUMNS = ["protocol", "method", "utility_setting", "query_id", "dataset", "model",
                  "score", "cost", "cost_norm", "utility"]
TASK_BEST = "task_best"  # the best model per task
REFERENCES = ("oracle", "random", TASK_BEST)
LOG = logging.getLogger("trouter")


def reference_choices(r: np.ndarray, c_norm: np.ndarray, models: list[str],
                      settings: list[tuple[float, float]]) -> dict[str, np.ndarray]:
    """[S, N, M] choices of the oracle (best true utility, ties to the cheaper model), random (the
    expected value of a uniform choice, not one sampled draw) and each single model."""
    n, m = r.shape
    out = {"oracle": np.stack([one_hot(route_by_utility(r, c_norm, *mu), m) for mu in settings]),
           "random": np.full((len(settings), n, m), 1.0 / m)}
    for j, model in enumerate(models):
        p = np.zeros((len(settings), n, m))
        p[:, :, j] = 1.0
        out[model] = p
    return out


def training_means(labels: pd.DataFrame, models: list[str],
                   datasets: set[str]) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """Per test dataset its training rows' (score, cost_norm) [n, M], the data of the best model
    per task; None (no such reference) when a test dataset has no training rows."""
    train = labels[(labels["dataset"] != SYNTHETIC) & (labels["split"] == "train")]
    out = {d: (wide(rows, models, "score").to_numpy(float),
               wide(rows, models, "cost_norm").to_numpy(float))
           for d, rows in train.groupby("dataset") if d in datasets}
    if set(out) != datasets:
        LOG.warning("no best-model-per-task reference: no training rows for %s",
                    sorted(datasets - set(out)))
        return None
    return out


def task_best_choices(train: dict[str, tuple[np.ndarray, np.ndarray]], datasets: np.ndarray,
                      m: int, settings: list[tuple[float, float]]) -> np.ndarray:
    """[S, N, M] choices of the best model per task: per dataset and setting, the model with the
    highest mean utility over the dataset's training rows (ties to the cheaper), for every test
    query of that dataset; no embedding, no query text. train: dataset -> (score, cost_norm),
    each [n, M] (NaN for an unscored label)."""
    p = np.zeros((len(settings), len(datasets), m))
    for dataset, (r, c) in train.items():
        rows = np.asarray(datasets) == dataset
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a model with no scored row
            mean_r, mean_c = np.nanmean(r, 0, keepdims=True), np.nanmean(c, 0, keepdims=True)
        # a model never scored on the task is never its best
        mean_r, mean_c = np.nan_to_num(mean_r, nan=-np.inf), np.nan_to_num(mean_c, nan=np.inf)
        for s, mu in enumerate(settings):
            p[s, rows, route_by_utility(mean_r, mean_c, *mu)[0]] = 1.0
    return p


def outcomes(p: np.ndarray, r: np.ndarray, cost: np.ndarray, c_norm: np.ndarray,
             settings: list[tuple[float, float]]) -> dict[str, np.ndarray]:
    """[S, N] expected score, cost, normalised cost and utility of choices p [S, N, M]."""
    u = np.stack([utility(r, c_norm, *mu) for mu in settings])
    return {"score": (p * r).sum(-1), "cost": (p * cost).sum(-1),
            "cost_norm": (p * c_norm).sum(-1), "utility": (p * u).sum(-1)}


def chosen_model(p: np.ndarray, models: list[str]) -> np.ndarray:
    """[S, N] the model a choice sends each query to; 'uniform' / 'mixed' when it spreads."""
    names = np.asarray(models, dtype=object)[p.argmax(-1)]
    spread = p.max(-1) < 1.0
    uniform = np.isclose(p, 1.0 / p.shape[-1]).all(-1)
    return np.where(spread, np.where(uniform, "uniform", "mixed"), names)


def named_rows(protocol: str, method: str, p: np.ndarray, earned: dict[str, np.ndarray],
               ids: list[str], datasets: np.ndarray, models: list[str],
               settings: list[tuple[float, float]]) -> pd.DataFrame:
    """Per query, the choice and its outcome under the three named utility settings."""
    picked = chosen_model(p, models)
    frames = []
    for name, mu in SETTINGS.items():
        s = settings.index(mu)
        frames.append(pd.DataFrame({
            "protocol": protocol, "method": method, "utility_setting": name, "query_id": ids,
            "dataset": datasets, "model": picked[s],
            **{k: v[s] for k, v in earned.items()}}))
    return pd.concat(frames, ignore_index=True)[CHOICE_COLUMNS]
