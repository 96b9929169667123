"""A scripted OpenAI-compatible server on loopback: a test double for the client layer."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    content: str | None = "ok"
    headers: dict = field(default_factory=dict)
    delay_s: float = 0.0
    raw_body: bytes | None = None  # sent as is, instead of a chat completion


def completion(content: str, prompt_tokens: int = 10, completion_tokens: int = 5) -> dict:
    return {"id": "x", "object": "chat.completion", "created": 0, "model": "scripted",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


class ScriptedServer:
    """Serves queued replies in order, then `responder(request)` or `default` forever."""

    def __init__(self, replies=(), default: Reply | None = None, responder=None):
        self.replies = deque(replies)
        self.default = default
        self.responder = responder  # request dict -> Reply, used once the queue is empty
        self.requests: list[dict] = []
        self.paths: list[tuple[str, dict]] = []  # (path, headers) of each request
        self.times: list[float] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                server.requests.append(json.loads(self.rfile.read(length) or b"{}"))
                server.paths.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                server.times.append(time.monotonic())
                if server.replies:
                    reply = server.replies.popleft()
                elif server.responder is not None:
                    reply = server.responder(server.requests[-1])
                else:
                    reply = server.default
                if reply is None:
                    reply = Reply(500, None, raw_body=b'{"error": "script exhausted"}')
                time.sleep(reply.delay_s)
                body = reply.raw_body
                if body is None:
                    payload = (completion(reply.content) if reply.status == 200
                               else {"error": {"message": f"scripted {reply.status}"}})
                    body = json.dumps(payload).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(body)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        # a short poll: shutdown() waits for it, in every test that uses a server
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
