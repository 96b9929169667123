"""Rule report: the results table (CSV and Markdown), per-benchmark utilities and the plot."""

from __future__ import annotations

import pandas as pd
from omegaconf import DictConfig

from trouter.io import atomic_path, read_csv, read_json, write_csv, write_text
from trouter.route.pool import models_by_price
from trouter.route.report import (
    comparison_markdown,
    cost_performance_plot,
    markdown_table,
    recognition_markdown,
)
from trouter.stages.common import log, stage_dir
from trouter.stages.evaluate import (
    COMPARISON_COLUMNS,
    GAP_COLUMNS,
    POINT_COLUMNS,
    SUMS,
    UTILITY_COLUMNS,
)
from trouter.stages.train_router import PROTOCOLS

NUMERIC = UTILITY_COLUMNS[2:]
RECOGNITION_COLUMNS = ["setting", "dataset", "split", "queries", "top1"]


def recognition_table(cfg: DictConfig) -> pd.DataFrame:
    """Each protocol's task-recognition quality from its train_router summary."""
    rows = []
    for protocol in PROTOCOLS:
        summary = read_json(stage_dir(cfg, "train_router") / protocol / "summary.json")
        for dataset, splits in sorted(summary["task_recognition"].items()):
            rows += [{"setting": protocol, "dataset": dataset, "split": split, **v}
                     for split, v in sorted(splits.items())]
    return pd.DataFrame(rows, columns=RECOGNITION_COLUMNS)


def run(cfg: DictConfig) -> dict:
    src, out = stage_dir(cfg, "evaluate"), stage_dir(cfg, "report")
    models = models_by_price(cfg)
    utility = read_csv(src / "utility.csv", UTILITY_COLUMNS)
    per_bench = read_csv(src / "utility_per_benchmark.csv", [*UTILITY_COLUMNS, "dataset"])
    points = read_csv(src / "points.csv", POINT_COLUMNS)
    comparisons = read_csv(src / "comparisons.csv", COMPARISON_COLUMNS)
    gaps = read_csv(src / "gap.csv", GAP_COLUMNS)
    for df, cols in ((utility, NUMERIC), (per_bench, NUMERIC), (points, POINT_COLUMNS[3:]),
                     (comparisons, COMPARISON_COLUMNS[3:]), (gaps, SUMS)):
        df[cols] = df[cols].replace("", "nan").astype(float)  # nan: no gap to close
    write_csv(out / "utility.csv", utility, UTILITY_COLUMNS)
    write_csv(out / "utility_per_benchmark.csv", per_bench,
              ["setting", "method", "dataset", *NUMERIC])
    recognition = recognition_table(cfg)
    write_csv(out / "task_recognition.csv", recognition, RECOGNITION_COLUMNS)
    write_text(out / "table.md", "\n".join([markdown_table(utility, models),
                                            comparison_markdown(comparisons, gaps),
                                            recognition_markdown(recognition)]))
    with atomic_path(out / "cost_performance.png") as tmp:
        cost_performance_plot(points, models, tmp)
    log.info("report: %d rows in utility.csv", len(utility))
    return {"rows": len(utility)}
