import json
import time

import pytest

from tests.conftest import make_card
from tests.scripted_server import Reply, ScriptedServer
from trouter.errors import ConfigError, LLMError
from trouter.io import JsonlAppender, read_jsonl
from trouter.llm.client import LLMClient, structured_kwargs
from trouter.llm.faults import RetryPolicy

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


@pytest.mark.parametrize("mode", ["json_schema", "llama_cpp", "none"])
def test_a_call_sends_what_the_typed_create_sends(cache, monkeypatch, mode):
    """The client posts its body itself (the SDK's typed `create` costs CPU per call): path, JSON
    body and auth header are those of `chat.completions.create` with the same arguments."""
    import openai

    monkeypatch.setenv("SCRIPTED_KEY", "sk-test")
    schema = {"type": "object", "properties": {"v": {"type": "string"}}, "required": ["v"]}
    gen = {"temperature": 0.3, "max_tokens": 40, "top_p": 0.9, "stop": ["\n\n"],
           "extra_body": {"enable_thinking": False, "top_k": 5}}
    with ScriptedServer(default=Reply(content="x")) as srv:
        c = client_for(srv, cache, generation=gen, structured_output=mode,
                       api_key_env="SCRIPTED_KEY")
        c.chat(MSG, schema=schema, seed=7)
        sdk = openai.OpenAI(base_url=srv.base_url, api_key="sk-test", max_retries=0)
        params = {k: v for k, v in gen.items() if k != "extra_body"}
        sdk.chat.completions.create(model=c.card.model_id, messages=MSG, seed=7,
                                    extra_body=gen["extra_body"], **params,
                                    **structured_kwargs(mode, schema))
    ours, theirs = srv.requests
    assert ours == theirs and ours["top_k"] == 5 and "extra_body" not in ours
    assert ("response_format" in ours) == (mode != "none")
    (path_a, head_a), (path_b, head_b) = srv.paths
    assert path_a == path_b == "/v1/chat/completions"
    assert head_a["authorization"] == head_b["authorization"] == "Bearer sk-test"


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


def body(usage) -> bytes:
    reply = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
             "choices": [{"index": 0, "finish_reason": "stop",
                          "message": {"role": "assistant", "content": "hi"}}]}
    if usage is not None:
        reply["usage"] = usage
    return json.dumps(reply).encode()


@pytest.mark.parametrize("usage", [None, {"prompt_tokens": 3},
                                   {"prompt_tokens": -4, "completion_tokens": 2},
                                   {"prompt_tokens": 3, "completion_tokens": "many"}])
def test_reply_without_valid_usage_is_flagged_not_free(cache, tmp_path, usage):
    with ScriptedServer([Reply(raw_body=body(usage))]) as srv:
        c = client_for(srv, cache, tmp_path)
        res = c.chat(MSG)
        again = c.chat(MSG)  # replayed from the cache: flagged the same way
    for r in (res, again):
        assert r.usage_error and "cost unknown" in r.usage_error and r.cost != r.cost  # NaN
    assert c.stats["usage_errors"] == 2 and c.stats["cost"] == 0.0
    c.records.close()
    rows = read_jsonl(tmp_path / "calls.jsonl")
    assert [r["cost"] for r in rows] == [None, None] and all(r["usage_error"] for r in rows)


def test_label_row_of_a_reply_without_usage_is_flagged_and_unscored(cache):
    from trouter.label.answer import base_row, score_benchmark_row
    from trouter.score.sandbox import Limits

    with ScriptedServer([Reply(raw_body=body(None))]) as srv:
        res = client_for(srv, cache).chat(MSG)
    q = {"query_id": "q1", "dataset": "gsm8k", "task": "gsm8k", "split": "test", "node_id": "",
         "reference": "2", "fields": {}}
    row = score_benchmark_row(base_row(q, "m", MSG, res, "USD"), q, Limits(), "rouge_l")
    assert "no token usage" in row["error"] and row["score"] != row["score"]


def test_malformed_200_body_is_retried_then_bounded(cache, tmp_path):
    garbage = Reply(raw_body=b"<html>upstream hiccup</html>")
    replies = [garbage, Reply(raw_body=b'{"choices": []}'), Reply(content="fine")]
    with ScriptedServer(replies) as srv:
        sleeps = []
        c = client_for(srv, cache, tmp_path, sleeps=sleeps)
        assert c.chat(MSG).text == "fine"
    assert len(sleeps) == 2 and c.stats["faults"] == {"malformed body": 2}
    with ScriptedServer(default=garbage) as srv:
        c = client_for(srv, cache, sleeps=[])
        with pytest.raises(LLMError, match="after 3 retries"):
            c.chat(MSG, seed=9)
        assert len(srv.requests) == 4


def test_call_records_name_their_run_and_attempt(cache, tmp_path):
    from trouter.llm.client import RUN_ID

    with ScriptedServer([Reply(503), Reply(content="ok")]) as srv:
        c = client_for(srv, cache, tmp_path)
        c.chat(MSG)
    c.records.close()
    rows = read_jsonl(tmp_path / "calls.jsonl")
    assert [(r["run"], r["attempt"], r["retried"] if r["error"] else None) for r in rows] == [
        (RUN_ID, 0, True), (RUN_ID, 1, None)]
    assert c.stats["retries"] == 1 and c.stats["faults"] == {"status 503": 1}


def test_lone_surrogates_are_stored_and_replayed(tmp_path):
    from trouter.llm.cache import RequestCache

    text = "broken \ud800 reply \udfff end"
    with ScriptedServer([Reply(content=text)]) as srv:
        res = client_for(srv, RequestCache(tmp_path / "c")).chat(MSG)
        # a new process: the cache file is read back
        again = client_for(srv, RequestCache(tmp_path / "c")).chat(MSG)
    assert res.text == again.text == "broken \ufffd reply \ufffd end" and again.cached
    (tmp_path / "out.txt").write_text(again.text, encoding="utf-8")
