"""The loopback benchmark server: OpenAI-compatible replies with usage, judge verdicts for judge
prompts, its concurrency limit and error rates."""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from trouter.loopback import Loopback
from trouter.loopback_replies import Replies
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
    request = {"model": "a", "messages": [{"role": "user", "content": "x"}]}
    replies = Replies()
    assert replies(request) == replies(json.loads(json.dumps(request)))
    assert replies(request) != replies({**request, "model": "b"})


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


def test_synthesis_stages_reach_the_shape(tmp_path):
    """The real taxonomy, QA and dedup stages against the loopback: the taxonomy has exactly the
    shape's node counts, every node its QA target, and dedup keeps the generated questions."""
    from hydra import compose, initialize_config_dir

    from tests.test_config import CONF
    from trouter.stages import dedup_qa, expand_taxonomy, generate_qa

    with Loopback(latency_s=0.0, shape=(3, 7, 16)) as srv, \
            initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[
            "experiment=smoke", f"paths.results_dir={tmp_path}", "synthesizer.local=null",
            f"+synthesizer.base_url={srv.base_url}", "synthesizer.max_concurrency=8",
            "taxonomy.seeds=[{name: Domain 1, definition: The first test domain., "
            "example: What is the first domain?}]", "taxonomy.max_domains=3",
            "taxonomy.children.domain={min: 2, max: 3}",
            "taxonomy.children.subcategory={min: 2, max: 3}", "taxonomy.patience=2",
            "taxonomy.max_rounds=3", "qa.target_per_node=6", "qa.batch_size=4"])
        tax = expand_taxonomy.run(cfg)
        gen = generate_qa.run(cfg)
        dd = dedup_qa.run(cfg)
    assert tax["nodes_per_level"] == {"domain": 3, "subcategory": 7, "difficulty": 16}
    assert tax["unstable"] == [] and tax["malformed_replies"] == 0
    assert gen["nodes_short_of_target"] == [] and dd["accepted"] == 16 * 6
