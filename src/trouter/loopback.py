"""An OpenAI-compatible chat server on loopback for benchmarks and dry runs: configurable latency,
token rate, concurrency limit and error rates; replies are cheap, deterministic functions of the
request (trouter.loopback_replies).

    python -m trouter.loopback --port 8011 --latency 0.2 --concurrency 64 [--tokens-per-s 0]
        [--error-5xx 0.0] [--error-429 0.0] [--seed 0] [--shape 10,103,447]

A request beyond the concurrency limit waits for a free slot (as a real server queues it)."""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from trouter.loopback_replies import Replies


class QuietServer(ThreadingHTTPServer):
    """A client that hung up (a killed job) ends its connection, not with a traceback."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Loopback:
    """The server; a context manager that serves on a thread of this process."""

    def __init__(self, port: int = 0, *, latency_s: float = 0.2, tokens_per_s: float = 0.0,
                 concurrency: int = 64, error_5xx: float = 0.0, error_429: float = 0.0,
                 seed: int = 0, shape: tuple[int, int, int] | None = None):
        self.replies = Replies(shape)
        self.latency_s, self.tokens_per_s = latency_s, tokens_per_s
        self.error_5xx, self.error_429 = error_5xx, error_429
        self.slots = threading.BoundedSemaphore(concurrency)
        self.rng, self.lock = random.Random(seed), threading.Lock()
        self.served = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
            disable_nagle_algorithm = True  # headers and body not held back by delayed ACKs

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._send(200, {"object": "list", "data": [{"id": "loopback"}]})

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)) or 0)
                status, payload = server.answer(json.loads(body or b"{}"))
                self._send(status, payload)

            def _send(self, status: int, payload: dict):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                if status == 429:
                    self.send_header("retry-after", "0.05")
                self.end_headers()
                self.wfile.write(data)

        self.httpd = QuietServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.request_queue_size = 1024

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def answer(self, request: dict) -> tuple[int, dict]:
        with self.lock:
            x = self.rng.random()
        if x < self.error_5xx:
            return 503, {"error": {"message": "loopback 503"}}
        if x < self.error_5xx + self.error_429:
            return 429, {"error": {"message": "loopback 429"}}
        text = self.replies(request)
        completion = max(1, len(text) // 4)
        prompt = sum(len(str(m.get("content", ""))) for m in request.get("messages", [])) // 4
        with self.slots:
            wait = self.latency_s + (completion / self.tokens_per_s if self.tokens_per_s else 0)
            time.sleep(wait)
        with self.lock:
            self.served += 1
        return 200, {"id": "loopback", "object": "chat.completion", "created": 0,
                     "model": request.get("model", "loopback"),
                     "choices": [{"index": 0, "finish_reason": "stop",
                                  "message": {"role": "assistant", "content": text}}],
                     "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                               "total_tokens": prompt + completion}}

    def __enter__(self) -> Loopback:
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def shape_arg(text: str) -> tuple[int, int, int]:
    try:
        shape = tuple(int(x) for x in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or not 0 < shape[0] <= shape[1] <= shape[2]:
        raise argparse.ArgumentTypeError(
            f"--shape {text!r}: expected domains,subcategories,difficulty nodes (increasing)")
    return shape


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--tokens-per-s", type=float, default=0.0)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--error-5xx", type=float, default=0.0)
    ap.add_argument("--error-429", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shape", type=shape_arg, default=None,
                    help="taxonomy size: domains,subcategories,difficulty nodes")
    a = ap.parse_args()
    with Loopback(a.port, latency_s=a.latency, tokens_per_s=a.tokens_per_s,
                  concurrency=a.concurrency, error_5xx=a.error_5xx, error_429=a.error_429,
                  seed=a.seed, shape=a.shape) as srv:
        print(srv.base_url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
