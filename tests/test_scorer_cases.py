"""The scorer conformance suite: tests/data/scorer_cases.jsonl holds answer styles that real
models write, each with the score a grader following the benchmark's metric gives and why. The
scorers must give every one; where a well-kept library does the job we agree with it."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from trouter.label.scoring import score_response, strip_thinking
from trouter.score.overlap import rouge_l, squad_span, token_f1
from trouter.score.sandbox import Limits

CASES = [json.loads(line) for line in
         (Path(__file__).parent / "data" / "scorer_cases.jsonl").read_text().splitlines()]
PROBLEMS = {
    "add": ('def add(a: int, b: int) -> int:\n    """Return the sum of a and b.\n    >>> add(2, 3)'
            '\n    5\n    """\n',
            "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) "
            "== 0\n    assert candidate(0, 0) == 0\n"),
    "is_palindrome": ('def is_palindrome(text: str) -> bool:\n    """Return True if text reads the '
                      'same backwards.\n    >>> is_palindrome("aba")\n    True\n    """\n',
                      'def check(candidate):\n    assert candidate("") is True\n    assert '
                      'candidate("aba") is True\n    assert candidate("ab") is False\n'),
    "count_vowels": ('def count_vowels(s: str) -> int:\n    """Count the vowels a, e, i, o, u '
                     '(either case) in s.\n    >>> count_vowels("Hello")\n    2\n    """\n',
                     'def check(candidate):\n    assert candidate("Hello") == 2\n    assert '
                     'candidate("AEIOU") == 5\n    assert candidate("xyz") == 0\n'),
}
LIMITS = Limits(timeout_s=10, memory_mb=512)


def query(case: dict) -> dict:
    fields = dict(case["fields"])
    if case["benchmark"] == "humaneval":
        name = fields.pop("problem")
        fields |= {"prompt": PROBLEMS[name][0], "test": PROBLEMS[name][1], "entry_point": name}
    return {"dataset": case["benchmark"], "fields": fields, "reference": case["reference"]}


def by(benchmark: str) -> list[dict]:
    return [c for c in CASES if c["benchmark"] == benchmark]


def test_the_suite_is_as_large_as_promised():
    assert len(CASES) >= 200 and len({c["id"] for c in CASES}) == len(CASES)
    counts = {b: len(by(b)) for b in ("gsm8k", "mmlu_redux", "squad", "humaneval",
                                       "multi_news")}
    assert min(counts.values()) >= 10 and sum(counts.values()) == len(CASES), counts
    assert all(c["why"] and c["style"] for c in CASES)


def same_number(got: str, want: str | None) -> bool:
    if want is None:
        return got == ""
    try:
        return Decimal(got) == Decimal(want)
    except ArithmeticError:  # a LaTeX span: math-verify decided the score, checked below
        return True


@pytest.mark.parametrize("case", by("gsm8k") + by("mmlu_redux"), ids=lambda c: c["id"])
def test_exact_match_cases(case):
    score, extracted = score_response(query(case), case["response"], LIMITS)
    assert score == case["score"], case["why"]
    if case["benchmark"] == "mmlu_redux":
        assert extracted == (case["extracted"] or ""), case["why"]
    else:
        assert same_number(extracted, case["extracted"]), (extracted, case["why"])


@pytest.mark.parametrize("case", by("squad"), ids=lambda c: c["id"])
def test_squad_cases(case):
    score, span = score_response(query(case), case["response"], LIMITS)
    assert score == pytest.approx(case["score"], abs=1e-4), (span, case["why"])
    assert token_f1(span, case["extracted"]) == 1.0 or span == case["extracted"], case["why"]


def test_humaneval_cases():
    """One test over the code cases: each runs in the sandbox (a process each)."""
    wrong = []
    for case in by("humaneval"):
        score, detail = score_response(query(case), case["response"], LIMITS)
        if score != case["score"]:
            wrong.append((case["id"], score, detail))
    assert not wrong


def test_squad_f1_agrees_with_the_official_script():
    """torchmetrics' SQuAD metric implements the official v1.1 evaluation script (the one
    `evaluate`'s squad metric wraps): the same F1 on every span of the suite and gold."""
    from torchmetrics.functional.text import squad

    for case in by("squad"):
        span = squad_span(case["response"])
        for gold in case["reference"]:
            ref = squad([{"prediction_text": span, "id": "q"}],
                        [{"answers": {"answer_start": [0], "text": [gold]}, "id": "q"}])
            assert token_f1(span, gold) == pytest.approx(float(ref["f1"]) / 100, abs=1e-6)


def test_rouge_l_is_rouge_score():
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"])
    for case in by("multi_news"):
        score, _ = score_response(query(case), case["response"], LIMITS)
        reply = strip_thinking(case["response"])  # the answer, not the model's thoughts
        want = scorer.score(case["reference"], reply)["rougeL"].fmeasure
        assert score == want == rouge_l(reply, case["reference"])
    plain = next(c for c in by("multi_news") if c["style"] == "plain")
    assert 0.3 < rouge_l(plain["response"], plain["reference"]) < 1.0
