"""Open every model a stage needs: fetch weights, start local servers, build one client per role."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from trouter.io import JsonlAppender
from trouter.llm.cache import RequestCache
from trouter.llm.cards import ModelCard
from trouter.llm.client import DEFAULT_RETRY, LLMClient, RetryPolicy
from trouter.llm.server import LlamaServer
from trouter.llm.weights import ensure_weights


class LLMSession:
    """Context manager: `with LLMSession(roles, ...) as s: s.clients["generator"].chat(...)`.

    Local models get one llama.cpp server each, shared by every role that uses them; all are
    stopped on exit, on error and on Ctrl-C.
    """

    def __init__(self, roles: dict[str, ModelCard], *, cache_path: Path, models_dir: Path,
                 out_dir: Path, retry: RetryPolicy = DEFAULT_RETRY, server_threads: int = 2):
        self.roles = roles
        self.cache_path = Path(cache_path)
        self.models_dir = Path(models_dir)
        self.out_dir = Path(out_dir)
        self.retry = retry
        self.server_threads = server_threads
        self.clients: dict[str, LLMClient] = {}
        self._stack = ExitStack()

    def __enter__(self) -> LLMSession:
        try:
            self._open()
        except BaseException:
            self._stack.close()
            raise
        return self

    def _open(self) -> None:
        cache = RequestCache(self.cache_path)
        self._stack.callback(cache.close)
        records = JsonlAppender(self.out_dir / "calls.jsonl")
        self._stack.callback(records.close)
        urls: dict[str, str] = {}
        for card in {c.key: c for c in self.roles.values()}.values():
            if card.is_local:
                urls[card.key] = self._start_server(card)
        for role, card in self.roles.items():
            client = LLMClient(card, cache, records, base_url=urls.get(card.key),
                               retry=self.retry, role=role)
            self.clients[role] = client
            # closed before the servers stop, so no call retries against a dead server
            self._stack.callback(client.close)

    def _start_server(self, card: ModelCard) -> str:
        local = card.local
        path = ensure_weights(local["weights"], self.models_dir, where=f"{card.key}.local.weights")
        server = LlamaServer(path, card.model_id, self.out_dir / "servers" / f"{card.key}.log",
                             n_ctx=int(local.get("n_ctx", 4096)),
                             n_threads=int(local.get("n_threads") or self.server_threads),
                             startup_timeout_s=float(local.get("startup_timeout_s", 180)),
                             extra_args=local.get("extra_args") or ())
        self._stack.enter_context(server)
        return server.base_url

    def stats(self) -> dict[str, dict]:
        return {role: dict(c.stats) for role, c in self.clients.items()}

    def __exit__(self, *exc) -> None:
        self._stack.close()
