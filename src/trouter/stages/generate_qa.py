"""Rule generate_qa: batched QA per difficulty node until its target survives dedup."""

from __future__ import annotations

import pandas as pd
from omegaconf import DictConfig

from trouter.errors import ConfigError
from trouter.io import write_csv, write_json, write_jsonl
from trouter.route.tasks import load_nodes
from trouter.stages.common import (
    log,
    log_stats,
    open_session,
    question_encoder,
    role_cards,
    stage_dir,
)
from trouter.synth.prompts import PROMPT_VERSION
from trouter.synth.qa import REPORT_COLUMNS, QAConfig, generate_for_node
from trouter.synth.taxonomy import LEVELS, chain_of


def qa_config(cfg: DictConfig) -> QAConfig:
    q = cfg.qa
    threshold = float(cfg.dedup.threshold)
    if not -1.0 <= threshold <= 1.0:
        raise ConfigError(f"dedup.threshold: a cosine similarity in [-1, 1], got {threshold}")
    for name in ("target_per_node", "batch_size", "max_calls_per_node"):
        if int(q[name]) < 1:
            raise ConfigError(f"qa.{name}: must be >= 1, got {q[name]}")
    return QAConfig(target=int(q.target_per_node), batch_size=int(q.batch_size),
                    max_calls=int(q.max_calls_per_node), temperature=float(q.temperature),
                    threshold=threshold, max_reasks=int(cfg.llm.max_reasks),
                    seed=int(cfg.seed))


def run(cfg: DictConfig) -> dict:
    qcfg = qa_config(cfg)
    nodes = load_nodes(stage_dir(cfg, "expand_taxonomy") / "nodes.csv")
    by_id = {n["id"]: n for n in nodes}
    leaves = [n for n in nodes if n["level"] == LEVELS[-1]]
    out = stage_dir(cfg, "generate_qa")
    embed = question_encoder(cfg)
    with open_session(cfg, role_cards(cfg, ["qa_writer"]), out) as session:
        client = session.clients["qa_writer"]
        results = client.map(lambda n: generate_for_node(client, chain_of(n, by_id), qcfg, embed),
                             leaves, desc="generate QA")
        stats, servers = log_stats(session), session.servers_started
    rows = [r for node_rows, _ in results for r in node_rows]
    report = pd.DataFrame([rep for _, rep in results], columns=REPORT_COLUMNS)
    short = report.loc[~report["reached"], "node_id"].tolist()
    write_jsonl(out / "generated.jsonl", rows)
    write_csv(out / "report.csv", report, REPORT_COLUMNS)
    summary = {"prompt_version": PROMPT_VERSION, "nodes": len(leaves), "generated": len(rows),
               "nodes_short_of_target": short, "llm": stats, "servers_started": servers}
    write_json(out / "summary.json", summary)
    if short:
        log.warning("%d of %d nodes did not reach %d QA after dedup within %d calls: %s",
                    len(short), len(leaves), qcfg.target, qcfg.max_calls, short)
    log.info("generated %d QA pairs for %d nodes", len(rows), len(leaves))
    return summary
