"""TRouter: task type as a latent variable (route.net), trained with Lightning."""

from __future__ import annotations

import os
import time

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, WandbLogger
from omegaconf import DictConfig

from trouter.errors import ConfigError, DataError
from trouter.route.lit import RoutingDataModule, RoutingSet, TRouterModule
from trouter.route.tasks import one_hot_prior
from trouter.routers.base import Router, RoutingTable

LOGGERS = ("wandb", "none")


def net_settings(rc: DictConfig, emb_dim: int) -> dict:
    """TRouterNet's architecture from the router config (conf/router/trouter*.yaml)."""
    settings = {"hidden": int(rc.hidden), "temperature": float(rc.temperature),
                "dropout": float(rc.dropout),
                "branch_out": emb_dim if rc.branch_to_embedding else None,
                "match_hidden": [int(x) for x in rc.match_hidden],
                "match_dropout": float(rc.match_dropout),
                "head_hidden": [int(x) for x in rc.head_hidden],
                "head_sigmoid": bool(rc.head_sigmoid)}
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

    def loggers(self):
        kind = self.ctx.logger
        if kind not in LOGGERS:
            raise ConfigError(f"routing.logger={kind!r}: expected one of {LOGGERS}")
        out = [CSVLogger(save_dir=str(self.ctx.out_dir), name="", version="")]
        if kind == "wandb":
            offline = os.environ.get("WANDB_MODE", "offline") != "online"
            out.append(WandbLogger(project=self.ctx.wandb_project, save_dir=str(self.ctx.out_dir),
                                   name=self.ctx.run_name, offline=offline,
                                   tags=self.ctx.run_name.split("-")))
        return out

    def fit(self, train: RoutingTable, val: RoutingTable) -> dict:
        rc, ctx = self.rc, self.ctx
        if not ctx.task_ids:
            raise DataError(f"{rc.name}: needs task types (a taxonomy), the run has none")
        pl.seed_everything(int(ctx.seed), workers=True, verbose=False)
        torch.set_num_threads(int(ctx.threads))
        module = TRouterModule(ctx.task_embeddings, len(ctx.models), lr=float(rc.lr),
                               weight_decay=float(rc.weight_decay),
                               task_weight=float(rc.task_weight),
                               **net_settings(rc, ctx.task_embeddings.shape[1]))
        data = RoutingDataModule(self.routing_set(train), self.routing_set(val),
                                 batch_size=int(rc.batch_size), seed=int(ctx.seed))
        ckpt = ModelCheckpoint(dirpath=str(ctx.out_dir), filename="best", monitor="val/loss",
                               mode="min", save_top_k=1, enable_version_counter=False)
        stop = EarlyStopping(monitor="val/loss", mode="min", patience=int(rc.patience))
        trainer = pl.Trainer(max_epochs=int(rc.max_epochs), callbacks=[ckpt, stop],
                             logger=self.loggers(), accelerator="cpu", deterministic=True,
                             enable_progress_bar=False, enable_model_summary=False,
                             log_every_n_steps=1)
        start = time.monotonic()
        trainer.fit(module, datamodule=data)
        seconds = time.monotonic() - start
        self.module = TRouterModule.load_from_checkpoint(ckpt.best_model_path,
                                                         task_embeddings=ctx.task_embeddings)
        self.module.eval()
        return {"epochs": trainer.current_epoch, "best_val_loss": float(ckpt.best_model_score),
                "train_s": round(seconds, 2),
                "parameters": sum(p.numel() for p in module.parameters()),
                "checkpoint": str(ckpt.best_model_path)}

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
