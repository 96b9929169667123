"""Rule import_routing: recorded routing outcomes (conf/recorded/<name>.yaml) as the label table
that collect_labels writes for live runs, with the pool, cost constants and summaries."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from trouter.errors import ConfigError
from trouter.io import write_csv, write_json, write_jsonl, write_text
from trouter.label.answer import LABEL_COLUMNS
from trouter.label.tables import (
    SUMMARY_COLUMNS,
    fit_cost_norm,
    normalised_cost,
    summarize,
    summary_markdown,
)
from trouter.layout import (
    COST_NORM,
    IMPORT,
    LABEL_SUMMARY,
    LABEL_TABLE,
    LABELS,
    POOL,
    QUERIES_JSONL,
    Layout,
)
from trouter.recorded import RecordedSettings, import_recorded
from trouter.recorded.importer import candidate_descriptions
from trouter.route.pool import recorded_pool, write_pool
from trouter.stages.common import log

FIELDS = ("format", "path", "prices", "currency", "output_tokens", "chars_per_token",
          "validation_share", "test_share", "on_overlap", "seed", "limit_per_task")


def recorded_settings(cfg: DictConfig) -> RecordedSettings:
    if cfg.recorded is None:
        raise ConfigError("import_routing needs `recorded` (e.g. recorded=llmrouter)")
    given = OmegaConf.to_container(cfg.recorded, resolve=True)
    unknown = sorted(set(given) - set(FIELDS))
    if unknown:
        raise ConfigError(f"recorded: unknown field(s) {unknown}; known: {list(FIELDS)}")
    return RecordedSettings(**given)


def run(cfg: DictConfig) -> dict:
    settings = recorded_settings(cfg)
    imported = import_recorded(settings)
    labels = imported.labels
    norms = fit_cost_norm(labels, "dataset")
    labels["cost_norm"] = normalised_cost(labels, norms, "dataset")
    currency = str(labels["currency"].iloc[0])
    pool = recorded_pool(imported.models, imported.prices, labels[labels["split"] == "train"],
                         currency, imported.cost_basis,
                         descriptions=candidate_descriptions(settings))
    summary = summarize(labels)
    out = Layout(cfg).collected()
    write_csv(out / LABELS, labels, [*LABEL_COLUMNS, "cost_norm"])
    write_jsonl(out / QUERIES_JSONL, imported.queries)
    write_pool(out / POOL, pool)
    write_json(out / COST_NORM, norms)
    write_csv(out / LABEL_SUMMARY, summary, SUMMARY_COLUMNS)
    write_text(out / LABEL_TABLE, summary_markdown(summary))
    write_json(out / IMPORT, imported.summary)
    log.info("imported %d label rows: %d queries x %d models (cost: %s)", len(labels),
             len(imported.queries), len(imported.models), imported.cost_basis)
    return imported.summary
