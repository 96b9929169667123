"""Rule generate_qa: batched QA per difficulty node until its target survives dedup."""

from __future__ import annotations

import pandas as pd
from omegaconf import DictConfig

from trouter.io import write_csv, write_json, write_jsonl
from trouter.layout import GENERATED, NODES, QA_REPORT, SUMMARY, Layout
from trouter.route.tasks import load_nodes
from trouter.stages.common import (
    log,
    log_stats,
    open_session,
    qa_config,
    question_encoder,
    role_cards,
)
from trouter.synth.prompts import PROMPT_VERSION
from trouter.synth.qa import REPORT_COLUMNS, generate_for_node
from trouter.synth.taxonomy import LEVELS, chain_of


def run(cfg: DictConfig) -> dict:
    qcfg = qa_config(cfg)
    lay = Layout(cfg)
    nodes = load_nodes(lay.taxonomy() / NODES)
    by_id = {n["id"]: n for n in nodes}
    leaves = [n for n in nodes if n["level"] == LEVELS[-1]]
    out = lay.qa()
    embed = question_encoder(cfg)
    with open_session(cfg, role_cards(cfg, ["qa_writer"]), out) as session:
        client = session.clients["qa_writer"]
        results = client.map(lambda n: generate_for_node(client, chain_of(n, by_id), qcfg, embed),
                             leaves, desc="generate QA")
        stats, servers = log_stats(session), session.servers_started
    rows = [r for node_rows, _ in results for r in node_rows]
    report = pd.DataFrame([rep for _, rep in results], columns=REPORT_COLUMNS)
    short = report.loc[~report["reached"], "node_id"].tolist()
    write_jsonl(out / GENERATED, rows)
    write_csv(out / QA_REPORT, report, REPORT_COLUMNS)
    summary = {"prompt_version": PROMPT_VERSION, "nodes": len(leaves), "generated": len(rows),
               "nodes_short_of_target": short, "llm": stats, "servers_started": servers}
    write_json(out / SUMMARY, summary)
    if short:
        log.warning("%d of %d nodes did not reach %d QA after dedup within %d calls: %s",
                    len(short), len(leaves), qcfg.target, qcfg.max_calls, short)
    log.info("generated %d QA pairs for %d nodes", len(rows), len(leaves))
    return summary
