"""The router interface: fit on training and validation tables, then per test query and utility
setting a choice over the candidates (one-hot for a router that picks, spread for one that
randomises)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from trouter.route.utility import route_by_utility

# The one predictions contract of every router (train_router/<router>/<protocol>/predictions.csv):
# p is the probability the router trained with `seed` sends the query to the model under the
# utility setting (mu_r, mu_c); rows with p > 0, summing to 1 per seed, query and setting.
PREDICTION_COLUMNS = ["fold", "query_id", "dataset", "mu_r", "mu_c", "model", "p", "seed"]


@dataclass
class RoutingTable:
    """Aligned arrays for N queries and the M candidates of the pool (cheapest first)."""

    query_ids: list[str]
    datasets: np.ndarray  # [N] dataset (benchmark or recorded task) of each query
    embeddings: np.ndarray  # [N, E] query embeddings
    score: np.ndarray  # [N, M] recorded or labelled score in [0, 1]; NaN where unknown
    cost: np.ndarray  # [N, M] cost in the pool's currency
    cost_norm: np.ndarray  # [N, M] cost min-max normalised on the training split
    tasks: np.ndarray  # [N] task type (node id) of each query; "" where it has none
    texts: list[str] = field(default_factory=list)  # [N] the texts embed_queries embedded

    def __len__(self) -> int:
        return len(self.query_ids)


@dataclass
class RouterContext:
    """What every router may use besides its own config."""

    models: list[str]  # the pool, cheapest first
    task_ids: list[str]  # task types of the taxonomy (may be empty)
    task_embeddings: np.ndarray  # [T, E]
    seed: int
    threads: int
    out_dir: Path  # this router's folder for one protocol and fold
    run_name: str  # for loggers: <experiment>-<router>-<protocol>-<fold>
    logger: str = "none"  # routing.logger: wandb or none
    wandb_project: str = "trouter"
    wandb_group: str | None = None  # routing.wandb_group (a sweep's name)
    pool: dict = field(default_factory=dict)  # labels/pool.json: prices, descriptions, ...
    # roles -> an open LLMSession context (stages.common.open_session), for routers that ask LLMs
    open_llm: Callable | None = None


def one_hot(picks: np.ndarray, n_models: int) -> np.ndarray:
    out = np.zeros((len(picks), n_models))
    out[np.arange(len(picks)), picks] = 1.0
    return out


class Router:
    """Base class. A router that estimates performance and normalised cost per candidate
    overrides `estimate`; one that picks in another way overrides `choose`."""

    def __init__(self, rc: DictConfig, ctx: RouterContext):
        self.rc, self.ctx = rc, ctx

    def fit(self, train: RoutingTable, val: RoutingTable) -> dict:
        """Train; returns what the summary should record (nothing for a router without training)."""
        return {}

    def estimate(self, table: RoutingTable) -> tuple[np.ndarray, np.ndarray] | None:
        """[N, M] predicted performance and normalised cost, or None."""
        return None

    def extra_summary(self) -> dict:
        """What the last `choose` should add to the summary (e.g. LLM calls and fallbacks)."""
        return {}

    def predicted_tasks(self, table: RoutingTable) -> np.ndarray | None:
        """[N] the task type the router recognises in each query, when it has that notion."""
        return None

    def choose(self, table: RoutingTable, settings: list[tuple[float, float]]) -> np.ndarray:
        """[S, N, M] choice probabilities per utility setting (mu_r, mu_c): by default the
        candidate with the highest predicted utility, ties to the cheaper one."""
        est = self.estimate(table)
        if est is None:
            raise NotImplementedError(f"{type(self).__name__} must override estimate or choose")
        m = len(self.ctx.models)
        return np.stack([one_hot(route_by_utility(*est, mu_r, mu_c), m)
                         for mu_r, mu_c in settings])
