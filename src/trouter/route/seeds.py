"""Training-seed variance: a learned router trained once per seed (routing.seeds). The tables
report the mean over seeds (the utility of the seed-averaged choice, which is the same number:
utility is linear in the choice probabilities), the spread of the per-seed means, and an
interval from a bootstrap that resamples seeds and test queries together, so that it holds
both the test set's sampling and the training's randomness."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trouter.route.columns import SEED_COLUMNS
from trouter.route.methods import outcomes
from trouter.route.stats import p_better
from trouter.route.utility import SETTINGS


def seed_sums(by_seed: dict[int, np.ndarray], r: np.ndarray, cost: np.ndarray,
              c_norm: np.ndarray, settings: list, ids: list[str]) -> pd.DataFrame:
    """Query x seed table of the Utility Sum (the three named settings) of each seed's choices."""
    named = [settings.index(mu) for mu in SETTINGS.values()]
    return pd.DataFrame({seed: outcomes(p, r, cost, c_norm, settings)["utility"][named].sum(0)
                         for seed, p in by_seed.items()}, index=ids)


def joint_interval(sums: pd.DataFrame, idx: np.ndarray, confidence: float,
                   seed: int) -> tuple[float, float]:
    """Percentile interval of the mean Utility Sum when each resample draws the test queries
    (the paired query indices `idx`) and, independently, as many seeds as were trained, both
    with replacement."""
    values = sums.to_numpy(float)  # [N, seeds]
    per_seed = values[idx].mean(1)  # [resamples, seeds]
    picks = np.random.default_rng(seed).integers(0, values.shape[1], size=per_seed.shape)
    means = np.take_along_axis(per_seed, picks, axis=1).mean(1)
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return float(lo), float(hi)


def seed_rows(protocol: str, seeded: dict[str, pd.DataFrame], idx: np.ndarray,
              confidence: float, seed: int) -> pd.DataFrame:
    """Per seeded router: the seeds, the mean over them of the Utility Sum, its spread (sd,
    min, max of the per-seed means) and the seeds-and-queries interval."""
    rows = []
    for method, sums in seeded.items():
        means = sums.mean(0)
        lo, hi = joint_interval(sums, idx, confidence, seed)
        rows.append({"protocol": protocol, "method": method, "seeds": len(means),
                     "utility_sum": float(means.mean()),
                     "sd": float(means.std(ddof=1)) if len(means) > 1 else 0.0,
                     "min": float(means.min()), "max": float(means.max()), "lo": lo, "hi": hi})
    return pd.DataFrame(rows, columns=SEED_COLUMNS)


def holds_in(sums: pd.DataFrame, other: pd.Series, idx: np.ndarray, alpha: float) -> int:
    """In how many seeds the router's Utility Sum beats `other` (aligned by query): a positive
    mean difference with a one-sided paired-bootstrap p-value below alpha."""
    other = other.loc[sums.index].to_numpy(float)
    return sum(int(sums[s].mean() > other.mean() and
                   p_better(sums[s].to_numpy(float), other, idx) < alpha) for s in sums.columns)
