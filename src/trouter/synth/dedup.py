"""Near-duplicate filter: drop a question too similar to one the node already accepted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Encoder = Callable[[list[str]], np.ndarray]

KEPT = "kept"
NEAR_DUPLICATE = "near_duplicate"
SURPLUS = "surplus"


@dataclass
class Decision:
    qa_id: str
    status: str
    max_sim: float
    nearest_qa_id: str
    nearest_question: str


class NodeDeduper:
    """Sequential filter for one node: compare each question with those accepted before it.

    A question is dropped when its maximum cosine similarity to the accepted ones is strictly
    greater than `threshold`; once `target` questions are accepted, the rest are surplus.
    """

    def __init__(self, threshold: float, target: int | None = None):
        if not -1.0 <= threshold <= 1.0:
            raise ValueError(f"dedup threshold must lie in [-1, 1], got {threshold}")
        self.threshold = threshold
        self.target = target
        self._vecs: list[np.ndarray] = []
        self._ids: list[str] = []
        self._questions: list[str] = []

    @property
    def accepted(self) -> int:
        return len(self._ids)

    @property
    def full(self) -> bool:
        return self.target is not None and self.accepted >= self.target

    def offer(self, qa_id: str, question: str, vec: np.ndarray) -> Decision:
        if self._vecs:
            sims = np.stack(self._vecs) @ vec
            j = int(np.argmax(sims))
            best, near_id, near_q = float(sims[j]), self._ids[j], self._questions[j]
        else:
            best, near_id, near_q = float("nan"), "", ""
        if self._vecs and best > self.threshold:
            return Decision(qa_id, NEAR_DUPLICATE, best, near_id, near_q)
        if self.full:
            return Decision(qa_id, SURPLUS, best, near_id, near_q)
        self._vecs.append(vec)
        self._ids.append(qa_id)
        self._questions.append(question)
        return Decision(qa_id, KEPT, best, near_id, near_q)


def dedup_rows(rows: list[dict], encode: Encoder, threshold: float,
               target: int | None) -> list[Decision]:
    """Decide every row of one node, in order (rows need qa_id and question)."""
    vecs = encode([r["question"] for r in rows])
    deduper = NodeDeduper(threshold, target)
    return [deduper.offer(r["qa_id"], r["question"], v) for r, v in zip(rows, vecs, strict=True)]
