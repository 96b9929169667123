"""Per-query choices: duplicate texts, texts in two splits, drawn splits, per-task limits.

`q` has one row per source query: task, source, query (text), split, where, scores (a tuple
over the sorted models), dataset, query_id and key (a seeded hash of the text that orders
every draw, so a text always falls in one split and a seed always gives the same splits)."""

from __future__ import annotations

import hashlib
import math

import pandas as pd

from trouter.errors import DataError
from trouter.recorded.settings import SPLITS, RecordedSettings

PAIRS = (("train", "test"), ("val", "test"), ("train", "val"))  # (dropped from, kept in)


def draw_key(seed: int, text: str) -> str:
    return hashlib.sha1(f"{seed}\n{text}".encode()).hexdigest()


def dedupe(q: pd.DataFrame, dropped: dict) -> pd.DataFrame:
    """Keep the first of several source queries with one query_id in one split."""
    dup = q.duplicated(["query_id", "split"])
    kept = q[~dup].set_index(["query_id", "split"])["scores"]
    differ = sum(scores != kept[(qid, split)] for qid, split, scores
                 in q.loc[dup, ["query_id", "split", "scores"]].itertuples(index=False))
    dropped["duplicate_query"] = int(dup.sum())
    dropped["duplicate_query_different_scores"] = int(differ)
    return q[~dup]


def drop_overlaps(q: pd.DataFrame, on_overlap: str, dropped: dict) -> pd.DataFrame:
    """A text in a later split (test after val after train) leaves the earlier one, or with
    on_overlap='error' is refused."""
    for low, high in PAIRS:
        later = q[q["split"] == high].drop_duplicates("query")
        scores = dict(zip(later["query"], later["scores"], strict=True))
        hit = (q["split"] == low) & q["query"].isin(scores)
        differ = int(sum(s != scores[t] for t, s in zip(q.loc[hit, "query"],
                                                        q.loc[hit, "scores"], strict=True)))
        if hit.any() and on_overlap == "error":
            ex = q[hit].iloc[0]
            raise DataError(f"{int(hit.sum())} {low} queries have a text that is also in {high} "
                            f"({differ} of them with different scores), e.g. {ex['where']}: "
                            f"{ex['query'][:80]!r}; on_overlap='drop' drops them from {low}")
        dropped[f"overlap_{low}_{high}"] = int(hit.sum())
        dropped[f"overlap_{low}_{high}_different_scores"] = differ
        q = q[~hit]
    return q


def draw(q: pd.DataFrame, share: float, to: str) -> pd.DataFrame:
    """Move round(share x n) of each task's train texts (lowest keys first) to split `to`;
    a text shared by tasks counts for the first of them and moves in all."""
    pool = q[q["split"] == "train"].drop_duplicates("query")
    take = set()
    for _, group in pool.groupby("task"):
        n = math.floor(share * len(group) + 0.5)
        take.update(group.sort_values("key")["query"].iloc[:n])
    q = q.copy()
    q.loc[(q["split"] == "train") & q["query"].isin(take), "split"] = to
    return q


def limit(q: pd.DataFrame, limits: dict, dropped: dict) -> pd.DataFrame:
    """At most limits[split] queries per task in each named split (lowest keys kept)."""
    keep = pd.Series(True, index=q.index)
    for split, n in limits.items():
        part = q[q["split"] == split].sort_values("key", kind="stable")
        over = part.groupby("task").cumcount() >= n
        keep[over[over].index] = False
    dropped["over_limit_per_task"] = int((~keep).sum())
    return q[keep]


def choose_splits(q: pd.DataFrame, s: RecordedSettings, has_split: bool, where,
                  dropped: dict) -> pd.DataFrame:
    """The queries kept, with their final splits; adds the drops per reason to `dropped`."""
    q = dedupe(q, dropped)
    if not has_split:
        q = draw(q.assign(split="train"), s.test_share, "test")
    q = drop_overlaps(q, s.on_overlap, dropped)
    if s.limit_per_task:
        q = limit(q, s.limit_per_task, dropped)
    if not (q["split"] == "val").any():
        q = draw(q, s.validation_share, "val")
    counts = {split: int((q["split"] == split).sum()) for split in SPLITS}
    for split in SPLITS:
        if not counts[split]:
            raise DataError(f"{where}: no {split} queries left (queries per split {counts}, "
                            f"dropped {dropped}); check the data's splits and the shares")
    return q
