"""TRouter's network: task recognition q(t|q) and per-(metric, model) heads on task types."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F


def mlp(sizes: Sequence[int], dropout: float = 0.0) -> list[nn.Module]:
    """Linear layers through `sizes`, ReLU (and dropout) between them, none after the last."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return layers


class Heads(nn.Module):
    """One head per model for one metric: [T, D] -> [T, M]. Without hidden layers the M linear
    heads are one Linear(D, M); with them, M separate MLPs (dropout after each hidden ReLU).
    Optional sigmoid output."""

    def __init__(self, in_dim: int, n_models: int, hidden: Sequence[int] = (),
                 sigmoid: bool = False, dropout: float = 0.0):
        super().__init__()
        self.sigmoid = sigmoid
        if hidden:
            self.parts = nn.ModuleList(nn.Sequential(*mlp([in_dim, *hidden, 1], dropout))
                                       for _ in range(n_models))
        else:
            self.parts = nn.ModuleList([nn.Linear(in_dim, n_models)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.cat([part(x) for part in self.parts], -1)
        return out.sigmoid() if self.sigmoid else out


class TRouterNet(nn.Module):
    """p(h | q, m) = sum_t p(h | t, m) q(t | q), for h in {performance, cost}.

    q(t|q): the query and every task type pass through a branch (Linear to `hidden`, ReLU, then
    dropout, or a second Linear to `branch_out` when given), an MLP scores each (query, task
    type) pair from their concatenation (hidden layers `match_hidden`), and a softmax with
    `temperature` runs over the task types. r_m(t) and c_m(t): one head per (metric, model) on
    the task type's branch output (hidden layers `head_hidden` with `head_dropout`, optional
    sigmoid)."""

    def __init__(self, emb_dim: int, n_models: int, hidden: int = 256, temperature: float = 1.0,
                 dropout: float = 0.1, branch_out: int | None = None,
                 match_hidden: Sequence[int] | None = None, match_dropout: float = 0.0,
                 head_hidden: Sequence[int] = (), head_sigmoid: bool = False,
                 head_dropout: float = 0.0):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature
        self.query_proj = self._branch(emb_dim, hidden, dropout, branch_out)
        self.task_proj = self._branch(emb_dim, hidden, dropout, branch_out)
        width = branch_out or hidden
        match_hidden = [hidden] if match_hidden is None else list(match_hidden)
        self.match = nn.Sequential(*mlp([2 * width, *match_hidden, 1], match_dropout))
        self.performance = Heads(width, n_models, head_hidden, head_sigmoid, head_dropout)
        self.cost = Heads(width, n_models, head_hidden, head_sigmoid, head_dropout)

    @staticmethod
    def _branch(emb_dim: int, hidden: int, dropout: float, out: int | None) -> nn.Sequential:
        if out:
            return nn.Sequential(nn.Linear(emb_dim, hidden), nn.ReLU(), nn.Linear(hidden, out))
        return nn.Sequential(nn.Linear(emb_dim, hidden), nn.ReLU(), nn.Dropout(dropout))

    def forward(self, queries: torch.Tensor, tasks: torch.Tensor) -> dict[str, torch.Tensor]:
        """queries [B, E], tasks [T, E] -> logits and q(t|q) [B, T], r_t and c_t [T, M],
        r_hat and c_hat [B, M]."""
        hq, ht = self.query_proj(queries), self.task_proj(tasks)
        # The matcher's first Linear on concat(query, task) is W_q q + W_t t + b: computed per
        # query and per task type, then broadcast over the pairs (the same function, far fewer
        # multiplications than on the [B, T, 2w] concatenation).
        first, w = self.match[0], hq.shape[-1]
        pre = (hq @ first.weight[:, :w].T)[:, None, :] + \
            F.linear(ht, first.weight[:, w:], first.bias)[None, :, :]
        logits = self.match[1:](pre).squeeze(-1) / self.temperature
        q_t = logits.softmax(-1)
        r_t, c_t = self.performance(ht), self.cost(ht)
        return {"logits": logits, "q_t": q_t, "r_t": r_t, "c_t": c_t,
                "r_hat": q_t @ r_t, "c_hat": q_t @ c_t}


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per model (column) the MSE over rows where mask is 1; a column without rows counts 0."""
    sq = (pred - torch.nan_to_num(target)) ** 2 * mask
    return sq.sum(0) / mask.sum(0).clamp(min=1)


METRIC_LOSSES = ("mean", "sum")


def trouter_loss(out: dict[str, torch.Tensor], prior: torch.Tensor, r: torch.Tensor,
                 c: torch.Tensor, r_mask: torch.Tensor, c_mask: torch.Tensor,
                 task_weight: float = 1.0, metric_loss: str = "mean") -> dict[str, torch.Tensor]:
    """Cross-entropy from the prior over task types to q(t|q) (equal to KL(prior || q) up to the
    prior's entropy), plus the masked MSEs: per metric the mean over models, then the two
    metrics averaged (`mean`) or added (`sum`, as the authors' code does)."""
    if metric_loss not in METRIC_LOSSES:
        raise ValueError(f"metric_loss must be one of {METRIC_LOSSES}, got {metric_loss!r}")
    task = -(prior * F.log_softmax(out["logits"], -1)).sum(-1).mean()
    mse = torch.cat([masked_mse(out["r_hat"], r, r_mask), masked_mse(out["c_hat"], c, c_mask)])
    # both metrics have one MSE per model: their sum is twice the mean over (metric, model)
    mse = mse.mean() * (2 if metric_loss == "sum" else 1)
    return {"loss": task_weight * task + mse, "task": task, "mse": mse}
