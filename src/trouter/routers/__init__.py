"""Routers as plugins: the registry key is the stem of conf/router/<key>.yaml, the `{router}`
wildcard of train_router and the `method` value in every table. Modules load on first use."""

from __future__ import annotations

from difflib import get_close_matches
from importlib import import_module

from omegaconf import DictConfig

from trouter.errors import ConfigError
from trouter.routers.base import Router, RouterContext, RoutingTable

REGISTRY = {
    "trouter": "trouter.routers.trouter:TRouter",
    "trouter_paper": "trouter.routers.trouter:TRouter",
    "trouter_no_task_loss": "trouter.routers.trouter:TRouter",
    "trouter_subcategory": "trouter.routers.trouter:TRouter",
    "trouter_domain": "trouter.routers.trouter:TRouter",
    "trouter_paper_no_task_loss": "trouter.routers.trouter:TRouter",
    "trouter_paper_subcategory": "trouter.routers.trouter:TRouter",
    "trouter_paper_domain": "trouter.routers.trouter:TRouter",
    "adaptive_llm": "trouter.routers.adaptive:AdaptiveLLM",
    "knn": "trouter.routers.knn:KNN",
    "knn_task": "trouter.routers.knn:KNN",
    "metric_router": "trouter.routers.metric_router:MetricRouter",
    "routerdc": "trouter.routers.routerdc:RouterDC",
    "routerdc_frozen": "trouter.routers.routerdc:RouterDC",
    "prompt_llm": "trouter.routers.prompt_llm:PromptLLM",
    "ensemble": "trouter.routers.ensemble:Ensemble",
    "ensemble_task": "trouter.routers.ensemble:Ensemble",
    "task_mean": "trouter.routers.task_mean:TaskMean",
}

__all__ = ["REGISTRY", "Router", "RouterContext", "RoutingTable", "make_router", "router_class"]


def router_class(name: str) -> type[Router]:
    if name not in REGISTRY:
        close = get_close_matches(name, list(REGISTRY), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"router {name!r} is not registered (known: {sorted(REGISTRY)}){hint}")
    module, cls = REGISTRY[name].split(":")
    return getattr(import_module(module), cls)


def make_router(rc: DictConfig, ctx: RouterContext) -> Router:
    """The router of config `rc` (conf/router/<rc.name>.yaml)."""
    return router_class(str(rc.name))(rc, ctx)
