"""The common form every reader returns (Source) and the checks all formats share."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from trouter.errors import DataError
from trouter.io import read_json

ROW_COLUMNS = ["source", "task", "query", "model", "score", "cost", "prompt_tokens",
               "completion_tokens", "latency_s", "split", "where"]


@dataclass
class Source:
    """One reader's output: rows are ROW_COLUMNS, one per (query, model), in file order;
    `source` is the file's own query id and `where` names the file and row for messages."""
    rows: pd.DataFrame
    files: list[Path]  # every input file, for the summary's checksums
    rows_read: dict  # {file name: records read}
    currency: str
    prices: dict | None
    cost_basis: str
    has_split: bool
    fields: dict  # how the file names source/task/query/score/cost ("{model}" filled in)
    dropped: dict = field(default_factory=dict)


def text(values: pd.Series) -> pd.Series:
    """Values as str; None and NaN become ''."""
    def one(v):
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
    return values.map(one).astype(object)


def check_number(rows: pd.DataFrame, column: str, label: str, *, upper: float | None = None,
                 required: bool = True) -> pd.Series:
    """`column` parsed as finite numbers >= 0 (and <= upper); a blank is NaN unless required.
    The first bad value raises, naming its file, row, field and model."""
    raw = rows[column]
    blank = text(raw).str.strip() == ""
    parsed = pd.to_numeric(raw.where(~blank, np.nan), errors="coerce").astype(float)
    bad = ~blank & (parsed.isna() | ~np.isfinite(parsed) | (parsed < 0))
    if upper is not None:
        bad |= parsed > upper
    if required:
        bad |= blank
    if bad.any():
        i = bad.idxmax()
        r, value = rows.loc[i], raw.loc[i]
        if blank.loc[i]:
            why = "is missing"
        elif pd.isna(parsed.loc[i]):
            why = f"{value!r} is not a number"
        elif upper is not None:
            why = f"{value!r} is outside [0, {upper:g}]"
        else:
            why = f"{value!r} must be a finite number >= 0"
        raise DataError(f"{r['where']}: field {label.format(model=r['model'])!r} "
                        f"(model {r['model']!r}) {why}")
    return parsed


def check_rows(src: Source) -> None:
    """Parse score and cost; refuse empty names, duplicates, and queries lacking a model."""
    rows, f = src.rows, src.fields
    for column in ("source", "task", "query", "model"):
        empty = rows[column].str.strip() == ""
        if empty.any():
            r = rows[empty].iloc[0]
            raise DataError(f"{r['where']}: field {f[column]!r} is empty")
    rows["score"] = check_number(rows, "score", f["score"], upper=1.0)
    rows["cost"] = check_number(rows, "cost", f["cost"])
    dup = rows.duplicated(["task", "source", "model"])
    if dup.any():
        r = rows[dup].iloc[0]
        raise DataError(f"{r['where']}: duplicate row for {f['source']} {r['source']!r} "
                        f"(task {r['task']!r}) and model {r['model']!r}")
    per_query = rows.groupby(["task", "source"], sort=False)
    for column in ("query", "split"):
        differ = per_query[column].nunique() > 1
        if differ.any():
            task, source = differ[differ].index[0]
            where = _rows_of(rows, task, source)["where"].iloc[0]
            raise DataError(f"{where}: {f['source']} {source!r} (task {task!r}) has rows "
                            f"with different values of field {f[column]!r}")
    models = sorted(rows["model"].unique())
    counts = per_query.size()
    short = counts[counts < len(models)]
    if len(short):
        task, source = short.index[0]
        mine = _rows_of(rows, task, source)
        missing = [m for m in models if m not in set(mine["model"])]
        raise DataError(f"{mine['where'].iloc[0]}: {f['source']} {source!r} (task {task!r}) has "
                        f"no row for model {missing[0]!r}; {len(short)} of {len(counts)} queries "
                        f"lack a model (models in the data: {models})")


def _rows_of(rows: pd.DataFrame, task: str, source: str) -> pd.DataFrame:
    return rows[(rows["task"] == task) & (rows["source"] == source)]


def dataset_names(tasks, where) -> dict[str, str]:
    """{task: a name made of [A-Za-z0-9_]}; two tasks with one name are an error."""
    names, seen = {}, {}
    for task in sorted(set(tasks)):
        name = re.sub(r"[^A-Za-z0-9_]", "_", task)
        if name in seen:
            raise DataError(f"{where}: tasks {seen[name]!r} and {task!r} both map to the "
                            f"dataset name {name!r}; rename one of them")
        names[task], seen[name] = name, task
    return names


def query_id(dataset: str, task: str, query: str) -> str:
    digest = hashlib.sha1((task + "\n" + query).encode()).hexdigest()
    return f"{dataset}-{digest[:12]}"


def read_prices(path, fields=("input_per_1m", "output_per_1m")) -> dict:
    """{model: {"input_per_1m", "output_per_1m"}} from a JSON object of per-model prices
    (USD or the data's currency per 1M tokens); `fields` names the two keys in the file."""
    table = read_json(path)
    if not isinstance(table, dict):
        raise DataError(f"{path}: expected a JSON object {{model: prices}}")
    prices = {}
    for model, card in table.items():
        if not isinstance(card, dict):
            raise DataError(f"{path}: model {model!r}: expected an object with {list(fields)}")
        pair = []
        for key in fields:
            value = card.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(value) or value < 0:
                raise DataError(f"{path}: model {model!r}: field {key!r} is {value!r}; "
                                "expected a number >= 0")
            pair.append(float(value))
        prices[model] = {"input_per_1m": pair[0], "output_per_1m": pair[1]}
    return prices
