"""Lightning training shared by the routers that train a network: seeded, deterministic, on the
CPU, the checkpoint with the lowest validation loss kept, early stopping on it."""

from __future__ import annotations

import os
import time

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
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
    """At most rc.max_epochs on the CPU, deterministic, quiet, the context's loggers."""
    return pl.Trainer(max_epochs=int(rc.max_epochs), callbacks=callbacks, logger=loggers(ctx),
                      accelerator="cpu", deterministic=True, enable_progress_bar=False,
                      enable_model_summary=False, log_every_n_steps=1)


def fit(trainer: pl.Trainer, module: pl.LightningModule, data: pl.LightningDataModule) -> None:
    trainer.fit(module, datamodule=data)
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            logger.experiment.finish()  # the next training in this process starts its own run


def train(module: pl.LightningModule, data: pl.LightningDataModule, rc: DictConfig,
          ctx: RouterContext) -> tuple[str, dict]:
    """Fit for at most rc.max_epochs with patience rc.patience; returns the best checkpoint's path
    and what the summary records (epochs, best validation loss, seconds, parameters)."""
    ckpt = ModelCheckpoint(dirpath=str(ctx.out_dir), filename="best", monitor="val/loss",
                           mode="min", save_top_k=1, enable_version_counter=False,
                           save_weights_only=True)
    stop = EarlyStopping(monitor="val/loss", mode="min", patience=int(rc.patience))
    trainer = make_trainer(rc, ctx, [ckpt, stop])
    start = time.monotonic()
    fit(trainer, module, data)
    return ckpt.best_model_path, {
        "epochs": trainer.current_epoch, "val_loss": float(ckpt.best_model_score),
        "train_s": round(time.monotonic() - start, 2),
        "parameters": sum(p.numel() for p in module.parameters()),
        "checkpoint": str(ckpt.best_model_path)}
