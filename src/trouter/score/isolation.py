"""Which protections this machine offers generated code, probed once: namespaces (util-linux
`unshare`: PID, network, and a mount namespace with every filesystem read-only but a private /tmp
and /dev/shm, home folders hidden), a separate unprivileged user (`setpriv` to nobody; needs root)
or without root a user namespace, either way with no capabilities and no_new_privs."""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from trouter.errors import ConfigError

NOBODY = 65534

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
                                  env=child_env(), stdin=subprocess.DEVNULL)
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


def child_env() -> dict:
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
