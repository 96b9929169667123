"""Isolation for generated code: the protections this machine offers (probed once) and a run that
applies them.

Layers, each used when it works here:
- namespaces (util-linux `unshare`): a PID namespace (the pipeline's processes and their
  environment are out of sight; when the program ends or is killed, every process it started dies
  with the namespace), a network namespace (no interface up, loopback included) and a mount
  namespace in which every filesystem is read-only but a private /tmp and /dev/shm, and the home
  folders are hidden;
- a separate unprivileged user (`setpriv` to nobody; needs root), or without root a user namespace,
  either way with no capabilities and no_new_privs;
- resource limits set by the launcher: address space, CPU time, file size (which caps the
  output), processes.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from trouter.errors import ConfigError

NOBODY = 65534
OUTPUT_CAP = 1 << 20  # bytes of stdout / stderr a program may write (RLIMIT_FSIZE)
KEPT = 200  # characters of a failure kept for the record
PROCESSES = 64
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")  # kept out of the tables

# Runs in the namespaces as (namespace) root: private /tmp and /dev/shm, everything else
# read-only, home folders hidden (the interpreter moved back in place when it lives there).
MOUNTS = r"""
set -eu
prefix=$1 home=$2; shift 2
mount -n -t tmpfs -o size=64m,mode=1777 trouter-tmp /tmp
awk '{print $2}' /proc/self/mounts | sort -u | while read -r m; do
  case "$m" in /proc|/proc/*|/tmp) continue;; esac
  mount -n -o remount,bind,ro "$m" 2>/dev/null || [ "$m" != / ]
done
mount -n -t tmpfs -o size=16m,mode=1777 trouter-shm /dev/shm
for h in /root "$home"; do
  case "$h" in /?*) ;; *) continue;; esac
  [ -d "$h" ] && ! mountpoint -q "$h" || continue
  case "$prefix/" in
    "$h"/*)
      mkdir /tmp/.prefix
      mount -n --bind "$prefix" /tmp/.prefix
      mount -n -t tmpfs -o size=1m,mode=755 trouter-home "$h"
      mkdir -p "$prefix"
      mount -n --move /tmp/.prefix "$prefix"
      rmdir /tmp/.prefix
      mount -n -o remount,bind,ro "$prefix";;
    *) mount -n -t tmpfs -o size=1m,mode=755 trouter-home "$h";;
  esac
  mount -n -o remount,ro "$h"
done
cd /tmp
exec "$@"
"""

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

# Run inside the sandbox at start: what the program would see.
PROBE = r"""
import json, os, socket, sys
home, marker, parent, port = sys.argv[1:5]
s = socket.socket()
s.settimeout(2)
try:
    s.connect(("127.0.0.1", int(port)))
    reached = True
except OSError:
    reached = False
try:
    home_entries = os.listdir(home)
except OSError:
    home_entries = []
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
print(json.dumps({"uid": os.getuid(), "parent_visible": os.path.exists(f"/proc/{parent}"),
                  "loopback": reached, "root_read_only": bool(os.statvfs("/").f_flag & 1),
                  "tmp_shared": os.path.exists(marker), "home": home_entries,
                  "no_new_privs": status["NoNewPrivs"].strip() == "1",
                  "capabilities": int(status["CapEff"], 16)}))
"""

KEEP_KEYS = ("pid_namespace", "separate_user")
KEEP_FILES = ("read_only_filesystems", "separate_user")


@dataclass(frozen=True)
class Isolation:
    """How programs run here: the command before the interpreter and what it protects."""

    mode: str  # "namespaces+nobody", "namespaces+user_namespace" or "none"
    prefix: tuple[str, ...]
    python: str
    protections: tuple[str, ...]

    @property
    def keeps_keys(self) -> bool:
        """The pipeline's environment (API keys) cannot be read."""
        return any(p in self.protections for p in KEEP_KEYS)

    @property
    def keeps_files(self) -> bool:
        """Nothing outside the program's own temporary folder can be written or removed."""
        return ("read_only_filesystems" in self.protections
                or {"separate_user", "private_tmp"} <= set(self.protections))

    def summary(self) -> dict:
        return {"mode": self.mode, "protections": list(self.protections),
                "keeps_keys": self.keeps_keys, "keeps_files": self.keeps_files}


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


def _interpreter() -> tuple[str, str]:
    """The base interpreter (stdlib only, no virtual environment) and its prefix folder."""
    return os.path.realpath(sys.executable), os.path.realpath(sys.base_prefix)


def _candidates() -> list[tuple[str, tuple[str, ...]]]:
    unshare, setpriv = shutil.which("unshare"), shutil.which("setpriv")
    if not (unshare and setpriv):
        return [("none", ())]
    python, prefix = _interpreter()
    spaces = [unshare, "--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"]
    drop = ["--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]
    home = os.path.realpath(os.environ.get("HOME") or "/root")
    mounts = ["sh", "-c", MOUNTS, "sh", prefix, home]
    out = []
    if os.geteuid() == 0:
        out.append(("namespaces+nobody", (*spaces, *mounts, setpriv, f"--reuid={NOBODY}",
                                          f"--regid={NOBODY}", "--clear-groups", *drop)))
    out.append(("namespaces+user_namespace",
                (*spaces[:1], "--user", "--map-root-user", *spaces[1:], *mounts, setpriv,
                 *drop)))
    out.append(("none", ()))
    return out


def _probe(prefix: tuple[str, ...], python: str) -> dict | None:
    home = os.path.realpath(os.environ.get("HOME") or "/root")
    with tempfile.NamedTemporaryFile(prefix="trouter-probe-") as marker, \
            socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        cmd = [*prefix, python, "-I", "-S", "-c", PROBE, home, marker.name, str(os.getpid()),
               str(port)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                                  env=_child_env(), stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            return None
    if done.returncode != 0:
        return None
    seen = json.loads(done.stdout)
    try:
        own = set(os.listdir(home))
    except OSError:
        own = set()
    seen["home_hidden"] = not (own & set(seen["home"]) - {_first_part(home)})
    return seen


def _first_part(home: str) -> str:
    """The entry of `home` that leads to the interpreter, if it lives there."""
    prefix = _interpreter()[1]
    rest = os.path.relpath(prefix, home)
    return "" if rest.startswith("..") else rest.split(os.sep)[0]


def _protections(seen: dict) -> tuple[str, ...]:
    found = {"separate_user": seen["uid"] not in (0, os.getuid()),
             "pid_namespace": not seen["parent_visible"],
             "network_namespace": not seen["loopback"],
             "read_only_filesystems": seen["root_read_only"],
             "private_tmp": not seen["tmp_shared"],
             "hidden_home": seen["home_hidden"],
             "no_new_privs": seen["no_new_privs"],
             "no_capabilities": seen["capabilities"] == 0,
             "resource_limits": True}
    return tuple(name for name, on in found.items() if on)


@functools.cache
def detect() -> Isolation:
    """The strongest isolation that works on this machine (probed once per process)."""
    python = _interpreter()[0]
    for mode, prefix in _candidates():
        if mode == "none":
            return Isolation(mode, (), python, ("resource_limits",))
        seen = _probe(prefix, python)
        if seen is not None:
            return Isolation(mode, prefix, python, _protections(seen))
    raise AssertionError("unreachable: 'none' is always a candidate")


def require(isolation: Isolation, allow_unprotected: bool, where: str) -> None:
    """Refuse to run generated code when keys or files would be exposed, unless allowed."""
    if (isolation.keeps_keys and isolation.keeps_files) or allow_unprotected:
        return
    raise ConfigError(
        f"{where}: generated code cannot be isolated on this machine (protections available: "
        f"{', '.join(isolation.protections)}; needs a PID namespace or a separate user to keep "
        f"API keys, and read-only filesystems or a separate user to keep files). Install "
        f"util-linux's unshare/setpriv, allow user namespaces, or set "
        f"labeling.sandbox.allow_unprotected=true to run it anyway")


def _child_env() -> dict:
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


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
        proc = subprocess.Popen(cmd, cwd=tempfile.gettempdir(), env=_child_env(), stdin=stdin,
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
