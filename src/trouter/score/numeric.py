"""GSM8K: exact match of the final number (thousands commas, decimals, negatives, $ and %)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# a thousands-grouped number first, so "1,234" is one number and "3,4" two
NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
CUES = [
    re.compile(r"####\s*(.*)", re.S),
    re.compile(r"\\boxed\{([^{}]*)\}"),
    re.compile(r"(?:final answer|the answer is|answer\s*:)\s*(.*)", re.I | re.S),
]


def to_decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def _clean(text: str) -> str:
    # unicode minus, and "$ 5" / "- 5" written with a space
    return text.replace("\u2212", "-").replace("$", "").replace("- ", "-")


def final_number(text: str) -> Decimal | None:
    """The answer a response commits to: after '####', in \\boxed{}, after 'the answer is',
    else the last number in the text."""
    text = _clean(text)
    for cue in CUES:
        hits = cue.findall(text)
        if hits:
            found = NUMBER.search(hits[-1])
            if found:
                return to_decimal(found.group())
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
