"""Lightning training shared by the routers that train a network: seeded, deterministic, on the
CPU, the weights with the lowest validation loss kept, early stopping on it."""

from __future__ import annotations

import math
import os
import time

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping
from lightning.pytorch.loggers import CSVLogger, WandbLogger
from omegaconf import DictConfig

from trouter.errors import ConfigError
from trouter.routers.base import RouterContext

LOGGERS = ("wandb", "none")


def loggers(ctx: RouterContext) -> list:
    """metrics.csv always; wandb (offline unless WANDB_MODE=online) when routing.logger says so."""
    if ctx.logger not in LOGGERS:
        raise ConfigError(f"routing.logger={ctx.logger!r}: expected one of {LOGGERS}")
    out = [CSVLogger(save_dir=str(ctx.out_dir), name="", version="")]
    if ctx.logger == "wandb":
        offline = os.environ.get("WANDB_MODE", "offline") != "online"
        out.append(WandbLogger(project=ctx.wandb_project, save_dir=str(ctx.out_dir),
                               name=ctx.run_name, group=ctx.wandb_group, offline=offline,
                               tags=ctx.run_name.split("-")))
    return out


def seed(ctx: RouterContext) -> None:
    pl.seed_everything(int(ctx.seed), workers=True, verbose=False)
    torch.set_num_threads(int(ctx.threads))


def make_trainer(rc: DictConfig, ctx: RouterContext, callbacks: list) -> pl.Trainer:
    """At most rc.max_epochs on the CPU, deterministic, quiet, the context's loggers; no
    checkpoint written during training (the callers keep the best weights themselves)."""
    return pl.Trainer(max_epochs=int(rc.max_epochs), callbacks=callbacks, logger=loggers(ctx),
                      accelerator="cpu", deterministic=True, enable_progress_bar=False,
                      enable_model_summary=False, enable_checkpointing=False,
                      log_every_n_steps=1)


def fit(trainer: pl.Trainer, module: pl.LightningModule, data: pl.LightningDataModule) -> None:
    trainer.fit(module, datamodule=data)
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            logger.experiment.finish()  # the next training in this process starts its own run


class KeepBest(Callback):
    """The weights at the lowest validation loss, as ModelCheckpoint(monitor="val/loss",
    mode="min", save_top_k=1) picks them (the first validation, then each strictly lower
    loss; a loss that is not a number counts as infinite), kept in memory: a fine-tuned encoder
    is 90 MB, and writing it at every improvement took 15% of a RouterDC job's time."""

    def __init__(self):
        self.best = math.inf
        self.state: dict[str, torch.Tensor] | None = None

    def on_validation_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        loss = float(trainer.callback_metrics["val/loss"])
        loss = math.inf if math.isnan(loss) else loss
        if self.state is None or loss < self.best:
            self.best = loss
            self.state = {k: v.detach().clone() for k, v in module.state_dict().items()}


def train(module: pl.LightningModule, data: pl.LightningDataModule, rc: DictConfig,
          ctx: RouterContext) -> dict:
    """Fit for at most rc.max_epochs with patience rc.patience; the module ends with its best
    weights, also written once to ctx.out_dir/best.ckpt. Returns what the summary records
    (epochs, best validation loss, seconds, parameters, checkpoint)."""
    keep = KeepBest()
    stop = EarlyStopping(monitor="val/loss", mode="min", patience=int(rc.patience))
    trainer = make_trainer(rc, ctx, [keep, stop])
    start = time.monotonic()
    fit(trainer, module, data)
    module.load_state_dict(keep.state)
    path = ctx.out_dir / "best.ckpt"
    trainer.save_checkpoint(path, weights_only=True)
    return {"epochs": trainer.current_epoch, "val_loss": keep.best,
            "train_s": round(time.monotonic() - start, 2),
            "parameters": sum(p.numel() for p in module.parameters()),
            "checkpoint": str(path)}
