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
from trouter.io import read_csv, read_json, write_csv, write_json
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
from trouter.route.columns import (
    AIQ_COLUMNS,
    COMPARISON_COLUMNS,
    GAP_COLUMNS,
    PER_BENCHMARK_COLUMNS,
    POINT_COLUMNS,
    SHARE_COLUMNS,
    UTILITY_COLUMNS,
)
from trouter.route.data import read_labels, wide
from trouter.route.means import per_query, utility_table
from trouter.route.methods import CHOICE_COLUMNS, named_rows, outcomes, reference_choices
from trouter.route.pool import read_pool
from trouter.route.protocols import check_protocol, real_test, routed_methods
from trouter.route.stats import p_better, resample_indices
from trouter.route.utility import SETTINGS, route_by_utility
from trouter.routers.base import PREDICTION_COLUMNS, one_hot
from trouter.stages.common import log

# kNN, the bar every learned router must pass, is a reference of the comparisons when it is routed.
KNN = ("knn", "knn_star")


def share_rows(protocol: str, method: str, p: np.ndarray, models: list[str],
               settings) -> pd.DataFrame:
    """Per named utility setting, the share of the test queries each candidate receives (a
    spread choice counts by its probabilities)."""
    return pd.DataFrame([{"protocol": protocol, "method": method, "utility_setting": name,
                          "model": model, "share": float(p[settings.index(mu), :, j].mean())}
                         for name, mu in SETTINGS.items() for j, model in enumerate(models)],
                        columns=SHARE_COLUMNS)


def router_choices(path, ids: list[str], models: list[str], settings) -> np.ndarray:
    """[S, N] x M choices from a router's predictions.csv, checked against the test queries."""
    pred = read_csv(path, PREDICTION_COLUMNS)
    for col in ("mu_r", "mu_c", "p"):
        pred[col] = pred[col].astype(float)
    row = {q: i for i, q in enumerate(ids)}
    col = {m: j for j, m in enumerate(models)}
    setting = {mu: s for s, mu in enumerate(settings)}
    keys = list(zip(pred["mu_r"].round(6), pred["mu_c"].round(6), strict=True))
    unknown = ({q for q in pred["query_id"] if q not in row} | {m for m in pred["model"]
               if m not in col} | {k for k in keys if k not in setting})
    if unknown:
        raise DataError(f"{path}: queries, models or settings not in this evaluation, e.g. "
                        f"{sorted(map(str, unknown))[:3]}; rerun train_router")
    p = np.zeros((len(settings), len(ids), len(models)))
    np.add.at(p, ([setting[k] for k in keys], pred["query_id"].map(row).to_numpy(),
                  pred["model"].map(col).to_numpy()), pred["p"].to_numpy())
    if not np.allclose(p.sum(-1), 1.0):
        raise DataError(f"{path}: choices cover {int((~np.isclose(p.sum(-1), 1)).sum())} "
                        "(query, setting) pairs not exactly once; rerun train_router")
    return p


def estimate_choices(path, ids: list[str], models: list[str], settings) -> np.ndarray:
    """[S, N, M] choices of a router that estimates, at any setting: the candidate with the
    highest predicted utility (ties to the cheaper one), as the router's own `choose`."""
    est = read_csv(path, ["query_id", "model", "r_hat", "c_hat"])
    table = est.pivot_table(index="query_id", columns="model", values=["r_hat", "c_hat"],
                            aggfunc="first")
    missing = [q for q in ids if q not in table.index]
    if missing or any(m not in table["r_hat"].columns for m in models):
        raise DataError(f"{path}: no estimates for {len(missing)} test queries (e.g. "
                        f"{missing[:3]}) or some models of {models}; rerun train_router")
    r = table["r_hat"].loc[ids, models].to_numpy(float)
    c = table["c_hat"].loc[ids, models].to_numpy(float)
    return np.stack([one_hot(route_by_utility(r, c, mu_r, mu_c), len(models))
                     for mu_r, mu_c in settings])


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


def routers_against_references(chosen: pd.DataFrame, routers: dict[str, list[str]],
                               models: list[str], ev: DictConfig
                               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per protocol and router: the Utility Sum's paired difference from the best single model,
    Adaptive LLM and kNN (when routed) with a one-sided p-value, and the share of the best-single
    -> oracle gap the router closes under each setting."""
    comparisons, gaps = [], []
    for protocol, part in chosen.groupby("protocol", sort=False):
        tables = per_query(part)
        sums = tables["utility_sum"]
        idx = resample_indices(len(sums), int(ev.resamples), int(ev.seed))
        best = sums[models].mean().idxmax()
        for router in routers[protocol]:
            for other in (best, "adaptive_llm", *KNN):
                if other == router or other not in sums:
                    continue
                comparisons.append({
                    "protocol": protocol, "method": router, "against": other,
                    "utility_sum_diff": float(sums[router].mean() - sums[other].mean()),
                    "p_value": p_better(sums[router], sums[other], idx)})
            row = {"protocol": protocol, "method": router, "best_single": best}
            for name, table in tables.items():
                means = table.mean()
                single = means[models].max()
                room = means["oracle"] - single
                row[name] = float((means[router] - single) / room) if room > 0 else float("nan")
            gaps.append(row)
    return (pd.DataFrame(comparisons, columns=COMPARISON_COLUMNS),
            pd.DataFrame(gaps, columns=GAP_COLUMNS))


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
    named, points, shares, aiqs = [], [], [], []
    for protocol in cfg.routing.protocols:
        check_protocol(protocol)
        methods = reference_choices(r.to_numpy(float), arrays["cost_norm"], models, settings)
        own = {}  # the settings a router answered, where they may be the named ones only
        for router in routers[protocol]:
            job = jobs[protocol][router]
            if job["uses_weights"]:
                methods[router] = router_choices(Path(job["dir"]) / PREDICTIONS, ids, models,
                                                 settings)
                if job.get("named_only"):
                    own[router] = [settings.index(mu) for mu in SETTINGS.values()]
            else:
                methods[router] = estimate_choices(Path(job["dir"]) / ESTIMATES, ids, models,
                                                   settings)
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
    comparisons, gaps = routers_against_references(chosen, routers, models, ev)
    tables = [(chosen, CHOICE_COLUMNS), (pooled, UTILITY_COLUMNS),
              (per_bench, PER_BENCHMARK_COLUMNS), (sweep, POINT_COLUMNS),
              (comparisons, COMPARISON_COLUMNS), (gaps, GAP_COLUMNS),
              (pd.concat(aiqs, ignore_index=True), AIQ_COLUMNS),
              (pd.concat(shares, ignore_index=True), SHARE_COLUMNS)]
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
