"""Utility U = mu_r * r - mu_c * c_norm and the three settings of the paper."""

from __future__ import annotations

import numpy as np

from trouter.errors import ConfigError

SETTINGS = {"cost_first": (0.2, 0.8), "balanced": (0.5, 0.5), "perf_first": (0.8, 0.2)}
# The grid of predictions.csv for routers that estimate (evaluate routes them at any setting from
# estimates.csv, so their training does not depend on evaluation.sweep_points or weights).
DEFAULT_POINTS = 21


def utility(r, c_norm, mu_r: float, mu_c: float):
    return mu_r * np.asarray(r, dtype=float) - mu_c * np.asarray(c_norm, dtype=float)


def route_by_utility(r_hat: np.ndarray, c_hat: np.ndarray, mu_r: float, mu_c: float) -> np.ndarray:
    """Per query (row) the model (column) with the highest predicted utility; ties go to the
    lower column index (candidates are ordered cheapest first)."""
    return np.argmax(utility(r_hat, c_hat, mu_r, mu_c), axis=1)


def adaptive_index(n_models: int, mu_r: float, mu_c: float) -> int:
    """Adaptive LLM: candidates ordered by price, cheapest first; the cost tolerance
    t = mu_r / (mu_r + mu_c) in [0.2, 0.8] maps linearly onto the price ranks,
    i = floor((t - 0.2) / 0.6 * (n - 1) + 0.5), clipped to [0, n - 1]:
    cost-first -> the cheapest, balanced -> the middle (upper middle for an even n),
    performance-first -> the most expensive."""
    t = mu_r / (mu_r + mu_c)
    i = int(np.floor((t - 0.2) / 0.6 * (n_models - 1) + 0.5 + 1e-9))
    return min(max(i, 0), n_models - 1)


def sweep_settings(points: int, weights=None) -> list[tuple[float, float]]:
    """`points` willingness-to-pay values w = mu_r / (mu_r + mu_c) evenly from 0 to 1, as
    (mu_r, mu_c) = (w, 1 - w) (the grid must contain the three named settings), then any further
    (mu_r, mu_c) pairs of `weights` (evaluation.weights) not on it."""
    if points < 2:
        raise ConfigError(f"evaluation.sweep_points={points}: need at least 2")
    grid = [(float(round(w, 6)), float(round(1 - w, 6))) for w in np.linspace(0, 1, points)]
    missing = [name for name, mu in SETTINGS.items() if mu not in grid]
    if missing:
        raise ConfigError(f"evaluation.sweep_points={points}: the grid misses the settings "
                          f"{missing}; use 11, 21, 41, ...")
    for pair in weights or []:
        mu = _weight_pair(pair)
        if mu not in grid:
            grid.append(mu)
    return grid


def _weight_pair(pair) -> tuple[float, float]:
    try:
        mu_r, mu_c = (float(round(float(v), 6)) for v in pair)
    except (TypeError, ValueError):
        raise ConfigError(f"evaluation.weights: {pair!r} is not a pair [mu_r, mu_c] of "
                          "numbers") from None
    if not (np.isfinite(mu_r) and np.isfinite(mu_c)) or min(mu_r, mu_c) < 0 or mu_r + mu_c == 0:
        raise ConfigError(f"evaluation.weights: {list(pair)!r} must be two finite weights >= 0, "
                          "not both 0")
    return mu_r, mu_c
