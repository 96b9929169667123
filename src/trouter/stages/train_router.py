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
    return real_assignments(cfg)


def real_assignments(cfg: DictConfig) -> dict[str, str]:
    """assign_tasks: query id -> task type of every real query."""
    table = read_csv(stage_dir(cfg, "assign_tasks") / "assignments.csv", ["query_id", "node_id"])
    return dict(zip(table["query_id"], table["node_id"], strict=True))


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


def task_recognition(predictions: pd.DataFrame, assigned: dict[str, str]) -> dict:
    """Per benchmark and split: how often q(t|q)'s top task type is the assigned one."""
    rows = predictions.drop_duplicates("query_id")
    rows = rows.assign(agree=[assigned.get(q) == t for q, t in zip(rows["query_id"], rows["task"],
                                                                    strict=True)])
    out = {}
    for (dataset, split), df in rows.groupby(["dataset", "split"]):
        out.setdefault(dataset, {})[split] = {"queries": len(df), "top1": float(df["agree"].mean())}
    return out


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
    module = TRouterModule(emb.tasks, len(models), lr=float(rc.lr),
                           weight_decay=float(rc.weight_decay),
                           task_weight=float(rc.task_weight),
                           **net_settings(rc, emb.tasks.shape[1]))
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
    recognition = task_recognition(predictions, real_assignments(cfg))
    summary = {"protocol": protocol, "models": models, "task_types": len(emb.task_ids),
               "task_prior": "generated" if protocol == "cold_start" else rc.task_prior,
               "train_queries": len(train.queries),
               "val_queries": len(val.queries), "epochs": trainer.current_epoch,
               "best_val_loss": float(ckpt.best_model_score), "train_s": round(train_s, 2),
               "parameters": sum(p.numel() for p in module.parameters()),
               "task_recognition": recognition, "checkpoint": str(ckpt.best_model_path)}
    write_json(out / "summary.json", summary)
    log.info("%s: %d epochs in %.1f s, best val/loss %.4f", protocol, summary["epochs"],
             train_s, summary["best_val_loss"])
    return summary


@torch.no_grad()
def predict(module: TRouterModule, labels: pd.DataFrame, models: list[str],
            emb: Embeddings) -> pd.DataFrame:
    """Per benchmark query (val and test) and model: predicted performance and normalised cost,
    and the task type q(t|q) ranks first."""
    module.eval()
    rows = labels[(labels["dataset"] != SYNTHETIC) & labels["split"].isin(["val", "test"])]
    rows = rows.drop_duplicates("query_id")
    ids = list(rows["query_id"])
    out = module(torch.as_tensor(emb.of(ids)))
    top = np.asarray(emb.task_ids)[out["q_t"].argmax(-1).numpy()]
    frames = []
    for j, m in enumerate(models):
        frames.append(pd.DataFrame({"query_id": ids, "dataset": rows["dataset"].to_numpy(),
                                    "split": rows["split"].to_numpy(), "model": m,
                                    "r_hat": out["r_hat"][:, j].numpy(),
                                    "c_hat": out["c_hat"][:, j].numpy(), "task": top}))
    return pd.concat(frames, ignore_index=True)
