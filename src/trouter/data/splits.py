"""Seeded train/val/test splits; the test set does not move when train or val sizes change."""

from __future__ import annotations

import random
from collections import defaultdict

from trouter.errors import ConfigError

SPLITS = ("train", "val", "test")


def _shuffled_groups(records: list[dict], seed: str) -> list[list[dict]]:
    """Records grouped by `group` (their own id when alone), groups in a seeded order."""
    groups = defaultdict(list)
    for r in records:
        groups[r.get("group") or r["query_id"]].append(r)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    return [sorted(groups[k], key=lambda r: r["query_id"]) for k in keys]


def assign_splits(records: list[dict], sizes: dict[str, int], seed: int, key: str) -> list[dict]:
    """Draw test first, then val, then train, whole groups at a time: records that share a
    group (a passage) never fall in two splits; the rest of a group that overfills a split is
    left out. A benchmark with upstream train and test files takes test from 'test' and
    val/train from 'train'; one with a single file splits it."""
    for name in SPLITS:
        if int(sizes[name]) < 0:
            raise ConfigError(f"{key}: split size {name}={sizes[name]} must be >= 0")
    pools = defaultdict(list)
    for r in records:
        pools[r["pool"]].append(r)
    if set(pools) == {"all"}:
        order = _shuffled_groups(pools["all"], f"{seed}:{key}")
        sources = {"test": order, "val": order, "train": order}
    elif set(pools) == {"train", "test"}:
        train = _shuffled_groups(pools["train"], f"{seed}:{key}:train")
        sources = {"test": _shuffled_groups(pools["test"], f"{seed}:{key}:test"), "val": train,
                   "train": train}
    else:
        raise ConfigError(f"{key}: unexpected upstream pools {sorted(pools)}")
    taken = defaultdict(int)  # groups used, per source list
    out = []
    for name in ("test", "val", "train"):
        groups, need = sources[name], int(sizes[name])
        while need > 0:
            i = taken[id(groups)]
            if i >= len(groups):
                raise ConfigError(f"{key}: split sizes {dict(sizes)} need more than the "
                                  f"{sum(map(len, groups))} questions available for {name}")
            part = groups[i][:need]
            out += [{**r, "split": name} for r in part]
            need -= len(part)
            taken[id(groups)] = i + 1
    return out
