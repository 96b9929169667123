import json
import time

import pytest

from tests.conftest import make_card
from tests.scripted_server import Reply, ScriptedServer
from trouter.errors import ConfigError, LLMError
from trouter.io import JsonlAppender, read_jsonl
from trouter.llm.client import LLMClient, RetryPolicy, structured_kwargs

MSG = [{"role": "user", "content": "hi"}]


def client_for(server, cache, tmp_path=None, sleeps=None, **card):
    records = JsonlAppender(tmp_path / "calls.jsonl") if tmp_path else None
    sleep = sleeps.append if sleeps is not None else (lambda s: None)
    return LLMClient(make_card(**card), cache, records, base_url=server.base_url,
                     retry=RetryPolicy(max_retries=3, base_delay_s=0.5, max_delay_s=30),
                     sleep=sleep)


def test_cost_tokens_and_record(cache, tmp_path):
    with ScriptedServer([Reply(content="hello")]) as srv:
        c = client_for(srv, cache, tmp_path)
        res = c.chat(MSG, tag="t1")
    assert res.text == "hello" and not res.cached
    assert (res.prompt_tokens, res.completion_tokens) == (10, 5)
    assert res.cost == pytest.approx((10 * 1.0 + 5 * 2.0) / 1e6)
    c.records.close()
    [row] = read_jsonl(tmp_path / "calls.jsonl")
    assert row["tag"] == "t1" and row["error"] is None and row["currency"] == "USD"


def test_cache_makes_rerun_free(cache):
    with ScriptedServer([Reply(content="first")]) as srv:
        c = client_for(srv, cache)
        assert c.chat(MSG, seed=1).text == "first"
        again = c.chat(MSG, seed=1)
        assert again.text == "first" and again.cached
        assert len(srv.requests) == 1
        assert c.stats["live_calls"] == 1 and c.stats["cached_calls"] == 1


def test_cache_key_depends_on_seed_and_params(cache):
    with ScriptedServer(default=Reply(content="x")) as srv:
        c = client_for(srv, cache)
        c.chat(MSG, seed=1)
        c.chat(MSG, seed=2)
        c.chat(MSG, seed=1, overrides={"temperature": 0.5})
        assert len(srv.requests) == 3
        assert srv.requests[1]["seed"] == 2 and srv.requests[2]["temperature"] == 0.5


def test_cache_persists_across_instances(tmp_path):
    from trouter.llm.cache import RequestCache

    with ScriptedServer([Reply(content="once")]) as srv:
        c1 = RequestCache(tmp_path / "cache")
        client_for(srv, c1).chat(MSG)
        c1.close()
        c2 = RequestCache(tmp_path / "cache")
        assert client_for(srv, c2).chat(MSG).cached
        assert len(srv.requests) == 1


def test_retries_5xx_with_exponential_backoff(cache):
    sleeps = []
    with ScriptedServer([Reply(500), Reply(503), Reply(content="ok")]) as srv:
        c = client_for(srv, cache, sleeps=sleeps)
        assert c.chat(MSG).text == "ok"
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0
    assert c.stats["retries"] == 2


def test_429_honours_retry_after(cache):
    sleeps = []
    replies = [Reply(429, headers={"retry-after": "7"}),
               Reply(429, headers={"retry-after-ms": "1500"}), Reply(content="ok")]
    with ScriptedServer(replies) as srv:
        assert client_for(srv, cache, sleeps=sleeps).chat(MSG).text == "ok"
    assert sleeps == [7.0, 1.5]


def test_retry_after_is_capped(cache):
    sleeps = []
    with ScriptedServer([Reply(429, headers={"retry-after": "3600"}), Reply()]) as srv:
        client_for(srv, cache, sleeps=sleeps).chat(MSG)
    assert sleeps == [30.0]


def test_gives_up_after_max_retries_and_records_error(cache, tmp_path):
    with ScriptedServer(default=Reply(502)) as srv:
        c = client_for(srv, cache, tmp_path)
        with pytest.raises(LLMError, match="after 3 retries"):
            c.chat(MSG)
        assert len(srv.requests) == 4
    c.records.close()
    rows = read_jsonl(tmp_path / "calls.jsonl")
    assert rows[-1]["error"].startswith("InternalServerError") or "502" in rows[-1]["error"]
    assert len(cache) == 0


def test_client_error_is_not_retried(cache):
    with ScriptedServer(default=Reply(400)) as srv:
        with pytest.raises(LLMError):
            client_for(srv, cache).chat(MSG)
        assert len(srv.requests) == 1


def test_slow_reply_times_out_then_retries(cache):
    with ScriptedServer([Reply(content="late", delay_s=2.0), Reply(content="fast")]) as srv:
        c = client_for(srv, cache, timeout_s=0.5)
        assert c.chat(MSG).text == "fast"
        assert c.stats["retries"] == 1


def test_malformed_body_is_an_error_not_a_reply(cache):
    with ScriptedServer(default=Reply(raw_body=b"{not json")) as srv, pytest.raises(LLMError):
        client_for(srv, cache).chat(MSG)
    assert len(cache) == 0


def test_missing_choices_is_an_error(cache):
    body = json.dumps({"id": "x", "object": "chat.completion", "choices": []}).encode()
    with ScriptedServer(default=Reply(raw_body=body)) as srv, pytest.raises(LLMError):
        client_for(srv, cache).chat(MSG)


def test_api_key_read_from_env_at_call_time(cache, monkeypatch, tmp_path):
    with ScriptedServer(default=Reply()) as srv:
        c = client_for(srv, cache, tmp_path, api_key_env="TROUTER_TEST_KEY")
        monkeypatch.delenv("TROUTER_TEST_KEY", raising=False)
        with pytest.raises(ConfigError, match="TROUTER_TEST_KEY"):
            c.chat(MSG)
        monkeypatch.setenv("TROUTER_TEST_KEY", "sk-secret-value")
        c.chat(MSG)
    c.records.close()
    assert "sk-secret-value" not in (tmp_path / "calls.jsonl").read_text()


def test_concurrency_is_bounded(cache):
    with ScriptedServer(default=Reply(delay_s=0.2)) as srv:
        c = client_for(srv, cache, max_concurrency=2)
        out = c.map(lambda i: c.chat(MSG, seed=i).text, range(6), desc="t")
        assert out == ["ok"] * 6
        t = sorted(srv.times)
    # six 0.2 s requests two at a time: three waves, never three at once
    assert t[2] - t[0] >= 0.15 and t[4] - t[2] >= 0.15


def test_structured_kwargs_per_endpoint_kind():
    schema = {"type": "object"}
    assert structured_kwargs("none", schema) == {}
    assert structured_kwargs("llama_cpp", schema)["response_format"] == {
        "type": "json_object", "schema": schema}
    assert structured_kwargs("json_schema", schema)["response_format"]["type"] == "json_schema"
    assert structured_kwargs("llama_cpp", None) == {}


def test_map_stops_queued_work_on_failure(cache):
    with ScriptedServer(default=Reply(delay_s=0.05)) as srv:
        c = client_for(srv, cache)

        def work(i):
            if i == 1:
                raise RuntimeError("boom")
            return c.chat(MSG, seed=i).text

        with pytest.raises(RuntimeError, match="boom"):
            c.map(work, range(50), desc="t")
        time.sleep(0.3)
        assert len(srv.requests) < 10


def test_close_abandons_retries(cache):
    import threading

    with ScriptedServer(default=Reply(503)) as srv:
        c = LLMClient(make_card(), cache, base_url=srv.base_url,
                      retry=RetryPolicy(max_retries=10, base_delay_s=5.0, max_delay_s=60))
        errors = []

        def call():
            try:
                c.chat(MSG)
            except LLMError as exc:
                errors.append(str(exc))

        t = threading.Thread(target=call)
        start = time.monotonic()
        t.start()
        time.sleep(0.5)
        c.close()
        t.join(timeout=5)
        assert not t.is_alive() and time.monotonic() - start < 3
        assert "closed" in errors[0] and len(srv.requests) == 1


def test_cache_identity_separates_endpoints_and_weights():
    a = make_card(base_url="http://127.0.0.1:1/v1")
    b = make_card(base_url="http://127.0.0.1:2/v1")
    assert a.identity != b.identity
    w = {"weights": {"sha256": "a" * 64}}
    local1 = make_card(base_url=None, local=w)
    local2 = make_card(base_url=None, local={"weights": {"sha256": "b" * 64}})
    assert local1.identity != local2.identity and "a" * 64 in local1.identity
