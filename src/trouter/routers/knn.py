"""kNN: the k training queries nearest by cosine vote; a candidate's predicted performance and
normalised cost are their means. k is chosen from a grid by the validation error.

With `same_task`, neighbours come from the query's own dataset (all training queries for a
dataset training has not seen), and `shrink` m pulls the neighbours' mean towards the task's
mean: (n x neighbours' mean + m x task mean) / (n + m), n the neighbours with a known value; m is
chosen with k on validation (m = 0: plain kNN; a large m: the task's mean)."""

from __future__ import annotations

import numpy as np

from trouter.errors import ConfigError
from trouter.routers.base import Router, RoutingTable


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def column_means(values: np.ndarray) -> np.ndarray:
    """Per model the mean over queries, NaN (unscored) rows left out; 0 when none is known."""
    counts = (~np.isnan(values)).sum(0)
    return np.where(counts > 0, np.nansum(values, 0) / np.maximum(counts, 1), 0.0)


def dataset_means(table: RoutingTable) -> tuple[dict, tuple[np.ndarray, np.ndarray]]:
    """Per dataset of a table its candidates' mean (score, cost_norm), and the whole table's."""
    datasets = np.asarray(table.datasets)
    per = {d: (column_means(table.score[datasets == d]),
               column_means(table.cost_norm[datasets == d])) for d in np.unique(datasets)}
    return per, (column_means(table.score), column_means(table.cost_norm))


class KNN(Router):
    def fit(self, train: RoutingTable, val: RoutingTable) -> dict:
        grid = sorted({min(int(k), len(train)) for k in self.rc.k})
        shrinks = [float(m) for m in self.rc.get("shrink") or [0]]
        if not grid or grid[0] < 1 or min(shrinks) < 0:
            raise ConfigError(f"router.k={list(self.rc.k)}, router.shrink={shrinks}: need k >= 1 "
                              "and shrink >= 0")
        self.x, self.r, self.c = unit(train.embeddings), train.score, train.cost_norm
        self.datasets = np.asarray(train.datasets)
        self.task_means, self.overall = dataset_means(train)
        errors = {(k, m): self._error(val, k, m) for k in grid for m in shrinks}
        self.k, self.shrink = min(errors, key=errors.get)
        return {"k": self.k, "shrink": self.shrink, "chosen_on": "validation",
                "val_mse_by_k": {f"{k}" if len(shrinks) == 1 else f"{k}/{m:g}": round(e, 6)
                                 for (k, m), e in errors.items()}}

    def _error(self, table: RoutingTable, k: int, shrink: float) -> float:
        r_hat, c_hat = self._means(table, k, shrink)
        sq = np.concatenate([(r_hat - table.score) ** 2, (c_hat - table.cost_norm) ** 2], 1)
        return float(np.nanmean(sq))

    def _means(self, table: RoutingTable, k: int, shrink: float) -> tuple[np.ndarray, np.ndarray]:
        sims = unit(table.embeddings) @ self.x.T
        same = bool(self.rc.get("same_task", False))
        if same:  # other datasets' queries only where the query's own is not in training
            known = np.isin(table.datasets, self.datasets)
            other = np.asarray(table.datasets)[:, None] != self.datasets[None, :]
            sims = np.where(known[:, None] & other, -np.inf, sims)
        near = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        overall = self.overall
        out = []
        for i, values in enumerate((self.r, self.c)):
            picked = values[near]  # [N, k, M]
            if same:  # a neighbour outside the query's task (a small task) does not count
                inside = np.take_along_axis(sims, near, 1) > -np.inf
                picked = np.where(inside[:, :, None], picked, np.nan)
            counts = (~np.isnan(picked)).sum(1)
            prior = np.stack([self.task_means.get(d, overall)[i] for d in table.datasets]) \
                if shrink else overall[i][None, :]
            total = np.nansum(picked, 1) + shrink * prior
            out.append(np.where(counts + shrink > 0, total / np.maximum(counts + shrink, 1e-12),
                                overall[i][None, :]))
        return out[0], out[1]

    def estimate(self, table: RoutingTable) -> tuple[np.ndarray, np.ndarray]:
        return self._means(table, self.k, self.shrink)
