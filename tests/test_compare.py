"""compare: a sweep's points side by side, from their run folders."""

import json

import pandas as pd
from omegaconf import OmegaConf

from trouter.io import write_csv
from trouter.route.columns import POINT_COLUMNS, UTILITY_COLUMNS
from trouter.stages import compare


def make_point(store, name, synth, accuracy, utility_sum):
    run = store / "points" / name
    folders = {}
    for label, files in (("expand_taxonomy", {"nodes.csv": pd.DataFrame(
            {"id": ["d", "s", "a", "b"], "level": ["domain", "subcategory", "difficulty",
                                                   "difficulty"]})}),
                         ("dedup_qa", {}), ("collect_labels", {"summary.csv": pd.DataFrame(
                             {"dataset": ["synthetic", "gsm8k"], "model": ["m1", "m1"],
                              "accuracy": [accuracy, 0.5]})})):
        folder = store / label / f"{synth}-key"
        for fname, frame in files.items():
            write_csv(folder / fname, frame, list(frame.columns))
        folders[label] = {"dir": str(folder), "settings": {}}
    dedup = store / "dedup_qa" / f"{synth}-key"
    dedup.mkdir(parents=True, exist_ok=True)
    (dedup / "summary.json").write_text(json.dumps({"accepted": 6, "dropped": 2}))
    run.mkdir(parents=True)
    (run / "point.json").write_text(json.dumps({"point": name, "overrides": [f"x={synth}"],
                                                "folders": folders}))
    OmegaConf.save({"roles": {"generator": {"key": synth}}, "judge": {"key": "j"},
                    "pool": {"candidates": ["m1"]}, "seed": 1}, run / "config.yaml")
    row = {"protocol": "cold_start", "method": "trouter"}
    for c in UTILITY_COLUMNS[2:]:
        row[c] = utility_sum + (-0.1 if c.endswith("_lo") else 0.1 if c.endswith("_hi") else 0)
    write_csv(run / "report" / "utility.csv", pd.DataFrame([row]), UTILITY_COLUMNS)
    curve = pd.DataFrame({"protocol": "cold_start", "method": "trouter", "mu_r": [0.0, 1.0],
                          "mu_c": [1.0, 0.0], "mean_score": 0.5, "mean_cost": 0.1,
                          "mean_cost_norm": 0.2, "utility": [-0.2, 0.5]})
    write_csv(run / "evaluate" / "points.csv", curve, POINT_COLUMNS)
    return run


def test_compare_puts_points_side_by_side(tmp_path):
    store = tmp_path / "sweep"
    runs = [make_point(store, "a", "synth-a", 0.25, 0.4),
            make_point(store, "b", "synth-b", 0.75, 0.6)]
    assert compare.run(store, runs, logger="none") == {"points": 2}
    points = pd.read_csv(store / "compare" / "points.csv")
    assert list(points["synthesizer"]) == ["synth-a", "synth-b"]
    assert list(points["difficulty_nodes"]) == [2, 2] and list(points["qa"]) == [6, 6]
    assert list(points["dedup_drop_rate"]) == [0.25, 0.25]
    assert list(points["synthetic_accuracy/m1"]) == [0.25, 0.75]
    table = (store / "compare" / "table.md").read_text()
    assert "| a | x=synth-a |" not in table  # overrides stay in points.csv
    assert "0.6000 [0.5000, 0.7000]" in table and "trouter (cold_start)" in table
    assert len(pd.read_csv(store / "compare" / "curves.csv")) == 4
    for plot in ("synthesizers.png", "curves.png"):
        assert (store / "compare" / plot).stat().st_size > 5_000
