"""Rule assign_tasks: a task type for every real query: the prior of in-domain training (train and
val) and the reference for task-recognition quality (every split)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from trouter.data import SYNTHETIC
from trouter.errors import ConfigError, DataError
from trouter.io import write_csv, write_json
from trouter.layout import ASSIGNMENTS, LABELS, QUERIES_NPZ, SUMMARY, TASKS_NPZ, Layout
from trouter.llm.cards import card_from_config
from trouter.route.data import queries_of, read_labels
from trouter.route.labeller import LABELLER_PROMPTS, label_query, label_query_stepwise
from trouter.route.tasks import dataset_nodes, landing, load_nodes, task_types
from trouter.stages.common import log, open_session

METHODS = ("nearest", "llm", "dataset")
COLUMNS = ["query_id", "dataset", "split", "node_id", "method"]


def llm_picks(cfg: DictConfig, lay: Layout, texts: list[str],
              task_ids: list[str]) -> tuple[list[int | None], dict]:
    """The labeller's task type (an index into task_ids) per query, None where its replies
    stayed unusable; and the session's call statistics."""
    nodes = load_nodes(lay.taxonomy_nodes())
    tasks, index = task_types(nodes), {t: i for i, t in enumerate(task_ids)}
    card = card_from_config(cfg.routing.labeller, where="routing.labeller")
    kw = {"max_chars": int(cfg.routing.labeller_max_chars),
          "max_reasks": int(cfg.llm.max_reasks), "seed": int(cfg.seed)}
    with open_session(cfg, {"labeller": card}, lay.assign()) as session:
        client = session.clients["labeller"]
        if cfg.routing.labeller_prompt == "authors":
            def one(text):
                node = label_query_stepwise(client, text, nodes, **kw)
                return None if node is None else index[node]
        else:
            def one(text):
                got = label_query(client, text, tasks, **kw)
                return None if got is None else index[tasks[got]["node_id"]]
        return client.map(one, texts, desc="task labels"), session.stats()


def by_dataset(datasets: list[str], own: dict[str, str], task_ids: list[str],
               where) -> list[int]:
    """routing.task_prior=dataset: each query's task type is the node named for its dataset."""
    missing = sorted(set(datasets) - set(own))
    if missing:
        raise DataError(f"{where}: routing.task_prior=dataset, but no node names dataset(s) "
                        f"{missing} in the `dataset` column")
    index = {t: i for i, t in enumerate(task_ids)}
    return [index[own[d]] for d in datasets]


def run(cfg: DictConfig) -> dict:
    method = cfg.routing.task_prior
    if method not in METHODS:
        raise ConfigError(f"routing.task_prior={method!r}: expected one of {METHODS}")
    lay = Layout(cfg)
    queries = queries_of(read_labels(lay.collected() / LABELS))
    queries = queries[queries["dataset"] != SYNTHETIC]
    with np.load(lay.embed() / QUERIES_NPZ) as z:
        row = {q: i for i, q in enumerate(z["ids"])}
        vecs = z["vectors"][[row[q] for q in queries.index]]
    with np.load(lay.embed() / TASKS_NPZ) as z:
        task_ids, task_vecs = list(z["ids"]), z["vectors"]
    nearest = np.argmax(vecs @ task_vecs.T, axis=1)
    picks, methods, stats = list(nearest), ["nearest"] * len(nearest), None
    out = lay.assign()
    own = dataset_nodes(load_nodes(lay.taxonomy_nodes()), lay.taxonomy_nodes())
    if method == "dataset":
        picks, methods = by_dataset(list(queries["dataset"]), own, task_ids,
                                    lay.taxonomy_nodes()), ["dataset"] * len(picks)
    prompt = cfg.routing.labeller_prompt
    if method == "llm":
        if prompt not in LABELLER_PROMPTS:
            raise ConfigError(f"routing.labeller_prompt={prompt!r}: expected one of "
                              f"{list(LABELLER_PROMPTS)}")
        got, stats = llm_picks(cfg, lay, list(queries["prompt"]), task_ids)
        for i, g in enumerate(got):
            if g is not None:
                picks[i], methods[i] = g, "llm"
            else:
                methods[i] = "nearest (labeller reply unusable)"
    table = pd.DataFrame({"query_id": queries.index, "dataset": queries["dataset"].to_numpy(),
                          "split": queries["split"].to_numpy(),
                          "node_id": [task_ids[i] for i in picks], "method": methods})
    write_csv(out / ASSIGNMENTS, table, COLUMNS)
    per_dataset, warnings = landing(table, own)
    for warning in warnings:
        log.warning("task prior (%s): %s", method, warning)
    summary = {"method": method, "queries": len(table), "labeller_prompt":
               LABELLER_PROMPTS[prompt] if method == "llm" else None,
               "fallbacks": int(table["method"].str.startswith("nearest (").sum()),
               "agreement_with_nearest": float(np.mean(np.array(picks) == nearest))
               if len(picks) else None, "llm": stats, "per_dataset": per_dataset,
               "warnings": warnings}
    write_json(out / SUMMARY, summary)
    log.info("assigned task types to %d queries by %s", len(table), method)
    return summary
