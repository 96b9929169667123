"""What can go wrong with a reply, and what to do about it: retry policy, the faults worth a
retry (counted by kind), token usage that cannot be costed."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

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


def usage_error(prompt_tokens, completion_tokens) -> str | None:
    """Why a reply's token counts cannot be costed, or None."""
    for name, v in (("prompt_tokens", prompt_tokens), ("completion_tokens", completion_tokens)):
        if v is None:
            return f"reply has no token usage ({name} missing): cost unknown"
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            return f"reply has invalid token usage ({name}={v!r}): cost unknown"
    return None


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


class MalformedReply(Exception):
    """A 200 reply whose body is not a chat completion (cut off, HTML, not JSON)."""


def fault_kind(exc: Exception) -> str | None:
    """What went wrong, for the fault counts, when it is worth retrying; None when it is not."""
    import openai  # only when a call failed: stages without LLM calls never import it

    if isinstance(exc, openai.APIStatusError):
        return f"status {exc.status_code}" if exc.status_code in RETRYABLE_STATUS else None
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection"
    if isinstance(exc, (MalformedReply, openai.APIResponseValidationError, json.JSONDecodeError)):
        return "malformed body"
    return None
