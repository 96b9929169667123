"""Generation throughput of the local models: completion tokens/s and calls/s at 1, 2, 4 and 8
concurrent requests, for llama.cpp's `llama-server` (parallel slots, continuous batching) and
for `python -m llama_cpp.server` (one request at a time).

    python scripts/bench_local_servers.py [--models smollm2-135m-local ...] [--max-tokens 48]
    python scripts/bench_local_servers.py --builds AVX2_BINARY AVX512_BINARY [--models ...]

Every request is different (so no prompt cache is shared across them), greedy, with a fixed
max_tokens; each cell sends max(4, 2 x concurrency) requests. Prints a Markdown table and the
ratio llama-server / llama_cpp.server per model and concurrency. With --builds: llama-server
builds against each other (4 slots, two rounds): generation at 1 and 4 requests, and prompt
reading (8 distinct prompts of about 450 tokens, 1 new token, 4 at once)."""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
from omegaconf import OmegaConf

from trouter.catalog import conf_dir
from trouter.cli.fetch_models import default_models_dir
from trouter.llm.cards import card_from_config
from trouter.llm.server import LlamaServer, llama_server_binary
from trouter.llm.weights import ensure_weights

MODELS = ["smollm2-135m-local", "qwen2.5-coder-0.5b-local", "qwen2.5-coder-1.5b-local"]
TOPICS = ["rivers", "prime numbers", "volcanoes", "the moon", "bread", "chess", "bees", "glass",
          "maps", "clocks", "rain", "salt", "paper", "bridges", "owls", "copper"]


def one_cell(url: str, alias: str, concurrency: int, max_tokens: int, offset: int) -> dict:
    client = openai.OpenAI(base_url=url, api_key="none", max_retries=0, timeout=600)
    n = max(4, 2 * concurrency)

    def call(i: int) -> int:
        topic = TOPICS[(offset + i) % len(TOPICS)]
        r = client.chat.completions.create(
            model=alias, temperature=0.0, max_tokens=max_tokens, seed=i,
            messages=[{"role": "user", "content": f"Request {offset + i}: write three sentences "
                                                  f"about {topic}."}])
        return r.usage.completion_tokens

    start = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        tokens = sum(pool.map(call, range(n)))
    wall = time.monotonic() - start
    return {"calls": n, "tokens": tokens, "wall_s": wall, "tok_s": tokens / wall,
            "calls_s": n / wall}


def prompt_cell(url: str, alias: str, concurrency: int, n: int, offset: int) -> float:
    """Prompt tokens/s: n distinct long prompts, one new token each."""
    client = openai.OpenAI(base_url=url, api_key="none", max_retries=0, timeout=600)

    def call(i: int) -> int:
        body = " ".join(f"{TOPICS[(i * 7 + j * 3 + offset) % len(TOPICS)]}{j}" for j in range(220))
        r = client.chat.completions.create(
            model=alias, temperature=0.0, max_tokens=1, seed=i,
            messages=[{"role": "user", "content": f"Request {offset + i}. {body}"}])
        return r.usage.prompt_tokens

    start = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        tokens = sum(pool.map(call, range(n)))
    return tokens / (time.monotonic() - start)


def compare_builds(builds: list[Path], models: list[str], threads: int, max_tokens: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for key in models:
            card = card_from_config(OmegaConf.load(Path(conf_dir()) / "model" / f"{key}.yaml"),
                                    where=key)
            weights = ensure_weights(card.local["weights"], default_models_dir())
            for rnd in range(2):
                for exe in builds:
                    with LlamaServer(weights, card.model_id, Path(tmp) / f"{key}.log", n_ctx=2048,
                                     n_threads=threads, binary=exe, parallel=4) as srv:
                        one_cell(srv.base_url, card.model_id, 1, 8, 1000)  # warm up
                        one = one_cell(srv.base_url, card.model_id, 1, max_tokens, 100)
                        four = one_cell(srv.base_url, card.model_id, 4, max_tokens, 400)
                        read = prompt_cell(srv.base_url, card.model_id, 4, 8, 50 * rnd)
                    print(f"| {key} | {exe} | {rnd + 1} | {one['tok_s']:.1f} | "
                          f"{four['tok_s']:.1f} | {read:.1f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=MODELS)
    ap.add_argument("--concurrency", nargs="+", type=int, default=[1, 2, 4, 8])
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--builds", nargs="+", type=Path,
                    help="llama-server binaries to compare instead of the two servers")
    args = ap.parse_args()
    if args.builds:
        print("| model | build | round | gen tok/s, 1 request | gen tok/s, 4 | prompt tok/s, 4 |")
        print("|---|---|---|---|---|---|")
        compare_builds(args.builds, args.models, args.threads, args.max_tokens)
        return
    binary = llama_server_binary()
    servers = [("llama_cpp.server", None)] + ([("llama-server", binary)] if binary else [])
    if binary is None:
        print("no llama-server binary (scripts/setup.sh builds it): llama_cpp.server only")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for key in args.models:
            card = card_from_config(OmegaConf.load(Path(conf_dir()) / "model" / f"{key}.yaml"),
                                    where=key)
            weights = ensure_weights(card.local["weights"], default_models_dir())
            for name, exe in servers:
                parallel = max(args.concurrency) if exe else 1
                with LlamaServer(weights, card.model_id, Path(tmp) / f"{key}-{name}.log",
                                 n_ctx=2048, n_threads=args.threads, binary=exe,
                                 parallel=parallel) as srv:
                    one_cell(srv.base_url, card.model_id, 1, 8, 1000)  # warm up
                    for c in args.concurrency:
                        cell = one_cell(srv.base_url, card.model_id, c, args.max_tokens, 100 * c)
                        rows.append({"model": key, "server": name, "concurrency": c, **cell})
                        print(f"{key:26s} {name:17s} c={c}: {cell['tok_s']:6.1f} tok/s "
                              f"{cell['calls_s']:5.2f} calls/s ({cell['calls']} calls, "
                              f"{cell['wall_s']:.1f} s)", flush=True)
    print("\n| model | server | concurrency | completion tok/s | calls/s |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['server']} | {r['concurrency']} | {r['tok_s']:.1f} | "
              f"{r['calls_s']:.2f} |")
    if binary:
        print("\n| model | concurrency | llama-server / llama_cpp.server (tok/s) |")
        print("|---|---|---|")
        by = {(r["model"], r["server"], r["concurrency"]): r["tok_s"] for r in rows}
        for key in args.models:
            for c in args.concurrency:
                ratio = by[(key, "llama-server", c)] / by[(key, "llama_cpp.server", c)]
                print(f"| {key} | {c} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
