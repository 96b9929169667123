"""Rule embed_queries: frozen all-MiniLM-L6-v2 embeddings of every query and task type, once;
the domain and subcategory nodes too (coarse_*), for TRouter with coarser task types."""

from __future__ import annotations

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from trouter.embed import encode_in_windows, truncated
from trouter.errors import ConfigError, DataError
from trouter.io import atomic_path, read_jsonl, write_json
from trouter.layout import LABELS, QUERIES_NPZ, SUMMARY, TASKS_NPZ, Layout
from trouter.route.data import pack_texts, queries_of, read_labels
from trouter.route.tasks import load_nodes, task_types
from trouter.stages.common import log, question_encoder
from trouter.synth.taxonomy import LEVELS

EMBED = {"query": "the query: question, then its passage or options, no instruction template",
         "prompt": "the prompt each candidate received"}


def save_npz(path, **arrays) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def query_texts(cfg: DictConfig, queries: pd.DataFrame) -> pd.DataFrame:
    """Per query id: `text` to embed (routing.embed) and `question` (must never be cut)."""
    records = {}
    files = Layout(cfg).query_files()
    for path in files:
        records |= {r["query_id"]: r for r in read_jsonl(path)}
    missing = [q for q in queries.index if q not in records]
    if missing:
        raise DataError(f"{len(missing)} labelled queries are not in {[str(f) for f in files]}, "
                        f"e.g. {missing[:3]}")
    question = [records[q]["question"] for q in queries.index]
    if cfg.routing.embed == "prompt":
        text = list(queries["prompt"])
    else:
        text = [records[q].get("query") or records[q]["question"] for q in queries.index]
    return pd.DataFrame({"dataset": queries["dataset"], "text": text, "question": question},
                        index=queries.index)


def question_cut(texts: pd.DataFrame, model_path) -> np.ndarray:
    """Whether the encoder misses part of a question: the text up to the question's end is
    longer than its window."""
    heads = [t[: t.find(q) + len(q)] if q in t else t
             for t, q in zip(texts["text"], texts["question"], strict=True)]
    return truncated(heads, model_path)


def embed_texts(cfg: DictConfig, texts: pd.DataFrame) -> tuple[np.ndarray, dict]:
    """Embed `text`. With routing.embed=query a question longer than the encoder's window is
    embedded in windows instead (encode_in_windows), so no word piece of it is dropped. Returns
    the vectors and, per dataset, the shares of texts the encoder cuts, of questions read in
    windows, and of questions cut."""
    path = cfg.dedup.model_path
    cut = question_cut(texts, path)
    # a query starts with its question, so a cut question is one longer than the window
    windowed = cut if cfg.routing.embed == "query" else np.zeros(len(texts), dtype=bool)
    plain = question_encoder(cfg)(list(texts["text"][~windowed]))
    vecs = np.zeros((len(texts), plain.shape[1]), dtype=np.float32)
    vecs[~windowed] = plain
    if windowed.any():
        vecs[windowed] = encode_in_windows(list(texts["question"][windowed]), path)
    flags = texts.assign(text_cut=truncated(list(texts["text"]), path) & ~windowed,
                         windowed=windowed, question_cut=cut & ~windowed)
    report = {d: {"queries": len(df), "text_truncated": float(df["text_cut"].mean()),
                  "questions_in_windows": float(df["windowed"].mean()),
                  "question_truncated": float(df["question_cut"].mean())}
              for d, df in flags.groupby("dataset")}
    return vecs, report


def collisions(texts: pd.DataFrame, vecs: np.ndarray, decimals: int = 5) -> dict:
    """Queries whose texts differ but whose embeddings coincide (to `decimals`), e.g. few-shot
    prompts whose shared prefix fills the encoder's window: count, groups, per dataset, examples."""
    _, group = np.unique(np.round(vecs, decimals), axis=0, return_inverse=True)
    frame = texts.assign(group=group.ravel())
    distinct = frame.groupby("group")["text"].transform("nunique") > 1
    hit = frame[distinct]
    examples = [list(g.index[:3]) for _, g in list(hit.groupby("group"))[:5]]
    return {"queries": len(hit), "groups": int(hit["group"].nunique()),
            "per_dataset": {str(k): int(v) for k, v in hit["dataset"].value_counts().items()},
            "examples": examples}


def run(cfg: DictConfig) -> dict:
    if cfg.routing.embed not in EMBED:
        raise ConfigError(f"routing.embed={cfg.routing.embed!r}: expected one of {sorted(EMBED)}")
    lay = Layout(cfg)
    queries = queries_of(read_labels(lay.collected() / LABELS))
    texts = query_texts(cfg, queries)
    nodes = load_nodes(lay.taxonomy_nodes())
    tasks = task_types(nodes)
    out = lay.embed()
    q_vecs, cut = embed_texts(cfg, texts)
    same = collisions(texts, q_vecs)
    coarse = [(level, t) for level in LEVELS[:-1] for t in task_types(nodes, level)]
    t_vecs = question_encoder(cfg)([t["text"] for t in tasks] + [t["text"] for _, t in coarse])
    t_vecs, c_vecs = t_vecs[:len(tasks)], t_vecs[len(tasks):]
    save_npz(out / QUERIES_NPZ, ids=np.array(queries.index, dtype=str), vectors=q_vecs,
             **pack_texts(texts["text"]))
    save_npz(out / TASKS_NPZ, ids=np.array([t["node_id"] for t in tasks], dtype=str),
             texts=np.array([t["text"] for t in tasks], dtype=str), vectors=t_vecs,
             ancestors=np.array([t["ancestors"] for t in tasks], dtype=str).reshape(len(tasks), -1),
             coarse_ids=np.array([t["node_id"] for _, t in coarse], dtype=str),
             coarse_levels=np.array([level for level, _ in coarse], dtype=str),
             coarse_vectors=c_vecs.reshape(len(coarse), -1))
    summary = {"queries": len(queries), "task_types": len(tasks), "dim": int(q_vecs.shape[1]),
               "embed": cfg.routing.embed, "text": EMBED[cfg.routing.embed], "truncation": cut,
               "taxonomy": str(lay.taxonomy_nodes()), "collisions": same}
    write_json(out / SUMMARY, summary)
    for dataset, c in cut.items():
        log.info("%s: the encoder cuts %.0f%% of the embedded texts; %.0f%% of the questions are "
                 "longer than its window and read in windows", dataset,
                 100 * c["text_truncated"], 100 * c["questions_in_windows"])
        if c["question_truncated"]:
            log.warning("%s: the encoder cuts %.0f%% of the questions (routing.embed=%s)",
                        dataset, 100 * c["question_truncated"], cfg.routing.embed)
    if same["queries"]:
        log.warning("%d queries with different texts share an embedding with another query "
                    "(%d groups; e.g. %s): a router cannot tell them apart", same["queries"],
                    same["groups"], same["examples"][:1])
    log.info("embedded %d queries and %d task types", len(queries), len(tasks))
    return summary
