"""Task types for real training queries: nearest description, or an LLM labeller: ours (one
JSON pick among the numbered task types) or the authors' (three multiple-choice steps, domain ->
subcategory -> difficulty, as ColdStartLLMRouter's few_shot_t_labeler.py FewShotTaskLabeler)."""

from __future__ import annotations

from trouter.llm.client import LLMClient
from trouter.llm.parse import ReplyError, ask, extract_json
from trouter.score.choice import LETTERS, answer_letter
from trouter.synth.taxonomy import LEVELS

LABELLER_VERSION = "task-labeller-v1"
AUTHORS_VERSION = "task-labeller-authors"
LABELLER_PROMPTS = {"ours": LABELLER_VERSION, "authors": AUTHORS_VERSION}
SYSTEM = ("You classify a user query into one task type of a taxonomy. Read the numbered task "
          "types, then the query, and reply with JSON only: {\"task\": <number>}.")


def labeller_messages(query: str, tasks: list[dict], max_chars: int) -> list[dict]:
    listing = "\n\n".join(f"{i}. {t['text']}" for i, t in enumerate(tasks, 1))
    return [{"role": "system", "content": f"{SYSTEM}\n\nTask types:\n{listing}"},
            {"role": "user", "content": f"Query:\n{query[:max_chars]}\n\nTask type as JSON:"}]


def schema(n: int) -> dict:
    return {"type": "object", "properties": {"task": {"type": "integer", "enum":
            list(range(1, n + 1))}}, "required": ["task"]}


def parser(n: int):
    def parse(text: str) -> int:
        obj = extract_json(text)
        value = obj.get("task") if isinstance(obj, dict) else None
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= n:
            raise ReplyError(f'expected {{"task": <a number from 1 to {n}>}}')
        return value - 1

    return parse


def label_query(client: LLMClient, query: str, tasks: list[dict], *, max_chars: int,
                max_reasks: int, seed: int) -> int | None:
    """Index of the task type the LLM picks, or None when its replies stay unusable."""
    use_schema = schema(len(tasks)) if client.card.structured_output != "none" else None
    asked = ask(client, labeller_messages(query, tasks, max_chars), parser(len(tasks)),
                schema=use_schema, max_reasks=max_reasks, seed=seed, tag="task label",
                overrides={"temperature": 0.0, "max_tokens": 16})
    return asked.value if asked.ok else None


# The authors' three prompts (generate_domain_prompt, generate_subcat_prompt,
# generate_difficulty_prompt), their wording and spacing kept.
STEP_PROMPTS = {
    "domain": "Based on the following query, select the most appropriate domain. \n\n",
    "subcategory": 'Within the domain "{parent}", select the most appropriate subcategory for '
                   "the following query.\n\n",
    "difficulty": 'Within the subcategory "{parent}", select the most appropriate difficulty '
                  "level for the following query.\n\n",
}
RULES = ("Instructions:\n1. Choose ONLY ONE option\n2. Respond with ONLY the letter (A, B, C, "
         "etc.)\n3. Format your answer as: Answer: **X** (where X is your chosen letter)\n"
         "4. Do not include any explanations or additional text{stop}\n5. Do not answer the "
         "question.\n{gap}Answer: ")


def step_message(level: str, query: str, parent: str, options: list[dict]) -> list[dict]:
    listing = "\n".join(f"{LETTERS[i]}. {o['name']}: {o['definition']}"
                        for i, o in enumerate(options))
    first = level == "domain"
    text = (STEP_PROMPTS[level].format(parent=parent) + f"Query: {query}\n\nOptions:\n"
            f"{listing}\n\n" + RULES.format(stop="." if first else "", gap="\n" if first else ""))
    return [{"role": "user", "content": text}]


def letter_parser(options: list[dict]):
    def parse(text: str) -> int:
        letter = answer_letter(text, [o["name"] for o in options])
        if letter is None:
            raise ReplyError(f"expected 'Answer: **X**' with X one of "
                             f"{', '.join(LETTERS[:len(options)])}")
        return LETTERS.index(letter)

    return parse


def label_query_stepwise(client: LLMClient, query: str, nodes: list[dict], *, max_chars: int,
                         max_reasks: int, seed: int) -> str | None:
    """The difficulty node the LLM reaches through domain, subcategory and difficulty (greedy,
    50 tokens a step, as the authors), or None when a step's replies stay unusable."""
    parent: dict | None = None
    for level in LEVELS:
        options = [n for n in nodes if n["level"] == level
                   and n["parent_id"] == (parent["id"] if parent else "")]
        if not options:
            return None
        if len(options) > len(LETTERS):
            raise ValueError(f"{len(options)} {level} options: at most {len(LETTERS)} letters")
        asked = ask(client, step_message(level, query[:max_chars],
                                         parent["name"] if parent else "", options),
                    letter_parser(options), max_reasks=max_reasks, seed=seed,
                    tag=f"task label ({level})",
                    overrides={"temperature": 0.0, "max_tokens": 50})
        if not asked.ok:
            return None
        parent = options[asked.value]
    return parent["id"] if parent else None
