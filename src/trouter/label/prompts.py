"""Versioned answer prompts, one per dataset kind. Change the text -> bump ANSWER_VERSION."""

from __future__ import annotations

from trouter.data.benchmarks import LETTERS
from trouter.errors import ConfigError

ANSWER_VERSION = "answer-v1"


# How candidates are asked synthetic questions (labeling.synthetic_prompt): ours, or the authors'
# (ColdStartLLMRouter, metric_estimator.py, MetricEstimator.evaluate_model).
SYNTHETIC_PROMPTS = {
    "ours": "{question}\n\nAnswer concisely and state your final answer clearly.",
    "authors": "Please answer the following question: {question}\n\nAnswer:",
}


def synthetic(q: dict, options: dict) -> str:
    return SYNTHETIC_PROMPTS[options.get("prompt", "ours")].format(question=q["question"])


def gsm8k(q: dict, options: dict) -> str:
    return (f"{q['question']}\n\nSolve the problem step by step, briefly. On the last line write "
            "the final answer as '#### <number>'.")


def mmlu_redux(q: dict, options: dict) -> str:
    choices = "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(q["fields"]["choices"]))
    return (f"{q['question']}\n\n{choices}\n\nAnswer with the letter of the correct option, "
            "as 'Answer: <letter>'.")


def humaneval(q: dict, options: dict) -> str:
    return ("Complete the following Python function. Reply with the whole function in one "
            f"```python code block.\n\n```python\n{q['fields']['prompt']}```")


def squad(q: dict, options: dict) -> str:
    return (f"Passage:\n{q['fields']['context']}\n\nQuestion: {q['question']}\n\n"
            "Answer with the shortest span of the passage that answers the question, and "
            "nothing else.")


def multi_news(q: dict, options: dict) -> str:
    limit = options.get("max_input_chars")
    documents = q["fields"]["documents"]
    documents = documents if not limit else documents[: int(limit)]
    return ("Summarize the following news articles in one fluent paragraph.\n\n"
            f"{documents}\n\nSummary:")


TEMPLATES = {"synthetic": synthetic, "gsm8k": gsm8k, "mmlu_redux": mmlu_redux,
             "humaneval": humaneval, "squad": squad, "multi_news": multi_news}


def answer_messages(q: dict, options: dict) -> list[dict]:
    """The chat messages a candidate model receives for query record `q`."""
    template = TEMPLATES.get(q["dataset"])
    if template is None:
        raise ConfigError(f"dataset {q['dataset']!r} has no answer prompt")
    return [{"role": "user", "content": template(q, options)}]
