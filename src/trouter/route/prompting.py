"""PromptLLM's request: an LLM reads the candidates, a utility setting and the query, and names
the candidate to route to. The fixed part comes first and the query last, so a llama.cpp server
reuses its cached prompt prefix from one query to the next."""

from __future__ import annotations

from trouter.llm.client import LLMClient
from trouter.llm.parse import Asked, ReplyError, ask, extract_json

PROMPT_VERSION = "prompt-llm-v1"
SYSTEM = ("You are a router. You send a user query to one of the candidate language models "
          "below, the one with the highest utility U = mu_r * performance - mu_c * cost, where "
          "performance is how well the model is expected to answer this query (0 to 1) and cost "
          "is what the model charges for it, scaled from 0 (the cheapest candidate) to 1 (the "
          "dearest). Read the candidates, the weights and the query, then reply with JSON only: "
          '{"model": "<candidate name>"}.')
STANCE = {"cost_first": "Cost matters most: prefer a cheap model unless it is likely to fail.",
          "balanced": "Performance and cost matter equally.",
          "perf_first": "Performance matters most: prefer the strongest model unless a cheaper "
                        "one is as good."}


def candidate_listing(pool: dict, models: list[str]) -> str:
    """One paragraph per candidate, cheapest first: name, price and description."""
    prices, descriptions = pool.get("prices") or {}, pool.get("descriptions") or {}
    currency = pool.get("currency", "")
    lines = []
    for i, m in enumerate(models, 1):
        price = prices.get(m)
        cost = (f"price {currency} {price['input_per_1m']:g} per 1M input tokens and "
                f"{price['output_per_1m']:g} per 1M output tokens" if price
                else f"price rank {i} of {len(models)}")
        about = f"\n   {descriptions[m]}" if m in descriptions else ""
        lines.append(f"{i}. {m} ({cost}){about}")
    return "\n".join(lines)


def router_messages(listing: str, setting: str, mu: tuple[float, float], query: str,
                    max_chars: int) -> list[dict]:
    weights = (f"Weights: mu_r = {mu[0]:g} on performance, mu_c = {mu[1]:g} on cost "
               f"({setting}). {STANCE[setting]}")
    return [{"role": "system", "content": f"{SYSTEM}\n\nCandidates, cheapest first:\n{listing}"},
            {"role": "user", "content": f"{weights}\n\nQuery:\n{query[:max_chars]}\n\n"
                                        "Model as JSON:"}]


def schema(models: list[str]) -> dict:
    return {"type": "object", "properties": {"model": {"type": "string", "enum": list(models)}},
            "required": ["model"]}


def parser(models: list[str]):
    by_name = {m.lower(): i for i, m in enumerate(models)}

    def parse(text: str) -> int:
        obj = extract_json(text)
        value = obj.get("model") if isinstance(obj, dict) else None
        if not isinstance(value, str) or value.strip().lower() not in by_name:
            raise ReplyError(f'expected {{"model": <one of {models}>}}')
        return by_name[value.strip().lower()]

    return parse


def pick_model(client: LLMClient, messages: list[dict], models: list[str], *, max_reasks: int,
               seed: int) -> Asked:
    """The index of the candidate the LLM names (value None when its replies stay unusable)."""
    use_schema = schema(models) if client.card.structured_output != "none" else None
    return ask(client, messages, parser(models), schema=use_schema, max_reasks=max_reasks,
               seed=seed, tag="route", overrides={"temperature": 0.0, "max_tokens": 64})
