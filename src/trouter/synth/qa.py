"""QA generation per difficulty node, in batches, until the node has its target after dedup."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from trouter.llm.parse import ReplyError, ask, extract_blocks, extract_json, require_str
from trouter.synth import prompts
from trouter.synth.dedup import KEPT, Encoder, NodeDeduper

QA_COLUMNS = ["qa_id", "node_id", "call", "position", "question", "answer"]
REPORT_COLUMNS = ["node_id", "target", "accepted", "generated", "calls", "failed_calls",
                  "malformed_replies", "reached"]
AVOID_SHOWN = 8


def make_qa_id(node_id: str, call: int, position: int, question: str) -> str:
    blob = f"{node_id}|{call}|{position}|{question}"
    return "q" + hashlib.sha1(blob.encode("utf-8")).hexdigest()[:12]


def parse_pairs(n: int):
    """Parser for up to n pairs: JSON, or QUESTION:/ANSWER: blocks (endpoints without JSON mode)."""

    def parse(text: str) -> list[tuple[str, str]]:
        try:
            data = extract_json(text)
        except ReplyError as exc:
            try:
                data = extract_blocks(text, ["QUESTION", "ANSWER"])
            except ReplyError:
                raise exc from None
        pairs = data.get("pairs") if isinstance(data, dict) else data
        if not isinstance(pairs, list) or not pairs:
            raise ReplyError('expected {"pairs": [{"question": ..., "answer": ...}, ...]}')
        if len(pairs) > n:
            raise ReplyError(f"expected at most {n} pairs, got {len(pairs)}")
        return [(require_str(p, "question", f"pairs[{i}]"), require_str(p, "answer", f"pairs[{i}]"))
                for i, p in enumerate(pairs)]

    return parse


@dataclass
class QAConfig:
    target: int
    batch_size: int
    max_calls: int
    temperature: float
    threshold: float
    max_reasks: int
    seed: int


def generate_for_node(client, chain: list[dict], cfg: QAConfig, encode: Encoder):
    """Return (generated rows in order, report row) for the last node of `chain`."""
    node = chain[-1]
    deduper = NodeDeduper(cfg.threshold, cfg.target)
    rows, accepted_q = [], []
    failed = malformed = calls = 0
    base = int(hashlib.sha1(node["id"].encode()).hexdigest()[:8], 16) + cfg.seed
    while not deduper.full and calls < cfg.max_calls:
        msgs = prompts.generate_qa(chain, cfg.batch_size, accepted_q[-AVOID_SHOWN:])
        res = ask(client, msgs, parse_pairs(cfg.batch_size),
                  schema=prompts.qa_schema(cfg.batch_size), max_reasks=cfg.max_reasks,
                  seed=base + calls, tag=f"qa:{node['id']}:{calls}",
                  overrides={"temperature": cfg.temperature})
        malformed += res.malformed
        call, calls = calls, calls + 1
        if not res.ok:
            failed += 1
            continue
        batch = [{"qa_id": make_qa_id(node["id"], call, pos, q), "node_id": node["id"],
                  "call": call, "position": pos, "question": q, "answer": a}
                 for pos, (q, a) in enumerate(res.value)]
        vecs = encode([r["question"] for r in batch])
        for r, v in zip(batch, vecs, strict=True):
            if deduper.offer(r["qa_id"], r["question"], v).status == KEPT:
                accepted_q.append(r["question"])
        rows.extend(batch)
    report = {"node_id": node["id"], "target": cfg.target, "accepted": deduper.accepted,
              "generated": len(rows), "calls": calls, "failed_calls": failed,
              "malformed_replies": malformed, "reached": deduper.full}
    return rows, report
