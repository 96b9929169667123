"""TRouter in Lightning: the training module and the data module."""

from __future__ import annotations

from dataclasses import dataclass

import lightning.pytorch as pl
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from trouter.route.net import TRouterNet, trouter_loss


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

    def train_dataloader(self) -> DataLoader:
        gen = torch.Generator().manual_seed(self.seed)
        return DataLoader(self.train.tensors(), batch_size=self.batch_size, shuffle=True,
                          generator=gen)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val.tensors(), batch_size=self.batch_size)


class TRouterModule(pl.LightningModule):
    """Frozen task-type embeddings as a buffer; AdamW on the network's weights."""

    def __init__(self, task_embeddings: np.ndarray, n_models: int, lr: float = 1e-3,
                 weight_decay: float = 1e-2, task_weight: float = 1.0, **net: object):
        """`net`: TRouterNet's settings (hidden, temperature, dropout, branch_out, ...)."""
        super().__init__()
        self.save_hyperparameters(ignore=["task_embeddings"])
        self.register_buffer("tasks", torch.as_tensor(task_embeddings, dtype=torch.float32))
        self.net = TRouterNet(self.tasks.shape[1], n_models, **net)

    def forward(self, queries: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.net(queries, self.tasks)

    def _step(self, batch, stage: str) -> torch.Tensor:
        queries, prior, r, c, r_mask, c_mask = batch
        out = self(queries)
        losses = trouter_loss(out, prior, r, c, r_mask, c_mask, self.hparams.task_weight)
        for name, value in losses.items():
            self.log(f"{stage}/{name}", value, prog_bar=name == "loss", on_epoch=True,
                     on_step=False, batch_size=len(queries))
        agree = (out["q_t"].argmax(-1) == prior.argmax(-1)).float().mean()
        self.log(f"{stage}/task_acc", agree, on_epoch=True, on_step=False,
                 batch_size=len(queries))
        return losses["loss"]

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        self._step(batch, "val")

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=self.hparams.lr,
                                 weight_decay=self.hparams.weight_decay)
