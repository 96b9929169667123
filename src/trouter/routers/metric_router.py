"""MetricRouter: every candidate's performance and normalised cost regressed directly from the
frozen query embedding (an MLP per metric, one output per model), routing by predicted utility.
Trained on synthetic data it is TRouter without task variables."""

from __future__ import annotations

import numpy as np
import torch

from trouter.errors import ConfigError
from trouter.route.lit import MetricModule, RoutingDataModule, RoutingSet
from trouter.routers.base import Router, RoutingTable
from trouter.routers.training import seed
from trouter.routers.training import train as train_module


def routing_set(table: RoutingTable) -> RoutingSet:
    return RoutingSet(table.embeddings, np.zeros((len(table), 0), np.float32), table.score,
                      table.cost_norm)


class MetricRouter(Router):
    module: MetricModule | None = None

    def fit(self, train: RoutingTable, val: RoutingTable) -> dict:
        rc, ctx = self.rc, self.ctx
        if int(rc.hidden) < 1 or not 0 <= float(rc.dropout) < 1:
            raise ConfigError(f"router {rc.name}: hidden={rc.hidden} must be >= 1 and "
                              f"dropout={rc.dropout} in [0, 1)")
        seed(ctx)
        module = MetricModule(train.embeddings.shape[1], len(ctx.models), hidden=int(rc.hidden),
                              dropout=float(rc.dropout), lr=float(rc.lr),
                              weight_decay=float(rc.weight_decay))
        data = RoutingDataModule(routing_set(train), routing_set(val),
                                 batch_size=int(rc.batch_size), seed=int(ctx.seed))
        info = train_module(module, data, rc, ctx)
        self.module = module.eval()
        return info

    @torch.no_grad()
    def estimate(self, table: RoutingTable) -> tuple[np.ndarray, np.ndarray]:
        if self.module is None:
            raise RuntimeError("MetricRouter: fit before predicting")
        out = self.module(torch.as_tensor(table.embeddings, dtype=torch.float32))
        return out["r_hat"].numpy().astype(float), out["c_hat"].numpy().astype(float)
