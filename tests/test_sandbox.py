"""Escapes from the code sandbox, each of which must be stopped, in every isolation mode that
works on this machine (as root: a separate user in namespaces; also a user namespace)."""

import contextlib
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from trouter.errors import ConfigError
from trouter.score import isolation, sandbox
from trouter.score.isolation import Isolation, detect, require
from trouter.score.sandbox import Limits

LIMITS = Limits(timeout_s=5, memory_mb=512)
FAKE_KEY = "sk-fake-0123456789abcdef-trouter"


def modes() -> list[Isolation]:
    """The isolations that work here, strongest first (the default is the first)."""
    python = isolation._interpreter()[0]
    out = []
    for mode, prefix in isolation._candidates():
        seen = isolation._probe(prefix, python) if prefix else None
        if seen is not None:
            out.append(Isolation(mode, prefix, python, isolation._protections(seen)))
    return out


MODES = modes()
needs_isolation = pytest.mark.skipif(not MODES, reason="no namespaces on this machine")


@pytest.fixture(params=MODES, ids=[m.mode for m in MODES])
def iso(request) -> Isolation:
    return request.param


def run(program: str, iso: Isolation, limits: Limits = LIMITS) -> sandbox.Outcome:
    return sandbox.run(program, limits, iso)


@pytest.fixture
def outside() -> Path:
    """A folder anyone may write to, outside the program's own temporary folder."""
    folder = Path.cwd() / f".escape-{os.getpid()}"
    folder.mkdir(mode=0o777, exist_ok=True)
    folder.chmod(0o777)
    victim = folder / "victim.txt"
    victim.write_text("keep me")
    victim.chmod(0o666)
    yield folder
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()


def test_detected_isolation_keeps_keys_and_files():
    iso = detect()
    assert iso.mode == MODES[0].mode if MODES else iso.mode == "none"
    if MODES:
        assert iso.keeps_keys and iso.keeps_files, iso
        require(iso, allow_unprotected=False, where="humaneval")


def test_no_isolation_is_refused_unless_allowed():
    bare = Isolation("none", (), isolation._interpreter()[0], ("resource_limits",))
    with pytest.raises(ConfigError, match="labeling.sandbox.allow_unprotected=true"):
        require(bare, allow_unprotected=False, where="humaneval")
    require(bare, allow_unprotected=True, where="humaneval")
    # still runs (limits only) when allowed
    assert run("print('ok')", bare).passed


@needs_isolation
def test_keys_in_the_pipeline_environment_cannot_be_read(iso):
    # a process started with a key, as the pipeline is; the program reads every environ it can
    holder = subprocess.Popen(["sleep", "30"], env={**os.environ, "OPENAI_API_KEY": FAKE_KEY})
    try:
        out = run("import os, glob\n"
                  "print(dict(os.environ))\n"
                  "for p in glob.glob('/proc/*/environ'):\n"
                  "    try: print(p, open(p, 'rb').read())\n"
                  "    except OSError as e: print(p, e)\n"
                  f"print(open('/proc/{holder.pid}/environ', 'rb').read())\n", iso)
    finally:
        holder.kill()
        holder.wait()
    assert FAKE_KEY not in out.stdout + out.stderr
    assert not out.passed  # the holder's environ is not even there


@needs_isolation
def test_files_outside_cannot_be_written_or_removed(iso, outside):
    victim = outside / "victim.txt"
    out = run("import posix\n"
              f"open({str(outside / 'new.txt')!r}, 'w').write('x')\n", iso)
    assert not out.passed and not (outside / "new.txt").exists(), out.stderr
    out = run(f"import posix\nposix.unlink({str(victim)!r})\n", iso)
    assert not out.passed and victim.read_text() == "keep me", out.stderr
    # its own temporary folder works
    assert run("open('/tmp/mine.txt', 'w').write('x')\nprint(open('/tmp/mine.txt').read())",
               iso).passed


@needs_isolation
def test_no_network_even_on_loopback(iso):
    accepted = []
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(4)
        port = server.getsockname()[1]

        def accept():
            with contextlib.suppress(OSError):
                accepted.append(server.accept())

        t = threading.Thread(target=accept)
        t.start()
        out = run("import _socket\n"
                  "s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)\n"
                  "s.settimeout(2)\n"
                  f"s.connect(('127.0.0.1', {port}))\n", iso)
        t.join()
    assert not accepted and not out.passed, out.stderr


@needs_isolation
@pytest.mark.parametrize("how", ["ctypes", "posix_spawn"])
def test_started_commands_are_held_too(iso, outside, how):
    target = outside / f"{how}.txt"
    command = f"touch {target}; rm -f {outside / 'victim.txt'}"
    code = {"ctypes": f"import ctypes\nctypes.CDLL(None).system({command!r}.encode())\n",
            "posix_spawn": "import posix\n"
                           f"pid = posix.posix_spawn('/bin/sh', ['sh', '-c', {command!r}], {{}})\n"
                           "posix.waitpid(pid, 0)\n"}[how]
    out = run(code, iso)
    assert not target.exists() and (outside / "victim.txt").exists(), out.stderr


@needs_isolation
@pytest.mark.parametrize("escape", ["import sys; sys.exit(0)", "import os; os._exit(0)",
                                    "import os; os.execv('/bin/true', ['true'])",
                                    "import posix; posix.execv('/bin/true', ['true'])"])
def test_exit_code_alone_never_passes(iso, escape):
    out = run(f"{escape}\nprint('tests')\n", iso)
    assert not out.passed and not out.reached_end, out


def ps_with(token: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if token.encode() in cmd:
            found.append(pid)
    return found


@needs_isolation
def test_detached_child_dies_at_the_end_and_at_the_timeout(iso):
    token = f"trouter-detached-{os.getpid()}"
    spawn = ("import posix\n"
             "if posix.fork() == 0:\n"
             "    posix.setsid()\n"
             f"    posix.execv('/bin/sh', ['sh', '-c', 'sleep 300 # {token}'])\n")
    start = time.monotonic()
    out = run(spawn, iso)
    assert out.passed and time.monotonic() - start < 5
    assert ps_with(token) == []
    out = run(spawn + "while True: pass\n", iso, Limits(timeout_s=1, memory_mb=512))
    assert out.exit_code is None and ps_with(token) == []


@needs_isolation
def test_output_flood_is_capped(iso):
    out = run("import sys\nwhile True: sys.stdout.write('x' * 65536)\n", iso)
    assert not out.passed and out.truncated
    assert len(out.stdout) <= sandbox.OUTPUT_CAP + 1
    assert sandbox.describe(out, LIMITS) == f"output over {sandbox.OUTPUT_CAP} bytes, cut off"


@needs_isolation
def test_fork_bomb_and_memory_are_bounded(iso):
    if "separate_user" not in iso.protections and os.geteuid() == 0:
        pytest.skip("RLIMIT_NPROC does not bind root, whom a user namespace maps root to")
    bomb = ("import posix\n"
            "n = 0\n"
            "while True:\n"
            "    try:\n"
            "        if posix.fork() == 0:\n"
            "            while True: pass\n"
            "        n += 1\n"
            "    except OSError:\n"
            "        break\n"
            "print('forks', n)\n")
    start = time.monotonic()
    out = run(bomb, iso, Limits(timeout_s=3, memory_mb=512))
    assert time.monotonic() - start < 10
    forks = [int(line.split()[1]) for line in out.stdout.splitlines() if line.startswith("forks")]
    assert forks and forks[0] < sandbox.PROCESSES, out
    memory = run("x = bytearray(2 << 30)\n", iso)
    assert not memory.passed and "MemoryError" in memory.stderr


def test_long_detail_is_cut_and_says_so():
    out = sandbox.Outcome(False, 1, "", "E: " + "x" * 500, False)
    text = sandbox.describe(out, LIMITS)
    assert text.endswith("… (truncated)") and len(text) < 230
