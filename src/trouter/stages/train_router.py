"""Rule train_router: one router (conf/router/<name>.yaml) under one protocol, fold by fold, and
its choices for every test query under every utility setting.

Outputs (Layout.router: train_router/<router>/<protocol>/<key>/): predictions.csv, the one
contract of all routers: fold, query_id, dataset, mu_r, mu_c, model, p (the probability the router
sends the query to the model; rows with p > 0, summing to 1 per query and setting); estimates.csv
(r_hat, c_hat) for routers that estimate; summary.json. A router with `uses_weights` answers the
run's settings (evaluation.sweep_points and weights); one that estimates answers the default grid,
and evaluate routes it at any other setting from estimates.csv."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from trouter.data import SYNTHETIC
from trouter.errors import ConfigError, DataError
from trouter.io import read_csv, write_csv, write_json
from trouter.layout import ASSIGNMENTS, ESTIMATES, LABELS, POOL, PREDICTIONS, SUMMARY, Layout
from trouter.plan import router_threads
from trouter.route.data import Embeddings, read_labels, routing_table
from trouter.route.pool import read_pool
from trouter.route.protocols import check_protocol, folds, router_seeds, star_name
from trouter.route.tasks import dataset_nodes, load_nodes
from trouter.route.utility import DEFAULT_POINTS, sweep_settings
from trouter.routers import RouterContext, RoutingTable
from trouter.routers.base import PREDICTION_COLUMNS
from trouter.routers.selection import fit_selected
from trouter.stages.common import log, open_session

ESTIMATE_COLUMNS = ["seed", "fold", "query_id", "model", "r_hat", "c_hat"]


def task_assignments(cfg: DictConfig, labels: pd.DataFrame) -> dict[str, str]:
    """Query id -> task type: the node each synthetic query was generated from, and assign_tasks'
    choice for every real query (when the run has a taxonomy)."""
    rows = labels[labels["dataset"] == SYNTHETIC].drop_duplicates("query_id")
    out = dict(zip(rows["query_id"], rows["node_id"], strict=True))
    path = Layout(cfg).assign() / ASSIGNMENTS
    if path.is_file():
        table = read_csv(path, ["query_id", "node_id"])
        out |= dict(zip(table["query_id"], table["node_id"], strict=True))
    return out


def prediction_rows(fold: str, table: RoutingTable, models: list[str], settings,
                    p: np.ndarray) -> pd.DataFrame:
    """The long rows (p > 0) of a [S, N, M] choice tensor."""
    if p.shape != (len(settings), len(table), len(models)):
        raise DataError(f"router returned choices of shape {p.shape}, expected "
                        f"{(len(settings), len(table), len(models))}")
    if not np.allclose(p.sum(-1), 1.0) or (p < 0).any():
        raise DataError("router returned choice probabilities that are negative or do not sum "
                        "to 1 per query")
    s, n, m = np.nonzero(p)
    mu = np.asarray(settings)
    return pd.DataFrame({"fold": fold, "query_id": np.asarray(table.query_ids)[n],
                         "dataset": table.datasets[n], "mu_r": mu[s, 0], "mu_c": mu[s, 1],
                         "model": np.asarray(models)[m], "p": p[s, n, m]})


def recognition(table: RoutingTable, predicted: np.ndarray, own: dict[str, str]) -> dict:
    """Per dataset: how often the recognised task type is the dataset's own node where the
    taxonomy names one (`own`, at the router's task level), else the one assigned to the query."""
    truth = np.array([own.get(d, t) for d, t in zip(table.datasets, table.tasks, strict=True)])
    agree = pd.DataFrame({"dataset": table.datasets, "agree": predicted == truth})
    return {d: {"queries": len(df), "top1": float(df["agree"].mean()),
                "against": "dataset node" if d in own else "assigned task type"}
            for d, df in agree.groupby("dataset")}


def variant_is_star(cfg: DictConfig) -> bool:
    """routing.variant (set by the rule): null, or star for a router listed in routing.star."""
    variant = cfg.routing.get("variant")
    if variant not in (None, "star"):
        raise ConfigError(f"routing.variant={variant!r}: expected null or 'star'")
    if variant and cfg.router.name not in cfg.routing.star:
        raise ConfigError(f"router {cfg.router.name!r} has no star variant: routing.star="
                          f"{list(cfg.routing.star)}")
    return variant == "star"


@dataclass
class FoldJob:
    """One fold's tables and the context its router is built with."""

    fold: str
    train: RoutingTable
    val: RoutingTable
    test: RoutingTable
    ctx: RouterContext
    own: dict[str, str]  # dataset -> its own task type, where the taxonomy names one


def fold_jobs(cfg: DictConfig, name: str, protocol: str, star: bool, out: Path,
              seeds: list[int]) -> Iterator[tuple[int, FoldJob]]:
    """Per training seed, the folds of a protocol as routing tables over this run's labels and
    embeddings (task types at the router's task_level), each with its router context (with
    several seeds, each in its own folder seed-<seed>/<fold>)."""
    lay = Layout(cfg)
    labels = read_labels(lay.collected() / LABELS)
    pool = read_pool(lay.collected() / POOL)
    emb = Embeddings(lay.embed())
    emb.coarsen(str(cfg.router.get("task_level") or "difficulty"))
    task_of = {q: emb.task_of_node.get(t, t) for q, t in task_assignments(cfg, labels).items()}
    nodes = lay.taxonomy_nodes()
    own = ({d: emb.task_of_node.get(t, t) for d, t in
            dataset_nodes(load_nodes(nodes), nodes).items()} if nodes.is_file() else {})
    tables = {fold.name: [routing_table(rows, pool["models"], emb, task_of)
                          for rows in (fold.train, fold.val, fold.test)]
              for fold in folds(labels, protocol, star)}
    for seed in seeds:
        for fold, (train, val, test) in tables.items():
            where = out / fold if len(seeds) == 1 else out / f"seed-{seed}" / fold
            tag = [str(cfg.name), name, protocol, fold] + ([f"s{seed}"] if len(seeds) > 1 else [])
            ctx = RouterContext(models=pool["models"], task_ids=emb.task_ids,
                                task_embeddings=emb.tasks, seed=seed,
                                threads=router_threads(cfg), out_dir=where,
                                run_name="-".join(tag), logger=str(cfg.routing.logger),
                                wandb_project=str(cfg.routing.wandb_project),
                                wandb_group=cfg.routing.get("wandb_group"), pool=pool,
                                open_llm=partial(open_session, cfg, out_dir=where))
            yield seed, FoldJob(fold, train, val, test, ctx, own)


def run(cfg: DictConfig) -> dict:
    protocol, star = str(cfg.routing.protocol), variant_is_star(cfg)
    name = star_name(str(cfg.router.name)) if star else str(cfg.router.name)
    check_protocol(protocol)
    uses_weights = bool(cfg.router.get("uses_weights", False))
    lay = Layout(cfg)
    settings = ([tuple(s) for s in lay.settings()] if uses_weights
                else sweep_settings(DEFAULT_POINTS))
    out = lay.router(name, protocol)
    seeds = router_seeds(cfg.routing, cfg.router, protocol)
    predictions, estimates, by_seed = [], [], {s: {} for s in seeds}
    recognised, models, task_ids = {}, [], []
    start = time.monotonic()
    for seed, job in fold_jobs(cfg, name, protocol, star, out, seeds):
        train, val, test, ctx = job.train, job.val, job.test, job.ctx
        models, task_ids, fold = ctx.models, ctx.task_ids, job.fold
        router, fitted = fit_selected(cfg.router, ctx, train, val)
        predictions.append(prediction_rows(fold, test, models, settings,
                                           router.choose(test, settings)).assign(seed=seed))
        est = router.estimate(test)
        if est is None and not uses_weights:
            raise ConfigError(f"router {cfg.router.name!r} does not estimate performance and "
                              "cost: set uses_weights: true in its config")
        if est is not None:
            estimates.append(pd.DataFrame({
                "seed": seed, "fold": fold, "query_id": np.repeat(test.query_ids, len(models)),
                "model": np.tile(models, len(test)), "r_hat": est[0].ravel(),
                "c_hat": est[1].ravel()}))
        if seed == seeds[0] and (tasks := router.predicted_tasks(test)) is not None:
            recognised |= recognition(test, tasks, job.own)
        by_seed[seed][fold] = {"train_queries": len(train), "val_queries": len(val),
                               "test_queries": len(test), **fitted, **router.extra_summary()}
        log.info("%s %s seed %d fold %s: %s", name, protocol, seed, fold,
                 fitted or "no training")
    table = pd.concat(predictions, ignore_index=True)
    write_csv(out / PREDICTIONS, table, PREDICTION_COLUMNS)
    if estimates:
        est_table = pd.concat(estimates, ignore_index=True)
        write_csv(out / ESTIMATES, est_table, ESTIMATE_COLUMNS)
    summary = {"router": name, "protocol": protocol, "models": models,
               "task_types": len(task_ids),
               "task_level": str(cfg.router.get("task_level") or "difficulty"),
               "trained_on": "leave_one_task_out folds (star variant)" if star else protocol,
               "seeds": seeds, "folds": by_seed[seeds[0]],
               "other_seeds": {str(s): by_seed[s] for s in seeds[1:]},
               "seconds": round(time.monotonic() - start, 2),
               "task_prior": "generated" if protocol == "cold_start" and not star
               else f"assign_tasks ({cfg.routing.task_prior})",
               "task_recognition": recognised, "settings": len(settings)}
    write_json(out / SUMMARY, summary)
    log.info("%s %s: %d folds x %d seeds in %.1f s", name, protocol, len(by_seed[seeds[0]]),
             len(seeds), summary["seconds"])
    return summary
