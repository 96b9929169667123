"""Chat calls through the `openai` package: retries, backoff, Retry-After, cache, cost records."""

from __future__ import annotations

import math
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tqdm import tqdm

from trouter.errors import ConfigError, LLMError
from trouter.io import JsonlAppender
from trouter.llm.cache import RequestCache, request_key
from trouter.llm.cards import ModelCard
from trouter.llm.faults import (
    DEFAULT_RETRY,
    MalformedReply,
    RetryPolicy,
    fault_kind,
    retry_after_seconds,
    usage_error,
)

if TYPE_CHECKING:
    import openai

SURROGATE = re.compile("[\ud800-\udfff]")
# Marks this process's lines in calls.jsonl (a folder's log keeps the lines of every run).
RUN_ID = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"


@dataclass
class ChatResult:
    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    cost: float
    cached: bool
    finish_reason: str | None = None
    usage_error: str | None = None  # the reply's token usage is missing or invalid: cost unknown


def request_body(model_id: str, messages: list[dict], params: dict, extra: dict) -> dict:
    """The JSON body that `chat.completions.create(model=, messages=, **params, **extra)` sends
    (its `extra_body` merged in last)."""
    params = dict(params)
    extra_body = params.pop("extra_body", None) or {}
    return {"model": model_id, "messages": messages, **params, **extra, **extra_body}


def structured_kwargs(mode: str, schema: dict | None) -> dict:
    """Request arguments that constrain the reply to `schema` on this kind of endpoint."""
    if schema is None or mode == "none":
        return {}
    if mode == "llama_cpp":
        return {"response_format": {"type": "json_object", "schema": schema}}
    return {"response_format": {"type": "json_schema",
                                "json_schema": {"name": "reply", "schema": schema}}}


class LLMClient:
    """Chat client for one model card; `role` labels the call records."""

    def __init__(self, card: ModelCard, cache: RequestCache, records: JsonlAppender | None = None,
                 *, base_url: str | Callable[[], str] | None = None,
                 retry: RetryPolicy = DEFAULT_RETRY, role: str = "",
                 sleep: Callable[[float], object] | None = None):
        self.card = card
        self.cache = cache
        self.records = records
        self.base_url = base_url or card.base_url
        if not self.base_url:
            raise ConfigError(f"model {card.key}: no endpoint (base_url) to call")
        self.retry = retry
        self.role = role
        self._closed = threading.Event()
        self.sleep = sleep or self._closed.wait  # backoff waits end early on close()
        self.stats = {"live_calls": 0, "cached_calls": 0, "failed_calls": 0, "retries": 0,
                      "prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0,
                      "usage_errors": 0, "faults": {}}
        self._lock = threading.Lock()
        self._client: openai.OpenAI | None = None
        self._target: tuple[str, str] | None = None

    def _api_key(self) -> str:
        env = self.card.api_key_env
        if not env:
            return "no-key"
        key = os.environ.get(env)
        if not key:
            raise ConfigError(f"model {self.card.key}: environment variable {env} is not set")
        return key

    def _openai(self, api_key: str) -> openai.OpenAI:
        """One client (thread-safe, pooled connections) per key and endpoint, remade if the key
        in the environment changed.

        `base_url` may be a callable: a local server is then started on the first live call.
        """
        import openai  # here, not at module level: most stages never call an LLM (~1 CPU-s)

        url = self.base_url() if callable(self.base_url) else self.base_url
        with self._lock:
            if self._target != (api_key, url):
                self._client = openai.OpenAI(base_url=url, api_key=api_key,
                                             timeout=self.card.timeout_s, max_retries=0)
                self._target = (api_key, url)
            return self._client

    def chat(self, messages: list[dict], *, schema: dict | None = None, seed: int | None = None,
             tag: str = "", overrides: dict | None = None) -> ChatResult:
        """One chat completion; `overrides` replace the card's generation parameters."""
        params = {**self.card.generation, **(overrides or {})}
        if seed is not None:
            params["seed"] = seed
        extra = structured_kwargs(self.card.structured_output, schema)
        key = request_key(self.card.identity, messages, {**params, **extra})
        hit = self.cache.get(key)
        if hit is not None:
            result = self._costed(hit["text"], hit["prompt_tokens"], hit["completion_tokens"],
                                  hit["latency_s"], hit.get("finish_reason"), cached=True)
            self._record(key, tag, result)
            return result
        result, raw = self._call_with_retries(key, tag, messages, params, extra)
        self.cache.put(key, raw)  # as received: a reply without usage stays flagged on replay
        return result

    def _costed(self, text, pt, ct, latency, finish, cached: bool) -> ChatResult:
        """A result priced from its token counts; NaN cost (and the reason) when they are bad.
        Text that cannot be written as UTF-8 (lone surrogates) reaches the stages as U+FFFD."""
        text = SURROGATE.sub("\ufffd", text)
        problem = usage_error(pt, ct)
        if problem:
            return ChatResult(text, 0, 0, latency, math.nan, cached, finish, problem)
        return ChatResult(text, pt, ct, latency, self.card.price.cost(pt, ct), cached, finish)

    def _call_with_retries(self, key, tag, messages, params, extra) -> tuple[ChatResult, dict]:
        from openai.types.chat import ChatCompletion

        attempt = 0
        while True:
            if self._closed.is_set():
                raise LLMError(f"model {self.card.key}: client closed, call abandoned")
            api_key = self._api_key()
            try:
                client = self._openai(api_key)  # may start a local server: not latency
                start = time.monotonic()
                # The typed `create` walks every argument through the SDK's TypedDict transform,
                # the client's largest CPU cost at 64 calls at once; for our plain JSON arguments
                # it is the identity, so the same body goes to the same endpoint (tested).
                resp = client.post("/chat/completions", cast_to=ChatCompletion,
                                   body=request_body(self.card.model_id, messages, params, extra),
                                   options={"security": {"bearer_auth": True}})
                return self._result(key, tag, resp, time.monotonic() - start, attempt)
            except Exception as exc:  # noqa: BLE001 - classified below
                fault = fault_kind(exc)
                final = fault is None or attempt >= self.retry.max_retries
                self._fault(key, tag, fault or type(exc).__name__, f"{type(exc).__name__}: {exc}",
                            attempt, final)
                if final:
                    raise LLMError(f"model {self.card.key}: call failed after {attempt} "
                                   f"retries: {type(exc).__name__}: {exc}") from exc
                wait = self.retry.delay(attempt, retry_after_seconds(exc))
                attempt += 1
                self.sleep(wait)

    def _result(self, key, tag, resp, latency, attempt) -> tuple[ChatResult, dict]:
        try:
            text = resp.choices[0].message.content
            finish = resp.choices[0].finish_reason
        except (AttributeError, IndexError, TypeError) as exc:
            raise MalformedReply("response has no choices[0].message") from exc
        if text is None:
            text = ""
        usage = getattr(resp, "usage", None)
        raw = {"text": text, "prompt_tokens": getattr(usage, "prompt_tokens", None),
               "completion_tokens": getattr(usage, "completion_tokens", None),
               "latency_s": latency, "finish_reason": finish}
        result = self._costed(text, raw["prompt_tokens"], raw["completion_tokens"], latency,
                              finish, cached=False)
        self._record(key, tag, result, attempt)
        return result, raw

    def _fault(self, key, tag, kind: str, error: str, attempt: int, final: bool) -> None:
        with self._lock:
            self.stats["faults"][kind] = self.stats["faults"].get(kind, 0) + 1
            self.stats["failed_calls" if final else "retries"] += 1
        self._write({"key": key[:16], "tag": tag, "attempt": attempt, "cached": False,
                     "error": error, "retried": not final})

    def _record(self, key, tag, result: ChatResult, attempt: int = 0) -> None:
        with self._lock:
            self.stats["cached_calls" if result.cached else "live_calls"] += 1
            self.stats["prompt_tokens"] += result.prompt_tokens
            self.stats["completion_tokens"] += result.completion_tokens
            if result.usage_error:
                self.stats["usage_errors"] += 1
            else:
                self.stats["cost"] += result.cost
        self._write({"key": key[:16], "tag": tag, "attempt": attempt, "cached": result.cached,
                     "error": None, "usage_error": result.usage_error,
                     "prompt_tokens": result.prompt_tokens,
                     "completion_tokens": result.completion_tokens,
                     "latency_s": round(result.latency_s, 4),
                     "cost": None if result.usage_error else result.cost})

    def _write(self, fields: dict) -> None:
        """One line of calls.jsonl, marked with this run (process) and the model's role."""
        if self.records is None:
            return
        row = {"time": time.time(), "run": RUN_ID, "role": self.role, "model": self.card.key,
               **fields, "currency": self.card.price.currency}
        with self._lock:
            self.records.write(row)

    def close(self) -> None:
        """Abandon calls in progress or queued (their retries stop); used on shutdown."""
        self._closed.set()

    def map(self, fn: Callable, items: Iterable, desc: str) -> list:
        """Apply `fn` to items with this model's concurrency, in order, with a progress bar."""
        items = list(items)
        pool = ThreadPoolExecutor(max_workers=self.card.max_concurrency)
        try:
            with tqdm(total=len(items), desc=desc, unit="item", mininterval=1.0) as bar:
                futures = [pool.submit(fn, it) for it in items]
                out = []
                for fut in futures:
                    out.append(fut.result())
                    bar.update(1)
        except BaseException:
            # Ctrl-C or a failed item: drop queued work instead of waiting for it.
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        return out
