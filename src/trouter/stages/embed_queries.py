"""Rule embed_queries: frozen all-MiniLM-L6-v2 embeddings of every query and task type, once."""

from __future__ import annotations

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from trouter.embed import truncated
from trouter.errors import ConfigError, DataError
from trouter.io import atomic_path, read_jsonl, write_json
from trouter.route.data import queries_of, read_labels
from trouter.route.tasks import task_types
from trouter.stages.common import log, question_encoder, stage_dir
from trouter.stages.generate_qa import load_nodes

EMBED = {"query": "the query: question, then its passage or options, no instruction template",
         "prompt": "the prompt each candidate received"}


def save_npz(path, **arrays) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def query_texts(cfg: DictConfig, queries: pd.DataFrame) -> pd.DataFrame:
    """Per query id: `text` to embed (router.embed) and `question` (must never be cut)."""
    records = {}
    for dataset in sorted(set(queries["dataset"])):
        for r in read_jsonl(stage_dir(cfg, "data") / f"{dataset}.jsonl"):
            records[r["query_id"]] = r
    missing = [q for q in queries.index if q not in records]
    if missing:
        raise DataError(f"{len(missing)} labelled queries are not in data/<dataset>.jsonl, "
                        f"e.g. {missing[:3]}")
    question = [records[q]["question"] for q in queries.index]
    if cfg.router.embed == "prompt":
        text = list(queries["prompt"])
    else:
        text = [records[q].get("query") or records[q]["question"] for q in queries.index]
    return pd.DataFrame({"dataset": queries["dataset"], "text": text, "question": question},
                        index=queries.index)


def truncation(texts: pd.DataFrame, model_path) -> dict:
    """Per dataset the share of embedded texts the encoder cuts, and of questions it cuts."""
    cut = texts.assign(text_cut=truncated(list(texts["text"]), model_path),
                       question_cut=truncated(list(texts["question"]), model_path))
    return {d: {"queries": len(df), "text_truncated": float(df["text_cut"].mean()),
                "question_truncated": float(df["question_cut"].mean())}
            for d, df in cut.groupby("dataset")}


def run(cfg: DictConfig) -> dict:
    if cfg.router.embed not in EMBED:
        raise ConfigError(f"router.embed={cfg.router.embed!r}: expected one of {sorted(EMBED)}")
    embed = question_encoder(cfg)
    queries = queries_of(read_labels(stage_dir(cfg, "labels") / "labels.csv"))
    texts = query_texts(cfg, queries)
    tasks = task_types(load_nodes(stage_dir(cfg, "expand_taxonomy") / "nodes.csv"))
    out = stage_dir(cfg, "embed_queries")
    q_vecs = embed(list(texts["text"]))
    t_vecs = embed([t["text"] for t in tasks])
    save_npz(out / "queries.npz", ids=np.array(queries.index, dtype=str), vectors=q_vecs)
    save_npz(out / "task_types.npz", ids=np.array([t["node_id"] for t in tasks], dtype=str),
             texts=np.array([t["text"] for t in tasks], dtype=str), vectors=t_vecs)
    cut = truncation(texts, cfg.dedup.model_path)
    summary = {"queries": len(queries), "task_types": len(tasks), "dim": int(q_vecs.shape[1]),
               "embed": cfg.router.embed, "text": EMBED[cfg.router.embed], "truncation": cut}
    write_json(out / "summary.json", summary)
    for dataset, c in cut.items():
        level = log.warning if c["question_truncated"] > 0 else log.info
        level("%s: the encoder cuts %.0f%% of the embedded texts and %.0f%% of the questions",
              dataset, 100 * c["text_truncated"], 100 * c["question_truncated"])
    log.info("embedded %d queries and %d task types", len(queries), len(tasks))
    return summary
