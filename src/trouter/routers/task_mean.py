"""Task means: a candidate's predicted performance and normalised cost on a query are their means
over the training queries of the query's dataset (the whole training set's for a dataset it has
not seen, as under leave-one-task-out). No embedding: the best model per task as an estimator,
for ensembles and as the bar a query-level router must pass."""

from __future__ import annotations

import numpy as np

from trouter.routers.base import Router, RoutingTable
from trouter.routers.knn import dataset_means


class TaskMean(Router):
    def fit(self, train: RoutingTable, val: RoutingTable) -> dict:
        self.means, self.overall = dataset_means(train)
        return {"datasets": sorted(map(str, self.means))}

    def estimate(self, table: RoutingTable) -> tuple[np.ndarray, np.ndarray]:
        rows = [self.means.get(d, self.overall) for d in table.datasets]
        return np.stack([r for r, _ in rows]), np.stack([c for _, c in rows])
