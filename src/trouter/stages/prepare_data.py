"""Rule prepare_data: one dataset's queries with their split, as data/<dataset>.jsonl."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from trouter.data import SYNTHETIC
from trouter.data.benchmarks import get_benchmark
from trouter.data.files import benchmark_file
from trouter.data.splits import SPLITS, assign_splits
from trouter.errors import ConfigError
from trouter.io import read_csv, write_json, write_jsonl
from trouter.layout import NODES, QA, QUERIES_JSONL, SUMMARY, Layout
from trouter.route.tasks import load_nodes
from trouter.stages.common import log
from trouter.synth.taxonomy import chain_of

QA_COLUMNS = ["qa_id", "node_id", "question", "answer"]


def split_sizes(cfg: DictConfig, key: str) -> dict[str, int]:
    sizes = cfg.benchmarks[key].splits
    limit = cfg.data.limit
    out = {}
    for name in SPLITS:
        n = sizes[name] if limit[name] is None else min(int(sizes[name]), int(limit[name]))
        out[name] = int(n)
    return out


def dedupe(records: list[dict]) -> tuple[list[dict], int]:
    """Keep one record per query id, preferring the upstream test pool (no train/test leak)."""
    order = {"test": 0, "all": 1, "train": 2}
    seen, out = set(), []
    for r in sorted(records, key=lambda r: order[r["pool"]]):
        if r["query_id"] not in seen:
            seen.add(r["query_id"])
            out.append(r)
    return out, len(records) - len(out)


def benchmark_queries(cfg: DictConfig, key: str) -> tuple[list[dict], dict]:
    bench = get_benchmark(key)
    paths = {rel: benchmark_file(rel, source=cfg.data.source, mirror_dir=Path(cfg.paths.data_dir),
                                 download_dir=Path(cfg.paths.download_dir))
             for rel in bench.files()}
    options = OmegaConf.to_container(cfg.benchmarks[key].options, resolve=True) or {}
    records, duplicates = dedupe(bench.load(paths, options))
    sizes = split_sizes(cfg, key)
    rows = assign_splits(records, sizes, int(cfg.data.split_seed), key)
    for r in rows:
        r["node_id"] = ""
        del r["pool"]
    info = {"available": len(records), "duplicates_dropped": duplicates, "sizes": sizes,
            "files": sorted(str(p) for p in paths.values())}
    return rows, info


def synthetic_queries(cfg: DictConfig) -> tuple[list[dict], dict]:
    """Deduplicated synthetic QA; per node a seeded draw of val_per_node, then train_per_node."""
    n_val, n_train = int(cfg.data.synthetic.val_per_node), int(cfg.data.synthetic.train_per_node)
    if n_val < 0 or n_train < 0:
        raise ConfigError(f"data.synthetic: sizes must be >= 0, got val={n_val} train={n_train}")
    lay = Layout(cfg)
    nodes = load_nodes(lay.taxonomy() / NODES)
    by_id = {n["id"]: n for n in nodes}
    qa_path = lay.dedup() / QA
    qa = read_csv(qa_path, QA_COLUMNS).to_dict("records")
    by_node = defaultdict(list)
    for row in qa:
        if row["node_id"] not in by_id:
            raise ConfigError(f"{qa_path}: node_id {row['node_id']!r} is not in nodes.csv")
        by_node[row["node_id"]].append(row)
    rows, unused, no_train = [], 0, []
    for node_id, items in sorted(by_node.items()):
        items = sorted(items, key=lambda r: r["qa_id"])
        random.Random(f"{cfg.data.split_seed}:{node_id}").shuffle(items)
        domain = chain_of(by_id[node_id], by_id)[0]["name"]
        splits = ["val"] * n_val + ["train"] * n_train
        unused += max(0, len(items) - len(splits))
        if len(items) <= n_val:
            no_train.append(node_id)
        for item, split in zip(items, splits, strict=False):
            rows.append({"query_id": item["qa_id"], "dataset": SYNTHETIC, "task": domain,
                         "split": split, "node_id": node_id, "question": item["question"],
                         "query": item["question"],
                         "reference": item["answer"], "fields": {}})
    if no_train:
        log.warning("%d node(s) have no training QA (val_per_node=%d): %s",
                    len(no_train), n_val, no_train)
    return rows, {"available": len(qa), "unused_beyond_sizes": unused,
                  "nodes_without_train": no_train}


def run(cfg: DictConfig) -> dict:
    dataset = cfg.data.dataset
    if not dataset:
        raise ConfigError("data.dataset: name the dataset to prepare (synthetic or a benchmark)")
    if dataset == SYNTHETIC:
        rows, info = synthetic_queries(cfg)
    else:
        rows, info = benchmark_queries(cfg, dataset)
    if not rows:
        raise ConfigError(f"{dataset}: no queries after splitting")
    out = Layout(cfg).data(dataset)
    write_jsonl(out / QUERIES_JSONL, rows)
    counts = Counter(r["split"] for r in rows)
    summary = {"dataset": dataset, "queries": len(rows), "per_split": dict(sorted(counts.items())),
               **info}
    write_json(out / SUMMARY, summary)
    log.info("%s: %d queries %s", dataset, len(rows), dict(counts))
    return summary
