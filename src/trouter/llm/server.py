"""A llama.cpp server per local model on a free 127.0.0.1 port, started and always stopped by us.

Two servers speak the same OpenAI-compatible API: llama.cpp's own `llama-server` (continuous
batching over `parallel` slots; built by scripts/setup.sh from the source inside the
llama-cpp-python sdist) and `python -m llama_cpp.server` (one request at a time)."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from trouter.errors import LLMError

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: get SIGKILL when the parent dies, so a killed pipeline leaves no orphan.

    Linux sends it when the *thread* that forked the child exits, so servers are forked by a
    keeper thread that lives as long as the server (see LlamaServer.start)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVERS = ("auto", "llama_server", "llama_cpp_python")
# The llama-cpp-python sdist whose llama.cpp source scripts/setup.sh builds `llama-server` from.
LLAMA_VERSION = "0.3.36"
# CMake flags: safe on any AVX2 CPU, never -march=native (its AMX kernels crash on this project's
# machines); AVX-512 with VNNI, VBMI and BF16 added where the CPU has every instruction set those
# flags compile for (1.5B: about 1.2x generation at 4 slots, 1.2-1.7x prompt; README, "Measured").
AVX2_BUILD = ("GGML_NATIVE=OFF", "GGML_AVX=ON", "GGML_AVX2=ON", "GGML_FMA=ON", "GGML_F16C=ON")
AVX512_BUILD = ("GGML_AVX512=ON", "GGML_AVX512_VNNI=ON", "GGML_AVX512_VBMI=ON",
                "GGML_AVX512_BF16=ON", "GGML_AVX_VNNI=ON")
AVX512_CPU = frozenset({"avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw", "avx512vbmi",
                        "avx512_vnni", "avx512_bf16", "avx_vnni"})


def cpu_flags() -> set[str]:
    """The instruction sets /proc/cpuinfo lists (empty where it cannot be read)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def build_variant(flags: set[str] | None = None) -> tuple[str, list[str]]:
    """('avx512' or 'avx2', its CMake flags) for a CPU with these instruction sets (default:
    this machine's)."""
    flags = cpu_flags() if flags is None else flags
    if flags >= AVX512_CPU:
        return "avx512", [*AVX2_BUILD, *AVX512_BUILD]
    return "avx2", list(AVX2_BUILD)


def llama_server_binary() -> Path | None:
    """The built `llama-server`: $TROUTER_LLAMA_SERVER, else the one scripts/setup.sh caches for
    this CPU (a build for another CPU in the same cache is never picked)."""
    if env := os.environ.get("TROUTER_LLAMA_SERVER"):
        return Path(env)
    cache = Path(os.environ.get("TROUTER_CACHE") or Path.home() / ".cache" / "trouter")
    path = cache / "bin" / f"llama-server-{LLAMA_VERSION}-{build_variant()[0]}"
    return path if path.is_file() else None


def pick_server(choice: str) -> Path | None:
    """The llama-server binary to run, or None for llama_cpp.server."""
    if choice not in SERVERS:
        raise LLMError(f"llm.server={choice!r}: expected one of {SERVERS}")
    binary = None if choice == "llama_cpp_python" else llama_server_binary()
    if choice == "llama_server" and (binary is None or not os.access(binary, os.X_OK)):
        raise LLMError("llm.server=llama_server: no llama-server binary (run scripts/setup.sh, "
                       "or set TROUTER_LLAMA_SERVER)")
    return binary if binary is not None and os.access(binary, os.X_OK) else None


class LlamaServer:
    """Context manager around `llama-server` (when `binary` is given) or llama_cpp.server."""

    def __init__(self, model_path: Path, alias: str, log_path: Path, *, n_ctx: int = 4096,
                 n_threads: int = 2, startup_timeout_s: float = 180.0, extra_args=(),
                 binary: Path | None = None, parallel: int = 1):
        self.model_path = Path(model_path)
        self.alias = alias
        self.log_path = Path(log_path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.binary = binary
        self.parallel = parallel if binary else 1
        self.startup_timeout_s = startup_timeout_s
        self.extra_args = [str(a) for a in extra_args]
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self._released = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        if self.binary:
            # each of the `parallel` slots gets n_ctx tokens of context
            return [str(self.binary), "--model", str(self.model_path), "--alias", self.alias,
                    "--host", "127.0.0.1", "--port", str(self.port),
                    "--ctx-size", str(self.n_ctx * self.parallel), "--parallel",
                    str(self.parallel), "--threads", str(self.n_threads), "--no-webui",
                    *self.extra_args]
        return [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model_path),
                "--model_alias", self.alias, "--host", "127.0.0.1", "--port", str(self.port),
                "--n_ctx", str(self.n_ctx), "--n_threads", str(self.n_threads), *self.extra_args]

    def _spawn_and_hold(self, spawned: threading.Event, errors: list) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         preexec_fn=_die_with_parent)
        except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
            errors.append(exc)
        finally:
            log.close()
            spawned.set()
        self._released.wait()

    def start(self) -> LlamaServer:
        self.port = free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        spawned, errors = threading.Event(), []
        threading.Thread(target=self._spawn_and_hold, args=(spawned, errors),
                         name=f"keeper-{self.alias}", daemon=True).start()
        spawned.wait()
        if errors:
            self._released.set()
            raise errors[0]
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        url = f"{self.base_url}/models"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LLMError(f"llama.cpp server for {self.alias} exited with code "
                               f"{self.proc.returncode} at start; last log lines:\n"
                               f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        raise LLMError(f"llama.cpp server for {self.alias} did not answer {url} within "
                       f"{self.startup_timeout_s:.0f}s; last log lines:\n{self.log_tail()}")

    def log_tail(self, n: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self, grace_s: float = 2.0) -> None:
        try:
            if self.proc is None or self.proc.poll() is not None:
                return
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass
        finally:
            self._released.set()

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main() -> None:
    """`python -m trouter.llm.server build [avx2]`: the llama.cpp version, the build variant for
    this machine (or the portable AVX2 one) and its CMake flags, for scripts/setup.sh."""
    args = sys.argv[1:]
    if args not in (["build"], ["build", "avx2"]):
        sys.exit("usage: python -m trouter.llm.server build [avx2]")
    variant, flags = build_variant(set() if args[1:] else None)
    print(LLAMA_VERSION, variant, " ".join(f"-D{f}" for f in flags))


if __name__ == "__main__":
    main()
