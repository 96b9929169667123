"""kNN: the k training queries nearest by cosine vote; a candidate's predicted performance and
normalised cost are their means. k is chosen from a grid by the validation error."""

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


class KNN(Router):
    def fit(self, train: RoutingTable, val: RoutingTable) -> dict:
        grid = sorted({min(int(k), len(train)) for k in self.rc.k})
        if not grid or grid[0] < 1:
            raise ConfigError(f"router.k={list(self.rc.k)}: need values >= 1")
        self.x, self.r, self.c = unit(train.embeddings), train.score, train.cost_norm
        errors = {k: self._error(val, k) for k in grid}
        self.k = min(errors, key=errors.get)
        return {"k": self.k, "val_mse_by_k": {str(k): round(e, 6) for k, e in errors.items()},
                "chosen_on": "validation"}

    def _error(self, table: RoutingTable, k: int) -> float:
        r_hat, c_hat = self._means(table, k)
        sq = np.concatenate([(r_hat - table.score) ** 2, (c_hat - table.cost_norm) ** 2], 1)
        return float(np.nanmean(sq))

    def _means(self, table: RoutingTable, k: int) -> tuple[np.ndarray, np.ndarray]:
        sims = unit(table.embeddings) @ self.x.T
        near = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        fallback = column_means(self.r), column_means(self.c)
        out = []
        for values, default in zip((self.r, self.c), fallback, strict=True):
            picked = values[near]  # [N, k, M]
            counts = (~np.isnan(picked)).sum(1)
            means = np.nansum(picked, 1) / np.maximum(counts, 1)
            out.append(np.where(counts > 0, means, default))
        return out[0], out[1]

    def estimate(self, table: RoutingTable) -> tuple[np.ndarray, np.ndarray]:
        return self._means(table, self.k)
