"""The `long` format: your own recorded outcomes, one row per (query, model).

A CSV (.csv), JSON Lines (.jsonl) or Parquet (.parquet) file, chosen by extension.

Columns (one row per query and model):
  query_id        required: your id of the query; all rows of one query (in its task) share it
  task            required: task or benchmark name; `dataset` is this name with every character
                  outside [A-Za-z0-9_] replaced by `_` (two tasks with one such name: an error)
  query           required: the query text, the same in every row of the query
  model           required: the candidate; every query needs exactly one row per model in the file
  score           required: a number in [0, 1]
  cost            the cost of this answer, a number >= 0 in `currency` (see below)
  prompt_tokens, completion_tokens
                  token counts, numbers >= 0 (see below)
  split           optional: train, val or test in every row; without the column, test_share of
                  each task's query texts is drawn for test and validation_share of the rest for
                  validation (seeded)
  currency        optional: one currency for the whole file; a blank cell means recorded.currency
  latency_s       optional: seconds >= 0

Cost: a row's `cost` when given; where `cost` is blank or absent, it is computed as
(prompt_tokens x input_per_1m + completion_tokens x output_per_1m) / 1e6 from the price table
(recorded.prices), a JSON object {model: {"input_per_1m": x, "output_per_1m": y}}; a row with
neither is an error. The price table is returned only when it covers every model in the file.
With a `split` column and no `val` rows, validation is carved from train. Row numbers in
messages count data records from 1 (a CSV's header is not counted).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trouter.errors import DataError
from trouter.io import read_jsonl
from trouter.recorded.settings import SPLITS, RecordedSettings
from trouter.recorded.table import Source, check_number, read_prices, text

REQUIRED = ["query_id", "task", "query", "model", "score"]
FIELDS = {"source": "query_id", "task": "task", "query": "query", "model": "model",
          "split": "split", "score": "score", "cost": "cost"}


def load(path: Path) -> pd.DataFrame:
    """The file as a table, by extension."""
    suffix = path.suffix.lower()
    readers = {".csv": lambda: pd.read_csv(path, dtype=str, keep_default_na=False),
               ".jsonl": lambda: pd.DataFrame(read_jsonl(path)),
               ".parquet": lambda: pd.read_parquet(path)}
    if suffix not in readers:
        raise DataError(f"{path}: unknown extension {suffix!r}; expected .csv, .jsonl or .parquet")
    try:
        return readers[suffix]().reset_index(drop=True)
    except (ValueError, OSError) as exc:
        raise DataError(f"{path}: cannot be read as {suffix[1:]} ({exc})") from exc


def read(s: RecordedSettings) -> Source:
    path = Path(s.path)
    df = load(path)
    missing = [c for c in REQUIRED if c not in df.columns]
    if "cost" not in df.columns and not {"prompt_tokens", "completion_tokens"} <= set(df.columns):
        missing.append("cost (or prompt_tokens and completion_tokens with a price table)")
    if missing:
        raise DataError(f"{path}: missing required column(s) {missing}; found columns "
                        f"{list(df.columns)}")
    if df.empty:
        raise DataError(f"{path}: no rows")
    rows = pd.DataFrame({"source": text(df["query_id"]), "task": text(df["task"]),
                         "query": text(df["query"]), "model": text(df["model"]),
                         "score": df["score"],
                         "where": [f"{path} row {i}" for i in range(1, len(df) + 1)]})
    for col in ("prompt_tokens", "completion_tokens", "latency_s"):
        rows[col] = df.get(col, np.nan)
        rows[col] = check_number(rows, col, col, required=False)
    rows["split"] = _splits(df, rows)
    rows["cost"] = pd.Series(df.get("cost", ""), index=df.index, dtype=object)
    blank = text(rows["cost"]).str.strip() == ""
    prices = read_prices(s.prices) if s.prices else None
    if blank.any():
        rows.loc[blank, "cost"] = _priced(rows[blank], prices, s.prices)
    if not blank.any():
        basis = "recorded per-query cost"
    elif blank.all():
        basis = "prompt/completion tokens x price table"
    else:
        basis = (f"recorded per-query cost ({int((~blank).sum())} rows); prompt/completion "
                 f"tokens x price table ({int(blank.sum())} rows)")
    models = set(rows["model"])
    known = {m: prices[m] for m in sorted(models)} if models <= set(prices or {}) else None
    files = [path] + ([Path(s.prices)] if s.prices else [])
    return Source(rows=rows, files=files, rows_read={path.name: len(df)},
                  currency=_currency(df, path, s.currency), prices=known,
                  cost_basis=basis, has_split="split" in df, fields=FIELDS)


def _splits(df: pd.DataFrame, rows: pd.DataFrame) -> pd.Series:
    if "split" not in df:
        return pd.Series("", index=df.index)
    split = text(df["split"]).str.strip()
    bad = ~split.isin(SPLITS)
    if bad.any():
        i = bad.idxmax()
        raise DataError(f"{rows.loc[i, 'where']}: field 'split' is {df.loc[i, 'split']!r}; "
                        f"expected one of {list(SPLITS)} in every row")
    return split


def _priced(rows: pd.DataFrame, prices: dict | None, prices_path) -> list[float]:
    """Costs from tokens x price table for rows without a recorded cost."""
    costs = []
    for r in rows.itertuples():
        if prices is None:
            raise DataError(f"{r.where}: field 'cost' is missing (model {r.model!r}) and no "
                            "price table is given (recorded.prices)")
        if r.model not in prices:
            raise DataError(f"{r.where}: field 'cost' is missing and the price table "
                            f"{prices_path} has no model {r.model!r}")
        for col in ("prompt_tokens", "completion_tokens"):
            if np.isnan(getattr(r, col)):
                raise DataError(f"{r.where}: field 'cost' is missing and so is field {col!r} "
                                f"(model {r.model!r})")
        p = prices[r.model]
        costs.append((r.prompt_tokens * p["input_per_1m"]
                      + r.completion_tokens * p["output_per_1m"]) / 1e6)
    return costs


def _currency(df: pd.DataFrame, path: Path, default: str) -> str:
    if "currency" not in df:
        return default
    cur = text(df["currency"]).str.strip()
    cur = cur.where(cur != "", default)
    kinds = list(dict.fromkeys(cur))
    if len(kinds) > 1:
        a, b = (int(cur[cur == k].index[0]) + 1 for k in kinds[:2])
        raise DataError(f"{path}: field 'currency' mixes currencies {sorted(kinds)} (row {a}: "
                        f"{kinds[0]!r}, row {b}: {kinds[1]!r}); convert the costs to one currency")
    return kinds[0]
