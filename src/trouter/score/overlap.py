"""Token-overlap metrics: SQuAD token F1 and ROUGE-L.

SQuAD F1 follows the official v1.1 evaluation: lower case, no punctuation, no articles
(a/an/the), whitespace tokens, the best F1 over the gold answers.
ROUGE-L is our own implementation of the LCS-based F1 (beta = 1) of Lin (2004) with the default
tokenizer of Google's `rouge-score` package (lower case, runs of [a-z0-9] as tokens, no stemming);
it is the sentence-level `rougeL`, not the newline-split `rougeLsum`.
"""

from __future__ import annotations

import re
import string
from collections import Counter

ARTICLES = re.compile(r"\b(a|an|the)\b")
PUNCT = set(string.punctuation)
ANSWER_CUE = re.compile(r"^\s*(?:final answer|answer)\s*:\s*", re.I)


def squad_tokens(text: str) -> list[str]:
    text = "".join(ch for ch in text.lower() if ch not in PUNCT)
    return ARTICLES.sub(" ", text).split()


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = squad_tokens(prediction), squad_tokens(gold)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def squad_span(response: str) -> str:
    """The first non-empty line of the reply, after an optional 'Answer:' prefix or line."""
    lines = [line.strip() for line in response.splitlines() if line.strip()]
    if not lines:
        return ""
    first = ANSWER_CUE.sub("", lines[0]).strip()
    if first:
        return first
    return lines[1] if len(lines) > 1 else ""


def score_squad(response: str, golds: list[str]) -> tuple[float, str]:
    """Best token F1 of `squad_span(response)` over the gold answers."""
    span = squad_span(response)
    return max(token_f1(span, g) for g in golds), span


def rouge_tokens(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).split()


def lcs_length(a: list[str], b: list[str]) -> int:
    if len(a) < len(b):
        a, b = b, a
    row = [0] * (len(b) + 1)
    for x in a:
        prev = 0
        for j, y in enumerate(b, 1):
            cur = row[j]
            row[j] = prev + 1 if x == y else max(row[j], row[j - 1])
            prev = cur
    return row[-1]


def rouge_l(prediction: str, reference: str) -> float:
    pred, ref = rouge_tokens(prediction), rouge_tokens(reference)
    if not pred or not ref:
        return 0.0
    lcs = lcs_length(pred, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)
