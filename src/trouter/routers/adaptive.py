"""Adaptive LLM: no training; the cost tolerance mu_r / (mu_r + mu_c) picks a rank in the pool's
price order (route.utility.adaptive_index), the same model for every query."""

from __future__ import annotations

import numpy as np

from trouter.route.utility import adaptive_index
from trouter.routers.base import Router, RoutingTable


class AdaptiveLLM(Router):
    def choose(self, table: RoutingTable, settings: list[tuple[float, float]]) -> np.ndarray:
        m = len(self.ctx.models)
        out = np.zeros((len(settings), len(table), m))
        for s, (mu_r, mu_c) in enumerate(settings):
            out[s, :, adaptive_index(m, mu_r, mu_c)] = 1.0
        return out
