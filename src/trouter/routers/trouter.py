"""TRouter: task type as a latent variable (route.net), trained with Lightning."""

from __future__ import annotations

import numpy as np
import torch
from omegaconf import DictConfig

from trouter.errors import ConfigError, DataError
from trouter.route.lit import RoutingDataModule, RoutingSet, TRouterModule
from trouter.route.tasks import one_hot_prior
from trouter.routers.base import Router, RoutingTable
from trouter.routers.training import seed
from trouter.routers.training import train as train_module


def net_settings(rc: DictConfig, emb_dim: int) -> dict:
    """TRouterNet's architecture from the router config (conf/router/trouter*.yaml)."""
    settings = {"hidden": int(rc.hidden), "temperature": float(rc.temperature),
                "dropout": float(rc.dropout),
                "branch_out": emb_dim if rc.branch_to_embedding else None,
                "match_hidden": [int(x) for x in rc.match_hidden],
                "match_dropout": float(rc.match_dropout),
                "head_hidden": [int(x) for x in rc.head_hidden],
                "head_sigmoid": bool(rc.head_sigmoid), "head_dropout": float(rc.head_dropout)}
    sizes = [settings["hidden"], *settings["match_hidden"], *settings["head_hidden"]]
    if min(sizes) < 1 or settings["temperature"] <= 0:
        raise ConfigError(f"router: layer sizes must be >= 1 and temperature > 0, got {settings}")
    return settings


class TRouter(Router):
    module: TRouterModule | None = None

    def routing_set(self, table: RoutingTable) -> RoutingSet:
        missing = [q for q, t in zip(table.query_ids, table.tasks, strict=True) if not t]
        if missing:
            raise DataError(f"{self.rc.name}: no task type for {len(missing)} training queries, "
                            f"e.g. {missing[:3]}")
        prior = one_hot_prior(list(table.tasks), self.ctx.task_ids)
        return RoutingSet(table.embeddings, prior, table.score, table.cost_norm)

    def fit(self, train: RoutingTable, val: RoutingTable) -> dict:
        rc, ctx = self.rc, self.ctx
        if not ctx.task_ids:
            raise DataError(f"{rc.name}: needs task types (a taxonomy), the run has none")
        seed(ctx)
        module = TRouterModule(ctx.task_embeddings, len(ctx.models), lr=float(rc.lr),
                               weight_decay=float(rc.weight_decay),
                               task_weight=float(rc.task_weight),
                               metric_loss=str(rc.metric_loss),
                               **net_settings(rc, ctx.task_embeddings.shape[1]))
        data = RoutingDataModule(self.routing_set(train), self.routing_set(val),
                                 batch_size=int(rc.batch_size), seed=int(ctx.seed))
        info = train_module(module, data, rc, ctx)
        self.module = module.eval()
        return info

    @torch.no_grad()
    def _forward(self, table: RoutingTable) -> dict[str, torch.Tensor]:
        if self.module is None:
            raise RuntimeError("TRouter: fit before predicting")
        return self.module(torch.as_tensor(table.embeddings, dtype=torch.float32))

    def estimate(self, table: RoutingTable) -> tuple[np.ndarray, np.ndarray]:
        out = self._forward(table)
        return out["r_hat"].numpy().astype(float), out["c_hat"].numpy().astype(float)

    def predicted_tasks(self, table: RoutingTable) -> np.ndarray:
        top = self._forward(table)["q_t"].argmax(-1).numpy()
        return np.asarray(self.ctx.task_ids)[top]
