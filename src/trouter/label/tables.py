"""Derived views of the long label table: cost normalisation and per-dataset summaries."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from trouter.errors import DataError
from trouter.io import read_csv

NUMERIC = ["score", "prompt_tokens", "completion_tokens", "cost", "latency_s", "cost_norm"]
SUMMARY_COLUMNS = ["dataset", "model", "queries", "scored", "flagged", "accuracy", "mean_cost",
                   "currency", "mean_latency_s", "best_share", "truncated_share"]


def read_label_table(path, columns) -> pd.DataFrame:
    """A label table with its columns checked; numbers parsed, an empty score as NaN."""
    df = read_csv(path, columns)
    for col in NUMERIC:
        if col in df:
            values = pd.to_numeric(df[col].replace("", np.nan), errors="coerce")
            bad = values.isna() & (df[col] != "")
            if bad.any():
                row = int(bad.to_numpy().argmax())
                raise DataError(f"{path} row {row + 1}: field {col!r} is {df[col].iloc[row]!r}, "
                                f"not a number")
            df[col] = values
    return df


COST_NORM_MODES = ("dataset", "node")


def cost_groups(labels: pd.DataFrame, mode: str = "dataset") -> pd.Series:
    """The group whose constants normalise each row: its dataset, or with mode 'node' (as the
    authors do for synthetic data) 'synthetic/<node_id>' for rows generated from a task type."""
    if mode not in COST_NORM_MODES:
        raise DataError(f"labeling.cost_norm={mode!r}: expected one of {COST_NORM_MODES}")
    groups = labels["dataset"].astype(str)
    if mode == "node":
        by_node = labels["node_id"].astype(str) != ""
        groups = groups.where(~by_node, groups + "/" + labels["node_id"].astype(str))
    return groups


def fit_cost_norm(labels: pd.DataFrame, mode: str = "dataset") -> dict[str, dict]:
    """Per group (see cost_groups) min and max cost over the training split (all candidates),
    as the paper's min-max normalisation; validation and test rows reuse them (c_norm may leave
    [0, 1])."""
    norms = {}
    for group, df in labels.groupby(cost_groups(labels, mode)):
        train = df[df["split"] == "train"]
        if train.empty:
            raise DataError(f"{group}: no training rows to fit the cost normalisation on")
        norms[group] = {"cost_min": float(train["cost"].min()),
                        "cost_max": float(train["cost"].max()),
                        "fitted_on": "train", "rows": len(train),
                        "currency": str(train["currency"].iloc[0])}
    return norms


def normalised_cost(labels: pd.DataFrame, norms: dict[str, dict],
                    mode: str = "dataset") -> pd.Series:
    """(cost - min) / (max - min) with the group's training constants; 0 when max == min."""
    groups = cost_groups(labels, mode)
    lo = groups.map(lambda g: norms[g]["cost_min"])
    span = groups.map(lambda g: norms[g]["cost_max"] - norms[g]["cost_min"])
    return ((labels["cost"] - lo) / span.where(span > 0, math.inf)).astype(float)


def best_choices(labels: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, query) the model with the highest score, ties to the cheaper one."""
    scored = labels.dropna(subset=["score"])
    ranked = scored.sort_values(["dataset", "query_id", "score", "cost", "model"],
                                ascending=[True, True, False, True, True])
    return ranked.drop_duplicates(["dataset", "query_id"])


def _summary_row(dataset: str, model: str, df: pd.DataFrame, best_share: float) -> dict:
    return {"dataset": dataset, "model": model, "queries": df["query_id"].nunique(),
            "scored": int(df["score"].notna().sum()), "flagged": int((df["error"] != "").sum()),
            "accuracy": df["score"].mean(), "mean_cost": df["cost"].mean(),
            "currency": df["currency"].iloc[0], "mean_latency_s": df["latency_s"].mean(),
            "best_share": best_share,
            "truncated_share": truncated_share(df)}


def truncated_share(df: pd.DataFrame) -> float:
    """The share of replies cut by max_tokens (finish_reason 'length'); NaN where no reply says
    why it ended (recorded outcomes)."""
    reasons = df["finish_reason"] if "finish_reason" in df else pd.Series([""])
    return math.nan if (reasons == "").all() else float((reasons == "length").mean())


def summarize(labels: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and model: accuracy, mean cost, latency and the share of queries on which the
    model is the best choice; then an `oracle` row per dataset (the best choice on every query)."""
    best = best_choices(labels)
    rows = []
    for dataset, df in labels.groupby("dataset", sort=True):
        chosen = best[best["dataset"] == dataset]
        for model, mdf in df.groupby("model", sort=True):
            share = (chosen["model"] == model).mean() if len(chosen) else math.nan
            rows.append(_summary_row(dataset, model, mdf, share))
        if len(chosen):
            rows.append(_summary_row(dataset, "oracle", chosen, 1.0))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _share(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:.1%}"


def summary_markdown(summary: pd.DataFrame) -> str:
    lines = ["| dataset | model | n | accuracy | mean cost | best share | mean latency (s) | "
             "cut by max_tokens |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in summary.itertuples(index=False):
        lines.append(f"| {r.dataset} | {r.model} | {r.queries} | {r.accuracy:.3f} | "
                     f"{r.mean_cost:.3g} {r.currency} | {r.best_share:.2f} | "
                     f"{r.mean_latency_s:.2f} | {_share(r.truncated_share)} |")
    return "\n".join(lines) + "\n"


def truncation_markdown(summary: pd.DataFrame, above: float = 0.01) -> str:
    """A warning listing, per benchmark and model, the share of replies cut by max_tokens where
    it is above `above` (scores and costs of cut replies are those of unfinished answers);
    empty when none is."""
    cut = summary[(summary["model"] != "oracle") & (summary["truncated_share"] > above)]
    if cut.empty:
        return ""
    lines = [f"**Replies cut by max_tokens** (more than {above:.0%} of a model's replies on a "
             "benchmark; their scores and costs are those of unfinished answers: raise "
             "`benchmarks.<key>.max_tokens` or `labeling.max_tokens`)", "",
             "| dataset | model | cut |", "|---|---|---:|"]
    lines += [f"| {r.dataset} | {r.model} | {r.truncated_share:.1%} |"
              for r in cut.itertuples(index=False)]
    return "\n".join(lines) + "\n"
