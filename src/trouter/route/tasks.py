"""Task types (the difficulty nodes of the taxonomy) and task priors for training queries."""

from __future__ import annotations

import numpy as np

from trouter.errors import DataError
from trouter.io import read_csv
from trouter.synth.taxonomy import LEVELS, NODE_COLUMNS, chain_of


def load_nodes(path) -> list[dict]:
    """A taxonomy's node table (expand_taxonomy/nodes.csv, or a file in that format): ids unique,
    levels known, every parent present and one level up."""
    nodes = read_csv(path, NODE_COLUMNS).to_dict("records")
    if not nodes:
        raise DataError(f"{path}: the node table is empty")
    by_id = {}
    for row, node in enumerate(nodes, 2):
        if node["level"] not in LEVELS:
            raise DataError(f"{path}: row {row}: level={node['level']!r}, expected one of {LEVELS}")
        if not node["id"] or node["id"] in by_id:
            raise DataError(f"{path}: row {row}: id={node['id']!r} is empty or repeated")
        by_id[node["id"]] = node
    for row, node in enumerate(nodes, 2):
        depth = LEVELS.index(node["level"])
        parent = by_id.get(node["parent_id"])
        if (depth == 0) != (node["parent_id"] == "") or (
                depth and (parent is None or parent["level"] != LEVELS[depth - 1])):
            raise DataError(f"{path}: row {row}: parent_id={node['parent_id']!r} is not a "
                            f"{LEVELS[depth - 1] if depth else 'empty'} node")
    return nodes


def dataset_nodes(nodes: list[dict], where) -> dict[str, str]:
    """Dataset -> the difficulty node a taxonomy names for it in its optional `dataset` column
    (the task type of that dataset's queries under routing.task_prior=dataset); empty when the
    table has no such column."""
    out: dict[str, str] = {}
    for node in nodes:
        dataset = str(node.get("dataset") or "")
        if not dataset:
            continue
        if node["level"] != LEVELS[-1]:
            raise DataError(f"{where}: node {node['id']!r} names dataset {dataset!r}, but only "
                            f"{LEVELS[-1]} nodes (task types) may")
        if dataset in out:
            raise DataError(f"{where}: dataset {dataset!r} is named by nodes {out[dataset]!r} "
                            f"and {node['id']!r}")
        out[dataset] = node["id"]
    return out


def landing(assigned, own: dict[str, str]) -> tuple[dict, list[str]]:
    """Per dataset of an assignment table (dataset, node_id): the share of its queries on each
    of its top task types, and its own node's share where the taxonomy names one; warnings where
    a dataset's queries land mostly on another dataset's node, or mostly off their own."""
    owner = {node: d for d, node in own.items()}
    report, warnings = {}, []
    for dataset, rows in assigned.groupby("dataset"):
        shares = rows["node_id"].value_counts(normalize=True)
        top, share = str(shares.index[0]), float(shares.iloc[0])
        mine = own.get(dataset)
        report[dataset] = {"queries": len(rows), "top": {str(k): round(float(v), 4) for k, v
                                                           in shares.head(3).items()},
                           "own_node": mine,
                           "own_share": None if mine is None else float(shares.get(mine, 0.0))}
        if owner.get(top, dataset) != dataset and share > 0.5:
            warnings.append(f"{share:.0%} of {dataset}'s {len(rows)} queries were assigned "
                            f"{top}, the task type of {owner[top]}")
        elif mine is not None and report[dataset]["own_share"] < 0.5:
            warnings.append(f"only {report[dataset]['own_share']:.0%} of {dataset}'s "
                            f"{len(rows)} queries were assigned its own task type {mine}")
    return report, warnings


def task_types(nodes: list[dict], level: str = LEVELS[-1]) -> list[dict]:
    """Every node of a level (by default the difficulty nodes, the task types) with its profile
    text: its own description and its parents'; for difficulty nodes also their ancestors' ids
    (`ancestors`, in LEVELS order)."""
    by_id = {n["id"]: n for n in nodes}
    out = []
    for node in nodes:
        if node["level"] != level:
            continue
        chain = chain_of(node, by_id)
        text = "\n".join(f"{n['level'].capitalize()}: {n['name']}. {n['definition']} "
                         f"Example: {n['example']}" for n in chain)
        out.append({"node_id": node["id"], "text": text,
                    "ancestors": [n["id"] for n in chain[:-1]]})
    if not out:
        raise DataError(f"the taxonomy has no {level}-level nodes")
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
