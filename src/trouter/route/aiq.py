"""RouterBench's AIQ: the area under a method's non-decreasing convex hull in the cost-quality
plane, over costs normalised to [0, 1] by the largest cost of any method compared."""

from __future__ import annotations

import numpy as np


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
