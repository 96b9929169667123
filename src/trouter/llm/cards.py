"""Model cards: what a model is, where it is served, what it costs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf

from trouter.errors import ConfigError

STRUCTURED_MODES = ("json_schema", "llama_cpp", "none")


@dataclass(frozen=True)
class Price:
    input_per_1m: float
    output_per_1m: float
    currency: str

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input_per_1m + completion_tokens * self.output_per_1m) / 1e6


@dataclass(frozen=True)
class ModelCard:
    key: str
    model_id: str
    base_url: str | None
    api_key_env: str | None
    structured_output: str
    generation: dict[str, Any]
    price: Price
    max_concurrency: int = 1
    timeout_s: float = 120.0
    local: dict[str, Any] | None = field(default=None)
    params_b: float | None = None  # billions; total parameters for mixture-of-experts
    description: str | None = None  # what the model is good at, for routers that prompt an LLM

    @property
    def is_local(self) -> bool:
        return self.local is not None

    @property
    def identity(self) -> str:
        """What makes two cards the same model for caching: the id plus the weights' checksum
        (local models, whose port changes every run) or the endpoint (remote models)."""
        if self.is_local:
            return f"{self.model_id}@{self.local['weights']['sha256']}"
        return f"{self.model_id}@{self.base_url}"


def _need(d: dict, name: str, where: str):
    if d.get(name) in (None, "???"):
        raise ConfigError(f"model card {where}: field '{name}' is required")
    return d[name]


def _price(p, where: str) -> Price:
    """Prices: finite numbers >= 0 per 1M tokens, and a currency."""
    if not isinstance(p, dict):
        raise ConfigError(f"model card {where}: price must be a mapping, got {p!r}")
    values = []
    for name in ("input_per_1m", "output_per_1m"):
        v = p.get(name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ConfigError(f"model card {where}: price.{name} must be a finite number >= 0, "
                              f"got {v!r}")
        values.append(float(v))
    currency = p.get("currency")
    if not isinstance(currency, str) or not currency.strip() or currency == "???":
        raise ConfigError(f"model card {where}: price.currency is required (e.g. USD), "
                          f"got {currency!r}")
    return Price(values[0], values[1], currency.strip())


def card_from_config(cfg: DictConfig | dict, where: str = "?") -> ModelCard:
    """Build and validate a card; `where` names the config path for error messages."""
    d = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    key = _need(d, "key", where)
    where = f"{where} ({key})"
    mode = d.get("structured_output", "none")
    if mode not in STRUCTURED_MODES:
        raise ConfigError(
            f"model card {where}: structured_output={mode!r}, expected one of {STRUCTURED_MODES}"
        )
    price = _price(_need(d, "price", where), where)
    params_b = d.get("params_b")
    numeric = isinstance(params_b, (int, float)) and not isinstance(params_b, bool)
    if params_b is not None and not (numeric and params_b > 0):
        raise ConfigError(f"model card {where}: params_b must be a positive number of billions "
                          f"or null, got {params_b!r}")
    description = d.get("description")
    if description is not None and not (isinstance(description, str) and description.strip()):
        raise ConfigError(f"model card {where}: description must be a non-empty text or null, "
                          f"got {description!r}")
    local = d.get("local")
    if local is None and not d.get("base_url"):
        raise ConfigError(f"model card {where}: a remote model needs base_url")
    conc = int(d.get("max_concurrency", 1))
    if conc < 1:
        raise ConfigError(f"model card {where}: max_concurrency must be >= 1, got {conc}")
    return ModelCard(
        key=key,
        model_id=_need(d, "model_id", where),
        base_url=d.get("base_url"),
        api_key_env=d.get("api_key_env"),
        structured_output=mode,
        generation=dict(d.get("generation") or {}),
        price=price,
        max_concurrency=conc,
        timeout_s=float(d.get("timeout_s", 120.0)),
        local=local,
        params_b=None if params_b is None else float(params_b),
        description=None if description is None else description.strip(),
    )
