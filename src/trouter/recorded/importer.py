"""import_recorded: read recorded routing outcomes, check them, and build the label table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from trouter.data.files import sha256_of
from trouter.errors import DataError
from trouter.label.answer import LABEL_COLUMNS
from trouter.recorded import llmrouter, long, routerbench
from trouter.recorded.settings import SPLITS, Imported, RecordedSettings, check_settings
from trouter.recorded.splits import choose_splits, draw_key
from trouter.recorded.table import Source, check_rows, dataset_names, query_id

READERS = {"long": long.read, "llmrouter": llmrouter.read, "routerbench": routerbench.read}
# Formats whose files describe the candidates: settings -> {model: description}.
DESCRIBERS = {"llmrouter": llmrouter.descriptions}


def import_recorded(settings: RecordedSettings) -> Imported:
    check_settings(settings)
    if not Path(settings.path).exists():
        raise DataError(f"{settings.path}: not found (recorded.path)")
    src = READERS[settings.format](settings)
    check_rows(src)
    names = dataset_names(src.rows["task"], settings.path)
    q = query_table(src.rows, names, settings.seed)
    dropped = dict(src.dropped)
    q = choose_splits(q, settings, src.has_split, settings.path, dropped)
    labels = label_table(src, q)
    models = sorted(src.rows["model"].unique())
    summary = {
        "format": settings.format,
        "files": [{"path": str(p), "sha256": sha256_of(p)} for p in src.files],
        "rows_read": src.rows_read,
        "queries_per_split": {s: int((q["split"] == s).sum()) for s in SPLITS},
        "tasks": {t: {"dataset": names[t], **{s: int(((q["task"] == t) & (q["split"] == s)).sum())
                                              for s in SPLITS}} for t in sorted(names)},
        "models": models,
        "dropped": dropped,
        "fractional_scores": {t: int(((g > 0) & (g < 1)).sum())
                              for t, g in labels.groupby("task")["score"]},
        "currency": src.currency,
        "cost_basis": src.cost_basis,
    }
    queries = [{"query_id": r.query_id, "dataset": r.dataset, "task": r.task, "split": r.split,
                "question": r.query, "query": r.query} for r in q.itertuples()]
    return Imported(labels=labels, queries=queries, models=models, prices=src.prices,
                    cost_basis=src.cost_basis, summary=summary)


def query_table(rows: pd.DataFrame, names: dict, seed: int) -> pd.DataFrame:
    """One row per source query, in file order (see trouter.recorded.splits)."""
    per_query = rows.groupby(["task", "source"], sort=False)
    q = per_query.agg(query=("query", "first"), split=("split", "first"),
                      where=("where", "first")).reset_index()
    wide = rows.pivot(index=["task", "source"], columns="model", values="score")
    wide = wide.reindex(pd.MultiIndex.from_frame(q[["task", "source"]]))
    q["scores"] = [tuple(v) for v in wide.to_numpy()]
    q["dataset"] = q["task"].map(names)
    q["query_id"] = [query_id(d, t, x) for d, t, x in zip(q["dataset"], q["task"], q["query"],
                                                          strict=True)]
    q["key"] = [draw_key(seed, x) for x in q["query"]]
    return q


def label_table(src: Source, q: pd.DataFrame) -> pd.DataFrame:
    """The kept queries' rows in LABEL_COLUMNS, queries in file order, models by name."""
    keys = q[["task", "source", "query_id", "dataset", "split"]].assign(order=range(len(q)))
    labels = src.rows.drop(columns="split").merge(keys, on=["task", "source"])
    labels = labels.sort_values(["order", "model"]).reset_index(drop=True)
    labels["prompt"] = labels["query"]
    for col in ("node_id", "response", "extracted", "finish_reason", "cached", "error"):
        labels[col] = ""
    labels["currency"] = src.currency
    for col in ("score", "cost", "prompt_tokens", "completion_tokens", "latency_s"):
        labels[col] = labels[col].astype(float)
    return labels[LABEL_COLUMNS]


def candidate_descriptions(settings: RecordedSettings) -> dict[str, str] | None:
    """{model: description} from the recorded files, or None for a format without them."""
    describe = DESCRIBERS.get(settings.format)
    return describe(settings) if describe else None
