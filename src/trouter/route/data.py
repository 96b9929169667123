"""Views of the label table for routing: wide query x model tables, embeddings, routing tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trouter.errors import ConfigError, DataError
from trouter.label.answer import LABEL_COLUMNS
from trouter.label.tables import read_label_table
from trouter.routers.base import RoutingTable
from trouter.synth.taxonomy import LEVELS


def read_labels(path) -> pd.DataFrame:
    """The collected label table (labels/labels.csv, with cost_norm)."""
    return read_label_table(path, [*LABEL_COLUMNS, "cost_norm"])


def wide(labels: pd.DataFrame, models: list[str], column: str) -> pd.DataFrame:
    """query_id x model table of `column`, models in the given order; every model must be there."""
    table = labels.pivot_table(index="query_id", columns="model", values=column, aggfunc="first",
                               dropna=False)
    missing = [m for m in models if m not in table.columns]
    if missing:
        raise DataError(f"labels have no rows for model(s) {missing}")
    return table[models]


def queries_of(labels: pd.DataFrame) -> pd.DataFrame:
    """One row per query: id, dataset, split, node_id, prompt."""
    cols = ["query_id", "dataset", "task", "split", "node_id", "prompt"]
    return labels[cols].drop_duplicates("query_id").set_index("query_id")


def pack_texts(texts) -> dict[str, np.ndarray]:
    """Texts as one UTF-8 byte array and end offsets, for an .npz: a string array would give
    every row the longest text's width (20,000 queries with a few long articles: 5 GB)."""
    encoded = [str(t).encode("utf-8") for t in texts]
    return {"text_bytes": np.frombuffer(b"".join(encoded), dtype=np.uint8),
            "text_ends": np.cumsum([len(b) for b in encoded], dtype=np.int64)}


def unpack_texts(z) -> list[str]:
    data, ends = z["text_bytes"].tobytes(), z["text_ends"]
    starts = np.concatenate([[0], ends]).astype(np.int64)[:-1]
    return [data[a:b].decode("utf-8") for a, b in zip(starts, ends, strict=True)]


def load_npz(path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as z:
        return z["ids"], z["vectors"]


class Embeddings:
    """embed_queries' outputs: query vectors (and the texts embedded) by id and the task types'
    vectors."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        with np.load(self.folder / "queries.npz") as z:
            if "text_ends" not in z:
                raise DataError(f"{folder}/queries.npz has no packed texts (written by an older "
                                "version): rerun embed_queries")
            ids, self.queries, self.texts = z["ids"], z["vectors"], unpack_texts(z)
        self.row = {q: i for i, q in enumerate(ids)}
        task_ids, self.tasks = load_npz(self.folder / "task_types.npz")
        self.task_ids = [str(t) for t in task_ids]
        self.level = LEVELS[-1]
        self.task_of_node = {t: t for t in self.task_ids}

    def coarsen(self, level: str) -> None:
        """Task types cut to the domain or subcategory level: each difficulty node stands for its
        ancestor at that level, whose profile embedding replaces the task types'."""
        if level not in LEVELS:
            raise ConfigError(f"router.task_level={level!r}: expected one of {LEVELS}")
        if level == self.level:
            return
        with np.load(self.folder / "task_types.npz") as z:
            if "coarse_ids" not in z:
                raise DataError(f"{self.folder}/task_types.npz has no coarser task types (written "
                                "by an older version): rerun embed_queries")
            keep = z["coarse_levels"] == level
            ids, vectors = [str(t) for t in z["coarse_ids"][keep]], z["coarse_vectors"][keep]
            column = z["ancestors"][:, LEVELS.index(level)]
        self.task_of_node = dict(zip(self.task_ids, map(str, column), strict=True))
        self.task_ids, self.tasks, self.level = ids, vectors, level

    def rows(self, query_ids) -> list[int]:
        missing = [q for q in query_ids if q not in self.row]
        if missing:
            raise DataError(f"no embedding for {len(missing)} queries, e.g. {missing[:3]}")
        return [self.row[q] for q in query_ids]

    def of(self, query_ids) -> np.ndarray:
        return self.queries[self.rows(query_ids)]

    def texts_of(self, query_ids) -> list[str]:
        return [self.texts[i] for i in self.rows(query_ids)]


def routing_table(rows: pd.DataFrame, models: list[str], emb: Embeddings,
                  task_of: dict[str, str]) -> RoutingTable:
    """The label rows of some queries as aligned arrays (queries in id order); `task_of`: query id
    -> task type, missing ids get ''."""
    r = wide(rows, models, "score")
    ids = list(r.index)
    datasets = rows.drop_duplicates("query_id").set_index("query_id")["dataset"]
    return RoutingTable(
        query_ids=ids, datasets=datasets.loc[ids].to_numpy(str), embeddings=emb.of(ids),
        score=r.to_numpy(float), cost=wide(rows, models, "cost").loc[ids].to_numpy(float),
        cost_norm=wide(rows, models, "cost_norm").loc[ids].to_numpy(float),
        tasks=np.array([task_of.get(q, "") for q in ids], dtype=object),
        texts=emb.texts_of(ids))
