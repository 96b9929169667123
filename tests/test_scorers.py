"""Every metric on hand-checked cases."""

import gzip
import json
from decimal import Decimal

import pytest

from tests.data_paths import data_dir
from trouter.llm.parse import ReplyError
from trouter.score.choice import answer_letter, score_choice
from trouter.score.code import build_program, extract_code, score_humaneval
from trouter.score.judge import parse_verdict
from trouter.score.numeric import answer_span, gsm8k_reference, score_gsm8k
from trouter.score.overlap import rouge_l, score_squad, token_f1
from trouter.score.sandbox import Limits


@pytest.mark.parametrize("text,want", [
    ("Janet sells 9 eggs.\n#### 18", "18"),
    ("The answer is $1,234.50.", "1234.50"),
    ("So she has -3 apples left.", "-3"),
    ("She ends with \u22127 dollars", "-7"),
    ("Therefore \\boxed{42} is it.", "42"),
    ("16-3-4=9 eggs, and 9*2 = 18", "18"),
    ("I first got 5, but the answer is 12.", "12"),
    ("Pairs 3,4 and 5", "5"),
    ("It grew by 50%.", "50"),
    ("Final answer: 2,000", "2000"),
    ("Answer: 0.5 of the cake, 3 pieces later", "0.5"),
    # the last cue wins, a cue's sum counts after its '=', a Markdown bullet is no minus sign
    ("#### Step 1: add\n#### 18", "18"),
    ("The answer is 5 + 3 = 8", "8"),
    ("- 18", "18"),
    ("Steps:\n- 3 eggs\n* 18", "18"),
    ("#### 18\nCheck: 3 + 4 = 7", "18"),
    ("The answer is 7. On reflection, the answer is 9.", "9"),
    ("\\boxed{7} then \\boxed{9}", "9"),
    ("the answer is:\n\n42", "42"),
    ("The loss is - 5 dollars", "-5"),
    ("16 - 3 = 13", "13"),
])
def test_final_number(text, want):
    assert score_gsm8k(text, want) == (1.0, want.replace(",", ""))
    assert score_gsm8k(text, str(Decimal(want) + 1))[0] == 0.0


def test_final_number_none_and_gsm8k_scores():
    assert answer_span("no digits here") is None
    assert gsm8k_reference("She makes 9 * 2 = $18.\n#### 1,018") == "1018"
    with pytest.raises(ValueError):
        gsm8k_reference("no marker")
    assert score_gsm8k("... so 18.00 dollars", "18") == (1.0, "18.00")
    assert score_gsm8k("#### 17", "18") == (0.0, "17")
    assert score_gsm8k("I cannot tell", "18") == (0.0, "")
    assert score_gsm8k("#### -4", "-4")[0] == 1.0


CHOICES = ["Dyslexia", "Epilepsy", "Hydrocephalus", "Narcolepsy"]


@pytest.mark.parametrize("text,want", [
    ("Answer: B", "B"),
    ("The answer is (C).", "C"),
    ("B. Epilepsy", "B"),
    ("**D**", "D"),
    ("(D)", "D"),
    ("D", "D"),
    ("It must be narcolepsy.", "D"),
    ("Answer: A\nOn reflection... Answer: C", "C"),
    ("A person with this disorder falls asleep: Narcolepsy", "D"),
    ("The answer is a bit unclear", None),
    ("Epilepsy or narcolepsy", None),
    ("E", None),
    ("answer: c", "C"),
    ("Answer: c.", "C"),
    ("The answer is (b)", "B"),
    ("A is wrong. The correct answer is C.", "C"),
    ("B is incorrect; D is correct.", "D"),
    ("B is not correct, D is the correct answer.", "D"),
    ("Option A is not the right one. C is right.", "C"),
    ("The answer is not A. The answer is D.", "D"),
    ("**Answer: D**", "D"),
])
def test_answer_letter(text, want):
    assert answer_letter(text, CHOICES) == want


def test_option_text_matches_whole_words_only():
    numbers = ["2", "12", "4", "6"]
    assert answer_letter("12", numbers) == "B"
    assert answer_letter("It is 12.", numbers) == "B"
    assert answer_letter("2", numbers) == "A"
    assert answer_letter("24", numbers) is None


def test_score_choice():
    assert score_choice("Answer: D", CHOICES, "D") == (1.0, "D")
    assert score_choice("Answer: C", CHOICES, "D") == (0.0, "C")
    assert score_choice("hmm", CHOICES, "D") == (0.0, "")


def test_token_f1_hand_values():
    assert token_f1("the Denver Broncos", "Denver Broncos") == 1.0
    assert token_f1("Denver", "Denver Broncos") == pytest.approx(2 / 3)
    assert token_f1("Broncos of Denver", "Denver Broncos") == pytest.approx(0.8)
    assert token_f1("", "Denver") == 0.0
    assert token_f1("Carolina Panthers", "Denver Broncos") == 0.0
    score, span = score_squad("Answer: Denver Broncos.\nThey won.", ["Broncos", "Denver Broncos"])
    assert (score, span) == (1.0, "Denver Broncos.")
    assert score_squad("", ["x"]) == (0.0, "")
    # the first non-empty line after an optional 'Answer:' line or prefix
    assert score_squad("Answer:\nDenver Broncos\nbecause", ["Denver Broncos"]) == \
        (1.0, "Denver Broncos")
    assert score_squad("\n\n  Denver Broncos\nmore", ["Denver Broncos"])[1] == "Denver Broncos"
    assert score_squad("answer : Broncos", ["Broncos"]) == (1.0, "Broncos")
    assert score_squad("Answer:", ["x"]) == (0.0, "")


def test_rouge_l_hand_values():
    # Lin (2004): LCS 3 of 4 tokens each way
    assert rouge_l("police killed the gunman", "police kill the gunman") == pytest.approx(0.75)
    # LCS "the cat on the mat": P = R = 5/6
    assert rouge_l("the cat sat on the mat", "the cat is on the mat") == pytest.approx(5 / 6)
    assert rouge_l("The Cat!", "the cat") == 1.0
    # P = 2/2, R = 2/4: F = 2/3
    assert rouge_l("cat mat", "the cat the mat") == pytest.approx(2 / 3)
    assert rouge_l("", "the cat") == 0.0


def test_judge_verdicts():
    assert parse_verdict('{"verdict": "equivalent"}') == "equivalent"
    assert parse_verdict('```json\n{"verdict": "Partial"}\n```') == "partial"
    assert parse_verdict(' {"verdict":"WRONG"}\n') == "wrong"
    # prose, negations and hedges are re-asked, never read as a verdict
    for bad in ['{"verdict": "maybe"}', "equivalent or wrong", "", "no idea", "Wrong.",
                "not equivalent", "The answer is not equivalent.", "equivalent? not really",
                '{"verdict": "not equivalent"}', '{"verdict": "equivalent"} -- not really',
                'Hmm. {"verdict": "equivalent"}', '{"verdict": "equivalent", "note": "not"}',
                '{"verdict": ["equivalent"]}', '["equivalent"]', "partially equivalent"]:
        with pytest.raises(ReplyError):
            parse_verdict(bad)


@pytest.fixture(scope="module")
def humaneval():
    path = data_dir() / "benchmarks/humaneval/HumanEval.jsonl.gz"
    with gzip.open(path, "rt") as fh:
        return [json.loads(line) for line in fh]


FAST = Limits(timeout_s=5, memory_mb=512)


def run(task, response, sandbox=FAST):
    return score_humaneval(response, task["prompt"], task["test"], task["entry_point"], sandbox)


def test_canonical_solutions_pass(humaneval):
    for task in humaneval[:5]:
        # as a body continuing the prompt, and as a whole function in a fence
        assert run(task, task["canonical_solution"]) == (1.0, "passed")
        whole = f"Here it is:\n```python\n{task['prompt']}{task['canonical_solution']}```\nDone."
        assert run(task, whole) == (1.0, "passed")


def test_wrong_unsafe_and_runaway_code_fails(humaneval):
    task = humaneval[0]
    entry = task["entry_point"]
    wrong = f"```python\ndef {entry}(numbers, threshold):\n    return False\n```"
    score, detail = run(task, wrong)
    assert score == 0.0 and "AssertionError" in detail
    loop = f"```python\ndef {entry}(numbers, threshold):\n    while True:\n        pass\n```"
    assert run(task, loop, Limits(timeout_s=1, memory_mb=512)) == (0.0, "timeout after 1 s")
    bomb = f"```python\ndef {entry}(numbers, threshold):\n    x = ' ' * (4 << 30)\n```"
    score, detail = run(task, bomb)
    assert score == 0.0 and "MemoryError" in detail
    shell = (f"```python\nimport os\ndef {entry}(numbers, threshold):\n"
             "    os.system('touch /tmp/trouter-sandbox-escape')\n```")
    score, detail = run(task, shell)
    assert score == 0.0 and "PermissionError" in detail
    assert run(task, "not python at all (")[0] == 0.0


def test_main_block_neither_runs_nor_fails(humaneval):
    task = humaneval[0]
    demo = (f"```python\n{task['prompt']}{task['canonical_solution']}\n"
            "if __name__ == '__main__':\n    raise SystemExit('the demo block ran')\n```")
    assert run(task, demo) == (1.0, "passed")


@pytest.mark.parametrize("escape", ["exit()", "import sys; sys.exit(0)", "import os; os._exit(0)",
                                    "import os; os.execv('/bin/true', ['true'])",
                                    "raise SystemExit(0)"])
def test_exit_spoofing_fails(humaneval, escape):
    # a wrong solution that leaves the process with code 0 before the tests run
    task = humaneval[0]
    entry = task["entry_point"]
    reply = f"```python\n{escape}\ndef {entry}(numbers, threshold):\n    return False\n```"
    score, detail = run(task, reply)
    assert score == 0.0, detail


def test_program_assembly():
    prompt = 'def f(x):\n    """Double."""\n'
    reply = "```py\nreturn 1\n```\n```python\ndef f(x):\n  return 2*x\n```"
    assert extract_code(reply, "f") == "def f(x):\n  return 2*x\n"
    test = "def check(c):\n    assert c(2) == 4"
    program = build_program(prompt, "    return 2 * x\n", test, "f")
    assert program.startswith(prompt + "    return 2 * x\n")
    assert program.rstrip().endswith("check(f)")


@pytest.mark.parametrize("text,want", [
    # an explicit answer is not overridden by a later list of rejected options
    ("Answer: D. Therefore, A, B and C are wrong.", "D"),
    ("Answer: D\n\nExplanation: so A, B and C don't apply.", "D"),
    ("Answer: D. (Thus A; B is irrelevant.)", "D"),
    ("The options would be A, B, C, or D.", None),
    ("So A, B are wrong.", None),
    ("The correct answer is C.\n- B is correct for protein synthesis, but not here.", "C"),
])
def test_softer_commitments_never_override_a_statement(text, want):
    assert answer_letter(text, CHOICES) == want


def test_degenerate_replies_score_without_hanging_or_crashing():
    import time

    from trouter.label.scoring import strip_thinking

    start = time.monotonic()
    for power in (r"\boxed{9^{9^{9}}}", r"\boxed{(10^{8})!}", r"\boxed{2^{2^{40}}}"):
        assert score_gsm8k(power, "18") == (0.0, power[7:-1])
    assert answer_letter("Answer\n" + " " * 32000, CHOICES) is None
    assert time.monotonic() - start < 60  # a bound, not a timing: these used to never return
    assert extract_code("-" * 20000 + "\n", "f") == "-" * 20000 + "\n"
    assert extract_code("not " * 3000 + "x", "f").startswith("not")
    assert answer_letter("B", []) is None
    # a template that opened the thinking block in the prompt: only the closing tag
    assert strip_thinking("5 x 8 = 42 apples.\n</think>\n\nThe answer is 7.") == \
        "The answer is 7."


def test_code_fences_open_at_a_line_start_and_close_on_a_fence():
    inline = "Explanation with inline ```code``` then\n```python\ndef f(x):\n    return 1\n```"
    assert extract_code(inline, "f") == "def f(x):\n    return 1\n"
    quoted = "```python\ndef f(x):\n    s = '```'\n    return s\n```"
    assert extract_code(quoted, "f") == "def f(x):\n    s = '```'\n    return s\n"
    shell_first = "```\n$ pip install x\n```\n```python\nprint(1)\n```"
    assert extract_code(shell_first, "f") == "print(1)\n"


def test_squad_cues_count_in_the_first_lines_only():
    reply = "Denver Broncos\n\nExplanation: the passage says the answer is Denver Broncos because."
    assert score_squad(reply, ["Denver Broncos"]) == (1.0, "Denver Broncos")
    assert score_squad('{"answer": "Denver \\"Broncos\\""}', ['Denver "Broncos"'])[0] == 1.0
    assert score_squad("The final answer depends on the team.", ["x"])[1] == \
        "The final answer depends on the team."
