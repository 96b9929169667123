"""Every metric on hand-checked cases."""

import gzip
import json
from decimal import Decimal

import pytest

from tests.data_paths import data_dir
from trouter.llm.parse import ReplyError
from trouter.score.choice import answer_letter, score_choice
from trouter.score.code import Sandbox, build_program, extract_code, score_humaneval
from trouter.score.judge import parse_verdict
from trouter.score.numeric import final_number, gsm8k_reference, score_gsm8k
from trouter.score.overlap import lcs_length, rouge_l, score_squad, token_f1


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
])
def test_final_number(text, want):
    assert final_number(text) == Decimal(want)


def test_final_number_none_and_gsm8k_scores():
    assert final_number("no digits here") is None
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
])
def test_answer_letter(text, want):
    assert answer_letter(text, CHOICES) == want


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


def test_rouge_l_hand_values():
    # Lin (2004): LCS 3 of 4 tokens each way
    assert rouge_l("police killed the gunman", "police kill the gunman") == pytest.approx(0.75)
    # LCS "the cat on the mat": P = R = 5/6
    assert rouge_l("the cat sat on the mat", "the cat is on the mat") == pytest.approx(5 / 6)
    assert rouge_l("The Cat!", "the cat") == 1.0
    # P = 2/2, R = 2/4: F = 2/3
    assert rouge_l("cat mat", "the cat the mat") == pytest.approx(2 / 3)
    assert rouge_l("", "the cat") == 0.0
    assert lcs_length(list("abcbdab"), list("bdcaba")) == 4


def test_judge_verdicts():
    assert parse_verdict('{"verdict": "equivalent"}') == "equivalent"
    assert parse_verdict('```json\n{"verdict": "Partial"}\n```') == "partial"
    assert parse_verdict("Wrong.") == "wrong"
    for bad in ['{"verdict": "maybe"}', "equivalent or wrong", "", "no idea"]:
        with pytest.raises(ReplyError):
            parse_verdict(bad)


@pytest.fixture(scope="module")
def humaneval():
    path = data_dir() / "benchmarks/humaneval/HumanEval.jsonl.gz"
    with gzip.open(path, "rt") as fh:
        return [json.loads(line) for line in fh]


FAST = Sandbox(timeout_s=5, memory_mb=512)


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
    assert run(task, loop, Sandbox(timeout_s=1, memory_mb=512)) == (0.0, "timeout after 1 s")
    bomb = f"```python\ndef {entry}(numbers, threshold):\n    x = ' ' * (4 << 30)\n```"
    score, detail = run(task, bomb)
    assert score == 0.0 and "MemoryError" in detail
    shell = (f"```python\nimport os\ndef {entry}(numbers, threshold):\n"
             "    os.system('touch /tmp/trouter-sandbox-escape')\n```")
    score, detail = run(task, shell)
    assert score == 0.0 and "PermissionError" in detail
    assert run(task, "not python at all (")[0] == 0.0


def test_program_assembly():
    prompt = 'def f(x):\n    """Double."""\n'
    reply = "```py\nreturn 1\n```\n```python\ndef f(x):\n  return 2*x\n```"
    assert extract_code(reply, "f") == "def f(x):\n  return 2*x\n"
    test = "def check(c):\n    assert c(2) == 4"
    program = build_program(prompt, "    return 2 * x\n", test, "f")
    assert program.startswith(prompt + "    return 2 * x\n")
    assert program.rstrip().endswith("check(f)")
