"""Rule train_router: TRouter for one protocol (cold_start or in_domain), then its predictions."""

from __future__ import annotations

import os
import time

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, WandbLogger
from omegaconf import DictConfig

from trouter.errors import ConfigError, DataError
from trouter.io import read_csv, write_csv, write_json
from trouter.route.data import read_labels, wide
from trouter.route.lit import RoutingDataModule, RoutingSet, TRouterModule
from trouter.route.pool import models_by_price
from trouter.route.tasks import one_hot_prior
from trouter.stages.common import log, stage_dir
from trouter.stages.prepare_data import SYNTHETIC

PROTOCOLS = ("cold_start", "in_domain")
LOGGERS = ("wandb", "none")


def load_npz(path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as z:
        return z["ids"], z["vectors"]


def training_rows(labels: pd.DataFrame, protocol: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """cold_start: the synthetic train / val splits; in_domain: the benchmarks' train / val."""
    synthetic = labels["dataset"] == SYNTHETIC
    pool = labels[synthetic] if protocol == "cold_start" else labels[~synthetic]
    train, val = pool[pool["split"] == "train"], pool[pool["split"] == "val"]
    if train.empty or val.empty:
        raise DataError(f"{protocol}: needs training and validation rows, got {len(train)} and "
                        f"{len(val)} label rows")
    return train, val


class Embeddings:
    def __init__(self, cfg: DictConfig):
        folder = stage_dir(cfg, "embed_queries")
        ids, self.queries = load_npz(folder / "queries.npz")
        self.row = {q: i for i, q in enumerate(ids)}
        self.task_ids, self.tasks = load_npz(folder / "task_types.npz")

    def of(self, query_ids) -> np.ndarray:
        missing = [q for q in query_ids if q not in self.row]
        if missing:
            raise DataError(f"no embedding for {len(missing)} queries, e.g. {missing[:3]}")
        return self.queries[[self.row[q] for q in query_ids]]


def routing_set(rows: pd.DataFrame, models: list[str], emb: Embeddings,
                task_of: dict[str, str]) -> RoutingSet:
    """Embeddings, one-hot task priors (`task_of`: query id -> node id) and targets."""
    r, c = wide(rows, models, "score"), wide(rows, models, "cost_norm")
    ids = list(r.index)
    missing = [q for q in ids if q not in task_of]
    if missing:
        raise DataError(f"no task type for {len(missing)} training queries, e.g. {missing[:3]}")
    prior = one_hot_prior([task_of[q] for q in ids], list(emb.task_ids))
    return RoutingSet(emb.of(ids), prior, r.to_numpy(float), c.loc[ids].to_numpy(float))


def task_assignments(cfg: DictConfig, protocol: str, labels: pd.DataFrame) -> dict[str, str]:
    """cold_start: the node each synthetic query was generated from; in_domain: assign_tasks."""
    if protocol == "cold_start":
        rows = labels[labels["dataset"] == SYNTHETIC].drop_duplicates("query_id")
        return dict(zip(rows["query_id"], rows["node_id"], strict=True))
    table = read_csv(stage_dir(cfg, "assign_tasks") / "assignments.csv", ["query_id", "node_id"])
    return dict(zip(table["query_id"], table["node_id"], strict=True))


def make_logger(cfg: DictConfig, out, protocol: str):
    kind = cfg.router.logger
    if kind not in LOGGERS:
        raise ConfigError(f"router.logger={kind!r}: expected one of {LOGGERS}")
    loggers = [CSVLogger(save_dir=str(out), name="", version="")]
    if kind == "wandb":
        offline = os.environ.get("WANDB_MODE", "offline") != "online"
        loggers.append(WandbLogger(project=cfg.router.wandb_project, save_dir=str(out),
                                   name=f"{cfg.name}-{protocol}", offline=offline,
                                   tags=[cfg.name, protocol, "trouter"]))
    return loggers


def run(cfg: DictConfig) -> dict:
    protocol = cfg.router.protocol
    if protocol not in PROTOCOLS:
        raise ConfigError(f"router.protocol={protocol!r}: expected one of {PROTOCOLS}")
    rc = cfg.router
    pl.seed_everything(int(rc.seed), workers=True, verbose=False)
    torch.set_num_threads(int(rc.threads))
    labels = read_labels(stage_dir(cfg, "labels") / "labels.csv")
    models = models_by_price(cfg)
    emb = Embeddings(cfg)
    train_rows, val_rows = training_rows(labels, protocol)
    task_of = task_assignments(cfg, protocol, labels)
    train, val = (routing_set(x, models, emb, task_of) for x in (train_rows, val_rows))
    out = stage_dir(cfg, "train_router") / protocol
    module = TRouterModule(emb.tasks, len(models), hidden=int(rc.hidden),
                           temperature=float(rc.temperature), dropout=float(rc.dropout),
                           lr=float(rc.lr), weight_decay=float(rc.weight_decay),
                           task_weight=float(rc.task_weight))
    data = RoutingDataModule(train, val, batch_size=int(rc.batch_size), seed=int(rc.seed))
    ckpt = ModelCheckpoint(dirpath=str(out), filename="best", monitor="val/loss", mode="min",
                           save_top_k=1, enable_version_counter=False)
    stop = EarlyStopping(monitor="val/loss", mode="min", patience=int(rc.patience))
    trainer = pl.Trainer(max_epochs=int(rc.max_epochs), callbacks=[ckpt, stop],
                         logger=make_logger(cfg, out, protocol), accelerator="cpu",
                         deterministic=True, enable_progress_bar=False,
                         enable_model_summary=False, log_every_n_steps=1)
    start = time.monotonic()
    trainer.fit(module, datamodule=data)
    train_s = time.monotonic() - start
    best = TRouterModule.load_from_checkpoint(ckpt.best_model_path, task_embeddings=emb.tasks)
    predictions = predict(best, labels, models, emb)
    write_csv(out / "predictions.csv", predictions, list(predictions.columns))
    summary = {"protocol": protocol, "models": models, "task_types": len(emb.task_ids),
               "task_prior": "generated" if protocol == "cold_start" else rc.task_prior,
               "train_queries": len(train.queries),
               "val_queries": len(val.queries), "epochs": trainer.current_epoch,
               "best_val_loss": float(ckpt.best_model_score), "train_s": round(train_s, 2),
               "checkpoint": str(ckpt.best_model_path)}
    write_json(out / "summary.json", summary)
    log.info("%s: %d epochs in %.1f s, best val/loss %.4f", protocol, summary["epochs"],
             train_s, summary["best_val_loss"])
    return summary


@torch.no_grad()
def predict(module: TRouterModule, labels: pd.DataFrame, models: list[str],
            emb: Embeddings) -> pd.DataFrame:
    """Predicted performance and normalised cost per benchmark query (val and test) and model."""
    module.eval()
    rows = labels[(labels["dataset"] != SYNTHETIC) & labels["split"].isin(["val", "test"])]
    ids = list(dict.fromkeys(rows["query_id"]))
    out = module(torch.as_tensor(emb.of(ids)))
    frames = []
    for j, m in enumerate(models):
        frames.append(pd.DataFrame({"query_id": ids, "model": m,
                                    "r_hat": out["r_hat"][:, j].numpy(),
                                    "c_hat": out["c_hat"][:, j].numpy()}))
    return pd.concat(frames, ignore_index=True)
