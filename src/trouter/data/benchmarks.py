"""Benchmark loaders, keyed by the name used in configs, wildcards and tables.

Each loader reads the raw upstream files and returns query records:
{query_id, dataset, task, pool, group, question, query, reference, fields}. `pool` says which
upstream split a record came from ('train', 'test', or 'all' when upstream has a single file);
records that share a `group` (a SQuAD passage) always land in one split. `question` is what is
asked (never cut by the router's encoder), `query` what a router reads: the question, then the
passage or options it comes with, without the candidates' instruction template.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path

import pandas as pd

from trouter.data.files import upstream
from trouter.errors import ConfigError, DataError
from trouter.score.numeric import gsm8k_reference

LETTERS = "ABCDEFGHIJ"


def query_id(dataset: str, source_key: str) -> str:
    """Stable id from the dataset and the upstream content that identifies the item."""
    return f"{dataset}-{hashlib.sha1(source_key.encode('utf-8')).hexdigest()[:12]}"


def record(dataset: str, source_key: str, pool: str, question: str, reference, *,
           query: str | None = None, group: str | None = None, **fields) -> dict:
    qid = query_id(dataset, source_key)
    return {"query_id": qid, "dataset": dataset, "task": dataset, "pool": pool,
            "group": group or qid, "question": question, "query": query or question,
            "reference": reference, "fields": fields}


def _jsonl(path: Path, opener=open) -> list[dict]:
    with opener(path, "rt", encoding="utf-8") as fh:
        try:
            return [json.loads(line) for line in fh if line.strip()]
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: not valid JSON lines ({exc.msg})") from exc


def _need(row: dict, names: list[str], where: str) -> None:
    missing = [n for n in names if n not in row]
    if missing:
        raise DataError(f"{where}: missing field(s) {missing}")


def load_gsm8k(paths: dict[str, Path], options: dict) -> list[dict]:
    out = []
    for pool in ("train", "test"):
        path = paths[f"benchmarks/gsm8k/{pool}.jsonl"]
        for i, row in enumerate(_jsonl(path), 1):
            _need(row, ["question", "answer"], f"{path}:{i}")
            try:
                gold = gsm8k_reference(row["answer"])
            except ValueError as exc:
                raise DataError(f"{path}:{i}: {exc}") from exc
            out.append(record("gsm8k", row["question"], pool, row["question"], gold))
    return out


def _read_mmlu_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")  # one upstream file is not UTF-8
    header = text.split("\n", 1)[0]
    sep = ";" if header.count(";") > header.count(",") else ","
    df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    df.columns = [c.strip() for c in df.columns]
    return df


def _choices(text: str, where: str) -> list[str]:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: choices {text[:60]!r} are not a list") from exc
    if not isinstance(value, list) or not 2 <= len(value) <= len(LETTERS):
        raise DataError(f"{where}: choices {text[:60]!r} are not a list of 2-10 options")
    return [str(v) for v in value]


def load_mmlu_redux(paths: dict[str, Path], options: dict) -> list[dict]:
    keep = {str(t).strip().lower() for t in options.get("keep_error_types", ["ok"])}
    out = []
    for rel, path in sorted(paths.items()):
        subject = Path(rel).stem.removeprefix("mmlu_")
        df = _read_mmlu_csv(path)
        missing = [c for c in ("question", "choices", "answer", "error_type") if c not in df]
        if missing:
            raise DataError(f"{path}: missing column(s) {missing}")
        for i, row in df.iterrows():
            if row["error_type"].strip().lower() not in keep:
                continue
            where = f"{path}: row {i + 2}"
            choices = _choices(row["choices"], where)
            try:
                gold = int(row["answer"])
            except ValueError as exc:
                raise DataError(f"{where}: answer {row['answer']!r} is not an index") from exc
            if not 0 <= gold < len(choices):
                raise DataError(f"{where}: answer {gold} is outside the {len(choices)} choices")
            key = json.dumps([subject, row["question"], choices])
            options = "\n".join(f"{LETTERS[j]}. {c}" for j, c in enumerate(choices))
            out.append(record("mmlu_redux", key, "all", row["question"], LETTERS[gold],
                              query=f"{row['question']}\n{options}", subject=subject,
                              choices=choices))
    return out


def load_humaneval(paths: dict[str, Path], options: dict) -> list[dict]:
    path = paths["benchmarks/humaneval/HumanEval.jsonl.gz"]
    out = []
    for i, row in enumerate(_jsonl(path, gzip.open), 1):
        _need(row, ["task_id", "prompt", "canonical_solution", "test", "entry_point"],
              f"{path}:{i}")
        out.append(record("humaneval", row["task_id"], "all", row["prompt"],
                          row["canonical_solution"], task_id=row["task_id"],
                          prompt=row["prompt"], test=row["test"],
                          entry_point=row["entry_point"]))
    return out


def load_squad(paths: dict[str, Path], options: dict) -> list[dict]:
    path = paths["benchmarks/squad/squad_v1.1_dev.parquet"]
    df = pd.read_parquet(path)
    missing = [c for c in ("id", "context", "question", "answers") if c not in df]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}")
    out = []
    for row in df.itertuples(index=False):
        golds = [str(a) for a in row.answers["text"]]
        if not golds:
            raise DataError(f"{path}: question id {row.id} has no gold answer")
        passage = hashlib.sha1(row.context.encode("utf-8")).hexdigest()[:12]
        out.append(record("squad", row.id, "all", row.question, golds,
                          query=f"{row.question}\n\n{row.context}", group=f"passage-{passage}",
                          context=row.context))
    return out


def load_multi_news(paths: dict[str, Path], options: dict) -> list[dict]:
    path = paths["benchmarks/multi_news/multi_news_200.json"]
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc.msg})") from exc
    out = []
    for i, row in enumerate(rows):
        _need(row, ["input", "output", "_id", "instruction"], f"{path}: item {i}")
        summary = row["output"][0] if isinstance(row["output"], list) else row["output"]
        documents = row["input"].replace("NEWLINE_CHAR", "\n")
        documents = re.sub(r"[ \t]*\n[ \t\n]*", "\n", documents).strip()
        instruction = row["instruction"].strip()
        out.append(record("multi_news", row["_id"], "all", instruction, summary,
                          query=f"{instruction}\n\n{documents}", documents=documents))
    return out


@dataclass(frozen=True)
class Benchmark:
    key: str
    file_prefix: str
    load: Callable[[dict[str, Path], dict], list[dict]]

    def files(self) -> list[str]:
        return sorted(rel for rel in upstream() if rel.startswith(self.file_prefix))


REGISTRY = {b.key: b for b in [
    Benchmark("gsm8k", "benchmarks/gsm8k/", load_gsm8k),
    Benchmark("mmlu_redux", "benchmarks/mmlu_redux/", load_mmlu_redux),
    Benchmark("humaneval", "benchmarks/humaneval/", load_humaneval),
    Benchmark("squad", "benchmarks/squad/", load_squad),
    Benchmark("multi_news", "benchmarks/multi_news/", load_multi_news),
]}


def get_benchmark(key: str) -> Benchmark:
    if key not in REGISTRY:
        close = get_close_matches(key, REGISTRY, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"benchmark {key!r} is unknown (known: {sorted(REGISTRY)}){hint}")
    return REGISTRY[key]
