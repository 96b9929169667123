"""Token-overlap metrics: SQuAD token F1 and ROUGE-L.

SQuAD F1 follows the official v1.1 evaluation: lower case, no punctuation, no articles
(a/an/the), whitespace tokens, the best F1 over the gold answers (tests/test_scorer_cases.py
checks it against torchmetrics' implementation of that script on every case of the suite).
ROUGE-L is Google's `rouge-score` (the summarisation literature's implementation): the
sentence-level `rougeL` F1, default tokenizer, no stemming.
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from functools import cache

ARTICLES = re.compile(r"\b(a|an|the)\b")
PUNCT = set(string.punctuation)
# 'Answer:', 'Final answer:', 'the answer is', 'A:', an 'Answer' heading: the span follows them
ANSWER_CUE = re.compile(r"(?:^|\b)(?:final answer\s*(?:is\s*:?|:)|the answer is\s*:?|answer\s*:|"
                        r"^a\s*:|^(?:final )?answer$)", re.I)
MARKUP = re.compile(r"\*\*|__|^[#>\s]+")
LEAD_IN = re.compile(r"^(?:based on|according to) the (?:passage|text|context|article)"
                     r"(?: provided| given| above)?,\s*", re.I)
# where an answer line's explanation starts
EXPLANATION = re.compile(r"\s*\b(?:explanation|reason(?:ing)?|justification)\s*:.*$", re.I)
JSON_ANSWER = re.compile(r'"answer"\s*:\s*"((?:[^"\\]|\\.)*)"', re.I)
# an answer cue counts in the reply's first lines only: later ones are in its explanation
CUE_LINES = 2


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
    """A JSON reply's "answer"; else what follows the first answer cue ('Answer:', 'the answer
    is:', 'A:', an 'Answer' heading) in the first two lines, on its line or else the next
    non-empty one; without one, the first non-empty line. A lead-in ('Based on the passage,')
    and an explanation after the answer ('Explanation: ...') are left out."""
    found = JSON_ANSWER.search(response)
    if found:
        try:
            return str(json.loads(f'"{found.group(1)}"')).strip()
        except json.JSONDecodeError:
            return found.group(1).strip()
    lines = [MARKUP.sub("", line).strip() for line in response.splitlines()]
    lines = [line for line in lines if line]
    span = lines[0] if lines else ""
    for i, line in enumerate(lines[:CUE_LINES]):
        if i and EXPLANATION.match(line):  # the explanation has begun: no answer cue there
            break
        cue = ANSWER_CUE.search(line)
        if cue:
            rest = line[cue.end():].strip()
            span = rest or (lines[i + 1] if i + 1 < len(lines) else "")
            break
    return EXPLANATION.sub("", LEAD_IN.sub("", span))


def score_squad(response: str, golds: list[str]) -> tuple[float, str]:
    """Best token F1 of `squad_span(response)` over the gold answers."""
    span = squad_span(response)
    return max(token_f1(span, g) for g in golds), span


@cache
def _rouge_scorer():
    from rouge_score import rouge_scorer  # imports nltk: only where ROUGE is scored

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def rouge_l(prediction: str, reference: str) -> float:
    return float(_rouge_scorer().score(reference, prediction)["rougeL"].fmeasure)
