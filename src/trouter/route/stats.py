"""Uncertainty of mean utilities: a paired bootstrap over test queries.

Every method is resampled with the same query indices, so differences between methods keep
their pairing (a query that is hard for one method is hard for all of them). The macro average
(every benchmark weighing the same) is resampled within each benchmark: the benchmarks' test
sets were drawn one by one with fixed sizes, and their weights are fixed by the estimand, so a
resample keeps each benchmark's size rather than letting the mix of benchmarks vary."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trouter.errors import ConfigError


def resample_indices(n: int, resamples: int, seed: int, strata=None) -> np.ndarray:
    """[resamples, n] query indices drawn with replacement, seeded; with `strata` (a label per
    query) each position draws from the queries of its own label only."""
    if resamples < 1000:
        raise ConfigError(f"evaluation.resamples={resamples}: use at least 1000")
    rng = np.random.default_rng(seed)
    if strata is None:
        return rng.integers(0, n, size=(resamples, n))
    strata = np.asarray(strata)
    idx = np.empty((resamples, n), dtype=int)
    for label in pd.unique(strata):
        pos = np.flatnonzero(strata == label)
        idx[:, pos] = pos[rng.integers(0, len(pos), size=(resamples, len(pos)))]
    return idx


def macro_weights(strata) -> np.ndarray:
    """Per query 1 / (labels x queries of its label): the weighted mean is the mean over the
    labels (benchmarks) of their own means."""
    labels, inverse, counts = np.unique(np.asarray(strata), return_inverse=True,
                                        return_counts=True)
    return 1.0 / (len(labels) * counts[inverse])


def intervals(per_query: pd.DataFrame, idx: np.ndarray, confidence: float,
              weights: np.ndarray | None = None) -> pd.DataFrame:
    """Per column (method) of a query x method table: the (weighted) mean and the percentile
    interval of the bootstrap means (columns mean, lo, hi); `weights` per query position."""
    if not 0 < confidence < 1:
        raise ConfigError(f"evaluation.confidence={confidence}: must be in (0, 1)")
    values = per_query.to_numpy(float)
    means = np.average(values[idx], axis=1, weights=weights)  # [resamples, methods]
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail], axis=0)
    return pd.DataFrame({"mean": np.average(values, axis=0, weights=weights), "lo": lo, "hi": hi},
                        index=per_query.columns)


def p_better(a: np.ndarray, b: np.ndarray, idx: np.ndarray) -> float:
    """One-sided paired bootstrap p-value that method a's mean does not exceed b's: the share of
    resamples in which mean(a - b) <= 0, with the observed sample counted once."""
    diff = np.asarray(a, float) - np.asarray(b, float)
    boot = diff[idx].mean(axis=1)
    return float((np.sum(boot <= 0) + 1) / (len(boot) + 1))
