"""MMLU-Redux: exact match of the answer letter."""

from __future__ import annotations

import re

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# How replies introduce their choice: 'Answer: X', '"answer": "X"', 'the best option is X'.
CUE = r"(?i:(?:(?:correct|best|right)\s+(?:answer|option|choice)|answer)[\"']?)"
# Softer commitments, read only where no explicit statement is found.
LEANING = (r"(?i:\b(?:it'?s|it\s+is|i\s+think|i'?d\s+(?:say|go\s+with|choose|pick)|i\s+choose|"
           r"i\s+pick|would\s+be|must\s+be|should\s+be|so|thus|hence|therefore),?\s+"
           r"(?:option\s+)?)")
# What may stand between a cue and its letter: spaces, quotes, bold, an opening bracket.
GAP = r"[\s\"'*\[]*"


def _stated(letters: str) -> list[re.Pattern]:
    """Explicit statements of the chosen option. A lower-case letter counts in brackets, before
    punctuation, or at a line's end after a colon ('answer: c'); never where a word may follow,
    as in a reply cut off at 'the answer is a'."""
    up, low = f"[{letters}]", f"[{letters.lower()}]"
    strict = rf"(?:\(?({up})\)?(?!\w|'\w)|\(({low})\)|({low})(?=[.)\],;!'\"]))"
    return [
        re.compile(rf"{CUE}\s*(?i:is\s*)?[:\-]{GAP}(?:{strict}|({low})(?=[ \t]*(?:\n|$)))"),
        re.compile(rf"{CUE}\s+(?i:is|would\s+be){GAP}{strict}"),
        re.compile(rf"{CUE}\**[ \t]*\n[\s\"'*\[#]*{strict}"),  # an 'Answer' heading
        re.compile(rf"\(?({up})\)?\**\s+(?i:is)\s+(?i:the\s+)?(?i:correct|right)"
                   rf"(?:\s+(?i:answer|option|choice))?\s*(?:[.!,;]|$)"),
        re.compile(rf"\\boxed\{{\s*(?:\\text(?:bf)?\{{)?\s*\(?({up})\)?\s*\}}"),
    ]


def _leaning(letters: str) -> re.Pattern:
    """'I think it's B, but ...', 'So, D.': a capital letter, then punctuation that does not
    go on to list more options ('So A, B and C are wrong' picks none)."""
    up = f"[{letters}]"
    more = rf"[,;]\s*(?:\(?{up}\b|and\b|or\b)"
    return re.compile(rf"{LEANING}\(?({up})\)?(?!{more})(?=[.,;:!)]|[ \t]*(?:\n|$))")


def _lead_patterns(letters: str) -> list[re.Pattern]:
    L = f"[{letters}]"
    return [re.compile(rf"^[\s#*]*(?:option\s+)?\(?({L})\**(?:[).:]|[ \t]*(?:\n|$))", re.I),
            re.compile(rf"\(({L})\)")]


def _statements(response: str, letters: str) -> list[tuple[int, str]]:
    """(position, letter) of every explicit statement ('X is not correct' is none); only where
    there is none, of every softer commitment."""
    for patterns in (_stated(letters), [_leaning(letters)]):
        found = sorted((m.start(), next(g for g in m.groups() if g).upper())
                       for pattern in patterns for m in pattern.finditer(response))
        if found:
            return found
    return []


# an option named in a listing ('A. London') or rejected ('not London') is not picked
NOT_PICKED = re.compile(r"(?:\b[a-z][.):]\s*\**|\bnot\s+|n't\s+)$")


def _quoted_option(response: str, choices: list[str], letters: str) -> str | None:
    """The option whose whole text the reply is, ends on ('... equals 2.5.') or alone quotes as
    words ('12' does not match '2'); an option found only inside another's quoted text ('2' in
    '2.5'), in a listing or after 'not' does not count."""
    text = response.strip().lower()
    spans = {}
    for i, c in enumerate(choices):
        option = c.strip().lower()
        if not option:
            continue
        if text.rstrip(".") == option or re.search(
                rf"(?:\bequals|=|\bis|\bare|\bbe)\s+\**{re.escape(option)}\**\W*$", text):
            return letters[i]
        spans[letters[i]] = [m.span() for m in
                             re.finditer(rf"(?<!\w){re.escape(option)}(?!\w)", text)
                             if not NOT_PICKED.search(text[:m.start()])]

    def inside_other(letter: str, span: tuple[int, int]) -> bool:
        return any(o != letter and s[0] <= span[0] and span[1] <= s[1] and s != span
                   for o, others in spans.items() for s in others)

    hits = [k for k, found in spans.items() if any(not inside_other(k, s) for s in found)]
    return hits[0] if len(hits) == 1 else None


def answer_letter(response: str, choices: list[str]) -> str | None:
    """The option a response picks: the last explicit statement ('Answer: X', 'the correct
    answer is X', 'X is correct', '\\boxed{X}', 'I think it's X.'), else a leading letter on
    its own or before '.', ')' or ':', else a lone '(X)', else the one option whose text the
    reply quotes as whole words; None otherwise."""
    if not choices:
        return None
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
