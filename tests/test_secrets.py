"""With fake API keys in the environment (and in use: every card names one), an end-to-end smoke
run whose candidates answer HumanEval with hostile code leaves the keys in no file under the
results, Snakemake's folder or wandb's."""

import json
import os
import shutil
import time
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from tests.scripted_server import Reply, ScriptedServer
from tests.test_config import CONF
from tests.test_stages import backend as synthesizer_backend
from tests.workflow_run import ROOT, run_or_fail

KEY = "sk-trouter-fake-4f9c2a7be1d3"
OTHER = "sk-other-fake-77aa01c3"
# Ends the prompt's function, then reads the environment every way it can and puts what it
# found where the pipeline records failures (the last line of stderr) and in its output; also
# tries to leave a file behind.
HOSTILE = """```python
    pass
import glob, os
found = repr(dict(os.environ))
for path in glob.glob('/proc/*/environ') + glob.glob('/proc/*/cmdline'):
    try:
        found += open(path, 'rb').read().decode('latin-1')
    except OSError:
        pass
for where in ('/tmp/stolen.txt', os.path.expanduser('~/stolen.txt')):
    try:
        open(where, 'w').write(found)
    except OSError:
        pass
import re
keys = sorted(set(re.findall(r"sk-[A-Za-z0-9-]+", found)))
print(found)
raise AssertionError("found " + " ".join(keys) + " " + found[-120:].replace(chr(10), " "))
```"""


def responder(request):
    msgs = request["messages"]
    if msgs[0]["role"] == "system" and msgs[0]["content"].startswith("You grade answers"):
        return Reply(content=json.dumps({"verdict": "wrong"}))
    if request["model"].startswith("fake-cand"):
        prompt = msgs[-1]["content"]
        return Reply(content=HOSTILE if "def " in prompt else "#### 18")
    return synthesizer_backend(request)


def fake_conf(folder: Path, base_url: str) -> Path:
    conf = folder / "conf"
    shutil.copytree(CONF, conf)
    template = OmegaConf.load(CONF / "model" / "smollm2-135m-local.yaml")
    for key, env in (("fake-synth", "TROUTER_FAKE_KEY"), ("fake-judge", "TROUTER_FAKE_KEY"),
                     ("fake-cand-a", "TROUTER_FAKE_KEY"), ("fake-cand-b", "TROUTER_OTHER_KEY")):
        card = OmegaConf.merge(template, {
            "key": key, "model_id": key, "base_url": base_url, "api_key_env": env,
            "structured_output": "none", "max_concurrency": 2, "timeout_s": 30,
            "params_b": None, "price": {"input_per_1m": 0.1, "output_per_1m": 0.2}})
        card.local = None
        OmegaConf.save(card, conf / "model" / f"{key}.yaml")
        for group in ("synthesizer", "judge"):
            (conf / group / f"{key}.yaml").write_text(f"defaults:\n  - /model@_here_: {key}\n")
    (conf / "pool" / "secrets.yaml").write_text("candidates: [fake-cand-a, fake-cand-b]\n")
    return conf


def files_holding(folder: Path, secrets: list[bytes], since: float) -> list[str]:
    hits = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.stat().st_mtime >= since:
            data = path.read_bytes()
            hits += [f"{path}: {s.decode()}" for s in secrets if s in data]
    return hits


def test_keys_reach_no_file(tmp_path):
    start = time.time() - 1
    results = tmp_path / "results"
    with ScriptedServer(responder=responder) as srv:
        env = {"TROUTER_CONF_DIR": str(fake_conf(tmp_path, srv.base_url)),
               "TROUTER_FAKE_KEY": KEY, "TROUTER_OTHER_KEY": OTHER, "OPENAI_API_KEY": KEY}
        overrides = ["synthesizer=fake-synth", "judge=fake-judge", "pool=secrets",
                     "data.benchmarks=[humaneval]", "routing.routers=[metric_router]",
                     "routing.star=[]", "routing.protocols=[cold_start]"]
        out = run_or_fail("smoke", results, "overrides=" + json.dumps(overrides), env=env)
    labels = pd.read_csv(next(results.rglob("labels/humaneval/fake-cand-a/*/labels.csv")),
                         keep_default_na=False)
    # the hostile code ran (and failed) in the sandbox: the end of what it found (its own
    # command line from /proc, with the sandbox's memory limit) is the failure on record
    assert labels["extracted"].str.contains(str(1024 << 20)).all(), labels["extracted"]
    assert (labels["score"] == 0).all()
    summary = json.loads(next(results.rglob("labels/humaneval/fake-cand-a/*/summary.json"))
                         .read_text())
    assert summary["sandbox"]["keeps_keys"] and summary["sandbox"]["keeps_files"]
    assert (out / "report" / "table.md").is_file()
    secrets = [KEY.encode(), OTHER.encode()]
    hits = files_holding(results, secrets, start) + files_holding(ROOT / ".snakemake", secrets,
                                                                  start)
    if (ROOT / "wandb").is_dir():
        hits += files_holding(ROOT / "wandb", secrets, start)
    for stolen in (Path("/tmp") / "stolen.txt", Path.home() / "stolen.txt"):
        assert not stolen.exists() or stolen.stat().st_mtime < start, stolen
    assert hits == [], hits
    assert os.environ.get("TROUTER_FAKE_KEY") is None  # the keys lived in the run's environment
