"""Open every model a stage needs: fetch weights, start local servers, build one client per role."""

from __future__ import annotations

import threading
from contextlib import ExitStack, closing
from dataclasses import replace
from pathlib import Path

from trouter.errors import LLMError
from trouter.io import JsonlAppender
from trouter.llm.cache import RequestCache
from trouter.llm.cards import ModelCard
from trouter.llm.client import LLMClient
from trouter.llm.faults import DEFAULT_RETRY, RetryPolicy
from trouter.llm.server import LlamaServer, pick_server
from trouter.llm.weights import ensure_weights


class LLMSession:
    """Context manager: `with LLMSession(roles, ...) as s: s.clients["generator"].chat(...)`.

    Local models get one llama.cpp server each, shared by every role that uses them, started on
    the first call that the cache cannot answer (a fully cached rerun starts none) and stopped on
    exit, on error and on Ctrl-C.
    """

    def __init__(self, roles: dict[str, ModelCard], *, cache_dir: Path, models_dir: Path,
                 out_dir: Path, retry: RetryPolicy = DEFAULT_RETRY, server_threads: int = 2,
                 server: str = "auto"):
        self.binary = pick_server(server) if any(c.is_local for c in roles.values()) else None
        # a local model served by llama-server takes as many requests at once as it has slots
        self.roles = {role: self._with_slots(card) for role, card in roles.items()}
        self.cache_dir = Path(cache_dir)
        self.models_dir = Path(models_dir)
        self.out_dir = Path(out_dir)
        self.retry = retry
        self.server_threads = server_threads
        self.clients: dict[str, LLMClient] = {}
        self.servers_started: list[str] = []
        self._servers_by_key: dict[str, LlamaServer] = {}
        self._lock = threading.Lock()
        self._files = ExitStack()
        self._servers = ExitStack()

    def _with_slots(self, card: ModelCard) -> ModelCard:
        if not card.is_local:
            return card
        slots = int(card.local.get("parallel") or 1) if self.binary else 1
        return replace(card, max_concurrency=slots)

    def __enter__(self) -> LLMSession:
        try:
            cache = self._files.enter_context(closing(RequestCache(self.cache_dir)))
            records = self._files.enter_context(
                closing(JsonlAppender(self.out_dir / "calls.jsonl")))
            for role, card in self.roles.items():
                endpoint = self._endpoint(card) if card.is_local else card.base_url
                self.clients[role] = LLMClient(card, cache, records, base_url=endpoint,
                                               retry=self.retry, role=role)
        except BaseException:
            self._files.close()
            raise
        return self

    def _endpoint(self, card: ModelCard):
        def url() -> str:
            with self._lock:
                if card.key not in self._servers_by_key:
                    self._start_server(card)
                server = self._servers_by_key[card.key]
            if server.proc.poll() is not None:
                raise LLMError(f"llama.cpp server for {card.key} died (exit code "
                               f"{server.proc.returncode}); last log lines:\n{server.log_tail()}")
            return server.base_url

        return url

    def _start_server(self, card: ModelCard) -> None:
        local = card.local
        path = ensure_weights(local["weights"], self.models_dir, where=f"{card.key}.local.weights")
        server = LlamaServer(path, card.model_id, self.out_dir / "servers" / f"{card.key}.log",
                             n_ctx=int(local.get("n_ctx", 4096)),
                             n_threads=int(local.get("n_threads") or self.server_threads),
                             startup_timeout_s=float(local.get("startup_timeout_s", 180)),
                             extra_args=local.get("extra_args") or (), binary=self.binary,
                             parallel=card.max_concurrency)
        self._servers.enter_context(server)
        self._servers_by_key[card.key] = server
        self.servers_started.append(card.key)

    def stats(self) -> dict[str, dict]:
        return {role: dict(c.stats) for role, c in self.clients.items()}

    def __exit__(self, *exc) -> None:
        # clients first, so no call retries against a server that is going away
        for client in self.clients.values():
            client.close()
        try:
            self._servers.close()
        finally:
            self._files.close()
