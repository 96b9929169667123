"""Ensemble: the member routers of its config (each its own router config, trained on the same
data) estimate performance and normalised cost; the ensemble's estimate is their weighted mean,
the weights chosen on the validation split from a grid over the simplex: one vector per metric
by the estimates' MSE (select_on: mse), or one for both by the Utility Sum that routing on the
mix earns on validation (select_on: utility; what the evaluation measures, since estimates with a
lower MSE can still rank near-tied candidates worse)."""

from __future__ import annotations

from dataclasses import replace
from itertools import product

import numpy as np

from trouter.errors import ConfigError
from trouter.route.utility import SETTINGS, route_by_utility
from trouter.routers.base import Router, RoutingTable

SELECT_ON = ("mse", "utility")


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


def utility_sum(r_hat: np.ndarray, c_hat: np.ndarray, r: np.ndarray, c: np.ndarray) -> float:
    """The mean Utility Sum (the three named settings) of routing by the estimates, earned with
    the true scores and normalised costs (a query whose chosen label is unscored left out)."""
    rows = np.arange(len(r))
    total = 0.0
    for mu_r, mu_c in SETTINGS.values():
        pick = route_by_utility(r_hat, c_hat, mu_r, mu_c)
        total += float(np.nanmean(mu_r * r[rows, pick] - mu_c * c[rows, pick]))
    return total


def best_mix(estimates: list[tuple[np.ndarray, np.ndarray]], val: RoutingTable,
             step: float) -> tuple[np.ndarray, float]:
    """The simplex weights (shared by both metrics) whose mix earns the highest validation
    Utility Sum (ties to the first in grid order), and that Utility Sum."""
    grid = simplex(len(estimates), step)
    sums = [utility_sum(sum(w * e[0] for w, e in zip(ws, estimates, strict=True)),
                        sum(w * e[1] for w, e in zip(ws, estimates, strict=True)),
                        val.score, val.cost_norm) for ws in grid]
    best = int(np.argmax(sums))
    return grid[best], sums[best]


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
        step, select = float(self.rc.weight_step), str(self.rc.get("select_on", "mse"))
        if not 0 < step <= 1 or abs(round(1 / step) * step - 1) > 1e-9:
            raise ConfigError(f"router.weight_step={step}: must divide 1 (0.1, 0.25, 0.5, ...)")
        if select not in SELECT_ON:
            raise ConfigError(f"router.select_on={select!r}: expected one of {SELECT_ON}")
        if select == "utility":
            weights, earned = best_mix(est, val, step)
            self.weights, scores = [weights, weights], {"val_utility_sum": round(earned, 6)}
        else:
            mse = [best_weights([e[i] for e in est], target, step)
                   for i, target in enumerate((val.score, val.cost_norm))]
            self.weights = [w for w, _ in mse]
            scores = {"val_mse": {"performance": round(mse[0][1], 6),
                                  "cost": round(mse[1][1], 6)}}
        keys = list(self.members)
        return {"members": fitted, "chosen_on": f"validation {select}",
                "weights": {name: dict(zip(keys, map(float, w), strict=True))
                            for name, w in zip(("performance", "cost"), self.weights,
                                               strict=True)}, **scores}

    def estimate(self, table: RoutingTable) -> tuple[np.ndarray, np.ndarray]:
        est = [m.estimate(table) for m in self.members.values()]
        return tuple(sum(w * e[i] for w, e in zip(self.weights[i], est, strict=True))
                     for i in range(2))
