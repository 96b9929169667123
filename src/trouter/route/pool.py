"""The candidate pool in price order, the order every router and table uses."""

from __future__ import annotations

from omegaconf import DictConfig

from trouter.catalog import model_card


def models_by_price(cfg: DictConfig) -> list[str]:
    """Pool keys, cheapest first by input + output price per 1M tokens (ties by key)."""
    cards = [model_card(k) for k in cfg.pool.candidates]
    cards.sort(key=lambda c: (c.price.input_per_1m + c.price.output_per_1m, c.key))
    return [c.key for c in cards]
