"""TRouter's network: task recognition q(t|q) and per-(metric, model) heads on task types."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class TRouterNet(nn.Module):
    """p(h | q, m) = sum_t p(h | t, m) q(t | q), for h in {performance, cost}.

    q(t|q): the query and every task type are projected to `hidden`, an MLP scores each
    (query, task type) pair from their concatenation, and a softmax with `temperature` runs over
    the task types. r_m(t) and c_m(t): one linear head per (metric, model) on the task type's
    representation."""

    def __init__(self, emb_dim: int, n_models: int, hidden: int = 256, temperature: float = 1.0,
                 dropout: float = 0.1):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature
        self.query_proj = nn.Sequential(nn.Linear(emb_dim, hidden), nn.ReLU(), nn.Dropout(dropout))
        self.task_proj = nn.Sequential(nn.Linear(emb_dim, hidden), nn.ReLU(), nn.Dropout(dropout))
        self.match = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.performance = nn.Linear(hidden, n_models)  # column m: the head for model m
        self.cost = nn.Linear(hidden, n_models)

    def forward(self, queries: torch.Tensor, tasks: torch.Tensor) -> dict[str, torch.Tensor]:
        """queries [B, E], tasks [T, E] -> logits and q(t|q) [B, T], r_t and c_t [T, M],
        r_hat and c_hat [B, M]."""
        hq, ht = self.query_proj(queries), self.task_proj(tasks)
        b, t = hq.shape[0], ht.shape[0]
        pairs = torch.cat([hq[:, None, :].expand(b, t, -1), ht[None, :, :].expand(b, t, -1)], -1)
        logits = self.match(pairs).squeeze(-1) / self.temperature
        q_t = logits.softmax(-1)
        r_t, c_t = self.performance(ht), self.cost(ht)
        return {"logits": logits, "q_t": q_t, "r_t": r_t, "c_t": c_t,
                "r_hat": q_t @ r_t, "c_hat": q_t @ c_t}


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per model (column) the MSE over rows where mask is 1; a column without rows counts 0."""
    sq = (pred - torch.nan_to_num(target)) ** 2 * mask
    return sq.sum(0) / mask.sum(0).clamp(min=1)


def trouter_loss(out: dict[str, torch.Tensor], prior: torch.Tensor, r: torch.Tensor,
                 c: torch.Tensor, r_mask: torch.Tensor, c_mask: torch.Tensor,
                 task_weight: float = 1.0) -> dict[str, torch.Tensor]:
    """Cross-entropy from the prior over task types to q(t|q) (equal to KL(prior || q) up to the
    prior's entropy), plus the mean over (metric, model) of the masked MSEs."""
    task = -(prior * F.log_softmax(out["logits"], -1)).sum(-1).mean()
    mse = torch.cat([masked_mse(out["r_hat"], r, r_mask), masked_mse(out["c_hat"], c, c_mask)])
    mse = mse.mean()
    return {"loss": task_weight * task + mse, "task": task, "mse": mse}
