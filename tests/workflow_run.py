"""Running the Snakemake workflow from tests, in a subprocess with the test's Python."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def snakemake(experiment: str, results_dir: Path, *extra: str, env: dict | None = None,
              timeout: int = 1500) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline", **(env or {})}
    cmd = [sys.executable, "-m", "snakemake", "--workflow-profile", "workflow/profiles/default",
           "--config", f"experiment={experiment}", f"results_dir={results_dir}", *extra]
    return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True,
                          timeout=timeout)


def run_or_fail(experiment: str, results_dir: Path, *extra: str, **kw) -> Path:
    """Run the workflow; on failure, fail the test with Snakemake's and the jobs' logs."""
    proc = snakemake(experiment, results_dir, *extra, **kw)
    out = results_dir / experiment
    if proc.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text()[-3000:]}" for p in out.rglob("*log*")
                         if p.is_file())
        pytest.fail(f"snakemake failed:\n{proc.stderr[-3000:]}\n{logs}")
    return out


def folder(run_dir: Path, label: str) -> Path:
    """A keyed folder a run used, from its manifest: 'expand_taxonomy', 'data/gsm8k',
    'labels/gsm8k/<model>', 'collect_labels', 'train_router/trouter/cold_start', ..."""
    return Path(json.loads((run_dir / "point.json").read_text())["folders"][label]["dir"])
