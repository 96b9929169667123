"""The cost-performance plot of the report."""

from __future__ import annotations

import pandas as pd

from trouter.route.report import PROTOCOL_TITLES, method_order
from trouter.route.utility import SETTINGS


def pareto_plot(points: pd.DataFrame, models: list[str], path) -> None:
    """Per protocol: each method's mean score against mean cost over the willingness-to-pay
    sweep (a curve, the three named settings marked), the single models as points, and the
    Pareto frontier of the single models."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    protocols = [p for p in PROTOCOL_TITLES if p in set(points["protocol"])]
    fig, axes = plt.subplots(1, len(protocols), figsize=(6.5 * len(protocols), 5), squeeze=False)
    named = {mu: name for name, mu in SETTINGS.items()}
    markers = {"cost_first": "v", "balanced": "o", "perf_first": "^"}
    colors = plt.cm.tab10.colors
    for ax, protocol in zip(axes[0], protocols, strict=True):
        pts = points[points["protocol"] == protocol]
        single = pts[pts["method"].isin(models)].drop_duplicates("method").set_index("method")
        single = single.loc[[m for m in models if m in single.index]]
        front = single.sort_values("mean_cost")
        front = front[front["mean_score"] >= front["mean_score"].cummax()]
        ax.plot(front["mean_cost"], front["mean_score"], "--", color="grey", lw=1,
                label="single-model frontier")
        ax.scatter(single["mean_cost"], single["mean_score"], marker="s", color="grey", s=30)
        for m, row in single.iterrows():
            ax.annotate(m, (row["mean_cost"], row["mean_score"]), fontsize=6,
                        textcoords="offset points", xytext=(3, -8))
        others = [m for m in method_order(sorted(set(pts["method"])), models) if m not in models]
        for i, method in enumerate(others):
            sub = pts[pts["method"] == method].sort_values("mu_r")
            color = colors[i % len(colors)]
            ax.plot(sub["mean_cost"], sub["mean_score"], "-", color=color, lw=1, alpha=0.8,
                    label=method)
            for row in sub.itertuples(index=False):
                if (row.mu_r, row.mu_c) in named:
                    ax.scatter(row.mean_cost, row.mean_score, color=color, s=40,
                               marker=markers[named[(row.mu_r, row.mu_c)]])
        ax.set_title(PROTOCOL_TITLES[protocol], fontsize=9)
        ax.set_xlabel("mean cost per query")
        ax.set_ylabel("mean score")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, title="▼ cost-first  ● balanced  ▲ perf-first", title_fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)
