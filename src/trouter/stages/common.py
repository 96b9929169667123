"""Helpers shared by the stage functions: folders, model roles, LLM sessions."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

from omegaconf import DictConfig

from trouter.embed import encode
from trouter.errors import ConfigError
from trouter.llm.cards import ModelCard, card_from_config
from trouter.llm.client import RetryPolicy
from trouter.llm.session import LLMSession

log = logging.getLogger("trouter")


def stage_dir(cfg: DictConfig, rule: str) -> Path:
    return Path(cfg.paths.run_dir) / rule


def taxonomy_path(cfg: DictConfig) -> Path:
    """The task types' node table: routing.taxonomy, else this run's expand_taxonomy output."""
    given = cfg.routing.taxonomy
    return Path(given) if given else stage_dir(cfg, "expand_taxonomy") / "nodes.csv"


def query_files(cfg: DictConfig, datasets) -> list[Path]:
    """Where the query records (query_id, dataset, question, query) of these datasets are: the
    import of a recorded run, else prepare_data's data/<dataset>.jsonl."""
    if cfg.recorded is not None:
        return [stage_dir(cfg, "labels") / "queries.jsonl"]
    return [stage_dir(cfg, "data") / f"{d}.jsonl" for d in sorted(datasets)]


def role_cards(cfg: DictConfig, roles: list[str]) -> dict[str, ModelCard]:
    out = {}
    for role in roles:
        if role not in cfg.roles:
            raise ConfigError(f"roles.{role}: no model card configured")
        out[role] = card_from_config(cfg.roles[role], where=f"roles.{role}")
    return out


def open_session(cfg: DictConfig, cards: dict[str, ModelCard], out_dir: Path) -> LLMSession:
    """An LLM session for these role -> card pairs, with the configured retries and cache."""
    retry = RetryPolicy(int(cfg.llm.max_retries), float(cfg.llm.base_delay_s),
                        float(cfg.llm.max_delay_s))
    return LLMSession(cards, cache_path=Path(cfg.paths.cache_dir) / "llm.sqlite",
                      models_dir=Path(cfg.paths.models_dir), out_dir=out_dir, retry=retry,
                      server_threads=int(cfg.llm.server_threads))


def question_encoder(cfg: DictConfig):
    """texts -> unit vectors, with the configured all-MiniLM-L6-v2."""
    return partial(encode, model_path=cfg.dedup.model_path, batch_size=int(cfg.dedup.batch_size))


def log_stats(session: LLMSession) -> dict:
    stats = session.stats()
    for role, s in stats.items():
        log.info("%s: %d live calls, %d cached, %d failed, %d retries, %d+%d tokens, cost %.6f",
                 role, s["live_calls"], s["cached_calls"], s["failed_calls"], s["retries"],
                 s["prompt_tokens"], s["completion_tokens"], s["cost"])
    return stats
