import pytest

from tests.conftest import make_card
from tests.scripted_server import Reply, ScriptedServer
from trouter.llm.client import LLMClient
from trouter.llm.parse import ReplyError, ask, extract_blocks, extract_json, require_str


@pytest.mark.parametrize("text,expected", [
    ('{"a": 1}', {"a": 1}),
    ('Sure! Here it is:\n```json\n{"a": [1, 2]}\n```\nDone.', {"a": [1, 2]}),
    ('prefix [1, 2, 3] suffix', [1, 2, 3]),
    ('bad { brace then {"ok": true}', {"ok": True}),
])
def test_extract_json(text, expected):
    assert extract_json(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "no json here", '{"a": '])
def test_extract_json_rejects(text):
    with pytest.raises(ReplyError):
        extract_json(text)


def test_extract_blocks():
    text = ("### QUESTION: What is 2+2?\n### ANSWER: 4\n"
            "QUESTION: Capital of France?\nANSWER: Paris\nQUESTION: dangling")
    assert extract_blocks(text, ["QUESTION", "ANSWER"]) == [
        {"question": "What is 2+2?", "answer": "4"},
        {"question": "Capital of France?", "answer": "Paris"},
    ]
    with pytest.raises(ReplyError):
        extract_blocks("QUESTION: only", ["QUESTION", "ANSWER"])


def test_require_str():
    assert require_str({"a": "  x "}, "a", "w") == "x"
    for bad in ({"a": ""}, {"a": 3}, {}, "str"):
        with pytest.raises(ReplyError):
            require_str(bad, "a", "w")


def test_ask_reasks_then_succeeds(cache):
    replies = [Reply(content="nonsense"), Reply(content='{"v": 3}')]
    with ScriptedServer(replies) as srv:
        c = LLMClient(make_card(), cache, base_url=srv.base_url)
        res = ask(c, [{"role": "user", "content": "q"}], lambda t: extract_json(t)["v"],
                  max_reasks=2)
        assert res.ok and res.value == 3 and res.malformed == 1 and res.attempts == 2
        # the re-ask repeats the request with the reason, without the bad reply
        reask = srv.requests[1]["messages"]
        assert len(reask) == 1 and reask[0]["content"].startswith("q\n\nEarlier answers")
        assert "no valid JSON" in reask[0]["content"] and "nonsense" not in reask[0]["content"]


def test_ask_gives_up_and_reports(cache):
    with ScriptedServer(default=Reply(content="still nonsense")) as srv:
        c = LLMClient(make_card(), cache, base_url=srv.base_url)
        res = ask(c, [{"role": "user", "content": "q"}], extract_json, max_reasks=2)
        assert not res.ok and res.value is None
        assert res.malformed == 3 and len(srv.requests) == 3 and len(res.errors) == 3


def test_truncated_reply_is_named(cache):
    body = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "length",
                         "message": {"role": "assistant", "content": '{"v": "unfinish'}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
    import json

    with ScriptedServer(default=Reply(raw_body=json.dumps(body).encode())) as srv:
        c = LLMClient(make_card(), cache, base_url=srv.base_url)
        res = ask(c, [{"role": "user", "content": "q"}], extract_json, max_reasks=0)
    assert not res.ok and res.errors[0].startswith("the reply was cut off at max_tokens")


def test_reask_uses_a_new_seed(cache):
    with ScriptedServer([Reply(content="bad"), Reply(content="[1]")]) as srv:
        c = LLMClient(make_card(), cache, base_url=srv.base_url)
        assert ask(c, [{"role": "user", "content": "q"}], extract_json, seed=5).value == [1]
        assert srv.requests[0]["seed"] == 5 and srv.requests[1]["seed"] != 5
