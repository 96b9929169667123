"""Labeling throughput against the loopback server (trouter.loopback, its own process): the real
label_candidates stage on GSM8K questions, sequentially and at a given concurrency, with the
request cache on; then a rerun that the cache answers.

    python scripts/bench_loopback.py [--latency 0.2] [--concurrency 64] [--queries 3000] [--runs 3]

Prints calls/s of the answering phase (the stage's answer_wall_s) of each concurrent run (each on
an empty cache) and their median, the ratio to the sequential rate and the share of the server's
limit (concurrency / latency calls/s); then the cost of
bookkeeping (cache lookups, scoring, tables: the whole stage rerun from the cache) at half the
given size and at 4x that."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hydra import compose, initialize_config_dir

from trouter.catalog import conf_dir
from trouter.stages import label_candidates, prepare_data


def overrides(results: Path, url: str, queries: int, concurrency: int) -> list[str]:
    train, val = queries * 2 // 3, queries // 6
    return ["experiment=smoke", f"paths.results_dir={results}", "data.benchmarks=[gsm8k]",
            "data.dataset=gsm8k", "data.limit.train=null", "data.limit.val=null",
            "data.limit.test=null", f"benchmarks.gsm8k.splits.train={train}",
            f"benchmarks.gsm8k.splits.val={val}",
            f"benchmarks.gsm8k.splits.test={queries - train - val}",
            "+model@candidate=qwen2.5-coder-0.5b-local", "candidate.local=null",
            f"candidate.base_url={url}", f"candidate.max_concurrency={concurrency}",
            "candidate.timeout_s=60"]


def label(results: Path, url: str, queries: int, concurrency: int) -> tuple[float, float, dict]:
    """(the stage's wall time, the answering phase's, the candidate's call counts)."""
    with initialize_config_dir(config_dir=conf_dir(), version_base="1.3"):
        cfg = compose("config", overrides=overrides(results, url, queries, concurrency))
    prepare_data.run(cfg)
    start = time.monotonic()
    summary = label_candidates.run(cfg)
    return time.monotonic() - start, summary["answer_wall_s"], summary["llm"]["candidate"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--queries", type=int, default=3000)
    ap.add_argument("--sequential-queries", type=int, default=30)
    ap.add_argument("--runs", type=int, default=3, help="concurrent runs, each on an empty cache")
    a = ap.parse_args()
    server = subprocess.Popen([sys.executable, "-m", "trouter.loopback", "--latency",
                               str(a.latency), "--concurrency", str(a.concurrency)],
                              stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            _, seq_s, seq = label(Path(tmp) / "seq", url, a.sequential_queries, 1)
            runs = [label(Path(tmp) / f"par{i}", url, a.queries, a.concurrency)
                    for i in range(a.runs)]
            warm_s, _, warm = label(Path(tmp) / "par0", url, a.queries, a.concurrency)
            sizes, bookkeeping = (a.queries // 2, 2 * a.queries), []  # GSM8K has 8,792 rows
            for n in sizes:
                label(Path(tmp) / f"n{n}", url, n, a.concurrency)
                bookkeeping.append(label(Path(tmp) / f"n{n}", url, n, a.concurrency))
    finally:
        server.terminate()
        server.wait()
    seq_rate = seq["live_calls"] / seq_s
    limit = a.concurrency / a.latency
    print(f"latency {a.latency * 1000:.0f} ms, server limit {a.concurrency} at once "
          f"= {limit:.0f} calls/s")
    print(f"sequential: {seq['live_calls']} calls in {seq_s:.1f} s = {seq_rate:.2f} calls/s")
    rates = []
    for i, (stage_s, par_s, par) in enumerate(runs, 1):
        rates.append(par["live_calls"] / par_s)
        print(f"concurrency {a.concurrency}, run {i}: {par['live_calls']} calls in {par_s:.1f} s "
              f"= {rates[-1]:.1f} calls/s = {rates[-1] / seq_rate:.1f}x sequential, "
              f"{100 * rates[-1] / limit:.0f}% of the server's limit (the whole stage, scoring "
              f"and tables included: {stage_s:.1f} s)")
    median = statistics.median(rates)
    print(f"median of {len(rates)} runs: {median:.1f} calls/s = {median / seq_rate:.1f}x "
          f"sequential, {100 * median / limit:.0f}% of the server's limit")
    print(f"rerun (cache on): {warm['live_calls']} live calls, {warm['cached_calls']} cached, "
          f"{warm_s:.1f} s")
    for n, (secs, _, st) in zip(sizes, bookkeeping, strict=True):
        print(f"bookkeeping, {n} queries from the cache ({st['live_calls']} live calls): "
              f"{secs:.2f} s = {1000 * secs / st['cached_calls']:.3f} ms per call")
    print(f"4x the calls: {bookkeeping[1][0] / bookkeeping[0][0]:.2f}x the time (4.00 = linear)")


if __name__ == "__main__":
    main()
