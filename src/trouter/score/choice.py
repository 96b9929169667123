"""MMLU-Redux: exact match of the answer letter."""

from __future__ import annotations

import re

LETTERS = "ABCDEFGHIJ"


def _stated(letters: str) -> list[re.Pattern]:
    """Explicit statements of the chosen option. A lower-case letter counts only in brackets or
    when nothing but punctuation follows it ('answer: c', not 'the answer is a bit unclear')."""
    upper, lower = f"[{letters}]", f"[{letters.lower()}]"
    letter = rf"(?:\(?({upper})\)?\b|\(({lower})\)|({lower})(?![\w ]*\w))"
    return [
        re.compile(rf"(?i:correct\s+(?:answer|option|choice))\s*(?:(?i:is)\s*)?:?\s*\**{letter}"),
        re.compile(rf"(?i:answer)\s*(?:(?i:is)\s*)?[:\-]?\s*\**{letter}"),
        re.compile(rf"\(?({upper})\)?\**\s+(?i:is)\s+(?i:the\s+)?(?i:correct|right)\b"),
    ]


def _lead_patterns(letters: str) -> list[re.Pattern]:
    L = f"[{letters}]"
    return [re.compile(rf"^\s*\**\(?({L})\**(?:[).:]|\s*$)"), re.compile(rf"\(({L})\)")]


def _statements(response: str, letters: str) -> list[tuple[int, str]]:
    """(position, letter) of every explicit statement; 'X is not correct' is none."""
    found = []
    for pattern in _stated(letters):
        for m in pattern.finditer(response):
            letter = next(g for g in m.groups() if g)
            found.append((m.start(), letter.upper()))
    return sorted(found)


def _quoted_option(response: str, choices: list[str], letters: str) -> str | None:
    """The one option whose whole text the reply contains as words ('12' does not match '2')."""
    text = response.lower()
    hits = [letters[i] for i, c in enumerate(choices)
            if c.strip() and re.search(rf"(?<!\w){re.escape(c.strip().lower())}(?!\w)", text)]
    return hits[0] if len(hits) == 1 else None


def answer_letter(response: str, choices: list[str]) -> str | None:
    """The option a response picks: the last explicit statement ('Answer: X', 'the correct
    answer is X', 'X is correct'), else a leading letter, else a lone
    '(X)', else the one option whose text the reply quotes as whole words; None otherwise."""
    letters = LETTERS[: len(choices)]
    stated = _statements(response, letters)
    if stated:
        return stated[-1][1]
    for pattern in _lead_patterns(letters):
        found = {m.upper() for m in pattern.findall(response)}
        if len(found) == 1:
            return found.pop()
    return _quoted_option(response, choices, letters)


def score_choice(response: str, choices: list[str], gold: str) -> tuple[float, str]:
    got = answer_letter(response, choices)
    return (1.0 if got == gold else 0.0), (got or "")
