"""HumanEval pass@1: the candidate's code runs against the tests in the sandbox."""

from __future__ import annotations

import ast
import re

from trouter.score import sandbox

# a fenced block with any info string (```python3, ```py, ```{python}, ~~~python), opened at a
# line's start (not by inline backticks in prose), closed by a fence at a line's start or end
# (not by '```' inside a string), or unclosed at the end of a cut-off reply
FENCE = re.compile(r"^([ \t]*)(```|~~~)[ \t]*([^\n`~]*)\n(.*?)"
                   r"(?:(?<=\n)[ \t]*\2|\2[ \t]*(?=\n|\Z)|\Z)", re.S | re.M)
PYTHON_TAG = re.compile(r"^\{?\.?(?:python\d?|py\d?|ipython\d?)?\}?$", re.I)


def extract_code(response: str, entry_point: str) -> str:
    """The fenced block that defines `entry_point`, else the first block tagged as Python (or
    untagged), else the first block, else the whole reply."""
    blocks = [(tag.strip(), unindent(body, indent))
              for indent, _, tag, body in FENCE.findall(response)]
    for _, body in blocks:
        if re.search(rf"def\s+{re.escape(entry_point)}\s*\(", body):
            return body
    tagged = [body for tag, body in blocks if tag and PYTHON_TAG.match(tag)]
    untagged = [body for tag, body in blocks if not tag]
    return (tagged or untagged or [body for _, body in blocks] or [unfenced_code(response)])[0]


def unindent(body: str, indent: str) -> str:
    """A block fenced inside a list item loses the item's indentation (as Markdown renders it)."""
    if not indent:
        return body
    return "\n".join(line.removeprefix(indent) for line in body.split("\n"))


CODE_START = re.compile(r"^(?:def |class |import |from |@|async def )")


def unfenced_code(response: str) -> str:
    """An unfenced reply: as it is when it parses as Python, else its code lines: from the first
    line that starts a definition or import, while lines are indented, blank or start code."""
    try:
        ast.parse(response)
        return response
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        pass
    lines = response.splitlines()
    start = next((i for i, line in enumerate(lines) if CODE_START.match(line)), None)
    if start is None:
        return response
    keep = []
    for line in lines[start:]:
        if line.strip() and not line[0].isspace() and not CODE_START.match(line) \
                and not line.startswith("#"):
            break
        keep.append(line)
    return "\n".join(keep) + "\n"


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
