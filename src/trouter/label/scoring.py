"""Score a candidate's response to a benchmark query with that benchmark's metric."""

from __future__ import annotations

from trouter.score.choice import score_choice
from trouter.score.code import score_humaneval
from trouter.score.numeric import score_gsm8k
from trouter.score.overlap import rouge_l, score_squad
from trouter.score.sandbox import Limits

METRICS = {"gsm8k": "numeric exact match", "mmlu_redux": "answer-letter exact match",
           "humaneval": "pass@1 (sandboxed tests)", "squad": "token F1",
           "multi_news": "ROUGE-L F1", "synthetic": "LLM judge (1 / 0.5 / 0)"}

# Datasets whose answers are programs run in the sandbox.
CODE_DATASETS = ("humaneval",)


def score_response(q: dict, response: str, limits: Limits) -> tuple[float, str]:
    """(score in [0, 1], what was extracted or why it failed) for a benchmark query."""
    f, ref = q["fields"], q["reference"]
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
            return rouge_l(response, ref), ""
    raise ValueError(f"no metric for dataset {q['dataset']!r}")
