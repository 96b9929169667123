"""LLM judge for synthetic QA: the candidate's answer against the reference answer."""

from __future__ import annotations

import re

from trouter.llm.parse import ReplyError, extract_json

JUDGE_VERSION = "judge-v1"
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
WORD = re.compile(r"\b(equivalent|partial|wrong)\b", re.I)


def judge_messages(question: str, reference: str, response: str) -> list[dict]:
    user = (f"Question:\n{question}\n\nReference answer:\n{reference}\n\n"
            f"Candidate answer:\n{response.strip() or '(empty)'}\n\nVerdict as JSON:")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse_verdict(text: str) -> str:
    """'equivalent', 'partial' or 'wrong' from a JSON reply, or from a reply naming exactly one."""
    try:
        obj = extract_json(text)
    except ReplyError:
        obj = None
    if isinstance(obj, dict) and isinstance(obj.get("verdict"), str):
        verdict = obj["verdict"].strip().lower()
        if verdict in VERDICTS:
            return verdict
        raise ReplyError(f"verdict {obj['verdict']!r} is not one of {list(VERDICTS)}")
    words = {w.lower() for w in WORD.findall(text)}
    if len(words) == 1:
        return words.pop()
    raise ReplyError('expected {"verdict": "equivalent" | "partial" | "wrong"}')
