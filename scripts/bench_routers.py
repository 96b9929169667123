"""Per router: training time on one protocol's first fold and per-query routing latency next to
the all-MiniLM-L6-v2 embedding of the same query.

Usage: python scripts/bench_routers.py --experiment llmrouter [--routers knn trouter ...]
           [--protocol in_domain] [--queries 100] [--override key=value ...]
Needs the run's labels and embeddings (run the experiment first). Each router is trained as
train_router trains it (its grid too) into a scratch folder, then routes --queries test queries
one at a time under the balanced setting. A query's latency is its embedding (batch 1, the text
embed_queries embedded) plus the router's choice given the embedding; a router that encodes the
text itself (RouterDC with its fine-tuned encoder) is timed alone. prompt_llm is left out: its
latency is an LLM call (see the calls.jsonl of its train_router folder).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir

from trouter.embed import encode
from trouter.route.utility import SETTINGS
from trouter.routers.base import RoutingTable
from trouter.routers.selection import fit_selected
from trouter.stages.train_router import fold_jobs

CONF = Path(__file__).resolve().parents[1] / "conf"


def row(table: RoutingTable, i: int) -> RoutingTable:
    """Query i of a table as a table of one."""
    one = slice(i, i + 1)
    return RoutingTable(query_ids=table.query_ids[one], datasets=table.datasets[one],
                        embeddings=table.embeddings[one], score=table.score[one],
                        cost=table.cost[one], cost_norm=table.cost_norm[one],
                        tasks=table.tasks[one], texts=table.texts[one])


def median_ms(fn, items) -> float:
    times = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def bench(cfg, protocol: str, n: int, scratch: Path) -> dict:
    job = next(fold_jobs(cfg, str(cfg.router.name), protocol, False, scratch))
    start = time.monotonic()
    router, fitted = fit_selected(cfg.router, job.ctx, job.train, job.val)
    train_s = time.monotonic() - start
    test = job.test
    picks = range(min(n, len(test)))
    setting = [SETTINGS["balanced"]]
    router.choose(row(test, 0), setting)  # warm up
    encode([test.texts[0]], model_path=cfg.dedup.model_path)
    embed_ms = median_ms(lambda i: encode([test.texts[i]], model_path=cfg.dedup.model_path),
                         picks)
    route_ms = median_ms(lambda i: router.choose(row(test, i), setting), picks)
    total = route_ms if getattr(router, "reads_text", False) else embed_ms + route_ms
    return {"train_queries": len(job.train), "train_s": train_s, "embed_ms": embed_ms,
            "route_ms": route_ms, "total_ms": total, "ratio": total / embed_ms,
            "chosen": fitted.get("selection", {}).get("chosen", "")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="llmrouter")
    parser.add_argument("--routers", nargs="+",
                        default=["adaptive_llm", "knn", "metric_router", "routerdc_frozen",
                                 "routerdc", "trouter"])
    parser.add_argument("--protocol", default="in_domain")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--override", nargs="*", default=[])
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"{args.experiment}, protocol {args.protocol}, {args.queries} test queries one at a "
          f"time, torch threads {torch.get_num_threads()}")
    print(f"{'router':18s} {'train q':>8s} {'train s':>9s} {'embed ms':>9s} {'route ms':>9s} "
          f"{'total ms':>9s} {'x embed':>8s}  chosen on validation")
    for name in args.routers:
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            cfg = compose("config", overrides=[f"experiment={args.experiment}",
                                               f"router={name}", "routing.logger=none",
                                               *args.override])
        with tempfile.TemporaryDirectory() as scratch:
            r = bench(cfg, args.protocol, args.queries, Path(scratch))
        print(f"{name:18s} {r['train_queries']:8d} {r['train_s']:9.1f} {r['embed_ms']:9.2f} "
              f"{r['route_ms']:9.2f} {r['total_ms']:9.2f} {r['ratio']:8.2f}  {r['chosen']}")


if __name__ == "__main__":
    main()
