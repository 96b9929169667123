"""Rule expand_taxonomy: seed domains -> nested taxonomy, flat node table, round log."""

from __future__ import annotations

import pandas as pd
from omegaconf import DictConfig
from tqdm import tqdm

from trouter.errors import ConfigError, TrouterError
from trouter.io import write_csv, write_json, write_jsonl
from trouter.layout import NODES, ROUNDS, SUMMARY, TAXONOMY, Layout
from trouter.stages.common import log, log_stats, open_session, role_cards
from trouter.synth.prompts import PROMPT_VERSION
from trouter.synth.taxonomy import LEVELS, NODE_COLUMNS, TaxonomyBuilder, nest


def check_config(t: DictConfig) -> None:
    if not t.seeds:
        raise ConfigError("taxonomy.seeds: at least one seed domain is required")
    for i, s in enumerate(t.seeds):
        for k in ("name", "definition", "example"):
            if not str(s.get(k) or "").strip():
                raise ConfigError(f"taxonomy.seeds[{i}].{k}: must be a non-empty string")
    if int(t.max_domains) < len(t.seeds):
        raise ConfigError(f"taxonomy.max_domains={t.max_domains} is below the "
                          f"{len(t.seeds)} seed domains")
    for level in LEVELS[:-1]:
        b = t.children.get(level)
        if b is None or not 1 <= int(b.min) <= int(b.max):
            raise ConfigError(f"taxonomy.children.{level}: need 1 <= min <= max, got {b}")
    if not isinstance(t.get("evaluator"), bool):
        raise ConfigError(f"taxonomy.evaluator={t.get('evaluator')!r}: expected true or false")
    if int(t.patience) < 1 or int(t.max_rounds) < int(t.patience):
        raise ConfigError(f"taxonomy: need 1 <= patience <= max_rounds, got patience="
                          f"{t.patience}, max_rounds={t.max_rounds}")


def run(cfg: DictConfig) -> dict:
    check_config(cfg.taxonomy)
    out = Layout(cfg).taxonomy()
    with open_session(cfg, role_cards(cfg, ["generator", "evaluator"]), out) as session:
        builder = TaxonomyBuilder(session.clients["generator"], session.clients["evaluator"],
                                  cfg.taxonomy, max_reasks=int(cfg.llm.max_reasks),
                                  seed=int(cfg.seed))
        with tqdm(desc="expand taxonomy", unit="node", mininterval=1.0) as bar:
            nodes, statuses = builder.build(progress=bar)
        stats, servers = log_stats(session), session.servers_started
    counts = {lvl: sum(n["level"] == lvl for n in nodes) for lvl in LEVELS}
    write_jsonl(out / ROUNDS, builder.log)
    for failure in builder.failed_requests:
        log.warning("no usable reply for %s: %s", failure["tag"], failure["errors"])
    if counts[LEVELS[-1]] == 0:
        raise TrouterError("expand_taxonomy: no difficulty-level node was produced; see "
                           f"{out / 'rounds.jsonl'} for every round")
    write_json(out / TAXONOMY, {"prompt_version": PROMPT_VERSION, "domains": nest(nodes)})
    summary = {"prompt_version": PROMPT_VERSION, "nodes_per_level": counts,
               "evaluator": cfg.taxonomy.evaluator, "expansions": statuses,
               "unstable": [s["node"] for s in statuses if not s["stable"]],
               "failed_rounds": sum(s["failures"] for s in statuses),
               "malformed_replies": builder.malformed,
               "failed_requests": builder.failed_requests, "llm": stats,
               "servers_started": servers}
    write_json(out / SUMMARY, summary)
    write_csv(out / NODES, pd.DataFrame(nodes, columns=NODE_COLUMNS), NODE_COLUMNS)
    log.info("taxonomy: %s; %d expansions not stable within the round cap",
             counts, len(summary["unstable"]))
    return summary
