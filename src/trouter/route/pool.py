"""The candidate pool in price order, the order every router and table uses."""

from __future__ import annotations

from omegaconf import DictConfig

from trouter.catalog import model_card
from trouter.llm.cards import ModelCard


def models_by_price(cfg: DictConfig) -> list[str]:
    """Pool keys, cheapest first by input + output price per 1M tokens; price ties by size
    (the card's params_b; unknown sizes after known ones), then by key."""
    return [c.key for c in sorted(map(model_card, cfg.pool.candidates), key=price_order)]


def price_order(card: ModelCard) -> tuple:
    size = card.params_b
    return (card.price.input_per_1m + card.price.output_per_1m, size is None, size or 0.0,
            card.key)
