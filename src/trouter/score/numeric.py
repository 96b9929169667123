"""GSM8K: the answer a reply commits to, checked against the gold number by `math-verify`
(HuggingFace's answer-equivalence library: LaTeX, fractions, thousands separators, units)."""

from __future__ import annotations

import logging
import re
from functools import cache

# a thousands-grouped number first, so "1,234" is one number and "3,4" two
NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
# what a cue introduces: a number or a fraction ('The answer is 1/2.')
CUED = re.compile(rf"{NUMBER.pattern}(?:\s*/\s*\d+(?!\d|[.,]\d))?")
# GSM8K's answer line: '#### 18' (a unit word may follow), never a heading '#### Step 2: Money'
GSM8K_LINE = re.compile(r"(?m)^[ \t]*####[ \t]*([*$\\ ]*-?[\d,]+(?:\.\d+)?)[ *%.]*[A-Za-z]*[ .]*$")
BOXED = re.compile(r"\\(?:boxed|fbox)\{")
# answer cues after the two above; within a kind the last occurrence wins
CUE = re.compile(r"final answer\s*(?:is)?\s*:?|the answer is|answer\s*:", re.I)
BULLET = re.compile(r"(?m)^([ \t]*)[-*+][ \t]+")
LATEX_NOISE = [(re.compile(r"(?<=\d)\\,(?=\d{3})"), ""), (re.compile(r"\\!|\\?%|\\?\$"), ""),
               (re.compile(r"\{,\}"), ","), (re.compile(r"(?<=\d)\.\s*$"), "")]


def _clean(text: str) -> str:
    """Unicode minus; '$'; list markers ('- 18' is a bullet, not -18); '- 5' for -5 elsewhere."""
    text = BULLET.sub(r"\1", text.replace("\u2212", "-").replace("$", ""))
    return re.sub(r"(?<![\w)])- (?=\d)", "-", text)


def _last_boxed(text: str) -> str | None:
    """The body of the last \\boxed{...}, braces balanced; None when there is none."""
    starts = [m.end() for m in BOXED.finditer(text)]
    if not starts:
        return None
    depth, start = 1, starts[-1]
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start:i]
    return None


def _number_after(text: str) -> str | None:
    """The number a cue introduces: on the cue's line (after its last '=' if it shows a sum),
    else the first number after it."""
    line = text.split("\n", 1)[0]
    if "=" in line:
        line = line.rsplit("=", 1)[1]
    found = CUED.search(line) or CUED.search(text)
    return found.group().replace(" ", "") if found else None


def answer_span(text: str) -> str | None:
    """The answer a reply commits to: the last '#### N' line, else the last \\boxed{} body,
    else the number after the last 'final answer' / 'the answer is' / 'Answer:', else the
    last number in the text."""
    lines = GSM8K_LINE.findall(text)
    if lines:
        return lines[-1].strip(" *$\\")
    boxed = _last_boxed(text)
    if boxed is not None and boxed.strip():
        for pattern, repl in LATEX_NOISE:
            boxed = pattern.sub(repl, boxed)
        return boxed.strip()
    text = _clean(text)
    hits = list(CUE.finditer(text))
    if hits:
        got = _number_after(text[hits[-1].end():])
        if got is not None:
            return got
    numbers = NUMBER.findall(text)
    return numbers[-1] if numbers else None


@cache
def _math_verify():
    """math-verify's parse and verify, imported on first use (sympy: about a second). Its
    timeouts use signal.alarm, which works only on the main thread and we score in threads;
    our spans are short numbers or one \\boxed{} body, so it runs without them (and without
    its warning about that)."""
    import math_verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    return (lambda text: math_verify.parse(text, parsing_timeout=None),
            lambda gold, got: math_verify.verify(gold, got, timeout_seconds=None))


# what no GSM8K answer needs and sympy may take without end to evaluate (9^{9^{9}}, (10^8)!)
UNBOUNDED = re.compile(r"\^|!|\\(?:exp|prod|sum|int|lim)")


def _value(span: str) -> list:
    """math-verify's reading of a span: a plain number as an expression, else LaTeX; nothing
    for a span too long or with powers, factorials or big operators (never a GSM8K answer)."""
    plain = span.replace(",", "") if CUED.fullmatch(span) else None
    if plain is None and (len(span) > 100 or UNBOUNDED.search(span)):
        return []
    parse, _ = _math_verify()
    return parse(plain if plain is not None else f"\\boxed{{{span}}}")


def gsm8k_reference(answer: str) -> str:
    """The gold number of a GSM8K solution: the text after '#### '."""
    if "####" not in answer:
        raise ValueError("GSM8K answer has no '####' line")
    return answer.rsplit("####", 1)[1].strip().replace(",", "")


def score_gsm8k(response: str, reference: str) -> tuple[float, str]:
    """1.0 when math-verify finds the committed answer equal to the reference number."""
    if not NUMBER.fullmatch(reference.replace(",", "")):
        raise ValueError(f"GSM8K reference {reference!r} is not a number")
    span = answer_span(response)
    if span is None:
        return 0.0, ""
    got, (_, verify) = _value(span), _math_verify()
    same = bool(got) and verify(_value(reference), got)
    return (1.0 if same else 0.0), (span.replace(",", "") if NUMBER.fullmatch(span) else span)
