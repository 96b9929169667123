import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
# One torch/OpenMP thread in the test processes: `make test` runs two workers on two cores, and
# a second thread would spin-wait on the other worker (Snakemake jobs get their rule's threads).
os.environ.setdefault("OMP_NUM_THREADS", "1")

from trouter.llm.cache import RequestCache  # noqa: E402
from trouter.llm.cards import card_from_config  # noqa: E402


@pytest.fixture
def figures(record_property):
    """figures(text): a measurement a test reports; printed in pytest's summary (also from
    pytest-xdist workers, whose output is not shown)."""
    return lambda text: record_property("figures", text)


def pytest_collection_modifyitems(items):
    """The slowest files first, so that `pytest -n 2` (make test) starts them at once."""
    slow = {"test_e2e_smoke.py": 0, "test_slurm.py": 1, "test_secrets.py": 2, "test_faults.py": 3}
    items.sort(key=lambda item: slow.get(item.path.name, len(slow)))


def pytest_terminal_summary(terminalreporter):
    lines = [f"{r.nodeid}: {value}" for reports in terminalreporter.stats.values()
             for r in reports for name, value in getattr(r, "user_properties", ())
             if name == "figures" and getattr(r, "when", "call") == "call"]
    if lines:
        terminalreporter.section("figures")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def cache(tmp_path):
    c = RequestCache(tmp_path / "cache")
    yield c
    c.close()


def make_card(**over):
    base = {"key": "scripted", "model_id": "scripted-model", "base_url": "http://127.0.0.1:1/v1",
            "api_key_env": None, "structured_output": "none",
            "generation": {"temperature": 0.0, "max_tokens": 32},
            "price": {"input_per_1m": 1.0, "output_per_1m": 2.0, "currency": "USD"},
            "max_concurrency": 1, "timeout_s": 5}
    base.update(over)
    return card_from_config(base, where="test")
