"""Taxonomy expansion: a generator proposes task types, an evaluator revises them until stable."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from trouter.llm.parse import ReplyError, ask, extract_json, require_str
from trouter.synth import prompts

LEVELS = ("domain", "subcategory", "difficulty")
NODE_COLUMNS = ["id", "parent_id", "level", "name", "definition", "example"]


def node_id(parent_id: str, name: str) -> str:
    """Stable id from the parent's id and the normalised name."""
    digest = hashlib.sha1(f"{parent_id}/{normalise(name)}".encode()).hexdigest()[:10]
    return f"n{digest}"


def normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def names_signature(items: list[dict]) -> tuple[str, ...]:
    return tuple(sorted(normalise(it["name"]) for it in items))


def parse_items(lo: int, hi: int, exclude: tuple[str, ...] = ()):
    """Parser for a reply {"items": [...]} with lo..hi distinct, well-formed task types."""

    def parse(text: str) -> list[dict]:
        data = extract_json(text)
        items = data.get("items") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ReplyError('expected {"items": [...]}')
        out, seen = [], set(exclude)
        for i, it in enumerate(items):
            entry = {k: require_str(it, k, f"items[{i}]", 600)
                     for k in ("name", "definition", "example")}
            key = normalise(entry["name"])
            if not key:
                raise ReplyError(f"items[{i}]: the name has no letters or digits")
            if key in seen:
                raise ReplyError(f"items[{i}]: the name {entry['name']!r} is repeated")
            seen.add(key)
            out.append(entry)
        if not lo <= len(out) <= hi:
            raise ReplyError(f"expected {lo} to {hi} items, got {len(out)}")
        return out

    return parse


@dataclass
class Refinement:
    """What one refinement loop produced and how it got there."""

    items: list[dict]
    stable: bool
    rounds: list[dict] = field(default_factory=list)
    failures: int = 0


def refine_until_stable(propose: Callable[[], list[dict] | None],
                        review: Callable[[list[dict], int], list[dict] | None],
                        *, patience: int, max_rounds: int) -> Refinement:
    """Propose once, then review until `patience` consecutive rounds change nothing.

    A round changes something when the reviewed set's names differ from the current set's. A
    review that fails (unparseable after re-asks) is logged and neither changes nor confirms.
    `max_rounds=0` takes the proposal as it is (no evaluator).
    """
    proposed = propose()
    if proposed is None:
        return Refinement([], False, [{"round": 0, "step": "propose", "failed": True}], 1)
    current = proposed
    log = [{"round": 0, "step": "propose", "items": proposed}]
    if max_rounds == 0:
        return Refinement(current, True, log)
    unchanged = failures = 0
    for rnd in range(1, max_rounds + 1):
        revised = review(current, rnd)
        if revised is None:
            failures += 1
            log.append({"round": rnd, "step": "review", "failed": True})
            continue
        before, after = set(names_signature(current)), set(names_signature(revised))
        changed = before != after
        log.append({"round": rnd, "step": "review", "changed": changed, "items": revised,
                    "removed": sorted(before - after), "added": sorted(after - before)})
        current = revised
        unchanged = 0 if changed else unchanged + 1
        if unchanged >= patience:
            return Refinement(current, True, log, failures)
    return Refinement(current, False, log, failures)


class TaxonomyBuilder:
    """Builds the domain -> subcategory -> difficulty tree with a generator and an evaluator."""

    def __init__(self, generator, evaluator, cfg, *, max_reasks: int, seed: int):
        self.gen = generator
        self.ev = evaluator
        self.cfg = cfg
        self.max_reasks = max_reasks
        self.seed = seed
        self.log: list[dict] = []
        self.failed_requests: list[dict] = []
        self.malformed = 0
        self._lock = threading.Lock()

    def _ask(self, client, messages, lo, hi, *, exclude=(), seed, tag, overrides=None):
        res = ask(client, messages, parse_items(lo, hi, exclude),
                  schema=prompts.items_schema(lo, hi), max_reasks=self.max_reasks, seed=seed,
                  tag=tag, overrides=overrides)
        with self._lock:
            self.malformed += res.malformed
            if not res.ok:
                self.failed_requests.append({"tag": tag, "errors": res.errors})
        return res.value

    def _refine(self, node_ref: str, gen_messages, context: str, lo: int, hi: int,
                exclude=()) -> Refinement:
        base = int(hashlib.sha1(node_ref.encode()).hexdigest()[:8], 16) + self.seed

        def propose():
            return self._ask(self.gen, gen_messages, lo, hi, exclude=exclude, seed=base,
                             tag=f"propose:{node_ref}")

        def review(items, rnd):
            msgs = prompts.review(context, items, lo, hi)
            return self._ask(self.ev, msgs, lo, hi, exclude=exclude, seed=base + rnd,
                             tag=f"review:{node_ref}:{rnd}",
                             overrides={"temperature": float(self.cfg.evaluator_temperature)})

        rounds = int(self.cfg.max_rounds) if self.cfg.get("evaluator", True) else 0
        ref = refine_until_stable(propose, review, patience=int(self.cfg.patience),
                                  max_rounds=rounds)
        ref.rounds = [{"node": node_ref, **r} for r in ref.rounds]
        return ref

    def domains(self) -> tuple[list[dict], dict]:
        seeds = [{"level": "domain", **{k: s[k] for k in ("name", "definition", "example")}}
                 for s in self.cfg.seeds]
        n_new = int(self.cfg.max_domains) - len(seeds)
        status = {"node": "ROOT", "stable": True, "failures": 0, "added": 0}
        if n_new > 0:
            exclude = tuple(normalise(s["name"]) for s in seeds)
            ref = self._refine("ROOT", prompts.generate_domains(seeds, n_new),
                               prompts.domains_context(seeds), 1, n_new, exclude)
            self.log += ref.rounds
            seeds += [{"level": "domain", **it} for it in ref.items]
            status = {"node": "ROOT", "stable": ref.stable, "failures": ref.failures,
                      "added": len(ref.items)}
        return seeds, status

    def children(self, chain: list[dict]) -> tuple[list[dict], dict, list[dict]]:
        """The children of the chain's last node, the expansion's status and its rounds."""
        parent = chain[-1]
        bounds = self.cfg.children[parent["level"]]
        lo, hi = int(bounds.min), int(bounds.max)
        ref = self._refine(parent["id"], prompts.generate_children(chain, lo, hi),
                           prompts.children_context(chain), lo, hi)
        level = LEVELS[LEVELS.index(parent["level"]) + 1]
        kids = [{"level": level, **it} for it in ref.items]
        return kids, {"node": parent["id"], "stable": ref.stable, "failures": ref.failures,
                      "added": len(kids)}, ref.rounds

    def build(self, progress=None) -> tuple[list[dict], list[dict]]:
        """Return (flat nodes, per-expansion status). The nodes of one level are expanded
        concurrently (the generator's concurrency); outputs keep breadth-first order."""
        domains, status = self.domains()
        nodes, statuses = [], [status]
        for d in domains:
            d["id"], d["parent_id"] = node_id("", d["name"]), ""
            nodes.append(d)
        frontier = [[d] for d in domains]

        def expand(chain):
            out = self.children(chain)
            if progress is not None:
                progress.update(1)
            return out

        while frontier:
            results = self.gen.map(expand, frontier, desc=f"expand {frontier[0][-1]['level']}")
            next_frontier = []
            for chain, (kids, st, rounds) in zip(frontier, results, strict=True):
                statuses.append(st)
                self.log += rounds
                for k in kids:
                    k["id"], k["parent_id"] = node_id(chain[-1]["id"], k["name"]), chain[-1]["id"]
                    nodes.append(k)
                    if k["level"] != LEVELS[-1]:
                        next_frontier.append(chain + [k])
            frontier = next_frontier
        self.failed_requests.sort(key=lambda f: f["tag"])
        return nodes, statuses


def nest(nodes: list[dict]) -> list[dict]:
    """Nested JSON view of the flat node table."""
    by_parent: dict[str, list[dict]] = {}
    for n in nodes:
        by_parent.setdefault(n["parent_id"], []).append(n)

    def build(parent_id: str) -> list[dict]:
        return [{**{k: n[k] for k in NODE_COLUMNS}, "children": build(n["id"])}
                for n in by_parent.get(parent_id, [])]

    return build("")


def chain_of(node: dict, by_id: dict[str, dict]) -> list[dict]:
    """The node with its ancestors, outermost first."""
    chain = [node]
    while chain[0]["parent_id"]:
        chain.insert(0, by_id[chain[0]["parent_id"]])
    return chain
