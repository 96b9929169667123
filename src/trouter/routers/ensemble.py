"""Ensemble: the member routers of its config (each its own router config, trained on the same
data) estimate performance and normalised cost; the ensemble's estimate is their weighted mean,
one weight vector per metric, chosen on the validation split from a grid over the simplex."""

from __future__ import annotations

from dataclasses import replace
from itertools import product

import numpy as np

from trouter.errors import ConfigError
from trouter.routers.base import Router, RoutingTable


def simplex(n: int, step: float) -> list[np.ndarray]:
    """Every weight vector of n non-negative multiples of `step` summing to 1."""
    k = round(1 / step)
    return [np.array(w) / k for w in product(range(k + 1), repeat=n) if sum(w) == k]


def best_weights(estimates: list[np.ndarray], target: np.ndarray,
                 step: float) -> tuple[np.ndarray, float]:
    """The simplex weights whose mix of the estimates has the lowest MSE to the target (NaN
    targets left out; ties to the first in grid order), and that MSE."""
    grid = simplex(len(estimates), step)
    errors = [float(np.nanmean((sum(w * e for w, e in zip(ws, estimates, strict=True))
                                - target) ** 2)) for ws in grid]
    best = int(np.argmin(errors))
    return grid[best], errors[best]


class Ensemble(Router):
    def fit(self, train: RoutingTable, val: RoutingTable) -> dict:
        from trouter.routers.selection import fit_selected

        members = dict(self.rc.members)
        if not members:
            raise ConfigError(f"router {self.rc.name}: router.members names no router")
        self.members, fitted = {}, {}
        for key, mrc in members.items():
            ctx = replace(self.ctx, out_dir=self.ctx.out_dir / key,
                          run_name=f"{self.ctx.run_name}-{key}")
            router, fitted[key] = fit_selected(mrc, ctx, train, val)
            if router.estimate(val) is None:
                raise ConfigError(f"router {self.rc.name}: member {key!r} does not estimate "
                                  "performance and cost")
            self.members[key] = router
        est = [m.estimate(val) for m in self.members.values()]
        self.weights, errors = [], {}
        for i, (name, target) in enumerate(zip(("performance", "cost"),
                                               (val.score, val.cost_norm), strict=True)):
            weights, error = best_weights([e[i] for e in est], target,
                                          float(self.rc.weight_step))
            self.weights.append(weights)
            errors[name] = round(error, 6)
        keys = list(self.members)
        return {"members": fitted, "chosen_on": "validation",
                "weights": {name: dict(zip(keys, map(float, w), strict=True))
                            for name, w in zip(("performance", "cost"), self.weights,
                                               strict=True)},
                "val_mse": errors}

    def estimate(self, table: RoutingTable) -> tuple[np.ndarray, np.ndarray]:
        est = [m.estimate(table) for m in self.members.values()]
        return tuple(sum(w * e[i] for w, e in zip(self.weights[i], est, strict=True))
                     for i in range(2))
