"""Paper-scale dry run: the real Snakemake DAG (experiment=dryrun) against the loopback server
(trouter.loopback, its own process), with time, LLM calls and peak memory per stage.

    python scripts/dry_run.py [--results results/dryrun] [--scale 1] [--latency 0.2]
        [--concurrency 64] [--kill-after SECONDS] [--json FILE]

Phases: `cold` (with --kill-after: killed with SIGKILL after that many seconds, then unlocked
and `resumed`),
`again` (the same command: nothing to do), `from-cache` (every LLM stage forced, up to the label
table: all calls answered by the cache; its wall time per call is the cost of bookkeeping).
--scale multiplies the QA per node and the benchmark splits (0.25: a quarter of the calls).
Per stage: jobs, summed and longest job wall time, live and cached calls, the largest job's peak
RSS; per phase: wall time and the peak RSS of Snakemake and all its jobs together."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
SHAPE = "10,103,447"
USAGE = re.compile(r"(?:^|\] - )usage (\{.*\})$")  # the line trouter.cli.common logs
LLM_RULES = ["expand_taxonomy", "generate_qa", "label_candidates"]


def overrides(scale: float) -> list[str]:
    if scale == 1:
        return []
    per_node = max(2, round(40 * scale))
    val = max(1, per_node // 4)
    out = [f"qa.target_per_node={per_node}", f"data.synthetic.train_per_node={per_node - val}",
           f"data.synthetic.val_per_node={val}"]
    for name in ("gsm8k", "mmlu_redux", "squad"):
        out += [f"benchmarks.{name}.splits.{split}={round(size * scale)}"
                for split, size in (("train", 500), ("val", 100), ("test", 400))]
    return out


class PeakRSS(threading.Thread):
    """Samples the summed RSS of a process and its descendants twice a second."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.root, self.peak, self.done = psutil.Process(pid), 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            total = 0
            for p in procs:
                with contextlib.suppress(psutil.NoSuchProcess):
                    total += p.memory_info().rss
            self.peak = max(self.peak, total)


def snakemake(results: Path, scale: float, extra: list[str], kill_after: float | None,
              log: Path) -> tuple[float, int, int]:
    """(wall s, exit code, peak RSS bytes) of one Snakemake invocation."""
    cmd = [sys.executable, "-m", "snakemake", "--workflow-profile", "workflow/profiles/default",
           "--config", "experiment=dryrun",
           f"results_dir={results}", "overrides=" + json.dumps(overrides(scale)), *extra]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline"}
    start = time.monotonic()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
        peak = PeakRSS(proc.pid)
        peak.start()
        try:
            rc = proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # Snakemake and every job, no clean-up
            rc = proc.wait()
        peak.done.set()
    return time.monotonic() - start, rc, peak.peak


def usages(results: Path, since: float) -> list[dict]:
    """The usage lines of the jobs whose logs were written after `since` (epoch s)."""
    out = []
    for path in results.rglob("*log*"):
        if not path.is_file() or path.stat().st_mtime < since:
            continue
        for line in path.read_text(errors="replace").splitlines():
            if found := USAGE.search(line):
                out.append(json.loads(found.group(1)))
    return out


def table(rows: list[dict]) -> list[dict]:
    by = defaultdict(list)
    for r in rows:
        by[r["stage"]].append(r)
    out = []
    for stage, rs in by.items():
        out.append({"stage": stage, "jobs": len(rs),
                    "wall_s": round(sum(r["wall_s"] for r in rs), 1),
                    "longest_s": round(max(r["wall_s"] for r in rs), 1),
                    "live_calls": sum(r["live_calls"] for r in rs),
                    "cached_calls": sum(r["cached_calls"] for r in rs),
                    "peak_rss_mib": max(max(r["peak_rss_mib"], r["children_peak_rss_mib"])
                                        for r in rs)})
    return sorted(out, key=lambda r: -r["wall_s"])


def show(name: str, wall: float, rc: int, peak: int, rows: list[dict]) -> dict:
    print(f"\n## {name}: {wall:.0f} s wall, exit code {rc}, peak RSS of Snakemake and its jobs "
          f"{peak / 2**30:.2f} GiB")
    if rows:
        print(f"{'stage':<18}{'jobs':>6}{'wall s':>10}{'longest s':>11}{'live calls':>12}"
              f"{'cached':>10}{'peak MiB':>10}")
        for r in rows:
            print(f"{r['stage']:<18}{r['jobs']:>6}{r['wall_s']:>10}{r['longest_s']:>11}"
                  f"{r['live_calls']:>12}{r['cached_calls']:>10}{r['peak_rss_mib']:>10}")
    sys.stdout.flush()
    return {"phase": name, "wall_s": round(wall, 1), "rc": rc,
            "peak_rss_gib": round(peak / 2**30, 2), "stages": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=ROOT / "results" / "dryrun")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--kill-after", type=float, default=None)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    results = a.results.resolve()
    results.mkdir(parents=True, exist_ok=True)
    os.environ["TROUTER_LOOPBACK_PORT"] = str(a.port)
    server = subprocess.Popen(
        [sys.executable, "-m", "trouter.loopback", "--port", str(a.port), "--latency",
         str(a.latency), "--concurrency", str(a.concurrency), "--shape", SHAPE],
        stdout=subprocess.PIPE, stderr=open(results / "loopback.log", "w"), text=True)  # noqa: SIM115
    phases = []
    try:
        print(f"loopback {server.stdout.readline().strip()}: latency {a.latency} s, "
              f"{a.concurrency} at once; scale {a.scale}; results in {results}")
        plan = [("cold", [], a.kill_after)]
        if a.kill_after:
            plan.append(("resumed", [], None))
        plan += [("again", [], None),
                 ("from-cache", ["--forcerun", *LLM_RULES, "--until", "collect_labels"], None)]
        for name, extra, kill in plan:
            if name == "resumed":  # a killed Snakemake leaves its lock behind
                snakemake(results, a.scale, ["--unlock"], None, results / "unlock.log")
            since = time.time()
            wall, rc, peak = snakemake(results, a.scale, extra, kill, results / f"{name}.log")
            phases.append(show(name, wall, rc, peak, table(usages(results, since))))
            if rc != 0 and not (kill and rc == -signal.SIGKILL):
                print(f"snakemake failed: see {results / (name + '.log')}")
                sys.exit(1)
    finally:
        server.terminate()
        server.wait()
    if a.json:
        a.json.write_text(json.dumps({"scale": a.scale, "latency": a.latency,
                                      "concurrency": a.concurrency, "phases": phases},
                                     indent=1) + "\n")


if __name__ == "__main__":
    main()
