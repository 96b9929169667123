"""Rule report: table.md in the paper's layout (per protocol, per benchmark, ablations,
selection shares, comparisons, AIQ, task recognition), its CSVs and the cost-quality plot."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from omegaconf import DictConfig

from trouter.io import atomic_path, read_csv, read_json, write_csv, write_json, write_text
from trouter.layout import MANIFEST, POOL, PROVENANCE, SUMMARY, Layout
from trouter.provenance import footer, provenance
from trouter.route.columns import (
    AIQ_COLUMNS,
    COMPARISON_COLUMNS,
    GAP_COLUMNS,
    POINT_COLUMNS,
    SHARE_COLUMNS,
    SUMS,
    UTILITY_COLUMNS,
)
from trouter.route.pool import read_pool
from trouter.route.report import (
    ablation_markdown,
    aiq_markdown,
    comparison_markdown,
    markdown_table,
    pareto_plot,
    per_benchmark_markdown,
    recognition_markdown,
    shares_markdown,
)
from trouter.stages.common import log

NUMERIC = UTILITY_COLUMNS[2:]
RECOGNITION_COLUMNS = ["method", "protocol", "dataset", "queries", "top1"]


def recognition_table(lay: Layout) -> pd.DataFrame:
    """Task-recognition quality of every router that recognises task types, per protocol."""
    rows = []
    for job in read_json(lay.point_file(MANIFEST))["routers"]:
        path = Path(job["dir"]) / SUMMARY
        for dataset, v in sorted(read_json(path)["task_recognition"].items()):
            rows.append({"method": job["method"], "protocol": job["protocol"],
                         "dataset": dataset, **v})
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
            table = read_csv(path, UTILITY_COLUMNS) if path.is_file() else utility.iloc[:0]
            missing = f"no {path} (make ablation-evaluator)"
        hit = table[(table["protocol"] == "cold_start") & (table["method"] == spec.method)]
        if hit.empty:
            rows.append({"row": spec.row, "source": source, "missing": missing})
        else:
            rows.append({"row": spec.row, "source": source,
                         **hit.iloc[0][NUMERIC].astype(float).to_dict()})
    return rows


def run(cfg: DictConfig) -> dict:
    lay = Layout(cfg)
    src, out = lay.evaluate(), lay.report()
    pool = read_pool(lay.collected() / POOL)
    models = pool["models"]
    utility = read_csv(src / "utility.csv", UTILITY_COLUMNS)
    per_bench = read_csv(src / "utility_per_benchmark.csv", [*UTILITY_COLUMNS, "dataset"])
    points = read_csv(src / "points.csv", POINT_COLUMNS)
    aiq = read_csv(src / "aiq.csv", AIQ_COLUMNS)
    comparisons = read_csv(src / "comparisons.csv", COMPARISON_COLUMNS)
    gaps = read_csv(src / "gap.csv", GAP_COLUMNS)
    shares = read_csv(src / "shares.csv", SHARE_COLUMNS)
    for df, cols in ((utility, NUMERIC), (per_bench, NUMERIC), (points, POINT_COLUMNS[2:]),
                     (aiq, AIQ_COLUMNS[2:]), (comparisons, COMPARISON_COLUMNS[3:]),
                     (gaps, SUMS), (shares, ["share"])):
        df[cols] = df[cols].replace("", "nan").astype(float)  # nan: no gap to close
    write_csv(out / "utility.csv", utility, UTILITY_COLUMNS)
    write_csv(out / "utility_per_benchmark.csv", per_bench,
              ["protocol", "method", "dataset", *NUMERIC])
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
              comparison_markdown(comparisons, gaps), aiq_markdown(aiq, models),
              recognition_markdown(recognition)]
    record = provenance(cfg)
    write_json(lay.point_file(PROVENANCE), record)
    write_text(out / "table.md", "\n".join(parts) + footer(record))
    with atomic_path(out / "cost_quality.png") as tmp:
        pareto_plot(points, models, tmp)
    log.info("report: %d rows in utility.csv", len(utility))
    return {"rows": len(utility)}
