"""Rule label_candidates: one candidate answers one dataset; each answer scored and costed."""

from __future__ import annotations

import time

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from trouter.data import SYNTHETIC
from trouter.errors import ConfigError
from trouter.io import read_jsonl, write_csv, write_json
from trouter.label.answer import (
    LABEL_COLUMNS,
    AnswerConfig,
    answer,
    answer_max_tokens,
    base_row,
    judge_row,
    score_benchmark_row,
)
from trouter.label.prompts import ANSWER_VERSION
from trouter.label.scoring import CODE_DATASETS, metric_name
from trouter.layout import LABELS, QUERIES_JSONL, SUMMARY, Layout
from trouter.llm.cards import card_from_config
from trouter.llm.client import LLMClient
from trouter.llm.session import LLMSession
from trouter.score import isolation, sandbox
from trouter.score.judge import JUDGE_VERSION, SCHEMA
from trouter.stages.common import log, open_session


def answer_config(cfg: DictConfig, dataset: str) -> AnswerConfig:
    synthetic = dataset == SYNTHETIC
    options = {"prompt": str(cfg.labeling.synthetic_prompt)} if synthetic else (
        OmegaConf.to_container(cfg.benchmarks[dataset].options, resolve=True) or {})
    max_tokens = answer_max_tokens(cfg, dataset)
    if max_tokens < 1:
        raise ConfigError(f"max_tokens for {dataset} must be >= 1, got {max_tokens}")
    temperature = cfg.labeling.synthetic_temperature if synthetic else cfg.labeling.temperature
    return AnswerConfig(max_tokens, float(temperature), int(cfg.labeling.seed), options)


def check_job(cfg: DictConfig) -> tuple[str, str]:
    dataset = cfg.data.dataset
    if not dataset:
        raise ConfigError("data.dataset: name the dataset to label")
    if "candidate" not in cfg:
        raise ConfigError("candidate: no model card; pass +model@candidate=<key>")
    model = cfg.candidate.key
    if model not in cfg.pool.candidates:
        raise ConfigError(f"candidate {model!r} is not in the pool {list(cfg.pool.candidates)}")
    if dataset != SYNTHETIC and dataset not in cfg.data.benchmarks:
        raise ConfigError(f"data.dataset={dataset!r} is neither {SYNTHETIC!r} nor one of "
                          f"data.benchmarks {list(cfg.data.benchmarks)}")
    return dataset, model


def judge_all(session: LLMSession, rows, queries, cfg: DictConfig) -> list[dict]:
    judge: LLMClient = session.clients["judge"]
    schema = SCHEMA if judge.card.structured_output != "none" else None

    def one(pair):
        row, q = pair
        return judge_row(judge, row, q, max_tokens=int(cfg.labeling.judge_max_tokens),
                         max_reasks=int(cfg.labeling.judge_max_reasks),
                         seed=int(cfg.labeling.seed), schema=schema)

    return judge.map(one, list(zip(rows, queries, strict=True)), desc="judge")


def run(cfg: DictConfig) -> dict:
    dataset, model = check_job(cfg)
    lay = Layout(cfg)
    queries = read_jsonl(lay.data(dataset) / QUERIES_JSONL)
    if not queries:
        raise ConfigError(f"{dataset}: no queries to label")
    acfg = answer_config(cfg, dataset)
    out = lay.labels(dataset, model)
    limits = sandbox.Limits(float(cfg.labeling.sandbox.timeout_s),
                            int(cfg.labeling.sandbox.memory_mb))
    summary_metric = str(cfg.benchmarks.multi_news.metric)
    found = isolation.detect() if dataset in CODE_DATASETS else None
    if found is not None:
        isolation.require(found, bool(cfg.labeling.sandbox.allow_unprotected), dataset)
    cards = {"candidate": card_from_config(cfg.candidate, where="candidate")}
    if dataset == SYNTHETIC:
        cards["judge"] = card_from_config(cfg.judge, where="judge")
    with open_session(cfg, cards, out) as session:
        client = session.clients["candidate"]
        currency = client.card.price.currency
        start = time.monotonic()
        answered = client.map(lambda q: answer(client, q, acfg), queries, desc=f"{model} answers")
        answer_s = time.monotonic() - start
        rows = [base_row(q, model, m, r, currency)
                for q, (m, r) in zip(queries, answered, strict=True)]
        start = time.monotonic()
        if dataset == SYNTHETIC:
            rows = judge_all(session, rows, queries, cfg)
        else:
            rows = client.map(lambda p: score_benchmark_row(p[0], p[1], limits, summary_metric),
                              list(zip(rows, queries, strict=True)), desc="score")
        score_s = time.monotonic() - start
        stats, servers = session.stats(), session.servers_started
    df = pd.DataFrame(rows, columns=LABEL_COLUMNS)
    write_csv(out / LABELS, df, LABEL_COLUMNS)
    live = stats["candidate"]["live_calls"]
    flagged = int((df["error"] != "").sum())
    summary = {"dataset": dataset, "model": model, "metric": metric_name(dataset, summary_metric),
               "answer_prompt": ANSWER_VERSION if acfg.options.get("prompt", "ours") == "ours"
               else f"{ANSWER_VERSION}/synthetic-{acfg.options['prompt']}",
               "judge_prompt": JUDGE_VERSION if dataset == SYNTHETIC else None,
               "judge": cfg.judge.key if dataset == SYNTHETIC else None,
               "queries": len(df), "mean_score": float(df["score"].mean()),
               "flagged": flagged, "max_tokens": acfg.max_tokens,
               "truncated": int((df["finish_reason"] == "length").sum()),
               "cost": float(df["cost"].sum()), "currency": currency,
               "answer_wall_s": round(answer_s, 2), "score_wall_s": round(score_s, 2),
               "live_calls_per_s": round(live / answer_s, 4) if live else None,
               "llm": stats, "servers_started": servers,
               "sandbox": found.summary() if found else None}
    write_json(out / SUMMARY, summary)
    if flagged:
        log.warning("%d of %d rows flagged (left unscored): see the error column of %s",
                    flagged, len(df), out / LABELS)
    log.info("%s on %s: mean score %.3f over %d queries, cost %.6f %s", model, dataset,
             summary["mean_score"], len(df), summary["cost"], currency)
    return summary
