"""A 2 x 2 sweep (two synthesizers x two routers, smoke sizes) on a real one-node Slurm cluster
(scripts/slurm_local.sh: Debian's slurmctld, slurmd and munge) through the workflow profile
workflow/profiles/slurm (snakemake-executor-plugin-slurm). The synthesizers and the judge are a
scripted OpenAI-compatible server on loopback; one candidate is the real SmolLM2 on a llama.cpp
server that its Slurm job starts itself. Checks: the jobs went through Slurm (squeue's records),
a run stopped by scancel resumes without redoing finished work, a failing job is reported with its
log, and nothing is left running."""

import contextlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from tests.scripted_server import Reply, ScriptedServer
from tests.test_config import CONF
from tests.test_stages import backend as synthesizer_backend
from tests.workflow_run import ROOT

pytestmark = pytest.mark.slurm
SCRIPT = ROOT / "scripts" / "slurm_local.sh"
SWEEP = {"overrides": ["experiment=smoke", "pool=slurm", "judge=fake-judge",
                       "data.benchmarks=[gsm8k]", "routing.protocols=[cold_start]",
                       "routing.star=[]", "++router.max_epochs=5", "++router.grid=null"],
         "params": {"synthesizer": "fake-synth-a,fake-synth-b",
                    "router": "trouter,knn"}}


FAILING = threading.Event()  # set: the fake candidate's endpoint answers 400


def responder(request):
    """The judge compares numbers; the fake candidate answers 18; the rest is synthesis."""
    msgs = request["messages"]
    if msgs[0]["role"] == "system" and msgs[0]["content"].startswith("You grade answers"):
        user = msgs[-1]["content"]
        ref = user.split("Reference answer:\n")[1].split("\n")[0]
        got = user.split("Candidate answer:\n")[1].split("\n")[0]
        return Reply(content=json.dumps({"verdict": "equivalent" if got == ref else "wrong"}))
    if request["model"] == "fake-candidate":
        if FAILING.is_set():
            return Reply(400, None,
                         raw_body=b'{"error": {"message": "model fake-candidate is gone"}}')
        return Reply(content="answer 1\n#### 18")
    return synthesizer_backend(request)


def fake_conf(folder: Path, base_url: str) -> Path:
    """conf/ with model cards served by the scripted server, and the sweep above."""
    conf = folder / "conf"
    shutil.copytree(CONF, conf)
    template = OmegaConf.load(CONF / "model" / "smollm2-135m-local.yaml")
    for key, price in (("fake-synth-a", 0.1), ("fake-synth-b", 0.1), ("fake-judge", 0.1),
                       ("fake-candidate", 5.0)):
        card = OmegaConf.merge(template, {
            "key": key, "model_id": key, "base_url": base_url, "structured_output": "none",
            "max_concurrency": 2, "timeout_s": 30, "params_b": None,
            "price": {"input_per_1m": price, "output_per_1m": 2 * price}})
        card.local = None
        OmegaConf.save(card, conf / "model" / f"{key}.yaml")
        for group in ("synthesizer", "judge"):
            (conf / group / f"{key}.yaml").write_text(
                f"defaults:\n  - /model@_here_: {key}\n")
    (conf / "pool" / "slurm.yaml").write_text(
        "candidates: [smollm2-135m-local, fake-candidate]\n")
    OmegaConf.save(OmegaConf.create(SWEEP), conf / "sweep" / "slurm.yaml")
    return conf


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if os.geteuid() != 0 and not shutil.which("slurmctld"):
        pytest.skip("a local Slurm cluster needs root (to install and start it) or Slurm")
    folder = tmp_path_factory.mktemp("slurm")
    env = {**os.environ, "TROUTER_SLURM_DIR": str(folder / "cluster")}
    up = subprocess.run(["bash", str(SCRIPT), "up"], env=env, capture_output=True, text=True,
                        timeout=600)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        with ScriptedServer(responder=responder) as srv:
            yield {**env, "SLURM_CONF": str(folder / "cluster" / "slurm.conf"),
                   "TROUTER_CONF_DIR": str(fake_conf(folder, srv.base_url)),
                   "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                   "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline"}, folder
    finally:
        down = subprocess.run(["bash", str(SCRIPT), "down"], env=env, capture_output=True,
                              text=True, timeout=120)
        assert down.returncode == 0, down.stderr
        left = subprocess.run(["pgrep", "-x", "slurmctld|slurmd|munged"], capture_output=True,
                              text=True)
        assert left.stdout.strip() == "", "Slurm daemons left running"


def snakemake(env, results: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", "--workflow-profile", "workflow/profiles/slurm",
            "--config", "sweep=slurm", f"results_dir={results}", *extra,
            "--default-resources", "slurm_partition=debug", "mem_mb=1500", "runtime=30",
            "cpus_per_task=1", "--set-resources", "train_router:mem_mb=3000",
            "--slurm-no-account", "--slurm-init-seconds-before-status-checks", "2"]


def slurm_jobs(env) -> list[tuple[str, str]]:
    out = subprocess.run(["squeue", "-h", "--states=all", "-o", "%i %T"], env=env,
                         capture_output=True, text=True, timeout=30, check=True).stdout
    return [tuple(line.split()) for line in out.splitlines() if line.strip()]


def test_sweep_on_slurm_resumes_after_scancel_and_reports_a_failure(cluster, figures):
    env, folder = cluster
    results = folder / "results"
    start = time.monotonic()
    # 1. start the sweep, stop it with scancel once Snakemake has seen a taxonomy job finish
    first = subprocess.Popen(snakemake(env, results), cwd=ROOT, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in first.stdout], daemon=True).start()
    seen, deadline = [], time.monotonic() + 300
    while not any("(Rule: expand_taxonomy)" in x for x in seen):
        assert time.monotonic() < deadline and first.poll() is None, "".join(seen)[-3000:]
        with contextlib.suppress(queue.Empty):
            seen.append(lines.get(timeout=1))
    # the next jobs are submitted a moment later: cancel once Slurm holds some
    while not (active := [i for i, state in slurm_jobs(env) if state in ("PENDING", "RUNNING")]):
        assert time.monotonic() < deadline and first.poll() is None, "".join(seen)[-3000:]
        time.sleep(0.5)
    subprocess.run(["scancel", *active], env=env, check=True, timeout=30)
    phases = [time.monotonic() - start]
    try:
        first.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(first.pid, 9)
        first.wait(30)
    time.sleep(1)
    while not lines.empty():
        seen.append(lines.get())
    finished = sum("Finished jobid" in x and "(Rule: expand_taxonomy)" in x for x in seen)
    assert not list((results / "slurm" / "compare").glob("table.md"))
    # 2. the rerun resumes (after --unlock, in case Snakemake had to be killed): finished work is
    # kept, the rest runs, every job through Slurm
    subprocess.run([*snakemake(env, results), "--unlock"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)
    second = subprocess.run(snakemake(env, results), cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=1200)
    assert second.returncode == 0, (second.stdout + second.stderr)[-4000:]
    phases.append(time.monotonic() - start - sum(phases))
    # the taxonomies Snakemake had seen finish are kept, the others are run again
    assert (second.stdout + second.stderr).count("rule expand_taxonomy:") == 2 - finished
    table = (results / "slurm" / "compare" / "table.md").read_text()
    assert table.count("fake-synth-") >= 4 and "trouter (cold_start)" in table
    jobs = slurm_jobs(env)
    completed = [j for j in jobs if j[1] == "COMPLETED"]
    # per synthesizer: taxonomy, QA, dedup, 2 synthetic label jobs, embed, assign, 2 routers; the
    # 2 gsm8k label jobs shared; local rules (plan, prepare_data, collect_labels, evaluate,
    # report, compare) outside Slurm; the taxonomies done before the scancel not again
    assert len(completed) >= 2 * 9 + 2 - finished, jobs
    assert {i for i, state in jobs if state == "CANCELLED"} >= set(active), (active, jobs)
    # each SmolLM2 job with calls to make started its own server (a job the cache answered whole,
    # after the scancel, started none)
    summaries = [json.loads(p.read_text()) for p in
                 (results / "slurm" / "labels").glob("*/smollm2-135m-local/*/summary.json")]
    assert len(summaries) == 3 and any(s["servers_started"] for s in summaries)
    for s in summaries:
        live = s["llm"]["candidate"]["live_calls"]
        assert s["servers_started"] == (["smollm2-135m-local"] if live else [])
    # 3. a failing job, reported as failed with its logs (the rule's and Slurm's) named and kept:
    # one label job forced to run again against an empty cache while the candidate's endpoint
    # answers 400; overrides that change no folder's key run nothing else
    target = next((results / "slurm" / "labels" / "gsm8k" / "fake-candidate").glob("*/labels.csv"))
    FAILING.set()
    third = subprocess.run(snakemake(env, results, f'overrides=["llm.max_retries=0", '
                                     f'"paths.cache_dir={folder / "empty-cache"}"]',
                                     "--force", str(target)),
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    out = third.stdout + third.stderr
    assert third.returncode != 0 and "Error in rule label_candidates" in out, out[-4000:]
    assert out.count("submitted with SLURM jobid") == 1, out[-4000:]
    logs = re.findall(r"log: (\S+/log\.txt), (\S+\.snakemake/slurm_logs/\S+\.log)", out)
    assert logs, out[-4000:]
    rule_log, slurm_log = map(Path, logs[0])
    assert "model fake-candidate is gone" in rule_log.read_text()
    assert "Error in rule label_candidates" in slurm_log.read_text(errors="replace")
    phases.append(time.monotonic() - start - sum(phases))
    figures(f"Slurm sweep test: {time.monotonic() - start:.0f} s (until scancel, resumed "
            f"run, failing run: {', '.join(f'{p:.0f}' for p in phases)} s), "
            f"{len(completed)} Slurm jobs completed")
