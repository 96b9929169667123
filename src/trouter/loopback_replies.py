"""What the loopback server answers: cheap, deterministic functions of the request (model
included) that the pipeline's parsers accept, so a dry run passes through every stage.

- taxonomy proposals: children named after their parent ("Domain 3 Subcategory 2 Level 1"); with
  a shape (domains, subcategories, difficulty nodes) the counts add up to it exactly;
- taxonomy reviews: the proposed set, unchanged;
- QA batches and answers: sentences of words drawn from the standard library's documentation
  (`pydoc_data`), different per call, so that deduplication keeps them;
- judge prompts: a verdict; everything else: a short answer with 'Answer: <letter>' and
  '#### <number>' lines.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from functools import cache

from trouter.score.judge import SYSTEM as JUDGE_SYSTEM
from trouter.synth.prompts import SYSTEM_GENERATOR, SYSTEM_QA

LETTERS = "ABCD"


@cache
def vocabulary() -> tuple[str, ...]:
    from pydoc_data.topics import topics

    words = re.findall(r"\b[a-z]{4,12}\b", " ".join(topics.values()))
    return tuple(sorted(set(words)))


def _rng(request: dict) -> random.Random:
    blob = json.dumps([request.get("model"), request.get("messages"), request.get("seed")],
                      sort_keys=True)
    return random.Random(hashlib.sha256(blob.encode()).digest())


def _sentence(rng: random.Random, n: int) -> str:
    words = rng.sample(vocabulary(), n)
    return " ".join(words).capitalize()


class Replies:
    """The reply text for a chat request; `shape` = (domains, subcategories, difficulty nodes)."""

    def __init__(self, shape: tuple[int, int, int] | None = None):
        self.shape = shape

    def __call__(self, request: dict) -> str:
        messages = request.get("messages") or [{}]
        system = str(messages[0].get("content", "")) if messages[0].get("role") == "system" else ""
        prompt = str(messages[-1].get("content", ""))
        rng = _rng(request)
        if system == JUDGE_SYSTEM:
            return json.dumps({"verdict": rng.choice(("equivalent", "partial", "wrong"))})
        if system == SYSTEM_QA:
            n = int(re.search(r"Write (\d+) new", prompt).group(1))
            return json.dumps({"pairs": [{"question": _sentence(rng, 12) + "?",
                                          "answer": _sentence(rng, 4) + "."} for _ in range(n)]})
        if "\nProposed set:\n" in prompt:
            return prompt.split("\nProposed set:\n", 1)[1].split("\n\nReview", 1)[0]
        if system == SYSTEM_GENERATOR:
            return json.dumps({"items": self._children(prompt, rng)})
        return (f"{_sentence(rng, 8)}.\nAnswer: {rng.choice(LETTERS)}\n"
                f"#### {rng.randrange(100)}")

    def _children(self, prompt: str, rng: random.Random) -> list[dict]:
        bounds = re.search(r"Propose (?:exactly (\d+)|between (\d+) and (\d+)|up to (\d+))", prompt)
        exact, lo, hi, up_to = bounds.groups()
        if up_to:  # further domains
            first = len(re.findall(r'"name":', prompt.split("\n\n", 1)[0])) + 1
            count = int(up_to) if self.shape is None else max(0, self.shape[0] - first + 1)
            names = [f"Domain {first + i}" for i in range(min(count, int(up_to)))]
        else:
            lo, hi = (int(exact), int(exact)) if exact else (int(lo), int(hi))
            parent = re.findall(r'of the (?:domain|subcategory) "([^"]+)"', prompt)[0]
            count = min(hi, max(lo, self._count(parent) or hi))
            child = "Subcategory" if "subcategories of the domain" in prompt else "Level"
            names = [f"{parent} {child} {i + 1}" for i in range(count)]
        return [{"name": name, "definition": f"Tasks of the kind {name}: {_sentence(rng, 6)}.",
                 "example": _sentence(rng, 8) + "?"} for name in names]

    def _count(self, parent: str) -> int | None:
        """Children for `parent` so that the levels add up to the shape (even split, the first
        parents one more); None without a shape or for a parent the shape cannot place."""
        if self.shape is None:
            return None
        domains, subs, leaves = self.shape
        m = re.fullmatch(r"Domain (\d+)(?: Subcategory (\d+))?", parent)
        if not m:
            return None
        d = int(m.group(1)) - 1
        per_domain = [subs // domains + (i < subs % domains) for i in range(domains)]
        if m.group(2) is None:
            return per_domain[d] if d < domains else None
        index = sum(per_domain[:d]) + int(m.group(2)) - 1
        return leaves // subs + (index < leaves % subs)
