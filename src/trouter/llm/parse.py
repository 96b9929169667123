"""Robust reply parsing: JSON (bare, fenced or embedded in prose) or delimited blocks."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from trouter.llm.client import LLMClient

REASK_SEED_STEP = 7919
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


class ReplyError(ValueError):
    """A reply that cannot be used; the message is shown to the model when re-asking."""


def extract_json(text: str):
    """The first JSON object or array in `text` (inside a code fence if there is one)."""
    if not text or not text.strip():
        raise ReplyError("the reply is empty")
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for cand in candidates:
        for i, ch in enumerate(cand):
            if ch in "[{":
                try:
                    value, _ = decoder.raw_decode(cand, i)
                    return value
                except json.JSONDecodeError:
                    continue
    raise ReplyError("no valid JSON object or array was found in the reply")


def extract_blocks(text: str, names: list[str]) -> list[dict]:
    """Records written as `### NAME:` blocks, e.g. `### QUESTION:` ... `### ANSWER:` ..."""
    pattern = re.compile(r"^\s*#{0,3}\s*(" + "|".join(map(re.escape, names)) + r")\s*:\s*",
                         re.IGNORECASE | re.MULTILINE)
    pieces = pattern.split(text or "")
    records, current = [], {}
    for name, value in zip(pieces[1::2], pieces[2::2], strict=True):
        name = name.lower()
        if name in current:
            records.append(current)
            current = {}
        current[name] = value.strip()
    if current:
        records.append(current)
    complete = [r for r in records if all(n.lower() in r and r[n.lower()] for n in names)]
    if not complete:
        raise ReplyError(f"no complete {' / '.join(names)} blocks were found in the reply")
    return complete


def require_str(obj: dict, name: str, where: str, max_len: int = 4000) -> str:
    value = obj.get(name) if isinstance(obj, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise ReplyError(f"{where}: field '{name}' must be a non-empty string")
    value = value.strip()
    if len(value) > max_len:
        raise ReplyError(f"{where}: field '{name}' is longer than {max_len} characters")
    return value


@dataclass
class Asked:
    """Outcome of a structured request: the parsed value, or None with the reasons."""

    value: object
    attempts: int
    malformed: int
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.value is not None


def ask(client: LLMClient, messages: list[dict], parse, *, schema: dict | None = None,
        max_reasks: int = 2, seed: int | None = None, tag: str = "",
        overrides: dict | None = None) -> Asked:
    """Call, parse with `parse(text)`; on ReplyError re-ask at most `max_reasks` times.

    Each re-ask repeats the request with the reasons appended, not the bad reply itself (small
    models copy it), and with a new sampling seed (the same seed would repeat the mistake).
    """
    history = list(messages)
    last = messages[-1]
    errors: list[str] = []
    for attempt in range(max_reasks + 1):
        attempt_seed = None if seed is None else seed + REASK_SEED_STEP * attempt
        reply = client.chat(history, schema=schema, seed=attempt_seed, tag=tag,
                            overrides=overrides)
        try:
            return Asked(parse(reply.text), attempt + 1, len(errors), errors)
        except ReplyError as exc:
            cut = "the reply was cut off at max_tokens; " if reply.finish_reason == "length" else ""
            errors.append(f"{cut}{exc}")
            note = "\n".join(f"- {e}" for e in errors)
            history = [*messages[:-1], {**last, "content": (
                f"{last['content']}\n\nEarlier answers to this request could not be used:\n"
                f"{note}\nAvoid these mistakes and answer in exactly the requested format.")}]
    return Asked(None, max_reasks + 1, len(errors), errors)
