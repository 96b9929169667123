"""What to import (RecordedSettings), what comes back (Imported), and the settings check."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from trouter.errors import ConfigError

FORMATS = ("long", "llmrouter", "routerbench")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class RecordedSettings:
    format: str  # "long" | "llmrouter" | "routerbench"
    path: str  # a file (long, routerbench) or a folder (llmrouter)
    prices: str | None = None  # long: JSON {model: {"input_per_1m", "output_per_1m"}}
    currency: str = "USD"  # currency of costs when the data has no `currency` column
    output_tokens: int = 128  # llmrouter: assumed completion length
    chars_per_token: float = 4.0  # llmrouter: prompt tokens = ceil(len(query) / chars_per_token)
    validation_share: float = 0.1  # validation carved from train (seeded, by query text)
    test_share: float = 0.2  # only when the data has no split at all
    on_overlap: str = "drop"  # a text in a later split: "drop" it from the earlier, or "error"
    seed: int = 0
    limit_per_task: dict | None = None  # {"train": n, "test": n}: at most n queries per task


@dataclass
class Imported:
    labels: pd.DataFrame  # LABEL_COLUMNS, one row per (query, model)
    queries: list[dict]  # {"query_id", "dataset", "task", "split", "question", "query"}
    models: list[str]  # sorted by name
    prices: dict | None  # {model: {"input_per_1m", "output_per_1m"}} when known
    cost_basis: str  # one sentence: how the costs were obtained
    summary: dict  # files, counts, drops by reason, fractional scores, cost basis


def check_settings(s: RecordedSettings) -> None:
    """Raise ConfigError on the first setting out of range."""
    if s.format not in FORMATS:
        raise ConfigError(f"recorded.format={s.format!r}: expected one of {list(FORMATS)}")
    for name in ("validation_share", "test_share"):
        value = getattr(s, name)
        if not isinstance(value, int | float) or not 0 <= value < 1:
            raise ConfigError(f"recorded.{name}={value!r}: expected a number in [0, 1)")
    if s.on_overlap not in ("drop", "error"):
        raise ConfigError(f"recorded.on_overlap={s.on_overlap!r}: expected 'drop' or 'error'")
    if not isinstance(s.output_tokens, int) or s.output_tokens < 0:
        raise ConfigError(f"recorded.output_tokens={s.output_tokens!r}: expected an integer >= 0")
    if not isinstance(s.chars_per_token, int | float) or s.chars_per_token <= 0:
        raise ConfigError(f"recorded.chars_per_token={s.chars_per_token!r}: expected a number > 0")
    if not isinstance(s.currency, str) or not s.currency.strip():
        raise ConfigError(f"recorded.currency={s.currency!r}: expected a currency code")
    if not isinstance(s.seed, int):
        raise ConfigError(f"recorded.seed={s.seed!r}: expected an integer")
    limit = s.limit_per_task
    if limit is not None:
        if not isinstance(limit, dict) or not set(limit) <= set(SPLITS):
            raise ConfigError(f"recorded.limit_per_task={limit!r}: expected a mapping with keys "
                              f"among {list(SPLITS)}")
        for split, n in limit.items():
            if not isinstance(n, int) or n < 1:
                raise ConfigError(f"recorded.limit_per_task.{split}={n!r}: expected an "
                                  "integer >= 1")
