"""Routers against the references: paired differences, p-values, the share of the gap to the
oracle."""

from __future__ import annotations

import pandas as pd
from omegaconf import DictConfig

from trouter.route.columns import COMPARISON_COLUMNS, GAP_COLUMNS
from trouter.route.means import per_query
from trouter.route.methods import TASK_BEST
from trouter.route.seeds import holds_in
from trouter.route.stats import p_better, resample_indices

# kNN, the bar every learned router must pass, is a reference of the comparisons when it is routed;
# so is the best model per task (a lookup by dataset: what a router must beat to show routing).
KNN = ("knn", "knn_star")


def routers_against_references(chosen: pd.DataFrame, routers: dict[str, list[str]],
                               models: list[str], ev: DictConfig,
                               seeded: dict[str, dict[str, pd.DataFrame]] | None = None
                               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per protocol and router (and the best model per task): the Utility Sum's paired difference
    from the best single model, Adaptive LLM, kNN (when routed) and the best model per task with
    a one-sided p-value, and the share of the best-single -> oracle gap it closes under each
    setting. A router trained with several seeds (`seeded`: protocol -> router -> query x seed
    Utility Sums) is compared by its mean over them, and `holds_in` counts the seeds in which it
    alone beats the reference."""
    alpha = 1 - float(ev.confidence)
    comparisons, gaps = [], []
    for protocol, part in chosen.groupby("protocol", sort=False):
        tables = per_query(part)
        sums = tables["utility_sum"]
        idx = resample_indices(len(sums), int(ev.resamples), int(ev.seed))
        best = sums[models].mean().idxmax()
        for router in [*routers[protocol], TASK_BEST]:
            if router not in sums:
                continue
            per_seed = (seeded or {}).get(protocol, {}).get(router)
            for other in (best, "adaptive_llm", *KNN, TASK_BEST):
                if other == router or other not in sums:
                    continue
                diff = float(sums[router].mean() - sums[other].mean())
                p = p_better(sums[router], sums[other], idx)
                comparisons.append({
                    "protocol": protocol, "method": router, "against": other,
                    "utility_sum_diff": diff, "p_value": p,
                    "seeds": 1 if per_seed is None else per_seed.shape[1],
                    "holds_in": int(diff > 0 and p < alpha) if per_seed is None else
                    holds_in(per_seed, sums[other], idx, alpha)})
            row = {"protocol": protocol, "method": router, "best_single": best}
            for name, table in tables.items():
                means = table.mean()
                single = means[models].max()
                room = means["oracle"] - single
                row[name] = float((means[router] - single) / room) if room > 0 else float("nan")
            gaps.append(row)
    return (pd.DataFrame(comparisons, columns=COMPARISON_COLUMNS),
            pd.DataFrame(gaps, columns=GAP_COLUMNS))
