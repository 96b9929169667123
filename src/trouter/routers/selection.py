"""Hyper-parameters chosen on validation data only: a router config's optional `grid` (key ->
values) is searched exhaustively and the setting with the lowest validation loss is kept."""

from __future__ import annotations

from dataclasses import replace
from itertools import product

from omegaconf import DictConfig, OmegaConf

from trouter.errors import ConfigError
from trouter.routers import make_router
from trouter.routers.base import Router, RouterContext, RoutingTable


def grid_settings(rc: DictConfig) -> list[dict]:
    """Every combination of the grid's values; [] without a grid."""
    grid = rc.get("grid") or {}
    if not grid:
        return []
    unknown = [k for k in grid if k not in rc or k == "grid"]
    if unknown:
        raise ConfigError(f"router {rc.name}: grid keys {unknown} are not settings of the router")
    if any(not list(v) for v in grid.values()):
        raise ConfigError(f"router {rc.name}: every grid key needs at least one value")
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in product(*(grid[k] for k in keys))]


def fit_selected(rc: DictConfig, ctx: RouterContext, train: RoutingTable,
                 val: RoutingTable) -> tuple[Router, dict]:
    """The fitted router and its summary; with a grid, the best setting by validation loss, every
    tried setting and its loss recorded under `selection`."""
    settings = grid_settings(rc)
    if not settings:
        router = make_router(rc, ctx)
        return router, router.fit(train, val)
    tried = []
    for i, setting in enumerate(settings):
        sub_ctx = replace(ctx, out_dir=ctx.out_dir / f"grid-{i}", run_name=f"{ctx.run_name}-g{i}")
        router = make_router(OmegaConf.merge(rc, setting), sub_ctx)
        fitted = router.fit(train, val)
        if "val_loss" not in fitted:
            raise ConfigError(f"router {rc.name}: a grid needs a router that reports its "
                              "validation loss")
        tried.append((fitted["val_loss"], i, router, fitted, setting))
    _, _, router, fitted, setting = min(tried, key=lambda t: (t[0], t[1]))
    return router, {**fitted, "selection": {
        "chosen_on": "validation loss", "chosen": setting,
        "tried": [{**s, "val_loss": round(loss, 6)} for loss, _, _, _, s in tried]}}
