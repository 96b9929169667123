"""Router inference latency per query, with and without embedding the query text.

Usage: python scripts/bench_router.py results/demo [--protocol cold_start] [--repeats 5]
Prints milliseconds per query for: embedding (all-MiniLM-L6-v2, batch 1), TRouter forward pass
(batch 1 and batched), and the two together.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from trouter.embed import encode, load_encoder
from trouter.route.data import queries_of, read_labels
from trouter.route.lit import TRouterModule


def per_query_ms(fn, n: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) / n * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--protocol", default="cold_start")
    parser.add_argument("--router", default="trouter")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(args.threads)
    folder = args.run_dir / "train_router" / args.router / args.protocol
    summary = json.loads((folder / "summary.json").read_text())
    fold = summary["folds"]["all"]
    with np.load(args.run_dir / "embed_queries" / "task_types.npz") as z:
        tasks = z["vectors"]
    module = TRouterModule.load_from_checkpoint(fold["checkpoint"], task_embeddings=tasks)
    module.eval()
    queries = queries_of(read_labels(args.run_dir / "labels" / "labels.csv"))
    prompts = list(queries["prompt"])[:64]
    n = len(prompts)
    load_encoder()
    vecs = torch.as_tensor(encode(prompts))

    def route_one():
        with torch.no_grad():
            for i in range(n):
                module(vecs[i:i + 1])

    def route_batch():
        with torch.no_grad():
            module(vecs)

    def embed_and_route_one():
        with torch.no_grad():
            for p in prompts:
                module(torch.as_tensor(encode([p])))

    rows = {"embed one query (ms)": per_query_ms(lambda: [encode([p]) for p in prompts], n,
                                                 args.repeats),
            "route one query, embedding given (ms)": per_query_ms(route_one, n, args.repeats),
            f"route a batch of {n}, embedding given (ms/query)":
                per_query_ms(route_batch, n, args.repeats),
            "embed + route one query (ms)": per_query_ms(embed_and_route_one, n, args.repeats)}
    print(f"{args.run_dir} {args.router} {args.protocol}: {len(tasks)} task types, "
          f"{len(summary['models'])} models, {n} queries, {args.threads} threads")
    for name, value in rows.items():
        print(f"{name:55s} {value:8.3f}")


if __name__ == "__main__":
    main()
