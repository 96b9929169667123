"""Rule report: table.md in the paper's layout (per protocol, per benchmark, ablations,
selection shares, comparisons, AIQ, task recognition), its CSVs and the cost-quality plot."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from omegaconf import DictConfig

from trouter.io import atomic_path, read_csv, read_json, write_csv, write_json, write_text
from trouter.label.tables import truncation_markdown
from trouter.layout import LABEL_SUMMARY, MANIFEST, POOL, PROVENANCE, SUMMARY, Layout
from trouter.provenance import footer, provenance
from trouter.route.columns import (
    AIQ_COLUMNS,
    COMPARISON_COLUMNS,
    GAP_COLUMNS,
    MEANS,
    PER_BENCHMARK_COLUMNS,
    POINT_COLUMNS,
    SEED_COLUMNS,
    SHARE_COLUMNS,
    SUMS,
    UTILITY_COLUMNS,
)
from trouter.route.plot import pareto_plot
from trouter.route.pool import read_pool
from trouter.route.report import (
    ablation_markdown,
    aiq_markdown,
    comparison_markdown,
    markdown_table,
    per_benchmark_markdown,
    recognition_markdown,
    seeds_markdown,
    shares_markdown,
)
from trouter.stages.common import log

NUMERIC = UTILITY_COLUMNS[2:]
RECOGNITION_COLUMNS = ["method", "protocol", "dataset", "queries", "top1", "against"]


def recognition_table(lay: Layout) -> pd.DataFrame:
    """Task-recognition quality of every router that recognises task types, per protocol."""
    rows = []
    for job in read_json(lay.point_file(MANIFEST))["routers"]:
        path = Path(job["dir"]) / SUMMARY
        for dataset, v in sorted(read_json(path)["task_recognition"].items()):
            rows.append({"method": job["method"], "protocol": job["protocol"],
                         "dataset": dataset, "against": "assigned task type", **v})
    return pd.DataFrame(rows, columns=RECOGNITION_COLUMNS)


def ablation_rows(cfg: DictConfig, utility: pd.DataFrame) -> list[dict]:
    """The rows of report.ablations: a cold-start method of this run or of another run."""
    rows = []
    for spec in cfg.report.ablations:
        run = spec.get("run")
        source = f"{run}: {spec.method}" if run else spec.method
        table, missing = utility, f"routing.routers has no {spec.method}"
        if run:
            path = Layout(cfg).evaluate(str(run)) / "utility.csv"
            table = (read_csv(path, ["protocol", "method", *MEANS]) if path.is_file()
                     else utility.iloc[:0])
            missing = f"no {path} (make ablation-evaluator)"
        hit = table[(table["protocol"] == "cold_start") & (table["method"] == spec.method)]
        if hit.empty:
            rows.append({"row": spec.row, "source": source, "missing": missing})
        else:
            rows.append({"row": spec.row, "source": source,
                         **hit.iloc[0][MEANS].astype(float).to_dict()})
    return rows


def label_summary(lay: Layout) -> pd.DataFrame:
    """The collected labels' per-benchmark summary (truncated_share NaN where a summary from
    before it was recorded lacks the column)."""
    table = pd.read_csv(lay.collected() / LABEL_SUMMARY, keep_default_na=False)
    table["truncated_share"] = pd.to_numeric(table.get("truncated_share", "nan"),
                                             errors="coerce")
    return table


def run(cfg: DictConfig) -> dict:
    lay = Layout(cfg)
    src, out = lay.evaluate(), lay.report()
    pool = read_pool(lay.collected() / POOL)
    models = pool["models"]
    utility = read_csv(src / "utility.csv", UTILITY_COLUMNS)
    per_bench = read_csv(src / "utility_per_benchmark.csv", PER_BENCHMARK_COLUMNS)
    points = read_csv(src / "points.csv", POINT_COLUMNS)
    aiq = read_csv(src / "aiq.csv", AIQ_COLUMNS)
    comparisons = read_csv(src / "comparisons.csv", COMPARISON_COLUMNS)
    seeds = read_csv(src / "seeds.csv", SEED_COLUMNS)
    gaps = read_csv(src / "gap.csv", GAP_COLUMNS)
    shares = read_csv(src / "shares.csv", SHARE_COLUMNS)
    for df, cols in ((utility, NUMERIC), (per_bench, MEANS), (points, POINT_COLUMNS[2:]),
                     (aiq, ["aiq", "max_cost"]), (comparisons, COMPARISON_COLUMNS[3:]),
                     (gaps, SUMS), (shares, ["share"]), (seeds, SEED_COLUMNS[3:])):
        df[cols] = df[cols].replace("", "nan").astype(float)  # nan: no gap, the AIQ mean's cost
    aiq["points"] = aiq["points"].astype(int)
    comparisons[["seeds", "holds_in"]] = comparisons[["seeds", "holds_in"]].astype(int)
    seeds["seeds"] = seeds["seeds"].astype(int)
    write_csv(out / "utility.csv", utility, UTILITY_COLUMNS)
    write_csv(out / "utility_per_benchmark.csv", per_bench, PER_BENCHMARK_COLUMNS)
    write_csv(out / "aiq.csv", aiq, AIQ_COLUMNS)
    recognition = recognition_table(lay)
    write_csv(out / "task_recognition.csv", recognition, RECOGNITION_COLUMNS)
    cost = f"{pool['cost_basis']} ({pool['currency']})"
    layout, names = cfg.report.layout, dict(cfg.report.names)
    parts = [markdown_table(utility, models, cost, layout, names),
             per_benchmark_markdown(per_bench, models, layout, names)]
    if "cold_start" in cfg.routing.protocols and cfg.report.ablations:
        parts.append(ablation_markdown(ablation_rows(cfg, utility)))
    parts += [shares_markdown(shares, models, layout, names),
              comparison_markdown(comparisons, gaps), seeds_markdown(seeds, names),
              aiq_markdown(aiq, models),
              recognition_markdown(recognition)]
    cut = truncation_markdown(label_summary(lay))
    if cut:
        parts.insert(0, cut)
        log.warning("replies cut by max_tokens above 1%%: see %s", out / "table.md")
    prior = lay.assign() / SUMMARY
    warnings = read_json(prior).get("warnings", []) if prior.is_file() else []
    if warnings:
        parts.insert(0, "**Task priors that may be wrong** (assign_tasks, routing.task_prior="
                     f"{cfg.routing.task_prior}):\n\n" + "\n".join(f"- {w}" for w in warnings)
                     + "\n")
    record = provenance(cfg)
    write_json(lay.point_file(PROVENANCE), record)
    write_text(out / "table.md", "\n".join(parts) + footer(record))
    with atomic_path(out / "cost_quality.png") as tmp:
        pareto_plot(points, models, tmp)
    log.info("report: %d rows in utility.csv", len(utility))
    return {"rows": len(utility)}
