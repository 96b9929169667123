"""RouterBench's AIQ: the area under a method's non-decreasing convex hull in the cost-quality
plane, over costs normalised to [0, 1] by the largest cost of any method compared; computed per
benchmark and averaged over the benchmarks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trouter.route.columns import AIQ_COLUMNS


def upper_hull(points: np.ndarray) -> np.ndarray:
    """The non-decreasing upper convex hull of (cost, quality) points: from the cheapest point
    (the best quality among equally cheap ones) up to the highest-quality point."""
    pts = np.asarray(points, float)
    order = np.lexsort((-pts[:, 1], pts[:, 0]))
    hull: list[np.ndarray] = []
    for p in pts[order]:
        if hull and p[0] == hull[-1][0]:
            continue  # same cost, lower quality
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (p[1] - y1) - (p[0] - x1) * (y2 - y1) >= 0:
                hull.pop()  # hull[-1] lies on or below the chord hull[-2] -> p
            else:
                break
        hull.append(p)
    out = np.array(hull)
    return out[: int(np.argmax(out[:, 1])) + 1]


def aiq(points: np.ndarray, max_cost: float) -> float:
    """(1 / max_cost) x the area under the hull from its cheapest point to max_cost, the hull
    held flat after its highest point; nothing is earned below the method's cheapest cost."""
    if max_cost <= 0:
        raise ValueError(f"max_cost must be positive, got {max_cost}")
    hull = upper_hull(points)
    xs = np.append(hull[:, 0], max(max_cost, hull[-1, 0])) / max_cost
    ys = np.append(hull[:, 1], hull[-1, 1])
    return float(np.sum((xs[1:] - xs[:-1]) * (ys[1:] + ys[:-1]) / 2))


def aiq_table(protocol: str, sweeps: dict[str, tuple[np.ndarray, np.ndarray]],
              datasets: np.ndarray) -> pd.DataFrame:
    """AIQ as RouterBench computes it: per benchmark, each method's points are its (mean cost,
    mean score) over the benchmark's queries, costs divided by the largest mean cost of any
    method on that benchmark; then the mean over the benchmarks (dataset "mean"), each weighing
    the same. sweeps: method -> (score, cost), each [S, N] at the settings it answered."""
    rows = []
    for dataset in sorted(set(datasets)):
        on = np.asarray(datasets) == dataset
        xy = {m: np.column_stack([cost[:, on].mean(1), score[:, on].mean(1)])
              for m, (score, cost) in sweeps.items()}
        top = max(float(pts[:, 0].max()) for pts in xy.values())
        rows += [{"protocol": protocol, "method": m, "dataset": dataset, "aiq": aiq(pts, top),
                  "max_cost": top, "points": len(pts)} for m, pts in xy.items()]
    table = pd.DataFrame(rows, columns=AIQ_COLUMNS)
    mean = (table.groupby("method", sort=False).agg(aiq=("aiq", "mean"), points=("points", "first"))
            .reset_index().assign(protocol=protocol, dataset="mean", max_cost=np.nan))
    return pd.concat([table, mean], ignore_index=True)[AIQ_COLUMNS]
