"""Answer every query with one candidate model and score it; one long-format row per query."""

from __future__ import annotations

import math
from dataclasses import dataclass

from trouter.label.prompts import answer_messages
from trouter.label.scoring import score_response
from trouter.llm.client import ChatResult, LLMClient
from trouter.llm.parse import ask
from trouter.score.judge import VERDICTS, judge_messages, parse_verdict
from trouter.score.sandbox import Limits

LABEL_COLUMNS = ["query_id", "dataset", "task", "split", "node_id", "model", "prompt", "response",
                 "score", "extracted", "finish_reason", "prompt_tokens", "completion_tokens",
                 "cost", "currency", "latency_s", "cached", "error"]


@dataclass(frozen=True)
class AnswerConfig:
    max_tokens: int
    temperature: float
    seed: int
    options: dict


def answer_max_tokens(cfg, dataset: str) -> int:
    """A benchmark's own max_tokens, else labeling.max_tokens (null means unset, never 0)."""
    own = None if dataset == "synthetic" else cfg.benchmarks[dataset].max_tokens
    return int(cfg.labeling.max_tokens if own is None else own)


def answer(client: LLMClient, q: dict, acfg: AnswerConfig) -> tuple[list[dict], ChatResult]:
    messages = answer_messages(q, acfg.options)
    result = client.chat(messages, seed=acfg.seed, tag=f"answer {q['query_id']}",
                         overrides={"temperature": acfg.temperature,
                                    "max_tokens": acfg.max_tokens})
    return messages, result


def base_row(q: dict, model: str, messages: list[dict], r: ChatResult, currency: str) -> dict:
    return {"query_id": q["query_id"], "dataset": q["dataset"], "task": q["task"],
            "split": q["split"], "node_id": q["node_id"], "model": model,
            "prompt": messages[-1]["content"], "response": r.text, "score": math.nan,
            "extracted": "", "finish_reason": r.finish_reason or "",
            "prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens,
            "cost": r.cost, "currency": currency, "latency_s": round(r.latency_s, 4),
            "cached": r.cached, "error": r.usage_error or ""}


def score_benchmark_row(row: dict, q: dict, limits: Limits, summary_metric: str) -> dict:
    """The benchmark's metric; a flagged row (cost unknown) is left unscored."""
    if row["error"]:
        return row
    score, extracted = score_response(q, row["response"], limits, summary_metric)
    return {**row, "score": float(score), "extracted": extracted}


def judge_row(judge: LLMClient, row: dict, q: dict, *, max_tokens: int, max_reasks: int,
              seed: int, schema: dict | None) -> dict:
    """Score by the judge; a reply that stays unparsable is flagged and left unscored, and a
    row flagged already (cost unknown) is not judged."""
    if row["error"]:
        return row
    asked = ask(judge, judge_messages(q["question"], q["reference"], row["response"]),
                parse_verdict, schema=schema, max_reasks=max_reasks, seed=seed,
                tag=f"judge {q['query_id']}",
                overrides={"temperature": 0.0, "max_tokens": max_tokens})
    if not asked.ok:
        return {**row, "error": f"judge reply unparsable after {asked.attempts} tries: "
                                f"{asked.errors[-1]}"}
    return {**row, "score": VERDICTS[asked.value], "extracted": asked.value}
