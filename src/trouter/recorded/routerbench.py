"""RouterBench's wide format: one row per prompt, a score column and a `<model>|total_cost`
column (USD per query) per model; from CSV, Parquet or a pickled pandas DataFrame (.pkl)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trouter.errors import DataError
from trouter.recorded.settings import RecordedSettings
from trouter.recorded.table import Source, text

REQUIRED = ["sample_id", "prompt", "eval_name"]
COST = "|total_cost"
FIELDS = {"source": "sample_id", "task": "eval_name", "query": "prompt", "model": "model",
          "split": "split", "score": "{model}", "cost": "{model}" + COST}


def load(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
        elif suffix == ".parquet":
            df = pd.read_parquet(path)
        elif suffix in (".pkl", ".pickle"):
            df = pd.read_pickle(path)  # as RouterBench publishes it: load only trusted files
        else:
            raise DataError(f"{path}: unknown extension {suffix!r}; expected .csv, .parquet "
                            "or .pkl")
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot be read as {suffix[1:]} ({exc})") from exc
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{path}: holds a {type(df).__name__}, expected a pandas DataFrame")
    return df.reset_index(drop=True)


def read(s: RecordedSettings) -> Source:
    path = Path(s.path)
    df = load(path)
    columns = [str(c) for c in df.columns]
    models = sorted(c[: -len(COST)] for c in columns if c.endswith(COST))
    missing = [c for c in REQUIRED + models if c not in columns]
    if not models:
        missing.append(f"<model>{COST} (one per model)")
    if missing:
        raise DataError(f"{path}: missing required column(s) {missing}; found columns {columns}")
    if df.empty:
        raise DataError(f"{path}: no rows")
    where = pd.Series([f"{path} row {i}" for i in range(1, len(df) + 1)], index=df.index)
    base = {"source": text(df["sample_id"]), "task": text(df["eval_name"]),
            "query": text(df["prompt"]), "where": where}
    parts = [pd.DataFrame({**base, "model": m, "score": df[m], "cost": df[m + COST]})
             for m in models]
    rows = pd.concat(parts).sort_index(kind="stable").reset_index(drop=True)
    rows["split"] = ""
    for col in ("prompt_tokens", "completion_tokens", "latency_s"):
        rows[col] = np.nan
    return Source(rows=rows, files=[path], rows_read={path.name: len(df)}, currency=s.currency,
                  prices=None, cost_basis="recorded per-query cost", has_split=False,
                  fields=FIELDS)
