"""Rule report: the results table (CSV and Markdown), per-benchmark utilities and the plot."""

from __future__ import annotations

from omegaconf import DictConfig

from trouter.io import atomic_path, read_csv, write_csv, write_text
from trouter.route.pool import models_by_price
from trouter.route.report import cost_performance_plot, markdown_table
from trouter.route.utility import SETTINGS
from trouter.stages.common import log, stage_dir
from trouter.stages.evaluate import POINT_COLUMNS, UTILITY_COLUMNS

NUMERIC = [*SETTINGS, "utility_sum"]


def run(cfg: DictConfig) -> dict:
    src, out = stage_dir(cfg, "evaluate"), stage_dir(cfg, "report")
    models = models_by_price(cfg)
    utility = read_csv(src / "utility.csv", UTILITY_COLUMNS)
    per_bench = read_csv(src / "utility_per_benchmark.csv", [*UTILITY_COLUMNS, "dataset"])
    points = read_csv(src / "points.csv", POINT_COLUMNS)
    for df, cols in ((utility, NUMERIC), (per_bench, NUMERIC),
                     (points, POINT_COLUMNS[3:])):
        df[cols] = df[cols].astype(float)
    write_csv(out / "utility.csv", utility, UTILITY_COLUMNS)
    write_csv(out / "utility_per_benchmark.csv", per_bench,
              ["setting", "method", "dataset", *NUMERIC])
    write_text(out / "table.md", markdown_table(utility, models))
    with atomic_path(out / "cost_performance.png") as tmp:
        cost_performance_plot(points, models, tmp)
    log.info("report: %d rows in utility.csv", len(utility))
    return {"rows": len(utility)}
