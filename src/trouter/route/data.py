"""Wide views of the label table for routing: one row per query, one column per model."""

from __future__ import annotations

import pandas as pd

from trouter.errors import DataError
from trouter.label.answer import LABEL_COLUMNS
from trouter.label.tables import read_label_table


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
