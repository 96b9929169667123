"""Rule embed_queries: frozen all-MiniLM-L6-v2 embeddings of every query and task type, once."""

from __future__ import annotations

import numpy as np
from omegaconf import DictConfig

from trouter.io import atomic_path, write_json
from trouter.route.data import queries_of, read_labels
from trouter.route.tasks import task_types
from trouter.stages.common import log, question_encoder, stage_dir
from trouter.stages.generate_qa import load_nodes


def save_npz(path, **arrays) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def run(cfg: DictConfig) -> dict:
    embed = question_encoder(cfg)
    queries = queries_of(read_labels(stage_dir(cfg, "labels") / "labels.csv"))
    tasks = task_types(load_nodes(stage_dir(cfg, "expand_taxonomy") / "nodes.csv"))
    out = stage_dir(cfg, "embed_queries")
    q_vecs = embed(queries["prompt"].tolist())
    t_vecs = embed([t["text"] for t in tasks])
    save_npz(out / "queries.npz", ids=np.array(queries.index, dtype=str), vectors=q_vecs)
    save_npz(out / "task_types.npz", ids=np.array([t["node_id"] for t in tasks], dtype=str),
             texts=np.array([t["text"] for t in tasks], dtype=str), vectors=t_vecs)
    summary = {"queries": len(queries), "task_types": len(tasks), "dim": int(q_vecs.shape[1]),
               "text": "the prompt each candidate received"}
    write_json(out / "summary.json", summary)
    log.info("embedded %d queries and %d task types", len(queries), len(tasks))
    return summary
