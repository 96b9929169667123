"""The paper-style Markdown table and the cost-performance plot."""

from __future__ import annotations

import pandas as pd

from trouter.route.utility import SETTINGS

SETTING_TITLES = {"cold_start": "Cold-start (trained on synthetic data only)",
                  "in_domain": "In-domain (trained on the benchmarks' training splits)"}
REFERENCES = ("oracle", "random")


def method_order(methods: list[str], models: list[str]) -> list[str]:
    """References first, then single models (price order), then baselines and routers."""
    rest = sorted(m for m in methods if m not in (*REFERENCES, *models))
    return [m for m in (*REFERENCES, *models) if m in methods] + rest


def markdown_table(utility: pd.DataFrame, models: list[str]) -> str:
    head = ("| Method | Cost-first (0.2, 0.8) | Balanced (0.5, 0.5) | Performance-first (0.8, 0.2) "
            "| Utility Sum |\n|---|---:|---:|---:|---:|")
    parts = []
    for setting, title in SETTING_TITLES.items():
        rows = utility[utility["setting"] == setting].set_index("method")
        if rows.empty:
            continue
        best = {c: rows.drop(index=[m for m in REFERENCES if m in rows.index])[c].max()
                for c in [*SETTINGS, "utility_sum"]}
        lines = [f"**{title}**", "", head]
        for method in method_order(list(rows.index), models):
            cells = []
            for col in [*SETTINGS, "utility_sum"]:
                v = rows.loc[method, col]
                lo, hi = rows.loc[method, f"{col}_lo"], rows.loc[method, f"{col}_hi"]
                text = f"{v:.4f} [{lo:.4f}, {hi:.4f}]"
                cells.append(f"**{text}**" if method not in REFERENCES and v == best[col]
                             else text)
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        parts.append("\n".join(lines))
    note = ("Mean utility U = μ_r·r − μ_c·c_norm over the pooled benchmark test queries, with "
            "its 95% interval from a paired bootstrap over the test queries; bold: the best "
            "non-reference mean per column; oracle and random (expected value of a uniform "
            "choice) are references.")
    return "\n\n".join(parts) + "\n\n" + note + "\n"


def comparison_markdown(comparisons: pd.DataFrame, gaps: pd.DataFrame) -> str:
    """Does each router beat the best single model and Adaptive LLM, and how much of the gap
    from the best single model to the oracle does it close?"""
    lines = ["**Routers against the references** (Utility Sum difference; p: one-sided paired "
             "bootstrap p-value that the router is not better)", "",
             "| Protocol | Router | Against | Difference | p |", "|---|---|---|---:|---:|"]
    for r in comparisons.itertuples(index=False):
        lines.append(f"| {r.setting} | {r.method} | {r.against} | {r.utility_sum_diff:+.4f} | "
                     f"{r.p_value:.3f} |")
    lines += ["", "**Share of the gap from the best single model to the oracle** "
              "((U_router − U_best single) / (U_oracle − U_best single), with the best single "
              "model of each setting; – where that model is the oracle)", "",
              "| Protocol | Router | Best single (Utility Sum) | " + " | ".join(SETTINGS)
              + " | utility_sum |",
              "|---|---|---|" + "---:|" * (len(SETTINGS) + 1)]
    for r in gaps.to_dict("records"):
        cells = " | ".join("–" if pd.isna(r[c]) else f"{r[c]:.2f}"
                           for c in [*SETTINGS, "utility_sum"])
        lines.append(f"| {r['setting']} | {r['method']} | {r['best_single']} | {cells} |")
    return "\n".join(lines) + "\n"


def recognition_markdown(table: pd.DataFrame) -> str:
    """Top-1 agreement of q(t|q) with the assigned task type, per protocol and benchmark."""
    test = table[table["split"] == "test"]
    if test.empty:
        return ""
    lines = ["**Task recognition** (test queries: how often q(t|q) ranks first the task type "
             "that assign_tasks gave the query)", "",
             "| Protocol | Benchmark | Queries | Top-1 agreement |", "|---|---|---:|---:|"]
    for r in test.itertuples(index=False):
        lines.append(f"| {r.setting} | {r.dataset} | {r.queries} | {r.top1:.2f} |")
    return "\n".join(lines) + "\n"


def cost_performance_plot(points: pd.DataFrame, models: list[str], path) -> None:
    """Mean score against mean cost of each method's choices, per protocol and utility setting;
    single models drawn as the reference frontier."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings = [s for s in SETTING_TITLES if s in set(points["setting"])]
    fig, axes = plt.subplots(1, len(settings), figsize=(6.5 * len(settings), 5), squeeze=False)
    markers = {"cost_first": "v", "balanced": "o", "perf_first": "^"}
    for ax, setting in zip(axes[0], settings, strict=True):
        pts = points[points["setting"] == setting]
        single = pts[pts["method"].isin(models) & (pts["utility_setting"] == "balanced")]
        single = single.set_index("method").loc[[m for m in models if m in set(single["method"])]]
        ax.plot(single["mean_cost"], single["mean_score"], "s--", color="grey",
                label="single models")
        for m, row in single.iterrows():
            ax.annotate(m, (row["mean_cost"], row["mean_score"]), fontsize=7,
                        textcoords="offset points", xytext=(4, -10))
        others = [m for m in method_order(sorted(set(pts["method"])), models) if m not in models]
        colors = plt.cm.tab10.colors
        for i, method in enumerate(others):
            sub = pts[pts["method"] == method]
            for us, row in sub.set_index("utility_setting").iterrows():
                ax.scatter(row["mean_cost"], row["mean_score"], marker=markers[us],
                           color=colors[i % len(colors)], s=50,
                           label=method if us == "balanced" else None)
        ax.set_title(SETTING_TITLES[setting], fontsize=10)
        ax.set_xlabel("mean cost per query")
        ax.set_ylabel("mean score")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, title="▼ cost-first  ● balanced  ▲ perf-first", title_fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)
