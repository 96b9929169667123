"""Running generated code: a fresh interpreter under the machine's isolation (see
trouter.score.isolation) with resource limits set by the launcher (address space, CPU time, file
size, which caps the output, and processes); a pass only when the program reaches its end."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from trouter.score.isolation import Isolation, child_env, detect

OUTPUT_CAP = 1 << 20  # bytes of stdout / stderr a program may write (RLIMIT_FSIZE)
KEPT = 200  # characters of a failure kept for the record
PROCESSES = 64
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")  # kept out of the tables

# The interpreter's first code: limits, then the program read from stdin (its first line is the
# sentinel), run as module `__candidate__`; the sentinel is written only after its last line.
LAUNCHER = r"""
import os, resource, shutil, socket, subprocess, sys
mem, cpu, fsize, nproc = map(int, sys.argv[1:5])
sentinel, _, source = sys.stdin.buffer.read().decode("utf-8").partition("\n")
sys.stdin.close()
for limit, value in ((resource.RLIMIT_AS, mem), (resource.RLIMIT_CPU, cpu),
                     (resource.RLIMIT_FSIZE, fsize), (resource.RLIMIT_CORE, 0),
                     (resource.RLIMIT_NPROC, nproc)):
    resource.setrlimit(limit, (value, value))
def refused(*a, **k):
    raise PermissionError("not allowed in the sandbox")
for mod, names in ((os, "kill killpg system popen fork forkpty remove unlink rmdir removedirs "
                       "rename replace chmod chown truncate putenv"),
                   (shutil, "rmtree move copy copyfile chown"),
                   (subprocess, "Popen run call check_call check_output"),
                   (socket, "socket create_connection")):
    for name in names.split():
        if hasattr(mod, name):
            setattr(mod, name, refused)
exec(compile(source, "candidate.py", "exec"), {"__name__": "__candidate__"})
sys.stdout.flush()
os.write(1, ("\n" + sentinel + "\n").encode())
"""

@dataclass(frozen=True)
class Limits:
    timeout_s: float = 10.0
    memory_mb: int = 1024


@dataclass(frozen=True)
class Outcome:
    reached_end: bool  # the sentinel was written after the program's last line
    exit_code: int | None  # None: killed at the timeout
    stdout: str
    stderr: str
    truncated: bool  # an output reached OUTPUT_CAP and was cut off

    @property
    def passed(self) -> bool:
        return self.reached_end and self.exit_code == 0


def _read_capped(fh) -> tuple[str, bool]:
    fh.seek(0)
    data = fh.read(OUTPUT_CAP + 1)
    return data.decode("utf-8", "replace"), len(data) >= OUTPUT_CAP


def run(program: str, limits: Limits, isolation: Isolation | None = None) -> Outcome:
    """Run `program` in a fresh interpreter under `isolation` (default: detected) with limits.

    At the timeout the whole process tree is killed: with a PID namespace every process the
    program started (detached ones too) dies with it."""
    iso = isolation or detect()
    sentinel = os.urandom(16).hex()
    cmd = [*iso.prefix, iso.python, "-I", "-S", "-c", LAUNCHER, str(limits.memory_mb << 20),
           str(int(limits.timeout_s) + 1), str(OUTPUT_CAP), str(PROCESSES)]
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as out, \
            tempfile.TemporaryFile() as err:
        stdin.write(f"{sentinel}\n{program}".encode("utf-8", "surrogatepass"))
        stdin.seek(0)
        proc = subprocess.Popen(cmd, cwd=tempfile.gettempdir(), env=child_env(), stdin=stdin,
                                stdout=out, stderr=err, start_new_session=True)
        try:
            code: int | None = proc.wait(timeout=limits.timeout_s)
        except subprocess.TimeoutExpired:
            code = None
        except BaseException:
            _kill(proc, bool(iso.prefix))
            raise
        _kill(proc, bool(iso.prefix))
        stdout, cut_out = _read_capped(out)
        stderr, cut_err = _read_capped(err)
    return Outcome(sentinel in stdout.splitlines(), code, stdout, stderr, cut_out or cut_err)


def _kill(proc: subprocess.Popen, namespaced: bool) -> None:
    """Kill the program and everything it started. In namespaces, its init process first: the
    kernel takes every process of the namespace with it, and unshare returns only after that."""
    if namespaced:
        for pid in _children(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def describe(outcome: Outcome, limits: Limits) -> str:
    """Why a program passed or failed, short enough for a table cell, marked when cut."""
    if outcome.passed:
        return "passed"
    if outcome.exit_code is None:
        return f"timeout after {limits.timeout_s:g} s"
    lines = outcome.stderr.strip().splitlines()
    if outcome.truncated:
        text = f"output over {OUTPUT_CAP} bytes, cut off"
    elif lines:
        text = lines[-1]
    elif outcome.reached_end:
        text = f"exit code {outcome.exit_code} after the end of the tests"
    else:
        text = f"exit code {outcome.exit_code} before the end of the tests"
    text = CONTROL.sub("\ufffd", text)
    return text if len(text) <= KEPT else text[:KEPT] + " … (truncated)"
