"""What a run or a sweep will spend, before any call: LLM calls, tokens and cost per stage and
model, in each card's currency.

Calls are counted from the structure of the config (taxonomy sizes, QA batches, split sizes,
candidates, judge, routers that ask an LLM); work shared between sweep points is counted once. A
keyed folder whose outputs exist costs nothing (its calls are cached); a job that was stopped
half way costs only the calls its calls.jsonl does not hold yet. Tokens per call come from
conf/estimate/ (measured on the smoke run; the demo checks them, see the README)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig

from trouter.data import SYNTHETIC
from trouter.errors import ConfigError
from trouter.label.answer import answer_max_tokens
from trouter.layout import LABELS, NODES, PREDICTIONS, QA, QUERIES_JSONL, plain
from trouter.plan import Plan

COLUMNS = ["stage", "role", "model", "calls", "cached", "prompt_tokens", "completion_tokens",
           "cost", "currency"]


@dataclass
class Calls:
    stage: str
    role: str
    card: dict
    calls: float
    prompt: float  # tokens per call
    completion: float

    def row(self, done: int) -> dict:
        left = max(0.0, self.calls - done)
        pt, ct = left * self.prompt, left * self.completion
        price = self.card["price"]
        cost = (pt * float(price["input_per_1m"]) + ct * float(price["output_per_1m"])) / 1e6
        return {"stage": self.stage, "role": self.role, "model": self.card["key"],
                "calls": round(left), "cached": min(done, round(self.calls)),
                "prompt_tokens": round(pt), "completion_tokens": round(ct), "cost": cost,
                "currency": price["currency"]}


def done_calls(folder: Path, output: str) -> int | None:
    """None when the folder's output exists (nothing to call), else the successful calls its
    calls.jsonl already holds (the cache answers them)."""
    if (folder / output).is_file():
        return None
    log = folder / "calls.jsonl"
    if not log.is_file():
        return 0
    keys = set()
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not row.get("error"):
            keys.add(row["key"])
    return len(keys)


def _mean(span) -> float:
    return (float(span["min"]) + float(span["max"])) / 2


def taxonomy_sizes(cfg: DictConfig) -> tuple[float, float, float, float]:
    """(domains, subcategories, difficulty nodes, expansions) the config asks for."""
    t = cfg.taxonomy
    seeds = len(t.seeds)
    domains = max(seeds, int(t.max_domains))
    subs = domains * _mean(t.children.domain)
    leaves = subs * _mean(t.children.subcategory)
    expansions = (1 if domains > seeds else 0) + domains + subs
    return domains, subs, leaves, expansions


def leaves_of(cfg: DictConfig, taxonomy: Path) -> float:
    """Difficulty nodes: counted in nodes.csv when the taxonomy exists, else from the config."""
    if (taxonomy / NODES).is_file():
        nodes = pd.read_csv(taxonomy / NODES, dtype=str, keep_default_na=False)
        return float((nodes["level"] == "difficulty").sum())
    return taxonomy_sizes(cfg)[2]


def dataset_queries(cfg: DictConfig, dataset: str, data_dir: Path, leaves: float) -> float:
    if (data_dir / QUERIES_JSONL).is_file():
        with open(data_dir / QUERIES_JSONL, encoding="utf-8") as f:
            return float(sum(1 for _ in f))
    if dataset == SYNTHETIC:
        s = cfg.data.synthetic
        return leaves * (int(s.train_per_node) + int(s.val_per_node))
    sizes, limit = cfg.benchmarks[dataset].splits, cfg.data.limit
    return float(sum(int(sizes[k]) if limit[k] is None else min(int(sizes[k]), int(limit[k]))
                     for k in ("train", "val", "test")))


def test_queries(cfg: DictConfig) -> float:
    if cfg.recorded is not None:
        return 0.0
    sizes, limit = cfg.benchmarks, cfg.data.limit
    return float(sum(int(sizes[b].splits.test) if limit.test is None
                     else min(int(sizes[b].splits.test), int(limit.test))
                     for b in cfg.data.benchmarks))


def folder_calls(plan: Plan, label: str, folder: Path, tokens: DictConfig) -> tuple[list, str]:
    """The calls one keyed folder makes and its main output file."""
    cfg, lay = plan.cfg, plan.layout
    stage = label.split("/")[0]
    if stage == "expand_taxonomy":
        _, _, _, expansions = taxonomy_sizes(cfg)
        t = cfg.taxonomy
        reviews = int(t.patience) if t.get("evaluator", True) else 0
        return [Calls(stage, "generator", plain(cfg.roles.generator), expansions,
                      *tokens.propose),
                Calls(stage, "evaluator", plain(cfg.roles.evaluator), expansions * reviews,
                      *tokens.review)], NODES
    if stage == "generate_qa":
        q = cfg.qa
        per_node = min(int(q.max_calls_per_node),
                       math.ceil(int(q.target_per_node) / int(q.batch_size)))
        batch = int(q.batch_size)
        return [Calls(stage, "qa_writer", plain(cfg.roles.qa_writer),
                      leaves_of(cfg, lay.taxonomy()) * per_node,
                      tokens.qa_batch[0], tokens.qa_batch[1] * batch)], "generated.jsonl"
    if stage == "labels":
        _, dataset, model = label.split("/")
        n = dataset_queries(cfg, dataset, lay.data(dataset), leaves_of(cfg, lay.taxonomy()))
        kind = "synthetic" if dataset == SYNTHETIC else dataset
        prompt, completion = tokens.answer.get(kind, tokens.answer.default)
        cap = answer_max_tokens(cfg, dataset)
        out = [Calls("label_candidates", "candidate", lay.card(model), n, prompt,
                     min(float(completion), float(cap)))]
        if dataset == SYNTHETIC:
            out.append(Calls("label_candidates", "judge", plain(cfg.judge), n, *tokens.judge))
        return out, LABELS
    if stage == "assign_tasks" and cfg.routing.task_prior == "llm":
        real = sum(dataset_queries(cfg, d, lay.data(d), 0) for d in cfg.data.benchmarks)
        steps = 3 if cfg.routing.labeller_prompt == "authors" else 1  # domain, subcat., difficulty
        return [Calls(stage, "labeller", plain(cfg.routing.labeller), real * steps,
                      *tokens.task_label)], "assignments.csv"
    if stage == "train_router" and label.split("/")[1] == "prompt_llm":
        job = next(j for j in plan.routers if j.folder == folder)
        card = plain(job_router_llm(plan, job))
        # every protocol asks the same test queries: the first protocol's calls answer the rest
        first = job.protocol == plan.routers[[j.method for j in plan.routers].index(job.method)
                                             ].protocol
        return [Calls(stage, "router", card, 3 * test_queries(cfg) if first else 0,
                      *tokens.prompt_router)], PREDICTIONS
    return [], QA


def job_router_llm(plan: Plan, job) -> DictConfig:
    """The card prompt_llm asks: router.llm, a card or the key of one."""
    from trouter.plan import job_config

    llm = job_config(plan.cfg, plan.overrides, job.overrides()).router.llm
    return llm if isinstance(llm, DictConfig) else plan.layout.card(str(llm))


def estimate(plans: list[Plan], tokens: DictConfig) -> pd.DataFrame:
    """Per (stage, role, model): calls still to make, those the cache holds, tokens, cost."""
    rows, seen = [], set()
    for plan in plans:
        for label, (folder, _) in plan.folders().items():
            if folder in seen:
                continue
            seen.add(folder)
            calls, output = folder_calls(plan, label, folder, tokens)
            done = done_calls(folder, output) if calls else 0
            for c in calls:
                rows.append(c.row(c.calls if done is None else done))
    table = pd.DataFrame(rows, columns=COLUMNS)
    if table.empty:
        return table
    keys = ["stage", "role", "model", "currency"]
    return table.groupby(keys, sort=False, as_index=False)[
        ["calls", "cached", "prompt_tokens", "completion_tokens", "cost"]].sum()[COLUMNS]


def totals(table: pd.DataFrame) -> pd.DataFrame:
    return table.groupby("currency", as_index=False)[
        ["calls", "cached", "prompt_tokens", "completion_tokens", "cost"]].sum()


def over_budget(table: pd.DataFrame, budget: dict | None) -> list[str]:
    """The currencies whose estimated cost exceeds `budget` (currency -> most to spend)."""
    if not budget:
        return []
    out = []
    for _, row in totals(table).iterrows():
        limit = budget.get(row["currency"])
        if limit is not None and row["cost"] > float(limit):
            out.append(f"{row['currency']}: estimated {row['cost']:.4f} > budget {limit}")
    return out


def check_budget(table: pd.DataFrame, budget) -> None:
    budget = plain(budget)
    if budget is not None and not isinstance(budget, dict):
        raise ConfigError(f"budget: expected a mapping currency -> amount, got {budget!r}")
    for currency, limit in (budget or {}).items():
        if not isinstance(limit, int | float) or limit < 0:
            raise ConfigError(f"budget.{currency}: expected an amount >= 0, got {limit!r}")
    over = over_budget(table, budget)
    if over:
        raise ConfigError("the run's estimated cost exceeds its budget (" + "; ".join(over)
                          + "); raise budget.<currency> or shrink the run")
