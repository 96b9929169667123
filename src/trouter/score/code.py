"""HumanEval pass@1: the candidate's code runs against the tests in the sandbox."""

from __future__ import annotations

import re

from trouter.score import sandbox

FENCE = re.compile(r"```[ \t]*(?:python|py|Python)?[ \t]*\n(.*?)(?:```|$)", re.S)


def extract_code(response: str, entry_point: str) -> str:
    """The fenced block that defines `entry_point`, else the first block, else the whole reply."""
    blocks = FENCE.findall(response)
    for block in blocks:
        if re.search(rf"def\s+{re.escape(entry_point)}\s*\(", block):
            return block
    return blocks[0] if blocks else response


def build_program(prompt: str, response: str, test: str, entry_point: str) -> str:
    """Prompt (imports, signature, docstring) + the completion + tests + check(entry_point).

    A completion that defines the function again replaces the prompt's; one that does not is
    taken as the function's body, continuing the prompt."""
    code = extract_code(response, entry_point)
    if re.search(rf"def\s+{re.escape(entry_point)}\s*\(", code):
        body = f"{prompt}\n    pass\n\n{code}"
    else:
        body = prompt + code
    return f"{body}\n\n{test}\n\ncheck({entry_point})\n"


def score_humaneval(response: str, prompt: str, test: str, entry_point: str,
                    limits: sandbox.Limits) -> tuple[float, str]:
    """1.0 when the tests ran to their end (the sentinel after check(entry_point)) and the
    process exited 0; else 0.0 and why."""
    program = build_program(prompt, response, test, entry_point)
    outcome = sandbox.run(program, limits)
    return (1.0 if outcome.passed else 0.0), sandbox.describe(outcome, limits)
