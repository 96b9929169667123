"""The prompt_llm router against a scripted loopback LLM, and candidate descriptions in the pool."""

import json
import re
from functools import partial

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from tests.conftest import make_card
from tests.scripted_server import Reply, ScriptedServer
from tests.test_config import CONF
from tests.test_routers import tiny_table
from trouter.errors import ConfigError, DataError
from trouter.route.utility import SETTINGS, sweep_settings
from trouter.routers import RouterContext
from trouter.routers.prompt_llm import PromptLLM, nearest_named
from trouter.stages.common import open_session

MODELS = ["small", "mid", "big"]
POOL = {"models": MODELS, "currency": "USD",
        "prices": {"small": {"input_per_1m": 0.1, "output_per_1m": 0.2},
                   "mid": {"input_per_1m": 0.5, "output_per_1m": 1.5},
                   "big": {"input_per_1m": 3.0, "output_per_1m": 12.0}},
        "descriptions": {"small": "A tiny model for sums.", "mid": "A fair all-rounder.",
                         "big": "A large model for hard reasoning."}}
BY_SETTING = {"cost_first": "small", "balanced": "mid", "perf_first": "big"}


def setting_of(request) -> str:
    return re.search(r"\((cost_first|balanced|perf_first)\)",
                     request["messages"][-1]["content"]).group(1)


def by_setting(request):
    return Reply(content=json.dumps({"model": BY_SETTING[setting_of(request)]}))


def compose_router(tmp_path, srv, *overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=[
            "router=prompt_llm", "judge.local=null", f"judge.base_url={srv.base_url}",
            f"paths.results_dir={tmp_path}", *overrides])


def make_prompt_llm(tmp_path, srv, *overrides, models=MODELS, pool=POOL):
    cfg = compose_router(tmp_path, srv, *overrides)
    ctx = RouterContext(models=list(models), task_ids=[], task_embeddings=np.zeros((0, 8)),
                        seed=0, threads=1, out_dir=tmp_path, run_name="t", pool=pool,
                        open_llm=partial(open_session, cfg, out_dir=tmp_path))
    return PromptLLM(cfg.router, ctx)


def picks(router, table, settings):
    return [list(row) for row in router.choose(table, settings).argmax(-1)]


def test_prompt_lists_candidates_then_the_setting_and_the_query_last(tmp_path):
    table = tiny_table(np.random.default_rng(0), 1)
    with ScriptedServer(responder=by_setting) as srv:
        router = make_prompt_llm(tmp_path, srv, "router.max_chars=12")
        assert router.fit(table, table) == {"llm": "qwen2.5-coder-1.5b-local",
                                            "prompt": "prompt-llm-v1"}
        router.choose(table, [SETTINGS["perf_first"]])
    (request,) = srv.requests
    system, user = (m["content"] for m in request["messages"])
    for i, m in enumerate(MODELS, 1):  # cheapest first, with price and description
        price = POOL["prices"][m]
        assert (f"{i}. {m} (price USD {price['input_per_1m']:g} per 1M input tokens and "
                f"{price['output_per_1m']:g} per 1M output tokens)\n   "
                f"{POOL['descriptions'][m]}") in system
    assert "U = mu_r * performance - mu_c * cost" in system
    assert "mu_r = 0.8 on performance, mu_c = 0.2 on cost (perf_first)" in user
    assert user.endswith(f"Query:\n{table.texts[0][:12]}\n\nModel as JSON:")
    assert table.texts[0][:13] not in user  # cut to max_chars
    schema = request["response_format"]["schema"]  # the judge's card: llama_cpp structured
    assert schema["properties"]["model"]["enum"] == MODELS
    assert request["temperature"] == 0.0


def test_prompt_without_prices_or_descriptions_lists_price_ranks(tmp_path):
    table = tiny_table(np.random.default_rng(0), 1)
    with ScriptedServer(responder=by_setting) as srv:
        router = make_prompt_llm(tmp_path, srv, pool={"models": MODELS, "prices": None})
        router.choose(table, [SETTINGS["balanced"]])
    system = srv.requests[0]["messages"][0]["content"]
    assert "1. small (price rank 1 of 3)\n2. mid (price rank 2 of 3)" in system


def test_each_named_setting_routes_to_the_named_model(tmp_path):
    table = tiny_table(np.random.default_rng(0), 4)
    with ScriptedServer(responder=by_setting) as srv:
        router = make_prompt_llm(tmp_path, srv)
        got = picks(router, table, list(SETTINGS.values()))
    assert got == [[0] * 4, [1] * 4, [2] * 4]
    assert len(srv.requests) == 3 * 4
    assert router.extra_summary() == {
        "decisions": 12, "fallbacks": {"cost_first": 0, "balanced": 0, "perf_first": 0},
        "unusable_replies": 0, "llm_calls": router.extra_summary()["llm_calls"]}
    assert router.extra_summary()["llm_calls"]["live_calls"] == 12


def test_other_settings_take_the_nearest_named_answer(tmp_path):
    assert [nearest_named(mu_r) for mu_r in (0.0, 0.35, 0.4, 0.65, 0.66, 1.0)] == \
        ["cost_first", "cost_first", "balanced", "balanced", "perf_first", "perf_first"]
    table = tiny_table(np.random.default_rng(0), 3)
    with ScriptedServer(responder=by_setting) as srv:
        router = make_prompt_llm(tmp_path, srv)
        got = picks(router, table, [(0.0, 1.0), (0.4, 0.6), (0.5, 0.5)])
    assert got == [[0] * 3, [1] * 3, [1] * 3]
    assert len(srv.requests) == 2 * 3  # cost_first and balanced only


def test_unusable_replies_are_reasked_then_fall_back_to_adaptive_llm(tmp_path):
    table = tiny_table(np.random.default_rng(0), 3)
    bad = table.texts[1]

    def backend(request):
        if bad in request["messages"][-1]["content"]:
            return Reply(content='I would pick {"model": "huge"}.')
        return Reply(content='{"model": "MID"}')  # names match case-insensitively

    with ScriptedServer(responder=backend) as srv:
        router = make_prompt_llm(tmp_path, srv, "router.max_reasks=1")
        settings = sweep_settings(11)
        p = router.choose(table, settings)
    got = p.argmax(-1)
    assert (got[:, [0, 2]] == 1).all()
    # the bad query: Adaptive LLM's rank for each setting of the sweep
    assert list(got[:, 1]) == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
    reasks = [r for r in srv.requests if "could not be used" in r["messages"][-1]["content"]]
    assert len(reasks) == 3 and "one of ['small', 'mid', 'big']" in \
        reasks[0]["messages"][-1]["content"]
    report = router.extra_summary()
    assert report["fallbacks"] == {"cost_first": 1, "balanced": 1, "perf_first": 1}
    assert report["unusable_replies"] == 6 and report["decisions"] == 9


def test_a_rerun_is_served_from_the_cache(tmp_path):
    table = tiny_table(np.random.default_rng(0), 3)
    with ScriptedServer(responder=by_setting) as srv:
        first = picks(make_prompt_llm(tmp_path, srv), table, list(SETTINGS.values()))
        sent = len(srv.requests)
        again = make_prompt_llm(tmp_path, srv)
        assert picks(again, table, list(SETTINGS.values())) == first
    assert len(srv.requests) == sent == 9
    calls = again.extra_summary()["llm_calls"]
    assert calls["live_calls"] == 0 and calls["cached_calls"] == 9
    assert (tmp_path / "calls.jsonl").is_file()


def test_trains_and_chooses_like_every_router(tmp_path):
    """What test_routers' generic test asks of every router, with two candidates."""
    rng = np.random.default_rng(0)
    train, val, test = tiny_table(rng, 48), tiny_table(rng, 16), tiny_table(rng, 20)
    with ScriptedServer(default=Reply(content='{"model": "big"}')) as srv:
        router = make_prompt_llm(tmp_path, srv, models=["small", "big"], pool={})
        assert isinstance(router.fit(train, val), dict)
        p = router.choose(test, sweep_settings(11))
    assert p.shape == (11, 20, 2) and np.allclose(p.sum(-1), 1.0) and (p[..., 1] == 1).all()


@pytest.mark.parametrize("override, message", [
    ("router.llm=gpt-5", "model 'gpt-5': no card"),
    ("router.llm=gpt-4.1-nan", "did you mean 'gpt-4.1-nano'"),
    ("judge.model_id=null", r"router.llm \(qwen2.5-coder-1.5b-local\): field 'model_id'"),
    ("router.max_chars=0", r"router.max_chars=0: expected an integer >= 1"),
    ("router.max_reasks=-1", r"router.max_reasks=-1"),
    ("router.settings=each", "router.settings='each': only 'named'"),
])
def test_bad_config_is_refused_clearly(tmp_path, override, message):
    with ScriptedServer() as srv, pytest.raises(ConfigError, match=message):
        make_prompt_llm(tmp_path, srv, override)


def test_needs_an_llm_session_and_query_texts(tmp_path):
    with ScriptedServer() as srv:
        rc = compose_router(tmp_path, srv).router
        ctx = RouterContext(models=MODELS, task_ids=[], task_embeddings=np.zeros((0, 8)),
                            seed=0, threads=1, out_dir=tmp_path, run_name="t")
        with pytest.raises(ConfigError, match="no LLM session"):
            PromptLLM(rc, ctx)
        table = tiny_table(np.random.default_rng(0), 2)
        table.texts = []
        with pytest.raises(DataError, match="0 texts for 2 queries"):
            make_prompt_llm(tmp_path, srv).choose(table, [SETTINGS["balanced"]])


def test_a_key_names_the_routing_card(tmp_path):
    with ScriptedServer() as srv:
        router = make_prompt_llm(tmp_path, srv, "router.llm=smollm2-135m-local")
    assert router.card.key == "smollm2-135m-local"


# Candidate descriptions in the pool record


def test_card_description_is_optional_and_checked():
    assert make_card().description is None
    assert make_card(description=" Good at sums. ").description == "Good at sums."
    with pytest.raises(ConfigError, match="description must be a non-empty text"):
        make_card(description="  ")


def test_live_pool_describes_every_candidate():
    from trouter.route.pool import live_pool

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=["pool=smoke"])
    pool = live_pool(cfg, "USD-nominal")
    assert set(pool["descriptions"]) == set(pool["models"])
    assert pool["descriptions"]["smollm2-135m-local"] == \
        "smollm2-135m-instruct, 0.135 billion parameters."


def test_pool_record_keeps_descriptions_optional(tmp_path):
    from trouter.route.pool import read_pool, recorded_pool, write_pool

    base = {"models": ["a", "b"], "ordered_by": "price", "prices": None, "currency": "USD",
            "cost_basis": "made up"}
    write_pool(tmp_path / "old.json", base)
    assert "descriptions" not in read_pool(tmp_path / "old.json")
    write_pool(tmp_path / "new.json", {**base, "descriptions": {"a": "A."}})
    assert read_pool(tmp_path / "new.json")["descriptions"] == {"a": "A."}
    write_pool(tmp_path / "bad.json", {**base, "descriptions": ["A."]})
    with pytest.raises(DataError, match="field 'descriptions'"):
        read_pool(tmp_path / "bad.json")
    prices = {m: {"input_per_1m": 1.0, "output_per_1m": 1.0} for m in "ab"}
    pool = recorded_pool(["a", "b"], prices, None, "USD", "recorded",
                         descriptions={"a": "A.", "unused": "U."})
    assert pool["descriptions"] == {"a": "A."}
    assert "descriptions" not in recorded_pool(["a", "b"], prices, None, "USD", "recorded")


def test_llmrouter_features_are_the_descriptions(tmp_path):
    from trouter.recorded.importer import candidate_descriptions
    from trouter.recorded.settings import RecordedSettings

    (tmp_path / "llm_candidates.json").write_text(json.dumps({
        "m1": {"feature": " Good at code. ", "input_price": 0.1, "output_price": 0.1},
        "m2": {"input_price": 0.2, "output_price": 0.2}}))
    assert candidate_descriptions(RecordedSettings("llmrouter", str(tmp_path))) == \
        {"m1": "Good at code."}
    assert candidate_descriptions(RecordedSettings("long", str(tmp_path))) is None
    (tmp_path / "llm_candidates.json").write_text(json.dumps({"m1": {"feature": 3}}))
    with pytest.raises(DataError, match="model 'm1': field 'feature' is 3"):
        candidate_descriptions(RecordedSettings("llmrouter", str(tmp_path)))
