"""Rule dedup_qa: accepted QA per node and a table of every dropped row with its reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from trouter.errors import DataError
from trouter.io import read_csv, read_jsonl, write_csv, write_json
from trouter.layout import DROPPED, GENERATED, NODES, QA, SUMMARY, Layout
from trouter.stages.common import log, qa_config, question_encoder
from trouter.synth.dedup import KEPT, dedup_rows
from trouter.synth.qa import QA_COLUMNS
from trouter.synth.taxonomy import LEVELS, NODE_COLUMNS

ACCEPTED_COLUMNS = ["qa_id", "node_id", "question", "answer"]
DROPPED_COLUMNS = ["qa_id", "node_id", "question", "answer", "reason", "max_sim",
                   "nearest_qa_id", "nearest_question"]


def run(cfg: DictConfig) -> dict:
    qcfg = qa_config(cfg)
    threshold, target = qcfg.threshold, qcfg.target
    lay = Layout(cfg)
    src = lay.qa() / GENERATED
    rows = read_jsonl(src)
    for i, r in enumerate(rows, 1):
        missing = [c for c in QA_COLUMNS if c not in r]
        if missing:
            raise DataError(f"{src}:{i}: missing field(s) {missing}")
    nodes = read_csv(lay.taxonomy() / NODES, NODE_COLUMNS)
    leaves = nodes.loc[nodes["level"] == LEVELS[-1], "id"].tolist()

    # one pass of the encoder over every question (batched by length), then per-node lookups
    questions = sorted({r["question"] for r in rows})
    vectors = dict(zip(questions, question_encoder(cfg)(questions), strict=True))

    def embed(texts: list[str]) -> np.ndarray:
        return np.stack([vectors[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)

    by_node: dict[str, list[dict]] = {node: [] for node in leaves}
    for i, r in enumerate(rows, 1):
        if r["node_id"] not in by_node:
            raise DataError(f"{src}:{i}: node_id {r['node_id']!r} is not a difficulty node "
                            "of nodes.csv")
        by_node[r["node_id"]].append(r)
    kept, dropped, per_node = [], [], []
    for node, node_rows in by_node.items():
        decisions = dedup_rows(node_rows, embed, threshold, target)
        for r, d in zip(node_rows, decisions, strict=True):
            base = {c: r[c] for c in ACCEPTED_COLUMNS}
            if d.status == KEPT:
                kept.append(base)
            else:
                dropped.append({**base, "reason": d.status, "max_sim": round(d.max_sim, 6),
                                "nearest_qa_id": d.nearest_qa_id,
                                "nearest_question": d.nearest_question})
        n_kept = sum(d.status == KEPT for d in decisions)
        per_node.append({"node_id": node, "accepted": n_kept, "dropped": len(node_rows) - n_kept,
                         "reached": n_kept >= target})
    out = lay.dedup()
    write_csv(out / DROPPED, pd.DataFrame(dropped, columns=DROPPED_COLUMNS), DROPPED_COLUMNS)
    short = [p["node_id"] for p in per_node if not p["reached"]]
    summary = {"threshold": threshold, "target_per_node": target, "accepted": len(kept),
               "dropped": len(dropped), "nodes_short_of_target": short, "per_node": per_node}
    write_json(out / SUMMARY, summary)
    write_csv(out / QA, pd.DataFrame(kept, columns=ACCEPTED_COLUMNS), ACCEPTED_COLUMNS)
    log.info("dedup: kept %d, dropped %d; %d nodes short of %d", len(kept), len(dropped),
             len(short), target)
    return summary
