"""Task types for real training queries: nearest description, or an LLM labeller."""

from __future__ import annotations

from trouter.llm.client import LLMClient
from trouter.llm.parse import ReplyError, ask, extract_json

LABELLER_VERSION = "task-labeller-v1"
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
