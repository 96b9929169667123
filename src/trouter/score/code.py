"""HumanEval pass@1: the candidate's code runs against the tests in a separate, limited process."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass

FENCE = re.compile(r"```[ \t]*(?:python|py|Python)?[ \t]*\n(.*?)(?:```|$)", re.S)

# Runs first in the child: resource limits, then no process, file-removal or network helpers.
# The program runs as module `__candidate__` (a `__main__` block neither runs nor fails), and
# only a program that returns from its last line (check(entry_point)) gets the sentinel, read
# from stdin, written after it: sys.exit(0), os._exit(0) or exec never pass.
LAUNCHER = """
import builtins, os, resource, shutil, socket, subprocess, sys
mem, cpu = int(sys.argv[2]), int(sys.argv[3])
sentinel = ("\\n" + sys.stdin.readline().strip() + "\\n").encode()
write = os.write
resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
source = open(sys.argv[1]).read()
def refused(*a, **k):
    raise PermissionError("not allowed in the HumanEval sandbox")
for mod, names in ((os, "kill killpg system popen fork forkpty remove unlink rmdir removedirs "
                       "rename replace chmod chown truncate putenv"),
                   (shutil, "rmtree move copy copyfile chown"),
                   (subprocess, "Popen run call check_call check_output"),
                   (socket, "socket create_connection")):
    for name in names.split():
        if hasattr(mod, name):
            setattr(mod, name, refused)
exec(compile(source, "candidate.py", "exec"), {"__name__": "__candidate__"})
write(1, sentinel)
"""


@dataclass(frozen=True)
class Sandbox:
    timeout_s: float = 10.0
    memory_mb: int = 1024


def extract_code(response: str, entry_point: str) -> str:
    """The fenced block that defines `entry_point`, else the first block, else the whole reply."""
    blocks = FENCE.findall(response)
    for block in blocks:
        if re.search(rf"def\s+{re.escape(entry_point)}\s*\(", block):
            return block
    return blocks[0] if blocks else response


def build_program(prompt: str, response: str, test: str, entry_point: str) -> str:
    """Prompt (imports, signature, docstring) + the completion + tests + check(entry_point).

    A completion that defines the function again replaces the prompt's; one that does not is
    taken as the function's body, continuing the prompt."""
    code = extract_code(response, entry_point)
    if re.search(rf"def\s+{re.escape(entry_point)}\s*\(", code):
        body = f"{prompt}\n    pass\n\n{code}"
    else:
        body = prompt + code
    return f"{body}\n\n{test}\n\ncheck({entry_point})\n"


def run_program(program: str, sandbox: Sandbox) -> tuple[bool, str]:
    """Run in a fresh interpreter (own session, empty environment, temp cwd, limits).

    Returns (passed, detail): passed only when the harness wrote the sentinel after the last
    line and the process exited 0. Not a security boundary against hostile code: the child runs
    as the same user, though with its process, delete and network helpers removed."""
    sentinel = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="trouter-sandbox-") as tmp:
        path = os.path.join(tmp, "candidate.py")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(program)
        cmd = [sys.executable, "-I", "-B", "-c", LAUNCHER, path,
               str(sandbox.memory_mb << 20), str(int(sandbox.timeout_s) + 1)]
        proc = subprocess.Popen(cmd, cwd=tmp, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = proc.communicate(f"{sentinel}\n".encode(), timeout=sandbox.timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return False, f"timeout after {sandbox.timeout_s:g} s"
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    reached_end = sentinel in out.decode("utf-8", "replace").splitlines()
    if reached_end and proc.returncode == 0:
        return True, "passed"
    lines = err.decode("utf-8", "replace").strip().splitlines()
    if lines:
        return False, lines[-1][:200]
    return False, f"exit code {proc.returncode} before the end of the tests"


def score_humaneval(response: str, prompt: str, test: str, entry_point: str,
                    sandbox: Sandbox) -> tuple[float, str]:
    passed, detail = run_program(build_program(prompt, response, test, entry_point), sandbox)
    return (1.0 if passed else 0.0), detail
