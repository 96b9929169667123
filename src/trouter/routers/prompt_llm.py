"""PromptLLM: no training; an LLM reads the candidates, a named utility setting and the query and
names the candidate (route.prompting). Replies that stay unusable fall back to Adaptive LLM."""

from __future__ import annotations

import numpy as np
from omegaconf import DictConfig

from trouter.catalog import model_card
from trouter.errors import ConfigError, DataError
from trouter.llm.cards import ModelCard, card_from_config
from trouter.route.prompting import PROMPT_VERSION, candidate_listing, pick_model, router_messages
from trouter.route.utility import SETTINGS, adaptive_index
from trouter.routers.base import Router, RouterContext, RoutingTable


def nearest_named(mu_r: float) -> str:
    """The named setting with the nearest mu_r; ties go to the lower mu_r (the cheaper side)."""
    return min(SETTINGS, key=lambda n: (round(abs(SETTINGS[n][0] - mu_r), 9), SETTINGS[n][0]))


def router_card(rc: DictConfig) -> ModelCard:
    """router.llm: a model card, or the key of one in conf/model/."""
    llm = rc.get("llm")
    if isinstance(llm, str):
        return model_card(llm)
    if llm is None:
        raise ConfigError("router.llm: a model card or the key of one in conf/model/ is required")
    return card_from_config(llm, where="router.llm")


def count(rc: DictConfig, name: str, least: int) -> int:
    value = rc.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(f"router.{name}={value!r}: expected an integer >= {least}")
    return value


class PromptLLM(Router):
    def __init__(self, rc: DictConfig, ctx: RouterContext):
        super().__init__(rc, ctx)
        if rc.get("settings") != "named":
            raise ConfigError(f"router.settings={rc.get('settings')!r}: only 'named' is "
                              f"supported (one LLM call per query for each of {list(SETTINGS)})")
        self.card = router_card(rc)
        self.max_chars, self.max_reasks = count(rc, "max_chars", 1), count(rc, "max_reasks", 0)
        if ctx.open_llm is None:
            raise ConfigError(f"router {rc.name} asks the LLM {self.card.key}, but this run "
                              "gives routers no LLM session (RouterContext.open_llm is None)")
        self.report: dict = {}

    def fit(self, train: RoutingTable, val: RoutingTable) -> dict:
        return {"llm": self.card.key, "prompt": PROMPT_VERSION}

    def extra_summary(self) -> dict:
        """What the last `choose` asked: decisions, fallbacks, unusable replies, LLM calls."""
        return self.report

    def choose(self, table: RoutingTable, settings: list[tuple[float, float]]) -> np.ndarray:
        """Each setting takes the answers of its nearest named setting; a query whose answer
        stayed unusable gets Adaptive LLM's choice for the setting itself."""
        if len(table.texts) != len(table):
            raise DataError(f"router {self.rc.name} reads query texts: the table has "
                            f"{len(table.texts)} texts for {len(table)} queries")
        named = [nearest_named(mu_r) for mu_r, _ in settings]
        picks = self.ask(table.texts, [n for n in SETTINGS if n in named])
        m = len(self.ctx.models)
        out = np.zeros((len(settings), len(table), m))
        for s, ((mu_r, mu_c), name) in enumerate(zip(settings, named, strict=True)):
            fallback = adaptive_index(m, mu_r, mu_c)
            chosen = [fallback if p is None else p for p in picks[name]]
            out[s, np.arange(len(table)), chosen] = 1.0
        return out

    def ask(self, texts: list[str], names: list[str]) -> dict[str, list[int | None]]:
        """{setting name: per query the candidate's index, None where the replies stayed
        unusable}; the counts go to self.report."""
        models = self.ctx.models
        listing = candidate_listing(self.ctx.pool, models)
        jobs = [(name, text) for name in names for text in texts]
        with self.ctx.open_llm({"router": self.card}) as session:
            client = session.clients["router"]
            asked = client.map(lambda job: pick_model(
                client, router_messages(listing, job[0], SETTINGS[job[0]], job[1],
                                        self.max_chars),
                models, max_reasks=self.max_reasks, seed=self.ctx.seed), jobs,
                desc=f"{self.rc.name} choices")
            stats = session.stats()["router"]
        values = [a.value for a in asked]
        picks = {n: values[i * len(texts):(i + 1) * len(texts)] for i, n in enumerate(names)}
        self.report = {"decisions": len(jobs),
                       "fallbacks": {n: sum(p is None for p in picks[n]) for n in names},
                       "unusable_replies": sum(a.malformed for a in asked), "llm_calls": stats}
        return picks
