"""LLM judge for synthetic QA: the candidate's answer against the reference answer."""

from __future__ import annotations

import json
import re

from trouter.llm.parse import ReplyError

JUDGE_VERSION = "judge-v2"  # v2: only a structured verdict counts
VERDICTS = {"equivalent": 1.0, "partial": 0.5, "wrong": 0.0}
SCHEMA = {
    "type": "object",
    "properties": {"verdict": {"type": "string", "enum": list(VERDICTS)}},
    "required": ["verdict"],
}
# Fixed instructions first, so a local server reuses their cached prefix across requests.
SYSTEM = (
    "You grade answers. Compare the candidate answer with the reference answer to the question.\n"
    "- equivalent: the candidate reaches the same final answer as the reference (wording, "
    "units written differently and extra explanation do not matter);\n"
    "- partial: the candidate is partly right (some of the required content, or right reasoning "
    "with a wrong final value);\n"
    "- wrong: the final answer differs from the reference, is missing, or the reply does not "
    "answer the question.\n"
    'Reply with JSON only: {"verdict": "equivalent"} or {"verdict": "partial"} or '
    '{"verdict": "wrong"}.'
)


def judge_messages(question: str, reference: str, response: str) -> list[dict]:
    user = (f"Question:\n{question}\n\nReference answer:\n{reference}\n\n"
            f"Candidate answer:\n{response.strip() or '(empty)'}\n\nVerdict as JSON:")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


FENCED = re.compile(r"^```(?:json|JSON)?\s*(.*?)\s*```$", re.S)


def parse_verdict(text: str) -> str:
    """The verdict of a reply that is exactly {"verdict": ...} (a code fence around it allowed).

    Anything else is re-asked: prose ("not equivalent", "equivalent, or maybe wrong"), JSON with
    text around it, other keys, or a verdict outside the three."""
    body = (text or "").strip()
    if m := FENCED.match(body):
        body = m.group(1)
    try:
        obj = json.loads(body)
    except json.JSONDecodeError:
        raise ReplyError('expected only {"verdict": "equivalent" | "partial" | "wrong"}') from None
    if not (isinstance(obj, dict) and set(obj) == {"verdict"} and isinstance(obj["verdict"], str)):
        raise ReplyError(f'expected only {{"verdict": ...}}, got {body[:80]!r}')
    verdict = obj["verdict"].strip().lower()
    if verdict not in VERDICTS:
        raise ReplyError(f"verdict {obj['verdict']!r} is not one of {list(VERDICTS)}")
    return verdict
