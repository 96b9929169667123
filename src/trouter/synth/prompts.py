"""Prompt templates for synthesis. Bump PROMPT_VERSION when any text changes."""

from __future__ import annotations

import json

PROMPT_VERSION = "synth-v3"

# What a node's children are called, plural and singular, by the node's level.
CHILD_WORDS = {
    "domain": ("subcategories", "subcategory"),
    "subcategory": ("difficulty levels", "difficulty level"),
}

# No maxLength: llama-cpp-python expands it into a grammar that llama.cpp refuses (the server
# then dies); over-long replies are cut by max_tokens, reported as such and re-asked.
NODE_SCHEMA_ITEM = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 3},
        "definition": {"type": "string", "minLength": 10},
        "example": {"type": "string", "minLength": 10},
    },
    "required": ["name", "definition", "example"],
}


def items_schema(min_items: int, max_items: int) -> dict:
    return {"type": "object",
            "properties": {"items": {"type": "array", "items": NODE_SCHEMA_ITEM,
                                     "minItems": min_items, "maxItems": max_items}},
            "required": ["items"]}


def qa_schema(n: int) -> dict:
    pair = {"type": "object",
            "properties": {"question": {"type": "string", "minLength": 10},
                           "answer": {"type": "string", "minLength": 1}},
            "required": ["question", "answer"]}
    return {"type": "object",
            "properties": {"pairs": {"type": "array", "items": pair, "minItems": n,
                                     "maxItems": n}},
            "required": ["pairs"]}


def describe(chain: list[dict]) -> str:
    """A task profile: each ancestor's level, name, definition and example, outermost first."""
    return "\n".join(f"- {n['level'].capitalize()}: {n['name']}. {n['definition']} "
                     f"Example: {n['example']}" for n in chain)


def _json_items(items: list[dict]) -> str:
    return json.dumps({"items": [{k: it[k] for k in ("name", "definition", "example")}
                                 for it in items]}, ensure_ascii=False, indent=1)


SYSTEM_GENERATOR = ("You are a task type generator. You design taxonomies of the tasks that users "
                    "ask language models to do. You reply with JSON only.")
SYSTEM_EVALUATOR = ("You are a quality evaluator for task taxonomies. You check sets of task types "
                    "for redundancy, specificity and completeness. You reply with JSON only.")
SYSTEM_QA = ("You write diverse, self-contained question-answer pairs for evaluating language "
             "models. You reply with JSON only.")


ITEMS_FORMAT = 'Reply as JSON: {"items": [{"name": ..., "definition": ..., "example": ...}]}'


def _chat(system: str, user: str) -> list[dict]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _count(lo: int, hi: int) -> str:
    return f"exactly {lo}" if lo == hi else f"between {lo} and {hi}"


def generate_children(chain: list[dict], lo: int, hi: int) -> list[dict]:
    parent = chain[-1]
    plural, singular = CHILD_WORDS[parent["level"]]
    user = (f"Task profile:\n{describe(chain)}\n\n"
            f"Propose {_count(lo, hi)} {plural} of the {parent['level']} "
            f"\"{parent['name']}\". Each {singular} needs a short name, a one-sentence "
            f"definition (at most 25 words) and one short example query that a user could "
            f"send. They must not overlap and together must cover the {parent['level']}.\n"
            f"{ITEMS_FORMAT}")
    return _chat(SYSTEM_GENERATOR, user)


def generate_domains(seeds: list[dict], n_new: int) -> list[dict]:
    user = (f"These task domains already exist:\n{_json_items(seeds)}\n\n"
            f"Propose up to {n_new} further domains of tasks that users ask language models "
            f"to do, not covered by the domains above. Each needs a short name, a one-sentence "
            f"definition (at most 25 words) and one short example query.\n{ITEMS_FORMAT}")
    return _chat(SYSTEM_GENERATOR, user)


def review(context: str, items: list[dict], lo: int, hi: int) -> list[dict]:
    user = (f"{context}\n\nProposed set:\n{_json_items(items)}\n\n"
            f"Review the set. Merge or replace items that are redundant, sharpen definitions "
            f"that are vague, and add what is missing so the set is complete. Keep items "
            f"that are fine exactly as they are. The revised set must have {_count(lo, hi)} "
            f"items.\n{ITEMS_FORMAT}")
    return _chat(SYSTEM_EVALUATOR, user)


def children_context(chain: list[dict]) -> str:
    parent = chain[-1]
    plural, _ = CHILD_WORDS[parent["level"]]
    return (f"Task profile:\n{describe(chain)}\n\nThe set below lists {plural} of the "
            f"{parent['level']} \"{parent['name']}\".")


def domains_context(seeds: list[dict]) -> str:
    return (f"These seed domains are fixed:\n{_json_items(seeds)}\n\nThe set below lists "
            f"further domains proposed to complement them; none may repeat a seed domain.")


def generate_qa(chain: list[dict], n: int, avoid: list[str]) -> list[dict]:
    avoid_text = ""
    if avoid:
        listed = "\n".join(f"- {q}" for q in avoid)
        avoid_text = f"\nThese questions already exist; write different ones:\n{listed}\n"
    user = (f"Task profile:\n{describe(chain)}\n\n"
            f"Write {n} new question-answer pairs that fit this task profile exactly: the "
            f"domain, the subcategory and the difficulty level. Each question must be "
            f"self-contained (include any passage or code it needs) and each answer must be "
            f"correct and concise: the final answer plus at most two sentences of "
            f"justification (or just the code).{avoid_text}\n"
            'Reply as JSON: {"pairs": [{"question": ..., "answer": ...}]}')
    return _chat(SYSTEM_QA, user)
