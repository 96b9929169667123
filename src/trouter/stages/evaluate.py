"""Rule evaluate: every router and reference on the real test queries, per protocol: the named
utility settings with paired-bootstrap intervals, comparisons with the best single model and
Adaptive LLM, the share of the best-single -> oracle gap, each method's selection share per
candidate, and the cost-quality sweep with AIQ per benchmark."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from trouter.errors import ConfigError, DataError
from trouter.io import read_json, write_csv, write_json
from trouter.layout import (
    ESTIMATES,
    EVALUATE_FILES,
    LABELS,
    MANIFEST,
    POOL,
    PREDICTIONS,
    SUMMARY,
    Layout,
)
from trouter.route.aiq import aiq_table
from trouter.route.choices import estimate_choices, router_choices
from trouter.route.columns import (
    AIQ_COLUMNS,
    COMPARISON_COLUMNS,
    GAP_COLUMNS,
    PER_BENCHMARK_COLUMNS,
    POINT_COLUMNS,
    SEED_COLUMNS,
    SHARE_COLUMNS,
    UTILITY_COLUMNS,
)
from trouter.route.comparisons import routers_against_references
from trouter.route.data import read_labels, wide
from trouter.route.means import utility_table
from trouter.route.methods import (
    CHOICE_COLUMNS,
    TASK_BEST,
    named_rows,
    outcomes,
    reference_choices,
    task_best_choices,
    training_means,
)
from trouter.route.pool import read_pool
from trouter.route.protocols import check_protocol, real_test, routed_methods
from trouter.route.seeds import seed_rows, seed_sums
from trouter.route.stats import resample_indices
from trouter.route.utility import SETTINGS
from trouter.stages.common import log


def share_rows(protocol: str, method: str, p: np.ndarray, models: list[str],
               settings) -> pd.DataFrame:
    """Per named utility setting, the share of the test queries each candidate receives (a
    spread choice counts by its probabilities)."""
    return pd.DataFrame([{"protocol": protocol, "method": method, "utility_setting": name,
                          "model": model, "share": float(p[settings.index(mu), :, j].mean())}
                         for name, mu in SETTINGS.items() for j, model in enumerate(models)],
                        columns=SHARE_COLUMNS)


def manifest_routers(cfg: DictConfig, lay: Layout) -> dict[str, dict[str, dict]]:
    """protocol -> method -> the router's folder and whether it uses the weights, from the
    point's manifest (written by the rule plan), checked against the config."""
    path = lay.point_file(MANIFEST)
    if not path.is_file():
        raise ConfigError(f"{path}: no manifest; run the rule plan (python -m trouter.cli.plan "
                          "with the same overrides) first")
    out: dict[str, dict[str, dict]] = {}
    for job in read_json(path)["routers"]:
        out.setdefault(job["protocol"], {})[job["method"]] = job
    for protocol in cfg.routing.protocols:
        want = routed_methods(cfg.routing, protocol)
        if list(out.get(protocol, {})) != want:
            raise ConfigError(f"{path}: lists {list(out.get(protocol, {}))} under {protocol}, "
                              f"the config routes {want}; run the rule plan again")
    return out


def run(cfg: DictConfig) -> dict:
    lay = Layout(cfg)
    labels = read_labels(lay.collected() / LABELS)
    pool = read_pool(lay.collected() / POOL)
    jobs = manifest_routers(cfg, lay)
    models = pool["models"]
    routers = {p: routed_methods(cfg.routing, p) for p in cfg.routing.protocols}
    settings = [tuple(s) for s in lay.settings()]
    test = real_test(labels)
    r = wide(test, models, "score")
    if r.isna().any().any():
        raise DataError(f"{int(r.isna().sum().sum())} test labels have no score")
    ids = list(r.index)
    datasets = test.drop_duplicates("query_id").set_index("query_id")["dataset"].loc[ids]
    arrays = {k: wide(test, models, k).loc[ids].to_numpy(float) for k in ("cost", "cost_norm")}
    task_train = training_means(labels, models, set(datasets))
    named, points, shares, aiqs, seeded = [], [], [], [], {}
    for protocol in cfg.routing.protocols:
        check_protocol(protocol)
        methods = reference_choices(r.to_numpy(float), arrays["cost_norm"], models, settings)
        if task_train is not None:
            methods[TASK_BEST] = task_best_choices(task_train, datasets.to_numpy(), len(models),
                                                   settings)
        own = {}  # the settings a router answered, where they may be the named ones only
        seeded[protocol] = {}
        for router in routers[protocol]:
            job = jobs[protocol][router]
            if job["uses_weights"]:
                by_seed = router_choices(Path(job["dir"]) / PREDICTIONS, ids, models, settings)
                if job.get("named_only"):
                    own[router] = [settings.index(mu) for mu in SETTINGS.values()]
            else:
                by_seed = estimate_choices(Path(job["dir"]) / ESTIMATES, ids, models, settings)
            # a router trained with several seeds: its expected choice over them
            methods[router] = np.mean(list(by_seed.values()), axis=0)
            if len(by_seed) > 1:
                seeded[protocol][router] = seed_sums(by_seed, r.to_numpy(float), arrays["cost"],
                                                     arrays["cost_norm"], settings, ids)
        sweeps = {}
        for method, p in methods.items():
            earned = outcomes(p, r.to_numpy(float), arrays["cost"], arrays["cost_norm"],
                              settings)
            named.append(named_rows(protocol, method, p, earned, ids, datasets.to_numpy(),
                                    models, settings))
            if method not in models:
                shares.append(share_rows(protocol, method, p, models, settings))
            points.append(pd.DataFrame({
                "protocol": protocol, "method": method, "mu_r": [mu[0] for mu in settings],
                "mu_c": [mu[1] for mu in settings], "mean_score": earned["score"].mean(1),
                "mean_cost": earned["cost"].mean(1), "mean_cost_norm": earned["cost_norm"].mean(1),
                "utility": earned["utility"].mean(1)}))
            at = own.get(method, slice(None))
            sweeps[method] = (earned["score"][at], earned["cost"][at])
        aiqs.append(aiq_table(protocol, sweeps, datasets.to_numpy()))
    chosen = pd.concat(named, ignore_index=True)
    sweep = pd.concat(points, ignore_index=True)
    out, ev = lay.evaluate(), cfg.evaluation
    pooled = utility_table(chosen, [], ev)
    per_bench = utility_table(chosen, ["dataset"], ev)
    comparisons, gaps = routers_against_references(chosen, routers, models, ev, seeded)
    idx = resample_indices(len(ids), int(ev.resamples), int(ev.seed))
    seeds = pd.concat([seed_rows(p, seeded[p], idx, float(ev.confidence), int(ev.seed))
                       for p in seeded], ignore_index=True)
    tables = [(chosen, CHOICE_COLUMNS), (pooled, UTILITY_COLUMNS),
              (per_bench, PER_BENCHMARK_COLUMNS), (sweep, POINT_COLUMNS),
              (comparisons, COMPARISON_COLUMNS), (gaps, GAP_COLUMNS),
              (pd.concat(aiqs, ignore_index=True), AIQ_COLUMNS),
              (pd.concat(shares, ignore_index=True), SHARE_COLUMNS), (seeds, SEED_COLUMNS)]
    for name, (table, columns) in zip(EVALUATE_FILES, tables, strict=True):
        write_csv(out / name, table, columns)
    summary = {"test_queries": len(ids), "per_dataset": datasets.value_counts().to_dict(),
               "models": models, "routers": routers, "protocols": list(cfg.routing.protocols),
               "settings": {k: list(v) for k, v in SETTINGS.items()},
               "sweep_points": len(settings), "cost_basis": pool["cost_basis"],
               "currency": pool["currency"],
               "bootstrap": {"resamples": int(ev.resamples), "seed": int(ev.seed),
                             "confidence": float(ev.confidence), "paired": True,
                             "macro": "resampled within each benchmark"}}
    write_json(out / SUMMARY, summary)
    log.info("evaluated %d methods on %d test queries", pooled["method"].nunique(), len(ids))
    return summary
