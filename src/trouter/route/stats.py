"""Uncertainty of mean utilities: a paired bootstrap over test queries.

Every method is resampled with the same query indices, so differences between methods keep
their pairing (a query that is hard for one method is hard for all of them)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trouter.errors import ConfigError


def resample_indices(n: int, resamples: int, seed: int) -> np.ndarray:
    """[resamples, n] query indices drawn with replacement, seeded."""
    if resamples < 1000:
        raise ConfigError(f"evaluation.resamples={resamples}: use at least 1000")
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def intervals(per_query: pd.DataFrame, idx: np.ndarray, confidence: float) -> pd.DataFrame:
    """Per column (method) of a query x method table: mean and the percentile interval of the
    bootstrap means (columns mean, lo, hi)."""
    if not 0 < confidence < 1:
        raise ConfigError(f"evaluation.confidence={confidence}: must be in (0, 1)")
    values = per_query.to_numpy(float)
    means = values[idx].mean(axis=1)  # [resamples, methods]
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail], axis=0)
    return pd.DataFrame({"mean": values.mean(axis=0), "lo": lo, "hi": hi},
                        index=per_query.columns)


def p_better(a: np.ndarray, b: np.ndarray, idx: np.ndarray) -> float:
    """One-sided paired bootstrap p-value that method a's mean does not exceed b's: the share of
    resamples in which mean(a - b) <= 0, with the observed sample counted once."""
    diff = np.asarray(a, float) - np.asarray(b, float)
    boot = diff[idx].mean(axis=1)
    return float((np.sum(boot <= 0) + 1) / (len(boot) + 1))
