"""The entry points: interrupted stages stop at once and leave no output that looks complete."""

import signal
import subprocess
import sys
import time

import pytest

from tests.scripted_server import Reply, ScriptedServer
from tests.test_config import ROOT


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_stage_exits_promptly(tmp_path, sig):
    with ScriptedServer(default=Reply(content="{}", delay_s=30)) as srv:
        proc = subprocess.Popen(
            [sys.executable, "-m", "trouter.cli.expand_taxonomy", "experiment=smoke",
             f"paths.results_dir={tmp_path}", "synthesizer.local=null",
             f"+synthesizer.base_url={srv.base_url}"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
        deadline = time.monotonic() + 60
        while not srv.requests and time.monotonic() < deadline:
            time.sleep(0.1)
        assert srv.requests, "the stage never called the model"
        start = time.monotonic()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
        assert time.monotonic() - start < 10
    assert proc.returncode == 130 and "interrupted" in err
    out = tmp_path / "smoke" / "expand_taxonomy"
    assert not (out / "nodes.csv").exists() and not (out / "taxonomy.json").exists()


def test_a_stage_logs_its_usage(tmp_path):
    """Every entry point ends with one 'usage {...}' line: wall and CPU time, peak memory, calls
    (what scripts/dry_run.py tabulates per stage)."""
    import json

    from tests.test_stages import backend

    with ScriptedServer(responder=backend) as srv:
        proc = subprocess.run(
            [sys.executable, "-m", "trouter.cli.expand_taxonomy", "experiment=smoke",
             f"paths.results_dir={tmp_path}", "synthesizer.local=null",
             f"+synthesizer.base_url={srv.base_url}"],
            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("usage {")]
    assert len(lines) == 1 and "HTTP Request" not in proc.stderr  # httpx: no line per call
    usage = json.loads(lines[0].removeprefix("usage "))
    assert usage["stage"] == "expand_taxonomy" and usage["wall_s"] > 0 and usage["cpu_s"] > 0
    assert usage["live_calls"] == len(srv.requests) > 0 and usage["cached_calls"] == 0
    assert 50 < usage["peak_rss_mib"] < 4096


def test_stages_without_llm_calls_do_not_import_openai():
    """`openai` costs about a CPU-second to import; the stages that never call an LLM (most jobs
    of a run) must not pay it. The LLM stages import it when they make their first call."""
    code = ("import sys\n"
            "import trouter.stages.dedup_qa, trouter.stages.embed_queries\n"
            "import trouter.stages.collect_labels, trouter.stages.prepare_data\n"
            "import trouter.stages.evaluate\n"
            "import trouter.stages.report, trouter.stages.train_router\n"
            "import trouter.stages.label_candidates, trouter.stages.generate_qa\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'openai'))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
