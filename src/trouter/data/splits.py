"""Seeded train/val/test splits; the test set does not move when train or val sizes change."""

from __future__ import annotations

import random
from collections import defaultdict

from trouter.errors import ConfigError

SPLITS = ("train", "val", "test")


def _shuffled(records: list[dict], seed: str) -> list[dict]:
    out = sorted(records, key=lambda r: r["query_id"])
    random.Random(seed).shuffle(out)
    return out


def assign_splits(records: list[dict], sizes: dict[str, int], seed: int, key: str) -> list[dict]:
    """Draw test first, then val, then train. A benchmark with upstream train and test files
    takes test from 'test' and val/train from 'train'; one with a single file splits it."""
    for name in SPLITS:
        if int(sizes[name]) < 0:
            raise ConfigError(f"{key}: split size {name}={sizes[name]} must be >= 0")
    pools = defaultdict(list)
    for r in records:
        pools[r["pool"]].append(r)
    if set(pools) == {"all"}:
        order = _shuffled(pools["all"], f"{seed}:{key}")
        sources = {"test": order, "val": order, "train": order}
    elif set(pools) == {"train", "test"}:
        train = _shuffled(pools["train"], f"{seed}:{key}:train")
        sources = {"test": _shuffled(pools["test"], f"{seed}:{key}:test"), "val": train,
                   "train": train}
    else:
        raise ConfigError(f"{key}: unexpected upstream pools {sorted(pools)}")
    taken = defaultdict(int)  # per source list
    out = []
    for name in ("test", "val", "train"):
        source = sources[name]
        start, n = taken[id(source)], int(sizes[name])
        if start + n > len(source):
            raise ConfigError(f"{key}: split sizes {dict(sizes)} need more than the "
                              f"{len(source)} questions available for {name}")
        out += [{**r, "split": name} for r in source[start:start + n]]
        taken[id(source)] = start + n
    return out
