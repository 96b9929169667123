"""Runs and sweeps as plans: each point's overrides, its composed config, and every folder it uses.

A single run is one point whose run folder is also the store. A sweep (Hydra's multirun syntax,
on the command line or in conf/sweep/<name>.yaml) is the cartesian product of its axes; every
point gets `results/<sweep>/points/<point>/` and shares the store `results/<sweep>/`, where the
Layout's keys make points that agree on a stage's settings use the same folder."""

from __future__ import annotations

import copy
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf, open_dict

from trouter.catalog import conf_dir
from trouter.checks import check_config
from trouter.errors import ConfigError
from trouter.io import write_json, write_text
from trouter.layout import CONFIG, MANIFEST, Layout, digest, plain
from trouter.route.protocols import check_protocol, routed_methods, star_name

POINTS = "points"


@dataclass
class RouterJob:
    """One train_router job of a point: a method under a protocol."""

    method: str
    router: str
    variant: str | None
    protocol: str
    folder: Path
    uses_weights: bool
    material: dict
    named_only: bool = False
    threads: int = 1

    def overrides(self) -> list[str]:
        out = [f"router={self.router}", f"routing.protocol={self.protocol}"]
        return out + (["routing.variant=star"] if self.variant else [])


@dataclass
class Plan:
    """One point: its name ('' for a single run), overrides, config and folders."""

    name: str
    overrides: list[str]
    cfg: DictConfig
    layout: Layout
    routers: list[RouterJob] = field(default_factory=list)
    _folders: dict | None = field(default=None, repr=False)

    def folders(self) -> dict[str, tuple[Path, dict]]:
        """Every keyed folder the point uses (stage label -> folder, settings)."""
        if self._folders is None:
            self._folders = self._all_folders()
        return self._folders

    def _all_folders(self) -> dict[str, tuple[Path, dict]]:
        lay, out = self.layout, {}
        if lay.recorded:
            out["import_routing"] = (lay.collected(), lay.material("import_routing"))
        else:
            for stage, folder in (("expand_taxonomy", lay.taxonomy), ("generate_qa", lay.qa),
                                  ("dedup_qa", lay.dedup)):
                out[stage] = (folder(), lay.material(stage))
            for d in lay.datasets():
                out[f"data/{d}"] = (lay.data(d), lay.material("data", d))
                for m in lay.candidates():
                    out[f"labels/{d}/{m}"] = (lay.labels(d, m), lay.material("labels", d, m))
            out["collect_labels"] = (lay.collected(), lay.material("collect_labels"))
        out["embed_queries"] = (lay.embed(), lay.material("embed_queries"))
        out["assign_tasks"] = (lay.assign(), lay.material("assign_tasks"))
        for job in self.routers:
            out[f"train_router/{job.method}/{job.protocol}"] = (job.folder, job.material)
        return out

    def manifest(self) -> dict:
        """point.json: what the point is and which folders hold its numbers."""
        return {"point": self.name, "overrides": self.overrides,
                "config_sha256": config_digest(self.cfg),
                "store": str(self.layout.store), "run_dir": str(self.layout.run),
                "folders": {k: {"dir": str(f), "settings": m}
                            for k, (f, m) in self.folders().items()},
                "routers": [{"method": j.method, "protocol": j.protocol, "router": j.router,
                             "variant": j.variant, "dir": str(j.folder),
                             "uses_weights": j.uses_weights, "named_only": j.named_only}
                            for j in self.routers]}


def config_digest(cfg: DictConfig) -> str:
    return digest(plain(cfg))


@contextmanager
def hydra_conf():
    """Hydra pointed at conf/, once around many compositions (initialising costs more than
    composing); an initialised Hydra (a test's, an entry point's) is used as it is."""
    if GlobalHydra.instance().is_initialized():
        yield
    else:
        with initialize_config_dir(config_dir=conf_dir(), version_base="1.3"):
            yield


def compose_config(overrides: list[str]) -> DictConfig:
    """The composed config, every numeric setting and the run name checked."""
    try:
        cfg = compose(config_name="config", overrides=list(overrides))
    except HydraException as exc:
        raise ConfigError(f"overrides {list(overrides)}: {exc}") from None
    check_config(cfg)
    return cfg


@cache
def _group_config(group: str, name: str) -> DictConfig:
    path = Path(conf_dir(), group, f"{name}.yaml")
    if not path.is_file():
        raise ConfigError(f"routing.routers/star: {name!r} has no config {group}/{name}.yaml")
    with hydra_conf():
        return compose(config_name=f"{group}/{name}")[group]


def job_config(cfg: DictConfig, overrides: list[str], job: list[str]) -> DictConfig:
    """The config a stage composes from `overrides + job`, built from the point's composed
    config: `router=<name>` replaces the router group, `routing.*` and the point's own `router.*`
    settings are applied on top, as Hydra would (checked against Hydra in the tests)."""
    out = copy.deepcopy(cfg)
    parsed = OverridesParser.create().parse_overrides(list(job))
    with open_dict(out):
        for o in parsed:
            if o.key_or_group == "router":
                out.router = copy.deepcopy(_group_config("router", o.value()))
                for p in OverridesParser.create().parse_overrides(list(overrides)):
                    if p.key_or_group.startswith("router."):
                        OmegaConf.update(out, p.key_or_group, p.value(), merge=True)
            else:
                OmegaConf.update(out, o.key_or_group, o.value(), merge=True)
    check_config(out)
    return out


def router_threads(cfg: DictConfig) -> int:
    """CPU threads of a router job: router.threads, else routing.threads; a router that asks a
    local model (PromptLLM) needs its server's threads."""
    n = int(cfg.router.get("threads") or cfg.routing.threads)
    llm = cfg.router.get("llm")
    if isinstance(llm, DictConfig) and llm.get("local") is not None:
        n = max(n, int(cfg.llm.server_threads))
    return n


def plan_candidates(cfg: DictConfig) -> list[str]:
    return [] if cfg.recorded is not None else list(map(str, cfg.pool.candidates))


def point_routers(cfg: DictConfig, overrides: list[str], lay: Layout) -> list[RouterJob]:
    jobs = []
    for protocol in cfg.routing.protocols:
        check_protocol(str(protocol))
        for method in routed_methods(cfg.routing, protocol):
            star = [r for r in cfg.routing.star if star_name(str(r)) == method
                    and protocol == "cold_start"]
            router, variant = (str(star[0]), "star") if star else (method, None)
            job = RouterJob(method, router, variant, str(protocol), Path(), False, {})
            jcfg = job_config(cfg, overrides, job.overrides())
            job_lay = Layout(jcfg, upstream=lay)
            job.folder = job_lay.router(method, str(protocol))
            job.material = job_lay.material("train_router", str(protocol))
            job.uses_weights = bool(jcfg.router.get("uses_weights", False))
            job.named_only = named_settings_only(jcfg.router)
            job.threads = router_threads(jcfg)
            jobs.append(job)
    return jobs


def named_settings_only(rc: DictConfig) -> bool:
    """Whether a router decides at the three named utility settings only (PromptLLM; RouterDC
    with train_settings: named) and repeats the nearest one's choices at any other setting."""
    return rc.get("settings") == "named" or rc.get("train_settings") == "named"


def make_plan(name: str, overrides: list[str], pick_router: bool = False) -> Plan:
    """Compose a point. With pick_router (a sweep point), `router=X` among its overrides makes X
    its one routed method (and its star variant when routing.star lists X)."""
    with hydra_conf():
        return _make_plan(name, list(overrides), pick_router)


def _make_plan(name: str, overrides: list[str], pick_router: bool) -> Plan:
    picked = [o.value() for o in OverridesParser.create().parse_overrides(overrides)
              if pick_router and o.key_or_group == "router"]
    cfg = compose_config(overrides)
    if picked:
        star = [picked[-1]] if picked[-1] in cfg.routing.star else []
        extra = [f"routing.routers=[{picked[-1]}]", f"routing.star=[{','.join(star)}]"]
        overrides += extra
        cfg = job_config(cfg, overrides, extra)
    for key in plan_candidates(cfg):
        if not Path(conf_dir(), "model", f"{key}.yaml").is_file():
            raise ConfigError(f"pool.candidates: {key!r} has no model card conf/model/{key}.yaml")
    plan = Plan(name, overrides, cfg, Layout(cfg))
    plan.routers = point_routers(cfg, overrides, plan.layout)
    return plan


def write_point(overrides: list[str]) -> Plan:
    """config.yaml (the resolved config) and point.json (the manifest) in the point's folder."""
    plan = make_plan("", overrides)
    lay = plan.layout
    if lay.run != lay.store:
        plan.name = lay.run.name
    write_text(lay.point_file(CONFIG), OmegaConf.to_yaml(plan.cfg, resolve=True))
    write_json(lay.point_file(MANIFEST), plan.manifest())
    return plan
