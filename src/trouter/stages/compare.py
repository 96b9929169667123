"""Rule compare: the points of a sweep side by side (results/<sweep>/compare/).

points.csv: per point its overrides, synthesizer, taxonomy size, QA count, dedup drop rate and
each candidate's accuracy on the synthetic labels. utility.csv: every method's Utility Sum with
its 95% interval per point and protocol. curves.csv: utility over the weight grid. table.md
("compare synthesizers"), synthesizers.png and curves.png; with routing.logger=wandb one offline
wandb run per point in the sweep's group."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from trouter.data import SYNTHETIC
from trouter.errors import DataError
from trouter.io import atomic_path, read_csv, read_json, write_csv, write_text
from trouter.layout import (
    CONFIG,
    EVALUATE,
    LABEL_SUMMARY,
    MANIFEST,
    NODES,
    POINTS_CSV,
    REPORT,
    SUMMARY,
    UTILITY,
    compare_dir,
)
from trouter.route.columns import POINT_COLUMNS
from trouter.route.report import frame_markdown

UTILITY_TABLE = ["point", "protocol", "method", "utility_sum", "utility_sum_lo",
                 "utility_sum_hi"]
CURVES = ["point", *POINT_COLUMNS]


def folder(manifest: dict, label: str) -> Path | None:
    entry = manifest["folders"].get(label)
    return Path(entry["dir"]) if entry else None


def point_row(run: Path) -> dict:
    """What a point synthesised and how well its candidates did on it."""
    manifest, cfg = read_json(run / MANIFEST), OmegaConf.load(run / CONFIG)
    row = {"point": manifest["point"] or run.name, "overrides": " ".join(manifest["overrides"]),
           "synthesizer": cfg.roles.generator.key if "roles" in cfg else None,
           "judge": cfg.judge.key, "pool": ",".join(map(str, cfg.pool.candidates)),
           "seed": cfg.seed, "run_dir": str(run)}
    taxonomy, dedup = folder(manifest, "expand_taxonomy"), folder(manifest, "dedup_qa")
    if taxonomy is not None:
        nodes = read_csv(taxonomy / NODES, ["id", "level"])
        for level, n in nodes["level"].value_counts().items():
            row[f"{level}_nodes"] = int(n)
    if dedup is not None:
        summary = read_json(dedup / SUMMARY)
        kept, dropped = int(summary["accepted"]), int(summary["dropped"])
        row |= {"qa": kept, "dedup_dropped": dropped,
                "dedup_drop_rate": dropped / (kept + dropped) if kept + dropped else 0.0}
    labels = folder(manifest, "collect_labels") or folder(manifest, "import_routing")
    table = read_csv(labels / LABEL_SUMMARY, ["dataset", "model", "accuracy"])
    for _, r in table[table["dataset"] == SYNTHETIC].iterrows():
        row[f"synthetic_accuracy/{r['model']}"] = float(r["accuracy"])
    return row


def markdown(points: pd.DataFrame, utility: pd.DataFrame) -> str:
    """One row per point: what it synthesised, then each method's cold-start and in-domain
    Utility Sum [95% interval]."""
    cells = utility.assign(cell=lambda d: [
        f"{u:.4f} [{lo:.4f}, {hi:.4f}]" for u, lo, hi in
        zip(d["utility_sum"], d["utility_sum_lo"], d["utility_sum_hi"], strict=True)])
    wide = cells.pivot_table(index="point", columns=["protocol", "method"], values="cell",
                             aggfunc="first")
    wide.columns = [f"{m} ({p})" for p, m in wide.columns]
    keep = [c for c in points.columns if c not in ("overrides", "run_dir")]
    table = points[keep].set_index("point").join(wide).reset_index()
    return "\n".join(["## Compare synthesizers (and every other axis of the sweep)", "",
                      "Utility Sum (cost-first + balanced + performance-first) [95% paired "
                      "bootstrap interval] on the real test queries.", "",
                      frame_markdown(table), ""])


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bar_plot(utility: pd.DataFrame, path: Path) -> None:
    plt = pyplot()
    cold = utility[utility["protocol"] == utility["protocol"].iloc[0]]
    methods, points = list(dict.fromkeys(cold["method"])), list(dict.fromkeys(cold["point"]))
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(methods) * len(points) / 2), 4))
    width = 0.8 / max(1, len(points))
    for i, point in enumerate(points):
        part = cold[cold["point"] == point].set_index("method").reindex(methods)
        err = [part["utility_sum"] - part["utility_sum_lo"],
               part["utility_sum_hi"] - part["utility_sum"]]
        ax.bar([j + i * width for j in range(len(methods))], part["utility_sum"], width,
               yerr=err, capsize=2, label=point)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(methods))], methods, rotation=45,
                  ha="right")
    ax.set_ylabel(f"Utility Sum ({cold['protocol'].iloc[0]}), 95% CI")
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=120)
    plt.close(fig)


def curve_plot(curves: pd.DataFrame, path: Path) -> None:
    plt = pyplot()
    methods = list(dict.fromkeys(curves["method"]))
    fig, axes = plt.subplots(1, len(methods), figsize=(3 * len(methods), 3), squeeze=False)
    for ax, method in zip(axes[0], methods, strict=True):
        for (point, protocol), part in curves[curves["method"] == method].groupby(
                ["point", "protocol"], sort=False):
            w = part["mu_r"] / (part["mu_r"] + part["mu_c"])
            ax.plot(w, part["utility"], label=f"{point} ({protocol})", lw=1)
        ax.set_title(method, fontsize=8)
        ax.set_xlabel("w = mu_r / (mu_r + mu_c)")
    axes[0][0].set_ylabel("mean utility")
    axes[0][-1].legend(fontsize=5)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=120)
    plt.close(fig)


def log_wandb(sweep: str, points: pd.DataFrame, utility: pd.DataFrame, out: Path) -> None:
    """One offline wandb run per point, grouped by the sweep, with its numbers as summary."""
    import wandb

    for _, row in points.iterrows():
        run = wandb.init(project="trouter", group=sweep, name=str(row["point"]),
                         dir=str(out), mode=os.environ.get("WANDB_MODE", "offline"),
                         config={k: v for k, v in row.items() if k != "run_dir"},
                         reinit="finish_previous")
        part = utility[utility["point"] == row["point"]]
        run.summary.update({f"{r.protocol}/{r.method}/utility_sum": float(r.utility_sum)
                            for r in part.itertuples()})
        run.finish()


def run(store: Path, runs: list[Path], logger: str = "wandb") -> dict:
    if not runs:
        raise DataError("compare: no points")
    points = pd.DataFrame([point_row(r) for r in runs])
    utility, curves = [], []
    for run_dir, point in zip(runs, points["point"], strict=True):
        table = read_csv(run_dir / REPORT / UTILITY, UTILITY_TABLE[1:])
        utility.append(table[UTILITY_TABLE[1:]].assign(point=point))
        curves.append(read_csv(run_dir / EVALUATE / POINTS_CSV, POINT_COLUMNS)
                      .assign(point=point))
    utility = pd.concat(utility, ignore_index=True)[UTILITY_TABLE]
    curves = pd.concat(curves, ignore_index=True)[CURVES]
    for df, cols in ((utility, UTILITY_TABLE[3:]), (curves, POINT_COLUMNS[2:])):
        df[cols] = df[cols].astype(float)
    out = compare_dir(store)
    write_csv(out / POINTS_CSV, points, list(points.columns))
    write_csv(out / UTILITY, utility, UTILITY_TABLE)
    write_csv(out / "curves.csv", curves, CURVES)
    with atomic_path(out / "synthesizers.png") as tmp:
        bar_plot(utility, tmp)
    with atomic_path(out / "curves.png") as tmp:
        curve_plot(curves, tmp)
    if logger == "wandb":
        log_wandb(store.name, points, utility, out)
    write_text(out / "table.md", markdown(points, utility))
    return {"points": len(points)}
