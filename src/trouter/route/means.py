"""Mean utilities per method under each named setting and their Utility Sum, with bootstrap
intervals: over the pooled test queries, per benchmark, and the macro average over benchmarks."""

from __future__ import annotations

import pandas as pd
from omegaconf import DictConfig

from trouter.route.columns import MEANS, UTILITY_COLUMNS
from trouter.route.stats import intervals, macro_weights, resample_indices
from trouter.route.utility import SETTINGS


def per_query(chosen: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per utility setting and for the Utility Sum: a query x method table of utilities."""
    table = chosen.pivot_table(index="query_id", columns=["utility_setting", "method"],
                               values="utility")
    tables = {s: table[s] for s in SETTINGS}
    tables["utility_sum"] = sum(tables[s] for s in SETTINGS)
    return tables


def utility_rows(chosen: pd.DataFrame, ev: DictConfig, macro: bool) -> pd.DataFrame:
    """Mean utility per method under each setting and their sum, each with its paired-bootstrap
    interval over the queries of `chosen`; with `macro` also their macro average (`_macro`: the
    mean of the benchmarks' means), resampled within each benchmark."""
    tables = per_query(chosen)
    n, resamples, seed = len(tables["utility_sum"]), int(ev.resamples), int(ev.seed)
    kinds = [("", resample_indices(n, resamples, seed), None)]
    if macro:
        strata = (chosen.drop_duplicates("query_id").set_index("query_id")["dataset"]
                  .loc[tables["utility_sum"].index].to_numpy())
        kinds.append(("_macro", resample_indices(n, resamples, seed, strata),
                      macro_weights(strata)))
    out = pd.DataFrame(index=tables["utility_sum"].columns)
    for kind, idx, weights in kinds:
        for name, table in tables.items():
            ci = intervals(table, idx, float(ev.confidence), weights)
            for suffix, col in (("", "mean"), ("_lo", "lo"), ("_hi", "hi")):
                out[f"{name}{kind}{suffix}"] = ci[col]
    return out.rename_axis("method").reset_index()


def utility_table(chosen: pd.DataFrame, by: list[str], ev: DictConfig) -> pd.DataFrame:
    """utility_rows per protocol (and per `by`); the pooled table (no `by`) with the macro
    average."""
    frames = []
    for key, part in chosen.groupby(["protocol", *by], sort=False):
        frames.append(utility_rows(part, ev, macro=not by).assign(
            **dict(zip(["protocol", *by], key, strict=True))))
    columns = MEANS if by else UTILITY_COLUMNS[2:]
    return pd.concat(frames, ignore_index=True)[["protocol", "method", *by, *columns]]
