"""Sweeps: a grid of points in Hydra's multirun syntax (on the command line or in
conf/sweep/<name>.yaml), each point a Plan; and the plans kept between processes."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import pickle
import re
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import OmegaConf

from trouter.catalog import conf_dir
from trouter.data.files import sha256_of
from trouter.errors import ConfigError
from trouter.io import atomic_path
from trouter.layout import digest, plain
from trouter.plan import POINTS, Plan, hydra_conf, make_plan


def _axes(params: list[str]) -> list[list[str]]:
    try:
        parsed = OverridesParser.create().parse_overrides(list(params))
    except HydraException as exc:
        raise ConfigError(f"sweep: cannot parse {list(params)}: {exc}") from None
    axes = []
    for o in parsed:
        key = o.get_key_element()
        values = (list(o.sweep_string_iterator()) if o.is_sweep_override()
                  else [o.get_value_element_as_str()])
        axes.append([f"{key}={v}" for v in values])
    return axes


def point_name(overrides: list[str]) -> str:
    """A readable folder name from a point's swept overrides: key-value__key-value."""
    text = "__".join(o.lstrip("+~").replace("=", "-", 1) for o in overrides) or "base"
    name = re.sub(r"[^A-Za-z0-9_.+-]", "_", text)
    return name if len(name) <= 100 else f"{name[:80]}-{digest(overrides)}"


def sweep_file(name: str) -> dict:
    path = Path(conf_dir(), "sweep", f"{name}.yaml")
    if not path.is_file():
        known = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise ConfigError(f"sweep {name!r}: no file {path} (known: {known})")
    spec = plain(OmegaConf.load(path))
    if not isinstance(spec, dict) or not isinstance(spec.get("params"), dict):
        raise ConfigError(f"{path}: expected a mapping with `params:` (key: 'a,b' in Hydra's "
                          "sweep syntax) and optional `overrides:` (a list)")
    unknown = set(spec) - {"params", "overrides"}
    if unknown:
        raise ConfigError(f"{path}: unknown keys {sorted(unknown)}")
    return spec


def sweep_points(base: list[str], params: list[str]) -> list[tuple[str, list[str]]]:
    """(point name, overrides) of every point of the grid `params`, after `base`."""
    out, seen = [], set()
    for combo in itertools.product(*_axes(params)):
        name = point_name(list(combo))
        if name in seen:
            raise ConfigError(f"sweep: two points are both named {name!r}")
        seen.add(name)
        out.append((name, [*base, *combo]))
    return out


def plans(experiment: str, results_dir: str, overrides: list[str], name: str = "",
          sweep: str = "", multirun: list[str] | None = None) -> list[Plan]:
    """The plans of a Snakemake invocation: one for a run, one per point for a sweep (a
    conf/sweep/<sweep>.yaml, or `multirun` axes named `sweep`)."""
    if not Path(conf_dir(), "experiment", f"{experiment}.yaml").is_file():
        raise ConfigError(f"workflow/config.yaml: experiment={experiment!r} has no "
                          f"conf/experiment/{experiment}.yaml")
    base = [f"experiment={experiment}", *overrides]
    if not sweep:
        run = name or experiment
        return [make_plan("", [*base, f"name={run}", f"paths.results_dir={results_dir}"])]
    params = list(multirun or [])
    if not params:
        spec = sweep_file(sweep)
        base += [str(o) for o in spec.get("overrides") or []]
        params = [f"{k}={v}" for k, v in spec["params"].items()]
    store = f"{results_dir}/{sweep}"
    out = []
    with hydra_conf():
        for point, point_overrides in sweep_points(base, params):
                out.append(make_plan(point, [
                *point_overrides, f"name={sweep}-{digest(point)}",
                f"paths.results_dir={results_dir}", f"paths.store_dir={store}",
                f"paths.run_dir={store}/{POINTS}/{point}", f"routing.wandb_group={sweep}"],
                pick_router=True))
    return out


def _fingerprint() -> str:
    """What plans depend on besides their arguments: conf/, the package's code, the
    environment variables the configs read."""
    h = hashlib.sha256()
    for root in (Path(conf_dir()), Path(__file__).parent):
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in (".yaml", ".py", ".csv", ".json"):
                h.update(str(path.relative_to(root)).encode())
                h.update(path.read_bytes())
    env = {k: v for k, v in os.environ.items() if k.startswith("TROUTER_") or k == "HOME"}
    h.update(json.dumps(env, sort_keys=True).encode())
    return h.hexdigest()


def _taxonomy_unchanged(plan: Plan) -> bool:
    tasks = plan.layout.material("embed_queries")["tasks"]
    return not isinstance(tasks, dict) or (
        Path(tasks["file"]).is_file() and sha256_of(Path(tasks["file"])) == tasks["sha256"])


def cached_plans(folder: Path, **kwargs) -> list[Plan]:
    """plans(**kwargs), kept in `folder` (pickled) for the next process with the same arguments,
    configs and code: every Slurm job parses the workflow again, and composing costs seconds."""
    path = folder / f"plans-{digest([kwargs, _fingerprint()])}.pkl"
    if path.is_file():
        try:
            kept = pickle.loads(path.read_bytes())
        except Exception:  # noqa: BLE001 (a cache from another version: plan again)
            kept = None
        # a task-type file outside conf/ (routing.taxonomy) may have changed since
        if kept and all(_taxonomy_unchanged(p) for p in kept):
            return kept
        path.unlink(missing_ok=True)
    out = plans(**kwargs)
    with atomic_path(path) as tmp:
        tmp.write_bytes(pickle.dumps(out))
    return out
