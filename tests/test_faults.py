"""Faults, kills and resumption, against a scripted OpenAI-compatible server on loopback:
a labeling run through 5xx, 429 with Retry-After, hangs past the timeout and malformed bodies
loses no row; SIGKILL of label_candidates and generate_qa, then a rerun, gives the outputs of an
uninterrupted run with no more extra calls than were in flight."""

import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
from hydra import compose, initialize_config_dir

from tests.data_paths import data_dir
from tests.scripted_server import Reply, ScriptedServer
from tests.test_config import CONF
from tests.test_labeling import backend as label_backend
from tests.test_stages import backend as synth_backend
from tests.workflow_run import ROOT
from trouter.io import read_jsonl, write_csv
from trouter.layout import Layout
from trouter.stages import label_candidates, prepare_data

BIG = "qwen2.5-coder-0.5b-local"
NODES = [{"id": "nD", "parent_id": "", "level": "domain", "name": "Maths", "definition": "d",
          "example": "e"},
         {"id": "nS", "parent_id": "nD", "level": "subcategory", "name": "Sums",
          "definition": "d", "example": "e"}] + [
    {"id": f"nE{i}", "parent_id": "nS", "level": "difficulty", "name": f"Level {i}",
     "definition": "d", "example": "e"} for i in range(4)]


def label_overrides(results: Path, url: str) -> list[str]:
    return ["experiment=smoke", f"paths.results_dir={results}", f"paths.data_dir={data_dir()}",
            "data.source=mirror", "data.benchmarks=[gsm8k]", "data.limit.train=20",
            "data.limit.val=5", "data.limit.test=40", "data.dataset=gsm8k",
            f"+model@candidate={BIG}", "candidate.local=null", f"candidate.base_url={url}",
            "candidate.max_concurrency=4", "candidate.timeout_s=1", "llm.max_retries=8",
            "llm.base_delay_s=0.01", "llm.max_delay_s=0.05"]


def compose_with(overrides: list[str]):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=overrides)


class Faults:
    """Before the real reply: 10% 5xx, 5% 429 with Retry-After, 2% a hang past the client's
    timeout, 5% a malformed 200 body (seeded)."""

    def __init__(self, reply, seed: int = 7):
        self.reply, self.rng, self.lock = reply, random.Random(seed), threading.Lock()
        self.sent = {"5xx": 0, "429": 0, "hang": 0, "malformed": 0, "ok": 0}

    def __call__(self, request):
        with self.lock:
            x = self.rng.random()
        kind, reply = "ok", None
        if x < 0.10:
            kind, reply = "5xx", Reply(self.rng.choice([500, 502, 503]))
        elif x < 0.15:
            kind, reply = "429", Reply(429, headers={"retry-after": "0.02"})
        elif x < 0.17:
            kind, reply = "hang", Reply(content="too late", delay_s=1.6)
        elif x < 0.22:
            kind, reply = "malformed", Reply(raw_body=b'{"choices": [{"mess')
        with self.lock:
            self.sent[kind] += 1
        return reply or self.reply(request)


def test_labeling_through_faults_loses_no_row(tmp_path, figures):
    faults = Faults(label_backend)
    with ScriptedServer(responder=faults) as srv:
        overrides = label_overrides(tmp_path, srv.base_url)
        prepare_data.run(compose_with(overrides))
        start = time.monotonic()
        summary = label_candidates.run(compose_with(overrides))
        wall = time.monotonic() - start
    lay = Layout(compose_with(overrides))
    queries = read_jsonl(lay.data("gsm8k") / "queries.jsonl")
    rows = pd.read_csv(lay.labels("gsm8k", BIG) / "labels.csv", keep_default_na=False)
    stats = summary["llm"]["candidate"]
    calls = read_jsonl(lay.labels("gsm8k", BIG) / "calls.jsonl")
    figures(f"fault run: {len(queries)} queries, {len(srv.requests)} requests in "
            f"{wall:.1f} s; server sent {faults.sent}; client saw {stats['faults']}, "
            f"{stats['retries']} retries, {stats['failed_calls']} failed, "
            f"max attempt {max(c['attempt'] for c in calls)}")
    assert len(rows) == len(queries) == summary["queries"] and summary["flagged"] == 0
    assert set(rows["query_id"]) == {q["query_id"] for q in queries}
    assert stats["failed_calls"] == 0 and stats["live_calls"] == len(queries)
    seen = stats["faults"]
    assert seen.get("timeout", 0) == faults.sent["hang"] > 0
    assert seen.get("status 429", 0) == faults.sent["429"] > 0
    assert seen.get("malformed body", 0) == faults.sent["malformed"] > 0
    assert sum(v for k, v in seen.items() if k.startswith("status 5")) == faults.sent["5xx"] > 0
    assert stats["retries"] == sum(seen.values()) == len(srv.requests) - len(queries)
    assert max(c["attempt"] for c in calls) <= 8


def killed_and_resumed(cmd, srv, cache: Path, kill_at: list[int],
                       timeout: float = 300) -> list[int]:
    """Run `cmd`, SIGKILL it once the server has seen each count of requests, rerun to the end.
    Returns the calls each kill lost: sent, but their replies never reached the cache."""
    def replies() -> int:
        return sum(1 for _ in (cache / "replies").glob("*/*.json"))

    lost = []
    for target in kill_at:
        sent, stored = len(srv.requests), replies()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while len(srv.requests) < target:
            assert proc.poll() is None and time.monotonic() < deadline, "ended before the kill"
            time.sleep(0.005)
        proc.kill()
        proc.wait()
        time.sleep(2 * SLOW)  # replies already on their way land on a closed socket
        lost.append((len(srv.requests) - sent) - (replies() - stored))
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return lost


def kill_twice(srv, stage, ref: list[str], run: list[str], cache: Path, offsets):
    """`stage` uninterrupted on `ref`, then its CLI on `run` killed after `offsets` more requests
    and rerun: (calls uninterrupted, calls killed and resumed, calls lost at each kill)."""
    stage.run(compose_with(ref))
    reference = len(srv.requests)
    cmd = [sys.executable, "-m", f"trouter.cli.{stage.__name__.rsplit('.', 1)[1]}", *run]
    lost = killed_and_resumed(cmd, srv, cache, [reference + k for k in offsets])
    return reference, len(srv.requests) - reference, lost


def same_outputs(a: Path, b: Path) -> None:
    """Every table of two output folders equal, apart from latency and the cached flag."""
    names = sorted(p.name for p in a.iterdir() if p.suffix in (".csv", ".jsonl")
                   and p.name != "calls.jsonl")
    assert names and names == sorted(p.name for p in b.iterdir() if p.suffix in (".csv", ".jsonl")
                                     and p.name != "calls.jsonl")
    for name in names:
        if name.endswith(".csv"):
            x, y = (pd.read_csv(d / name, keep_default_na=False).drop(
                columns=["latency_s", "cached"], errors="ignore") for d in (a, b))
            pd.testing.assert_frame_equal(x, y)
        else:
            assert read_jsonl(a / name) == read_jsonl(b / name), name


SLOW = 0.03  # seconds per reply: kills land mid-run


def slow(responder):
    def reply(request):
        r = responder(request)
        r.delay_s = SLOW
        return r
    return reply


def test_sigkill_of_label_candidates_then_rerun(tmp_path, figures):
    with ScriptedServer(responder=slow(label_backend)) as srv:
        ref, run = (label_overrides(tmp_path / d, srv.base_url) for d in ("ref", "run"))
        for o in (ref, run):
            prepare_data.run(compose_with(o))
        reference, resumed, lost = kill_twice(srv, label_candidates, ref, run,
                                              tmp_path / "run" / "_cache", (3, 20))
    figures(f"label_candidates: {reference} calls uninterrupted, {resumed} killed twice and "
            f"resumed ({lost} calls lost at the kills, 4 in flight at most)")
    assert resumed - reference == sum(lost) and max(lost) <= 4
    same_outputs(Layout(compose_with(ref)).labels("gsm8k", BIG),
                 Layout(compose_with(run)).labels("gsm8k", BIG))


def synth_overrides(results: Path, url: str) -> list[str]:
    return ["experiment=smoke", f"paths.results_dir={results}", "synthesizer.local=null",
            f"+synthesizer.base_url={url}", "synthesizer.max_concurrency=2",
            "qa.target_per_node=4", "qa.batch_size=3", "qa.max_calls_per_node=2"]


def test_sigkill_of_generate_qa_then_rerun(tmp_path, figures):
    from trouter.stages import generate_qa

    with ScriptedServer(responder=slow(synth_backend)) as srv:
        ref, run = (synth_overrides(tmp_path / d, srv.base_url) for d in ("ref", "run"))
        for o in (ref, run):
            lay = Layout(compose_with(o))
            write_csv(lay.taxonomy() / "nodes.csv", pd.DataFrame(NODES), list(NODES[0]))
        reference, resumed, lost = kill_twice(srv, generate_qa, ref, run,
                                              tmp_path / "run" / "_cache", (1, 4))
    figures(f"generate_qa: {reference} calls uninterrupted, {resumed} killed twice and "
            f"resumed ({lost} calls lost at the kills, 2 in flight at most)")
    assert resumed - reference == sum(lost) and max(lost) <= 2
    same_outputs(Layout(compose_with(ref)).qa(), Layout(compose_with(run)).qa())

