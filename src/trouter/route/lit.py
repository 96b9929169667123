"""TRouter in Lightning: the training module and the data module."""

from __future__ import annotations

from dataclasses import dataclass

import lightning.pytorch as pl
import numpy as np
import torch
from torch import nn
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    SequentialSampler,
    TensorDataset,
)

from trouter.route.net import TRouterNet, masked_mse, mlp, trouter_loss


@dataclass
class RoutingSet:
    """Aligned arrays for N queries, T task types and M models; NaN targets are masked out."""

    queries: np.ndarray  # [N, E] query embeddings
    prior: np.ndarray  # [N, T] prior over task types (rows sum to 1)
    performance: np.ndarray  # [N, M] score in [0, 1]
    cost: np.ndarray  # [N, M] normalised cost

    def tensors(self) -> TensorDataset:
        q, p, r, c = (torch.tensor(np.ascontiguousarray(a), dtype=torch.float32)
                      for a in (self.queries, self.prior, self.performance, self.cost))
        return TensorDataset(q, p, r, c, (~r.isnan()).float(), (~c.isnan()).float())


class RoutingDataModule(pl.LightningDataModule):
    def __init__(self, train: RoutingSet, val: RoutingSet, batch_size: int = 64, seed: int = 0):
        super().__init__()
        self.train, self.val = train, val
        self.batch_size = batch_size
        self.seed = seed

    # Batches are drawn by index lists and sliced from the tensors in one step (batch_size=None
    # with a BatchSampler), not collated from single rows: the same batches, far less overhead.
    def train_dataloader(self) -> DataLoader:
        gen = torch.Generator().manual_seed(self.seed)
        data = self.train.tensors()
        batches = BatchSampler(RandomSampler(data, generator=gen), self.batch_size, False)
        return DataLoader(data, sampler=batches, batch_size=None)

    def val_dataloader(self) -> DataLoader:
        data = self.val.tensors()
        return DataLoader(data, sampler=BatchSampler(SequentialSampler(data), self.batch_size,
                                                     False), batch_size=None)


class RoutingModule(pl.LightningModule):
    """A router network trained with AdamW; subclasses give the losses of a batch. Metrics are
    summed per batch and logged once per epoch (a self.log per step costs more than the step
    itself on small networks)."""

    def losses(self, batch) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def _step(self, batch, stage: str) -> torch.Tensor:
        losses = self.losses(batch)
        sums = self._sums.setdefault(stage, {"n": 0})
        n = len(batch[0])
        for name, value in losses.items():
            sums[name] = sums.get(name, 0.0) + value.detach() * n
        sums["n"] += n
        return losses["loss"]

    def _log_epoch(self, stage: str) -> None:
        sums = self._sums.pop(stage, None)
        if sums:
            n = sums.pop("n")
            self.log_dict({f"{stage}/{k}": v / n for k, v in sums.items()})

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        self._step(batch, "val")

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train")

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def configure_optimizers(self):
        # fused: one kernel for all parameters instead of a loop of small ops per tensor
        # (1.5x faster steps for trouter_paper on CPU); the same update up to rounding
        return torch.optim.AdamW(self.parameters(), lr=self.hparams.lr,
                                 weight_decay=self.hparams.weight_decay, fused=True)


class TRouterModule(RoutingModule):
    """Frozen task-type embeddings as a buffer; AdamW on the network's weights."""

    def __init__(self, task_embeddings: np.ndarray, n_models: int, lr: float = 1e-3,
                 weight_decay: float = 1e-2, task_weight: float = 1.0,
                 metric_loss: str = "mean", **net: object):
        """`net`: TRouterNet's settings (hidden, temperature, dropout, branch_out, ...)."""
        super().__init__()
        self.save_hyperparameters(ignore=["task_embeddings"])
        self.register_buffer("tasks", torch.as_tensor(task_embeddings, dtype=torch.float32))
        self.net = TRouterNet(self.tasks.shape[1], n_models, **net)
        self._sums: dict[str, dict] = {}

    def forward(self, queries: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.net(queries, self.tasks)

    def losses(self, batch) -> dict[str, torch.Tensor]:
        queries, prior, r, c, r_mask, c_mask = batch
        out = self(queries)
        losses = trouter_loss(out, prior, r, c, r_mask, c_mask, self.hparams.task_weight,
                              self.hparams.metric_loss)
        agree = (out["q_t"].argmax(-1) == prior.argmax(-1)).float().mean()
        return {**losses, "task_acc": agree}


class MetricModule(RoutingModule):
    """MetricRouter: per metric an MLP from the frozen query embedding to one output per model."""

    def __init__(self, emb_dim: int, n_models: int, hidden: int = 256, dropout: float = 0.1,
                 lr: float = 1e-3, weight_decay: float = 1e-2):
        super().__init__()
        self.save_hyperparameters()
        self.perf, self.cost = (nn.Sequential(*mlp([emb_dim, hidden, n_models], dropout))
                                for _ in range(2))
        self._sums: dict[str, dict] = {}

    def forward(self, queries: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"r_hat": self.perf(queries), "c_hat": self.cost(queries)}

    def losses(self, batch) -> dict[str, torch.Tensor]:
        queries, _, r, c, r_mask, c_mask = batch
        out = self(queries)
        mse = torch.cat([masked_mse(out["r_hat"], r, r_mask),
                         masked_mse(out["c_hat"], c, c_mask)]).mean()
        return {"loss": mse, "mse": mse}
