"""The loopback benchmark server: OpenAI-compatible replies with usage, judge verdicts for judge
prompts, its concurrency limit and error rates."""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from trouter.loopback import Loopback, reply_text
from trouter.score.judge import SYSTEM, parse_verdict


def ask(client, text, system=None):
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": text}]
    return client.chat.completions.create(model="m", messages=messages, max_tokens=8)


def test_replies_are_chat_completions_with_usage_and_verdicts():
    with Loopback(latency_s=0.0) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="none", max_retries=0)
        answer = ask(client, "What is 2 + 2?")
        verdict = ask(client, "Question: ...", system=SYSTEM)
    assert answer.choices[0].message.content.split("#### ")[1].isdigit()
    assert answer.usage.completion_tokens > 0 and answer.usage.prompt_tokens > 0
    assert parse_verdict(verdict.choices[0].message.content) in ("equivalent", "partial", "wrong")
    # deterministic: the same request, the same reply
    request = {"messages": [{"role": "user", "content": "x"}]}
    assert reply_text(request) == reply_text(json.loads(json.dumps(request)))


def test_concurrency_limit_queues_requests():
    with Loopback(latency_s=0.2, concurrency=2) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="none", max_retries=0)
        start = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: ask(client, f"q{i}"), range(4)))
        wall = time.monotonic() - start
    # 4 requests, 2 at a time, 0.2 s each: two rounds
    assert wall >= 0.4 and srv.served == 4


def test_error_rates():
    with Loopback(latency_s=0.0, error_5xx=0.3, error_429=0.2, seed=1) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="none", max_retries=0)
        codes = []
        for i in range(200):
            try:
                ask(client, f"q{i}")
                codes.append(200)
            except openai.APIStatusError as exc:
                codes.append(exc.status_code)
    assert codes.count(503) / 200 == pytest.approx(0.3, abs=0.1)
    assert codes.count(429) / 200 == pytest.approx(0.2, abs=0.1)
    assert codes.count(200) == srv.served
