"""The local llama.cpp server: started on a free loopback port, always stopped, never orphaned."""

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from trouter.cli.fetch_models import default_models_dir
from trouter.errors import LLMError
from trouter.llm import server
from trouter.llm.cards import card_from_config
from trouter.llm.server import LlamaServer, llama_server_binary
from trouter.llm.weights import ensure_weights

ROOT = Path(__file__).resolve().parents[1]
# One thread per test server: `make test` runs two workers on two cores, and llama.cpp threads
# spin-wait on each other when the other worker is busy (conf/experiment/smoke.yaml).
THREADS = 1
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def smollm2():
    card = card_from_config(OmegaConf.load(ROOT / "conf/model/smollm2-135m-local.yaml"))
    return ensure_weights(card.local["weights"], default_models_dir())


@pytest.fixture(params=["llama_cpp_python", "llama_server"])
def binary(request):
    """Both servers: None runs python -m llama_cpp.server, a path runs llama-server."""
    if request.param == "llama_cpp_python":
        return None
    found = llama_server_binary()
    if found is None:
        pytest.skip("no llama-server binary (scripts/setup.sh builds it)")
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def wait_dead(pid: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.2)
    return False


def test_start_answer_stop(smollm2, tmp_path, binary):
    import openai

    with LlamaServer(smollm2, "smol", tmp_path / "server.log", binary=binary,
                     n_threads=THREADS) as srv:
        assert srv.base_url.startswith("http://127.0.0.1:")
        client = openai.OpenAI(base_url=srv.base_url, api_key="no-key")
        reply = client.chat.completions.create(
            model="smol", messages=[{"role": "user", "content": "Say hi"}], max_tokens=8,
            temperature=0)
        assert reply.usage.completion_tokens > 0
        pid = srv.proc.pid
    assert wait_dead(pid)


def test_server_outlives_the_thread_that_started_it(smollm2, tmp_path, binary):
    # local servers start lazily on a worker thread of a pool that ends before the stage does
    srv = LlamaServer(smollm2, "smol", tmp_path / "server.log", binary=binary, n_threads=THREADS)
    worker = threading.Thread(target=srv.start)
    worker.start()
    worker.join()
    try:
        time.sleep(1.0)
        assert srv.proc.poll() is None, srv.log_tail()
    finally:
        srv.stop()
    assert wait_dead(srv.proc.pid)


def test_bad_weights_fail_fast_with_log(tmp_path, binary):
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"not a gguf file")
    start = time.monotonic()
    with pytest.raises(LLMError, match="exited with code"):
        LlamaServer(bogus, "bogus", tmp_path / "server.log", binary=binary,
                    n_threads=THREADS).start()
    assert time.monotonic() - start < 60


CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from trouter.interrupts import make_interruptible
    from trouter.llm.server import LlamaServer, llama_server_binary
    make_interruptible()  # as every entry point does (trouter.cli.common)
    binary = Path(sys.argv[3]) if sys.argv[3] else None
    with LlamaServer(Path(sys.argv[1]), "smol", Path(sys.argv[2]), binary=binary,
                     n_threads=1) as srv:
        print(srv.proc.pid, flush=True)
        time.sleep(600)
""")


def ignore_sigint():
    # the worst case a child can inherit: a runner started as a background job of a
    # non-interactive shell passes SIGINT on *ignored* (how this test once failed)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_no_orphan_when_parent_is_interrupted_or_killed(smollm2, tmp_path, sig, binary):
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(smollm2), str(tmp_path / "s.log"),
                              str(binary or "")],
                             stdout=subprocess.PIPE, text=True, preexec_fn=ignore_sigint)
    try:
        server_pid = int(child.stdout.readline())
        assert alive(server_pid)
        child.send_signal(sig)
        child.wait(timeout=30)
        assert wait_dead(server_pid), f"server {server_pid} outlived its parent ({sig!r})"
    finally:
        child.kill()


def test_llama_server_slots_answer_at_once_with_schema(smollm2, tmp_path):
    """llama-server decodes its slots together and keeps the JSON-schema constraint."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    import openai

    from trouter.llm.client import structured_kwargs

    found = llama_server_binary()
    if found is None:
        pytest.skip("no llama-server binary (scripts/setup.sh builds it)")
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    with LlamaServer(smollm2, "smol", tmp_path / "server.log", binary=found, parallel=4,
                     n_threads=THREADS) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="no-key")

        def ask(i):
            return client.chat.completions.create(
                model="smol", max_tokens=24, temperature=0, seed=i,
                messages=[{"role": "user", "content": f"Give a JSON object with n = {i}."}],
                **structured_kwargs("llama_cpp", schema))

        with ThreadPoolExecutor(4) as pool:
            replies = list(pool.map(ask, range(4)))
    for r in replies:
        assert isinstance(json.loads(r.choices[0].message.content)["n"], int)
    log = srv.log_path.read_text()
    # four slots, and the four requests were taken by different slots
    assert "n_slots = 4" in log
    assert len(set(re.findall(r"slot launch_slot_: id +(\d+)", log))) == 4


def test_llama_server_is_built_and_picked_for_the_cpu(tmp_path, monkeypatch):
    avx2_cpu = {"avx", "avx2", "fma", "f16c"}
    variant, flags = server.build_variant(avx2_cpu)
    assert variant == "avx2" and "GGML_NATIVE=OFF" in flags
    assert not any("AVX512" in f or "AMX" in f for f in flags)
    full = avx2_cpu | server.AVX512_CPU | {"amx_int8", "amx_tile"}
    variant, flags = server.build_variant(full)
    assert variant == "avx512" and "GGML_AVX512_VNNI=ON" in flags
    assert not any("AMX" in f or "NATIVE=ON" in f for f in flags)  # AMX kernels crash here
    assert server.build_variant(full - {"avx512_bf16"})[0] == "avx2"  # every set, or none
    # the cache may hold builds for other CPUs: only this CPU's is picked
    monkeypatch.delenv("TROUTER_LLAMA_SERVER", raising=False)
    monkeypatch.setenv("TROUTER_CACHE", str(tmp_path))
    (tmp_path / "bin").mkdir()
    built = tmp_path / "bin" / f"llama-server-{server.LLAMA_VERSION}-avx512"
    built.write_text("")
    monkeypatch.setattr(server, "cpu_flags", lambda: avx2_cpu)
    assert server.llama_server_binary() is None
    monkeypatch.setattr(server, "cpu_flags", lambda: full)
    assert server.llama_server_binary() == built
