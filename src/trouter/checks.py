"""Every numeric setting checked when the config is composed, the key named in the error."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase

from omegaconf import DictConfig, OmegaConf

from trouter.errors import ConfigError
from trouter.label.prompts import SYNTHETIC_PROMPTS
from trouter.llm.server import SERVERS


@dataclass(frozen=True)
class Number:
    integer: bool = False
    low: float | None = None  # inclusive
    high: float | None = None  # inclusive
    above: float | None = None  # exclusive
    below: float | None = None  # exclusive
    null: bool = False
    items: bool = False  # a list of such numbers
    empty: bool = False  # the list may be empty

    def describe(self) -> str:
        parts = ["an integer" if self.integer else "a number"]
        lo = (f"[{_fmt(self.low)}" if self.low is not None
              else f"({_fmt(self.above)}" if self.above is not None else None)
        hi = (f"{_fmt(self.high)}]" if self.high is not None
              else f"{_fmt(self.below)})" if self.below is not None else None)
        if lo and hi:
            parts.append(f"in {lo}, {hi}")
        elif lo:
            parts.append((">= " if lo[0] == "[" else "> ") + lo[1:])
        elif hi:
            parts.append(("<= " if hi[-1] == "]" else "< ") + hi[:-1])
        text = " ".join(parts)
        if self.items:
            kind = "list" if self.empty else "non-empty list"
            text = f"a {kind} of {text.replace('an integer', 'integers')}"
        return text + (" or null" if self.null else "")

    def accepts(self, v) -> bool:
        if v is None:
            return self.null
        if self.items:
            return (isinstance(v, list) and (self.empty or bool(v))
                    and all(self._one(x) for x in v))
        return self._one(v)

    def _one(self, v) -> bool:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return False
        if self.integer and not float(v).is_integer():
            return False
        return ((self.low is None or v >= self.low) and (self.high is None or v <= self.high)
                and (self.above is None or v > self.above)
                and (self.below is None or v < self.below))


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


COUNT = Number(integer=True, low=1)  # sizes, epochs, threads: at least one
TRIES = Number(integer=True, low=0)  # re-asks and retries: none is fine
SEED = Number(integer=True, low=0, high=2**32 - 1)
SAMPLING = Number(low=0, high=2)  # an LLM's sampling temperature
POSITIVE = Number(above=0)
SHARE = Number(low=0, high=1)

# Patterns over dotted keys (fnmatch: `*` also crosses dots); the first that matches a key wins.
RULES: list[tuple[str, Number]] = [
    ("seed", SEED), ("*.seed", SEED), ("*split_seed", SEED),
    ("routing.seeds", Number(integer=True, low=0, high=2**32 - 1, items=True, null=True)),
    ("routing.seeds_per_protocol.*", Number(integer=True, low=1, null=True)),
    ("router.temperature", POSITIVE),
    ("*generation.temperature", SAMPLING), ("labeling.temperature", SAMPLING),
    ("labeling.synthetic_temperature", SAMPLING),
    ("qa.temperature", SAMPLING), ("taxonomy.evaluator_temperature", SAMPLING),
    ("*top_p", Number(above=0, high=1)),
    ("benchmarks.*.max_tokens", Number(integer=True, low=1, null=True)),
    ("*max_tokens", COUNT),
    ("*max_reasks", TRIES), ("*max_retries", TRIES),
    ("*delay_s", Number(low=0)), ("*timeout_s", POSITIVE),
    ("labeling.sandbox.memory_mb", COUNT),
    ("*.local.n_threads", Number(integer=True, low=1, null=True)),
    ("router.threads", Number(integer=True, low=1, null=True)), ("*threads", COUNT),
    ("*max_concurrency", COUNT), ("*n_ctx", COUNT), ("*.local.parallel", COUNT),
    ("qa.target_per_node", COUNT), ("qa.batch_size", COUNT), ("qa.max_calls_per_node", COUNT),
    ("dedup.threshold", Number(low=-1, high=1)), ("dedup.batch_size", COUNT),
    ("taxonomy.max_domains", COUNT), ("taxonomy.children.*", COUNT),
    ("taxonomy.patience", COUNT), ("taxonomy.max_rounds", COUNT),
    ("data.limit.*", Number(integer=True, low=0, null=True)),
    ("data.synthetic.*_per_node", Number(integer=True, low=0)),
    ("benchmarks.*.splits.*", Number(integer=True, low=0)),
    ("router.hidden", COUNT), ("router.lr", POSITIVE),
    ("router.head_hidden", Number(integer=True, low=1, items=True, empty=True)),
    ("router.dropout", Number(low=0, below=1)), ("router.match_dropout", Number(low=0, below=1)),
    ("router.head_dropout", Number(low=0, below=1)),
    ("router.weight_decay", Number(low=0)), ("router.task_weight", Number(low=0)),
    ("router.batch_size", COUNT), ("router.max_epochs", COUNT), ("router.patience", COUNT),
    ("router.k", Number(integer=True, low=1, items=True)),
    ("router.positives", COUNT), ("router.negatives", COUNT), ("router.clusters", COUNT),
    ("router.sample_negatives", COUNT), ("router.sample_weight", Number(low=0)),
    ("router.encoder.max_tokens", COUNT),
    ("routing.labeller_max_chars", COUNT),
    ("evaluation.resamples", COUNT), ("evaluation.confidence", Number(above=0, below=1)),
    ("evaluation.sweep_points", Number(integer=True, low=2)),
]

CHOICES = [("llm.server", SERVERS), ("benchmarks.multi_news.metric", ("rouge_l", "token_f1")),
           ("router.metric_loss", ("mean", "sum")),  # route.net.METRIC_LOSSES, without torch
           ("labeling.synthetic_prompt", tuple(SYNTHETIC_PROMPTS))]


def _leaves(node, prefix: str = "") -> Iterator[tuple[str, object]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, f"{prefix}.{k}" if prefix else str(k))
    else:
        yield prefix, node


def _rule(key: str) -> Number | None:
    return next((rule for pattern, rule in RULES if fnmatchcase(key, pattern)), None)


def check_config(cfg: DictConfig, where: str = "config") -> None:
    """Raise ConfigError for the first setting out of range, wrongly typed or unsafe."""
    tree = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    # shallow keys first: `seed=-1` is reported as seed, not as a setting that copies it
    for key, value in sorted(_leaves(tree), key=lambda kv: kv[0].count(".")):
        if key.startswith(("hydra.", "models.", "model.")) or ".local.weights." in key:
            continue
        rule = _rule(key)
        if rule is not None and not rule.accepts(value):
            raise ConfigError(f"{where}: {key} must be {rule.describe()}, got {value!r}")
    for key, allowed in CHOICES:
        value = OmegaConf.select(cfg, key)
        if value is not None and value not in allowed:
            raise ConfigError(f"{where}: {key} must be one of {list(allowed)}, got {value!r}")
    _check_weights(tree.get("evaluation", {}).get("weights") or [], where)
    _check_seeds(tree.get("routing", {}), where)
    _check_name(tree.get("name"), where)


def _check_weights(pairs, where: str) -> None:
    for pair in pairs:
        if not (isinstance(pair, list) and len(pair) == 2 and all(SHARE.accepts(v) for v in pair)
                and sum(pair) > 0):
            raise ConfigError(f"{where}: evaluation.weights holds pairs [mu_r, mu_c] in [0, 1] "
                              f"(not both 0), got {pair!r}")


def _check_seeds(routing: dict, where: str) -> None:
    from trouter.route.protocols import PROTOCOLS

    seeds = routing.get("seeds") or []
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{where}: routing.seeds lists a seed twice: {seeds}")
    unknown = sorted(set(routing.get("seeds_per_protocol") or {}) - set(PROTOCOLS))
    if unknown:  # a key added with '+'
        raise ConfigError(f"{where}: routing.seeds_per_protocol names {unknown}, not protocols "
                          f"{list(PROTOCOLS)}")


def _check_name(name, where: str) -> None:
    """A run name is one folder inside the results folder."""
    if not isinstance(name, str) or name in ("", ".", "..") or any(c in name for c in "/\\\0"):
        raise ConfigError(f"{where}: name must be one folder name inside the results folder "
                          f"(no '/', not '.' or '..'), got {name!r}")

