"""Chat calls through the `openai` package: retries, backoff, Retry-After, cache, cost records."""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import openai
from tqdm import tqdm

from trouter.errors import ConfigError, LLMError
from trouter.io import JsonlAppender
from trouter.llm.cache import RequestCache, request_key
from trouter.llm.cards import ModelCard

RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay_s)
        backoff = self.base_delay_s * 2**attempt
        return min(backoff * (0.5 + random.random() / 2), self.max_delay_s)


DEFAULT_RETRY = RetryPolicy()


@dataclass
class ChatResult:
    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    cost: float
    cached: bool
    finish_reason: str | None = None


def retry_after_seconds(exc: Exception) -> float | None:
    """Seconds from a Retry-After / retry-after-ms header, if the server sent one."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
    if ms := headers.get("retry-after-ms"):
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    if value := headers.get("retry-after"):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRYABLE_STATUS
    return isinstance(exc, (openai.APIConnectionError, openai.APITimeoutError))


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
                      "prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0}
        self._lock = threading.Lock()
        self._local = threading.local()

    def _api_key(self) -> str:
        env = self.card.api_key_env
        if not env:
            return "no-key"
        key = os.environ.get(env)
        if not key:
            raise ConfigError(f"model {self.card.key}: environment variable {env} is not set")
        return key

    def _openai(self, api_key: str) -> openai.OpenAI:
        """One client per thread, remade if the key in the environment changed.

        `base_url` may be a callable: a local server is then started on the first live call.
        """
        url = self.base_url() if callable(self.base_url) else self.base_url
        if getattr(self._local, "target", None) != (api_key, url):
            self._local.client = openai.OpenAI(base_url=url, api_key=api_key,
                                               timeout=self.card.timeout_s, max_retries=0)
            self._local.target = (api_key, url)
        return self._local.client

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
            result = ChatResult(hit["text"], hit["prompt_tokens"], hit["completion_tokens"],
                                hit["latency_s"], self._cost(hit), cached=True,
                                finish_reason=hit.get("finish_reason"))
            self._record(key, tag, result, None)
            return result
        result = self._call_with_retries(key, tag, messages, params, extra)
        self.cache.put(key, {"text": result.text, "prompt_tokens": result.prompt_tokens,
                             "completion_tokens": result.completion_tokens,
                             "latency_s": result.latency_s, "finish_reason": result.finish_reason})
        return result

    def _cost(self, usage: dict) -> float:
        return self.card.price.cost(usage["prompt_tokens"], usage["completion_tokens"])

    def _call_with_retries(self, key, tag, messages, params, extra) -> ChatResult:
        attempt = 0
        while True:
            if self._closed.is_set():
                raise LLMError(f"model {self.card.key}: client closed, call abandoned")
            api_key = self._api_key()
            try:
                client = self._openai(api_key)  # may start a local server: not latency
                start = time.monotonic()
                resp = client.chat.completions.create(
                    model=self.card.model_id, messages=messages, **params, **extra)
            except Exception as exc:  # noqa: BLE001 - classified below
                if not _retryable(exc) or attempt >= self.retry.max_retries:
                    self._record(key, tag, None, f"{type(exc).__name__}: {exc}")
                    raise LLMError(f"model {self.card.key}: call failed after {attempt} "
                                   f"retries: {type(exc).__name__}: {exc}") from exc
                wait = self.retry.delay(attempt, retry_after_seconds(exc))
                with self._lock:
                    self.stats["retries"] += 1
                attempt += 1
                self.sleep(wait)
                continue
            latency = time.monotonic() - start
            return self._result(key, tag, resp, latency)

    def _result(self, key, tag, resp, latency) -> ChatResult:
        try:
            text = resp.choices[0].message.content
            finish = resp.choices[0].finish_reason
        except (AttributeError, IndexError, TypeError) as exc:
            self._record(key, tag, None, "malformed response body")
            raise LLMError(f"model {self.card.key}: response has no choices[0].message") from exc
        if text is None:
            text = ""
        usage = getattr(resp, "usage", None)
        pt = int(getattr(usage, "prompt_tokens", 0) or 0)
        ct = int(getattr(usage, "completion_tokens", 0) or 0)
        result = ChatResult(text, pt, ct, latency, self.card.price.cost(pt, ct), cached=False,
                            finish_reason=finish)
        self._record(key, tag, result, None)
        return result

    def _record(self, key, tag, result: ChatResult | None, error: str | None) -> None:
        with self._lock:
            if result is None:
                self.stats["failed_calls"] += 1
            else:
                self.stats["cached_calls" if result.cached else "live_calls"] += 1
                self.stats["prompt_tokens"] += result.prompt_tokens
                self.stats["completion_tokens"] += result.completion_tokens
                self.stats["cost"] += result.cost
        if self.records is None:
            return
        row = {"time": time.time(), "role": self.role, "model": self.card.key, "tag": tag,
               "key": key[:16], "cached": bool(result and result.cached), "error": error,
               "prompt_tokens": result.prompt_tokens if result else 0,
               "completion_tokens": result.completion_tokens if result else 0,
               "latency_s": round(result.latency_s, 4) if result else None,
               "cost": result.cost if result else 0.0, "currency": self.card.price.currency}
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
