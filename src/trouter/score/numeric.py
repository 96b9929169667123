"""GSM8K: exact match of the final number (thousands commas, decimals, negatives, $ and %)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# a thousands-grouped number first, so "1,234" is one number and "3,4" two
NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
# answer cues in order of trust; within a kind the last occurrence wins
CUES = [
    re.compile(r"####"),
    re.compile(r"\\boxed\{(?=[^{}]*\})"),
    re.compile(r"final answer\s*(?:is)?\s*:?|the answer is|answer\s*:", re.I),
]
BULLET = re.compile(r"(?m)^([ \t]*)[-*+][ \t]+")


def to_decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def _clean(text: str) -> str:
    """Unicode minus; '$'; list markers ('- 18' is a bullet, not -18); '- 5' for -5 elsewhere."""
    text = BULLET.sub(r"\1", text.replace("\u2212", "-").replace("$", ""))
    return re.sub(r"(?<![\w)])- (?=\d)", "-", text)


def _number_after(text: str) -> Decimal | None:
    """The number a cue introduces: on the cue's line (after its last '=' if it shows a sum),
    else the first number after it."""
    line = text.split("\n", 1)[0]
    if "=" in line:
        line = line.rsplit("=", 1)[1]
    found = NUMBER.search(line) or NUMBER.search(text)
    return to_decimal(found.group()) if found else None


def final_number(text: str) -> Decimal | None:
    """The answer a response commits to: after the last '####', else in the last \\boxed{},
    else after the last 'the answer is' / 'Answer:', else the last number in the text."""
    text = _clean(text)
    for cue in CUES:
        hits = list(cue.finditer(text))
        if hits:
            got = _number_after(text[hits[-1].end():])
            if got is not None:
                return got
    numbers = NUMBER.findall(text)
    return to_decimal(numbers[-1]) if numbers else None


def gsm8k_reference(answer: str) -> str:
    """The gold number of a GSM8K solution: the text after '#### '."""
    if "####" not in answer:
        raise ValueError("GSM8K answer has no '####' line")
    return answer.rsplit("####", 1)[1].strip().replace(",", "")


def score_gsm8k(response: str, reference: str) -> tuple[float, str]:
    got = final_number(response)
    gold = to_decimal(reference)
    if gold is None:
        raise ValueError(f"GSM8K reference {reference!r} is not a number")
    return (1.0 if got is not None and got == gold else 0.0), ("" if got is None else str(got))
