"""Rule collect_labels: every label file in one long table, cost constants, per-dataset summary."""

from __future__ import annotations

import pandas as pd
from omegaconf import DictConfig

from trouter.errors import DataError
from trouter.io import read_jsonl, write_csv, write_json, write_text
from trouter.label.answer import LABEL_COLUMNS
from trouter.label.tables import (
    SUMMARY_COLUMNS,
    fit_cost_norm,
    normalised_cost,
    read_label_table,
    summarize,
    summary_markdown,
)
from trouter.layout import (
    COST_NORM,
    LABEL_SUMMARY,
    LABEL_TABLE,
    LABELS,
    POOL,
    QUERIES_JSONL,
    Layout,
)
from trouter.route.pool import live_pool, write_pool
from trouter.stages.common import log


def read_candidate_labels(lay: Layout, dataset: str, model: str,
                          expected: set[str]) -> pd.DataFrame:
    path = lay.labels(dataset, model) / LABELS
    df = read_label_table(path, LABEL_COLUMNS)
    got = set(df["query_id"])
    if got != expected or len(df) != len(expected):
        raise DataError(f"{path}: holds {len(got)} of the {len(expected)} queries of "
                        f"{dataset} (or duplicates); rerun label_candidates for it")
    return df


def run(cfg: DictConfig) -> dict:
    lay = Layout(cfg)
    datasets = lay.datasets()
    frames = []
    for dataset in datasets:
        ids = {q["query_id"] for q in read_jsonl(lay.data(dataset) / QUERIES_JSONL)}
        frames += [read_candidate_labels(lay, dataset, m, ids) for m in lay.candidates()]
    labels = pd.concat(frames, ignore_index=True)
    currencies = sorted(set(labels["currency"]))
    if len(currencies) > 1:
        raise DataError(f"candidates are priced in different currencies {currencies}; "
                        "costs cannot be compared")
    mode = str(cfg.labeling.cost_norm)
    norms = fit_cost_norm(labels, mode)
    labels["cost_norm"] = normalised_cost(labels, norms, mode)
    summary = summarize(labels)
    out = lay.collected()
    write_csv(out / LABELS, labels, [*LABEL_COLUMNS, "cost_norm"])
    write_json(out / COST_NORM, norms)
    write_pool(out / POOL, live_pool(cfg, currencies[0]))
    write_csv(out / LABEL_SUMMARY, summary, SUMMARY_COLUMNS)
    write_text(out / LABEL_TABLE, summary_markdown(summary))
    log.info("collected %d label rows: %d datasets x %d models", len(labels), len(datasets),
             len(cfg.pool.candidates))
    return {"rows": len(labels), "cost_norm": mode, "norms": norms}
