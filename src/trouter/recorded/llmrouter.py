"""The LLMRouter folder: dcrouter_{train,test}.json outcomes, tasks from query_{train,test}.jsonl,
prices and descriptions ("feature") from llm_candidates.json. The files have no token counts, so
costs are estimates."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from trouter.errors import DataError
from trouter.io import read_json, read_jsonl
from trouter.recorded.settings import RecordedSettings
from trouter.recorded.table import Source, read_prices

OUTCOMES = {"train": "dcrouter_train.json", "test": "dcrouter_test.json"}
QUERIES = ("query_train.jsonl", "query_test.jsonl")
CANDIDATES = "llm_candidates.json"
FIELDS = {"source": "record", "task": "task_name", "query": "question", "model": "scores",
          "split": "split", "score": "scores[{model}]", "cost": "estimated cost"}


def task_of(folder: Path) -> tuple[dict[str, list[str]], dict]:
    """{query text: its distinct task names, in file order}, and rows read per query file."""
    tasks, counts = {}, {}
    for name in QUERIES:
        path = folder / name
        if not path.is_file():
            raise DataError(f"{path}: file not found")
        records = read_jsonl(path)
        counts[name] = len(records)
        for i, r in enumerate(records, 1):
            for key in ("task_name", "query"):
                value = r.get(key) if isinstance(r, dict) else None
                if not isinstance(value, str) or not value.strip():
                    raise DataError(f"{path} record {i}: field {key!r} is missing or empty")
            names = tasks.setdefault(r["query"], [])
            if r["task_name"] not in names:
                names.append(r["task_name"])
    return tasks, counts


def read(s: RecordedSettings) -> Source:
    folder = Path(s.path)
    if not folder.is_dir():
        raise DataError(f"{folder}: the llmrouter format reads a folder (with "
                        f"{sorted([*OUTCOMES.values(), *QUERIES, CANDIDATES])})")
    tasks, rows_read = task_of(folder)
    prices = read_prices(folder / CANDIDATES, fields=("input_price", "output_price"))
    dropped = {"not_in_query_files": 0, "ambiguous_task": 0}
    out = []
    for split, name in OUTCOMES.items():
        path = folder / name
        records = read_json(path)
        if not isinstance(records, list):
            raise DataError(f"{path}: expected a JSON list of {{question, scores}}")
        rows_read[name] = len(records)
        for i, r in enumerate(records, 1):
            where = f"{path} record {i}"
            if not isinstance(r, dict) or not isinstance(r.get("question"), str) \
                    or not isinstance(r.get("scores"), dict) or not r["scores"]:
                raise DataError(f"{where}: expected fields 'question' (text) and 'scores' "
                                "({model: score})")
            question, scores = r["question"], r["scores"]
            if not question.strip():
                raise DataError(f"{where}: field 'question' is empty")
            found = tasks.get(question, [])
            if len(found) != 1:
                dropped["ambiguous_task" if found else "not_in_query_files"] += 1
                continue
            for model, score in scores.items():
                if model not in prices:
                    raise DataError(f"{folder / CANDIDATES}: no prices for model {model!r} "
                                    f"(scored in {where})")
                out.append((f"{split}:{i}", found[0], question, model, score, split, where))
    rows = pd.DataFrame(out, columns=["source", "task", "query", "model", "score", "split",
                                      "where"])
    rows["prompt_tokens"] = [float(math.ceil(len(q) / s.chars_per_token)) for q in rows["query"]]
    rows["completion_tokens"] = float(s.output_tokens)
    rows["latency_s"] = np.nan
    price_in = rows["model"].map(lambda m: prices[m]["input_per_1m"])
    price_out = rows["model"].map(lambda m: prices[m]["output_per_1m"])
    rows["cost"] = (rows["prompt_tokens"] * price_in + rows["completion_tokens"] * price_out) / 1e6
    basis = (f"ESTIMATED: ceil(characters/{s.chars_per_token:g}) prompt tokens x input price + "
             f"{s.output_tokens} assumed output tokens x output price ({CANDIDATES})")
    models = set(rows["model"])
    files = [folder / n for n in (*OUTCOMES.values(), *QUERIES, CANDIDATES)]
    return Source(rows=rows, files=files, rows_read=rows_read, currency=s.currency,
                  prices={m: prices[m] for m in sorted(models)}, cost_basis=basis,
                  has_split=True, fields=FIELDS, dropped=dropped)


def descriptions(s: RecordedSettings) -> dict[str, str]:
    """{model: its "feature" text} from llm_candidates.json (models without one left out)."""
    path = Path(s.path) / CANDIDATES
    table = read_json(path)
    if not isinstance(table, dict):
        raise DataError(f"{path}: expected a JSON object {{model: fields}}")
    out = {}
    for model, fields in table.items():
        text = fields.get("feature") if isinstance(fields, dict) else None
        if text is not None and not isinstance(text, str):
            raise DataError(f"{path}: model {model!r}: field 'feature' is {text!r}; expected text")
        if text and text.strip():
            out[model] = text.strip()
    return out
