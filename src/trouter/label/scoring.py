"""Score a candidate's response to a benchmark query with that benchmark's metric."""

from __future__ import annotations

import re

from trouter.score.choice import score_choice
from trouter.score.code import score_humaneval
from trouter.score.numeric import score_gsm8k
from trouter.score.overlap import rouge_l, score_squad, token_f1
from trouter.score.sandbox import Limits

METRICS = {"gsm8k": "numeric equivalence (math-verify)", "mmlu_redux": "answer-letter exact match",
           "humaneval": "pass@1 (sandboxed tests)", "squad": "token F1",
           "multi_news": "ROUGE-L F1 (rouge-score)", "synthetic": "LLM judge (1 / 0.5 / 0)"}
# Multi-News's metric is a setting (benchmarks.multi_news.metric): the authors' code scores it
# with SQuAD's token F1 over the whole reply.
SUMMARY_METRICS = {"rouge_l": "ROUGE-L F1 (rouge-score)", "token_f1": "token F1 (SQuAD's)"}

# A reasoning model's thoughts (Qwen3's <think>...</think>) are not its answer; an unclosed block
# (cut off while thinking) leaves none; a reply whose template opened the block in the prompt
# has only the closing tag: what follows its last one is the answer.
THINKING = re.compile(r"<think>.*?(?:</think>|\Z)", re.S)

# Datasets whose answers are programs run in the sandbox.
CODE_DATASETS = ("humaneval",)


def metric_name(dataset: str, summary_metric: str = "rouge_l") -> str:
    return SUMMARY_METRICS[summary_metric] if dataset == "multi_news" else METRICS[dataset]


def strip_thinking(response: str) -> str:
    if "<think>" in response:
        response = THINKING.sub("", response)
    return response.rsplit("</think>", 1)[-1].lstrip("\n")


def score_response(q: dict, response: str, limits: Limits,
                   summary_metric: str = "rouge_l") -> tuple[float, str]:
    """(score in [0, 1], what was extracted or why it failed) for a benchmark query, its
    thinking block left out."""
    f, ref = q["fields"], q["reference"]
    response = strip_thinking(response)
    match q["dataset"]:
        case "gsm8k":
            return score_gsm8k(response, ref)
        case "mmlu_redux":
            return score_choice(response, f["choices"], ref)
        case "humaneval":
            return score_humaneval(response, f["prompt"], f["test"], f["entry_point"], limits)
        case "squad":
            return score_squad(response, ref)
        case "multi_news":
            if summary_metric not in SUMMARY_METRICS:
                raise ValueError(f"benchmarks.multi_news.metric={summary_metric!r}: expected "
                                 f"one of {list(SUMMARY_METRICS)}")
            score = rouge_l if summary_metric == "rouge_l" else token_f1
            return score(response, ref), ""
    raise ValueError(f"no metric for dataset {q['dataset']!r}")
