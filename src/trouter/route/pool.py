"""The candidate pool in price order, the order every router and table uses, and its record
labels/pool.json (written by collect_labels or import_routing, read by every later stage)."""

from __future__ import annotations

import pandas as pd
from omegaconf import DictConfig

from trouter.catalog import model_card
from trouter.errors import DataError
from trouter.io import read_json, write_json
from trouter.llm.cards import ModelCard

POOL_KEYS = ("models", "ordered_by", "prices", "currency", "cost_basis")
# Written when known: {model: a sentence on what it is and is good at} (prompting routers).
OPTIONAL_POOL_KEYS = ("descriptions",)


def models_by_price(cfg: DictConfig) -> list[str]:
    """Pool keys, cheapest first by input + output price per 1M tokens; price ties by size
    (the card's params_b; unknown sizes after known ones), then by key."""
    return [c.key for c in sorted(map(model_card, cfg.pool.candidates), key=price_order)]


def price_order(card: ModelCard) -> tuple:
    size = card.params_b
    return (card.price.input_per_1m + card.price.output_per_1m, size is None, size or 0.0,
            card.key)


def live_pool(cfg: DictConfig, currency: str) -> dict:
    """The pool of model cards: price order, the cards' prices and descriptions."""
    models = models_by_price(cfg)
    prices, descriptions = {}, {}
    for key in models:
        card = model_card(key)
        prices[key] = {"input_per_1m": card.price.input_per_1m,
                       "output_per_1m": card.price.output_per_1m}
        descriptions[key] = card.description or size_description(card)
    return {"models": models, "ordered_by": "price (input + output per 1M tokens)",
            "prices": prices, "currency": currency,
            "cost_basis": "measured: prompt and completion tokens x the card's price",
            "descriptions": descriptions}


def size_description(card: ModelCard) -> str:
    """The description of a card without one: its id and size."""
    if card.params_b is None:
        return f"{card.model_id}, size not published."
    return f"{card.model_id}, {card.params_b:g} billion parameters."


def recorded_pool(models: list[str], prices: dict | None, train: pd.DataFrame, currency: str,
                  cost_basis: str, descriptions: dict | None = None) -> dict:
    """A recorded pool: names from the data; by price when prices are known, else by mean
    training cost (ties by name); descriptions when the data has them."""
    if prices:
        key = {m: (prices[m]["input_per_1m"] + prices[m]["output_per_1m"], m) for m in models}
        ordered_by = "price (input + output per 1M tokens)"
    else:
        mean = train.groupby("model")["cost"].mean()
        key = {m: (float(mean[m]), m) for m in models}
        ordered_by = "mean training cost"
    pool = {"models": sorted(models, key=key.__getitem__), "ordered_by": ordered_by,
            "prices": prices, "currency": currency, "cost_basis": cost_basis}
    if descriptions:
        pool["descriptions"] = {m: descriptions[m] for m in models if m in descriptions}
    return pool


def write_pool(path, pool: dict) -> None:
    write_json(path, {k: pool[k] for k in (*POOL_KEYS, *OPTIONAL_POOL_KEYS) if k in pool})


def read_pool(path) -> dict:
    pool = read_json(path)
    missing = [k for k in POOL_KEYS if k not in pool]
    if missing or not pool.get("models"):
        raise DataError(f"{path}: a pool record needs {list(POOL_KEYS)} with models, "
                        f"missing {missing or ['models']}")
    if not isinstance(pool.get("descriptions", {}), dict):
        raise DataError(f"{path}: field 'descriptions' must be an object {{model: text}}")
    return pool
