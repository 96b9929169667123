"""The paper-style Markdown tables."""

from __future__ import annotations

import pandas as pd

from trouter.route.methods import REFERENCES, TASK_BEST
from trouter.route.utility import SETTINGS

PROTOCOL_TITLES = {
    "cold_start": "Cold-start (trained on synthetic data only)",
    "in_domain": "In-domain (trained on the training splits of the test datasets)",
    "leave_one_task_out": "Leave one task out (per dataset: trained on the other datasets, "
                          "tested on it; pooled)"}


def method_order(methods: list[str], models: list[str]) -> list[str]:
    """References first, then single models (price order), then baselines and routers."""
    rest = sorted(m for m in methods if m not in (*REFERENCES, *models))
    return [m for m in (*REFERENCES, *models) if m in methods] + rest


def routers_in_layout(methods, layout: list[str], models: list[str]) -> list[str]:
    """The routed methods of a protocol: the layout's order, then any others by name."""
    routed = [m for m in methods if m not in (*REFERENCES, *models)]
    return [m for m in layout if m in routed] + sorted(m for m in routed if m not in layout)


def by_protocol(frame: pd.DataFrame):
    """(protocol, title, rows) for each protocol with rows, in the report's order."""
    for protocol, title in PROTOCOL_TITLES.items():
        part = frame[frame["protocol"] == protocol]
        if not part.empty:
            yield protocol, title, part


def interval(rows: pd.DataFrame, method: str, col: str) -> str:
    return (f"{rows.loc[method, col]:.4f} [{rows.loc[method, f'{col}_lo']:.4f}, "
            f"{rows.loc[method, f'{col}_hi']:.4f}]")


def best_single(rows: pd.DataFrame, models: list[str], col: str = "utility_sum") -> str:
    return str(rows.loc[[m for m in models if m in rows.index], col].idxmax())


def reference_rows(rows: pd.DataFrame, models: list[str]) -> list[tuple[str, str]]:
    """(label, method) of the reference rows: best single model by Utility Sum, the best model
    per task (when evaluated), oracle, random."""
    single = best_single(rows, models)
    task = [("*best model per task*", TASK_BEST)] if TASK_BEST in rows.index else []
    return [(f"*best single model ({single})*", single), *task, ("*oracle*", "oracle"),
            ("*random*", "random")]


def markdown_table(utility: pd.DataFrame, models: list[str], cost_basis: str, layout: dict,
                   names: dict) -> str:
    """The paper's table: per protocol the routers in the layout's order, then the references;
    every cell a mean with its 95% interval; bold: the best router per column."""
    cols = [*SETTINGS, "utility_sum", "utility_sum_macro"]
    head = ("| Method | Cost-first (0.2, 0.8) | Balanced (0.5, 0.5) | Performance-first (0.8, 0.2) "
            "| Utility Sum | Utility Sum (macro) |\n|---|---:|---:|---:|---:|---:|")
    parts = []
    for protocol, title, part in by_protocol(utility):
        rows = part.set_index("method")
        routers = routers_in_layout(rows.index, list(layout.get(protocol, [])), models)
        best = {c: rows.loc[routers, c].max() for c in cols} if routers else {}
        lines = [f"**{title}**", "", head]
        for method in routers:
            cells = [f"**{interval(rows, method, c)}**" if rows.loc[method, c] == best[c]
                     else interval(rows, method, c) for c in cols]
            lines.append(f"| {names.get(method, method)} | " + " | ".join(cells) + " |")
        for label, method in reference_rows(rows, models):
            lines.append(f"| {label} | " + " | ".join(interval(rows, method, c) for c in cols)
                         + " |")
        parts.append("\n".join(lines))
    note = ("Mean utility U = μ_r·r − μ_c·c_norm over the pooled test queries, with its 95% "
            "interval from a paired bootstrap over the test queries; Utility Sum (macro): the mean "
            "over the benchmarks of each one's mean (every benchmark weighs the same), resampled "
            "within each benchmark; bold: the best router per column; the best single model (by "
            "Utility Sum), the best model per task (per dataset and setting the model with the "
            "highest mean utility on that dataset's training split, under every protocol: a "
            "reference like the oracle, not a router), the oracle and random (expected value of "
            "a uniform choice) are "
            f"references. ⋆: trained on the real data of the other "
            f"benchmarks only (each benchmark tested by the model that never saw it). Cost: "
            f"{cost_basis}.")
    return "\n\n".join(parts) + "\n\n" + note + "\n"


def per_benchmark_markdown(per_bench: pd.DataFrame, models: list[str], layout: dict,
                           names: dict) -> str:
    """Utility Sum per benchmark (columns) and method, with 95% intervals."""
    parts = ["**Utility Sum per benchmark** (mean [95% interval]; bold: the best router per "
             "benchmark)"]
    for protocol, title, part in by_protocol(per_bench):
        datasets = sorted(set(part["dataset"]))
        tables = {d: part[part["dataset"] == d].set_index("method") for d in datasets}
        pooled = part.groupby("method")["utility_sum"].mean().to_frame()
        routers = routers_in_layout(pooled.index, list(layout.get(protocol, [])), models)
        refs = [r for r in reference_rows(pooled, models) if r[1] != "random"]
        lines = [f"*{title}*", "", "| Method | " + " | ".join(datasets) + " |",
                 "|---|" + "---:|" * len(datasets)]
        top = {d: tables[d].loc[routers, "utility_sum"].max() for d in datasets} if routers else {}
        for label, method in [(names.get(m, m), m) for m in routers] + refs:
            cells = []
            for d in datasets:
                text = interval(tables[d], method, "utility_sum")
                bold = method in routers and tables[d].loc[method, "utility_sum"] == top[d]
                cells.append(f"**{text}**" if bold else text)
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def ablation_markdown(rows: list[dict]) -> str:
    """Cold-start ablations: rows of {row, source, and the utility columns or `missing`}."""
    cols = [*SETTINGS, "utility_sum"]
    lines = ["**Ablations** (cold-start; mean utility [95% interval])", "",
             "| Variant | Source | Cost-first | Balanced | Performance-first | Utility Sum |",
             "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        if r.get("missing"):
            lines.append(f"| {r['row']} | {r['source']} | not run: {r['missing']} | | | |")
            continue
        cells = [f"{r[c]:.4f} [{r[f'{c}_lo']:.4f}, {r[f'{c}_hi']:.4f}]" for c in cols]
        lines.append(f"| {r['row']} | {r['source']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def shares_markdown(shares: pd.DataFrame, models: list[str], layout: dict, names: dict) -> str:
    """Per protocol, method and named setting: the share of test queries sent to each candidate."""
    parts = ["**Selection share** (% of the test queries each method sends to each candidate, "
             "cheapest candidate first)"]
    for protocol, title, part in by_protocol(shares):
        table = part.pivot_table(index=["method", "utility_setting"], columns="model",
                                 values="share")
        methods = routers_in_layout(set(part["method"]), list(layout.get(protocol, [])), models)
        lines = [f"*{title}*", "", "| Method | Setting | " + " | ".join(models) + " |",
                 "|---|---|" + "---:|" * len(models)]
        for method in [*methods, "oracle"]:
            for setting in SETTINGS:
                cells = " | ".join(f"{100 * table.loc[(method, setting), m]:.0f}" for m in models)
                lines.append(f"| {names.get(method, method)} | {setting} | {cells} |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def comparison_markdown(comparisons: pd.DataFrame, gaps: pd.DataFrame) -> str:
    """Does each router beat the best single model and Adaptive LLM, and how much of the gap
    from the best single model to the oracle does it close?"""
    lines = ["**Routers against the references** (the best single model, Adaptive LLM, kNN and "
             "the best model per task — per dataset and setting the model with the highest mean "
             "training utility, a lookup by task name: Utility Sum difference; p: one-sided "
             "paired bootstrap p-value that the router is not better; holds in seeds: in how many "
             "of its training seeds the router alone is better with p < 0.05)", "",
             "| Protocol | Router | Against | Difference | p | Holds in seeds |",
             "|---|---|---|---:|---:|---:|"]
    for r in comparisons.itertuples(index=False):
        lines.append(f"| {r.protocol} | {r.method} | {r.against} | {r.utility_sum_diff:+.4f} | "
                     f"{r.p_value:.3f} | {r.holds_in}/{r.seeds} |")
    lines += ["", "**Share of the gap from the best single model to the oracle** "
              "((U_router − U_best single) / (U_oracle − U_best single), with the best single "
              "model of each setting; – where that model is the oracle)", "",
              "| Protocol | Router | Best single (Utility Sum) | " + " | ".join(SETTINGS)
              + " | utility_sum |",
              "|---|---|---|" + "---:|" * (len(SETTINGS) + 1)]
    for r in gaps.to_dict("records"):
        cells = " | ".join("–" if pd.isna(r[c]) else f"{r[c]:.2f}"
                           for c in [*SETTINGS, "utility_sum"])
        lines.append(f"| {r['protocol']} | {r['method']} | {r['best_single']} | {cells} |")
    return "\n".join(lines) + "\n"


def seeds_markdown(seeds: pd.DataFrame, names: dict) -> str:
    """Routers trained with several seeds: the mean Utility Sum over them, their spread, and
    the interval over seeds and queries together; empty with one seed."""
    if seeds.empty:
        return ""
    lines = ["**Across training seeds** (Utility Sum: the mean over the seeds; sd, min and max "
             "of the per-seed means; 95% interval from a bootstrap over seeds and test queries "
             "together)", "", "| Protocol | Router | Seeds | Utility Sum | sd | min – max | "
             "95% interval |", "|---|---|---:|---:|---:|---|---|"]
    for r in seeds.itertuples(index=False):
        lines.append(f"| {r.protocol} | {names.get(r.method, r.method)} | {r.seeds} | "
                     f"{r.utility_sum:.4f} | {r.sd:.4f} | {r.min:.4f} – {r.max:.4f} | "
                     f"[{r.lo:.4f}, {r.hi:.4f}] |")
    return "\n".join(lines) + "\n"


def recognition_markdown(table: pd.DataFrame) -> str:
    """Top-1 agreement of q(t|q) with the assigned task type, per router, protocol and dataset."""
    if table.empty:
        return ""
    lines = ["**Task recognition** (test queries: how often the router's recognised task type is "
             "the dataset's own node where the taxonomy names one, else the one assign_tasks "
             "gave the query)", "",
             "| Router | Protocol | Dataset | Queries | Top-1 agreement | Against |",
             "|---|---|---|---:|---:|---|"]
    for r in table.itertuples(index=False):
        lines.append(f"| {r.method} | {r.protocol} | {r.dataset} | {r.queries} | {r.top1:.2f} "
                     f"| {r.against} |")
    return "\n".join(lines) + "\n"


def aiq_markdown(aiq: pd.DataFrame, models: list[str]) -> str:
    """AIQ per method (rows) and protocol (columns), the mean over the benchmarks; †: a hull
    from fewer sweep settings than the protocol's others (a router answering the named ones)."""
    mean = aiq[aiq["dataset"] == "mean"]
    table = mean.pivot_table(index="method", columns="protocol", values="aiq")
    few = mean[mean["points"] < mean.groupby("protocol")["points"].transform("max")]
    marked = set(zip(few["method"], few["protocol"], strict=True))
    protocols = [p for p in PROTOCOL_TITLES if p in table.columns]
    lines = ["**AIQ** (RouterBench: per benchmark, the area under the non-decreasing convex hull "
             "of each method's cost-quality points over the willingness-to-pay sweep, cost "
             "divided by the largest mean cost of any method on that benchmark; the mean over "
             "the benchmarks, each weighing the same; per benchmark in aiq.csv)", "",
             "| Method | " + " | ".join(protocols) + " |", "|---|" + "---:|" * len(protocols)]
    for method in method_order(list(table.index), models):
        lines.append(f"| {method} | " + " | ".join(
            f"{table.loc[method, p]:.4f}" + ("†" if (method, p) in marked else "")
            for p in protocols) + " |")
    if marked:
        lines += ["", "†: its hull has the 3 named settings only (the router answers every other "
                  "setting with the choices of the nearest named one): not comparable with the "
                  "hulls over the full sweep."]
    return "\n".join(lines) + "\n"


def frame_markdown(frame: pd.DataFrame, digits: int = 4) -> str:
    """A table as Markdown; floats with `digits` decimals, NaN as an empty cell."""

    def cell(v) -> str:
        if isinstance(v, float):
            return "" if pd.isna(v) else f"{v:.{digits}f}"
        return str(v)

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(cell(v) for v in r) + " |" for r in frame.itertuples(index=False)]
    return "\n".join([head, rule, *rows])
