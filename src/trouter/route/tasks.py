"""Task types (the difficulty nodes of the taxonomy) and task priors for training queries."""

from __future__ import annotations

import numpy as np

from trouter.errors import DataError
from trouter.synth.taxonomy import LEVELS, chain_of


def task_types(nodes: list[dict]) -> list[dict]:
    """Every difficulty node with its profile text: its own description and its parents'."""
    by_id = {n["id"]: n for n in nodes}
    out = []
    for node in nodes:
        if node["level"] != LEVELS[-1]:
            continue
        text = "\n".join(f"{n['level'].capitalize()}: {n['name']}. {n['definition']} "
                         f"Example: {n['example']}" for n in chain_of(node, by_id))
        out.append({"node_id": node["id"], "text": text})
    if not out:
        raise DataError("the taxonomy has no difficulty-level task types")
    return out


def one_hot_prior(node_ids: list[str], task_ids: list[str]) -> np.ndarray:
    """The task type each synthetic query was generated from, as a one-hot row."""
    index = {t: i for i, t in enumerate(task_ids)}
    prior = np.zeros((len(node_ids), len(task_ids)), dtype=np.float32)
    for row, node in enumerate(node_ids):
        if node not in index:
            raise DataError(f"node_id {node!r} is not a task type of the taxonomy")
        prior[row, index[node]] = 1.0
    return prior
