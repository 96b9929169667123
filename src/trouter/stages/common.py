"""Helpers shared by the stage functions: model roles, LLM sessions, settings."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

from omegaconf import DictConfig

from trouter.embed import encode
from trouter.errors import ConfigError
from trouter.llm.cards import ModelCard, card_from_config
from trouter.llm.faults import RetryPolicy
from trouter.llm.session import LLMSession
from trouter.synth.qa import QAConfig

log = logging.getLogger("trouter")


def qa_config(cfg: DictConfig) -> QAConfig:
    q = cfg.qa
    threshold = float(cfg.dedup.threshold)
    if not -1.0 <= threshold <= 1.0:
        raise ConfigError(f"dedup.threshold: a cosine similarity in [-1, 1], got {threshold}")
    for name in ("target_per_node", "batch_size", "max_calls_per_node"):
        if int(q[name]) < 1:
            raise ConfigError(f"qa.{name}: must be >= 1, got {q[name]}")
    return QAConfig(target=int(q.target_per_node), batch_size=int(q.batch_size),
                    max_calls=int(q.max_calls_per_node), temperature=float(q.temperature),
                    threshold=threshold, max_reasks=int(cfg.llm.max_reasks),
                    seed=int(cfg.seed))


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
    return LLMSession(cards, cache_dir=Path(cfg.paths.cache_dir),
                      models_dir=Path(cfg.paths.models_dir), out_dir=out_dir, retry=retry,
                      server_threads=int(cfg.llm.server_threads), server=str(cfg.llm.server))


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
