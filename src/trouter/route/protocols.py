"""Training protocols: which label rows train, validate and test a router, in folds.

cold_start: the synthetic train/val splits; test on every real test query.
in_domain: the real train/val splits; test on every real test query.
leave_one_task_out: per real dataset d, train/val on the other datasets' train/val rows and test
on d's test rows; the folds' test queries together are every real test query.

A router's star variant (RouterDC*, MetricRouter*, ...; the paper's cold-start baselines trained on
real data from other benchmarks) is trained under cold_start on the folds of leave_one_task_out."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from trouter.data import SYNTHETIC
from trouter.errors import ConfigError, DataError

PROTOCOLS = ("cold_start", "in_domain", "leave_one_task_out")


@dataclass
class Fold:
    name: str
    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame


def star_name(router: str) -> str:
    return f"{router}_star"


def routed_methods(routing, protocol: str) -> list[str]:
    """The routers a protocol compares (routing.routers; under cold_start also the star variants
    of routing.star), as the method names of every table."""
    star = [star_name(r) for r in routing.star] if protocol == "cold_start" else []
    return [*map(str, routing.routers), *star]


def router_seeds(routing, router, protocol: str) -> list[int]:
    """The training seeds of a router under a protocol: routing.seeds (else routing.seed), the
    first routing.seeds_per_protocol[protocol] of them; one for a router whose config does not
    say `seeded: true` (its training has no randomness)."""
    seeds = [int(s) for s in (routing.get("seeds") or [routing.seed])]  # unique: trouter.checks
    if not router.get("seeded", False):
        return seeds[:1]
    n = (routing.get("seeds_per_protocol") or {}).get(protocol)
    return seeds[: int(n)] if n else seeds


def check_protocol(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise ConfigError(f"protocol {protocol!r}: expected one of {PROTOCOLS}")


def real_test(labels: pd.DataFrame) -> pd.DataFrame:
    test = labels[(labels["dataset"] != SYNTHETIC) & (labels["split"] == "test")]
    if test.empty:
        raise DataError("the labels have no real (non-synthetic) test rows")
    return test


def folds(labels: pd.DataFrame, protocol: str, star: bool = False) -> list[Fold]:
    check_protocol(protocol)
    if star:
        if protocol != "cold_start":
            raise ConfigError(f"a star variant is a cold_start baseline, not one of {protocol}")
        protocol = "leave_one_task_out"
    synthetic = labels["dataset"] == SYNTHETIC
    test = real_test(labels)
    if protocol == "cold_start":
        if not synthetic.any():
            raise DataError("protocol cold_start trains on synthetic data and this run has none "
                            "(recorded data): use in_domain or leave_one_task_out")
        out = [Fold("all", *_train_val(labels[synthetic], protocol), test)]
    elif protocol == "in_domain":
        out = [Fold("all", *_train_val(labels[~synthetic], protocol), test)]
    else:
        real = labels[~synthetic]
        datasets = sorted(set(test["dataset"]))
        if len(datasets) < 2:
            raise DataError(f"leave_one_task_out needs two or more datasets, got {datasets}")
        out = [Fold(d, *_train_val(real[real["dataset"] != d], f"{protocol} fold {d}"),
                    test[test["dataset"] == d]) for d in datasets]
    return out


def _train_val(rows: pd.DataFrame, what: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, val = rows[rows["split"] == "train"], rows[rows["split"] == "val"]
    if train.empty or val.empty:
        raise DataError(f"{what}: needs training and validation rows, got {len(train)} and "
                        f"{len(val)} label rows")
    return train, val
