"""MMLU-Redux: exact match of the answer letter."""

from __future__ import annotations

import re

LETTERS = "ABCDEFGHIJ"


def _patterns(letters: str) -> list[re.Pattern]:
    L = f"[{letters}]"
    return [
        re.compile(rf"(?i:answer)(?: (?i:is))?\s*[:\-]?\s*\**\(?({L})\b"),
        re.compile(rf"^\s*\**\(?({L})\**(?:[).:]|\s*$)"),
        re.compile(rf"\(({L})\)"),
    ]


def answer_letter(response: str, choices: list[str]) -> str | None:
    """The option a response picks: a stated 'answer is X' / 'Answer: X', a leading letter, a
    lone '(X)', else the one option whose text appears verbatim; None when nothing is clear."""
    letters = LETTERS[: len(choices)]
    for i, pattern in enumerate(_patterns(letters)):
        found = {m.upper() for m in pattern.findall(response)}
        if i == 0 and found:
            # "answer: X" stated more than once: the last statement counts
            return pattern.findall(response)[-1].upper()
        if len(found) == 1:
            return found.pop()
    text = response.lower()
    hits = [letters[i] for i, c in enumerate(choices) if c.strip() and c.strip().lower() in text]
    return hits[0] if len(hits) == 1 else None


def score_choice(response: str, choices: list[str], gold: str) -> tuple[float, str]:
    got = answer_letter(response, choices)
    return (1.0 if got == gold else 0.0), (got or "")
