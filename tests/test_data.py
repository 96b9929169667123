"""Benchmark files, loaders and splits on the real mirrored data."""

import hashlib

import pytest

from tests.data_paths import data_dir
from trouter.data import files
from trouter.data.benchmarks import REGISTRY, get_benchmark
from trouter.data.splits import assign_splits
from trouter.errors import ConfigError, DataError
from trouter.stages.prepare_data import dedupe


def load(key):
    bench = get_benchmark(key)
    paths = {rel: files.benchmark_file(rel, source="mirror", mirror_dir=data_dir(),
                                       download_dir=data_dir())
             for rel in bench.files()}
    return bench.load(paths, {"keep_error_types": ["ok"]})


@pytest.mark.parametrize("key,n", [("gsm8k", 1319 + 7473), ("humaneval", 164),
                                   ("squad", 10570), ("multi_news", 200)])
def test_loaders_read_every_item(key, n):
    records = load(key)
    assert len(records) == n
    assert all(r["dataset"] == key and r["question"] for r in records)


def test_gsm8k_pools_and_references():
    records = load("gsm8k")
    assert sum(r["pool"] == "test" for r in records) == 1319
    first = next(r for r in records if r["pool"] == "test")
    assert first["question"].startswith("Janet") and first["reference"] == "18"


def test_mmlu_redux_keeps_ok_rows_of_every_file():
    records = load("mmlu_redux")
    subjects = {r["fields"]["subject"] for r in records}
    # 57 files with ',' or ';' delimiters, shuffled columns, one not UTF-8
    assert len(subjects) == 57 and "moral_scenarios" in subjects
    # error_type spelt ok / OK / Ok / 'OK ' in upstream: 5,330 rows
    assert len(records) == 5330
    assert {r["reference"] for r in records} == set("ABCD")
    first = next(r for r in records if r["fields"]["subject"] == "anatomy")
    assert first["reference"] == "D" and first["fields"]["choices"][3] == "Narcolepsy"


def test_every_benchmark_file_has_an_upstream_source():
    for bench in REGISTRY.values():
        assert bench.files()
        for rel in bench.files():
            assert files.upstream()[rel]["url"].startswith("https://")


def test_unknown_benchmark_suggests_a_name():
    with pytest.raises(ConfigError, match="did you mean 'gsm8k'"):
        get_benchmark("gsm8")


def test_mirror_checks_and_download(tmp_path, monkeypatch):
    body = b'{"question": "q", "answer": "#### 1"}\n'
    src = tmp_path / "upstream.jsonl"
    src.write_bytes(body)
    rel = "benchmarks/gsm8k/test.jsonl"
    monkeypatch.setattr(files, "upstream", lambda: {
        rel: {"url": src.as_uri(), "sha256": hashlib.sha256(body).hexdigest()}})
    mirror, cache = tmp_path / "mirror", tmp_path / "cache"
    with pytest.raises(DataError, match="data.source=download"):
        files.benchmark_file(rel, source="mirror", mirror_dir=mirror, download_dir=cache)
    # auto falls back to a download, checked by SHA-256
    got = files.benchmark_file(rel, source="auto", mirror_dir=mirror, download_dir=cache)
    assert got == cache / rel and got.read_bytes() == body
    # a changed mirror copy is refused, naming the file
    (mirror / rel).parent.mkdir(parents=True)
    (mirror / rel).write_bytes(body + b"\n")
    with pytest.raises(DataError, match="does not match upstream"):
        files.benchmark_file(rel, source="auto", mirror_dir=mirror, download_dir=cache)
    # an upstream file that changed is refused and not kept
    src.write_bytes(b"tampered")
    (cache / rel).unlink()
    with pytest.raises(DataError, match="does not match upstream"):
        files.benchmark_file(rel, source="download", mirror_dir=mirror, download_dir=cache)
    assert not (cache / rel).exists()
    with pytest.raises(ConfigError, match="data.source"):
        files.benchmark_file(rel, source="web", mirror_dir=mirror, download_dir=cache)


def fake(n, pool="all", prefix="q"):
    return [{"query_id": f"{prefix}{i:03d}", "pool": pool} for i in range(n)]


def by_split(rows):
    out = {}
    for r in rows:
        out.setdefault(r["split"], []).append(r["query_id"])
    return out


def test_splits_are_seeded_disjoint_and_keep_test_fixed():
    sizes = {"train": 5, "val": 2, "test": 3}
    a = by_split(assign_splits(fake(20), sizes, 1, "x"))
    assert {k: len(v) for k, v in a.items()} == sizes
    assert len(set(sum(a.values(), []))) == 10
    assert by_split(assign_splits(fake(20)[::-1], sizes, 1, "x")) == a  # input order is irrelevant
    assert by_split(assign_splits(fake(20), sizes, 2, "x")) != a
    bigger = by_split(assign_splits(fake(20), {**sizes, "train": 9}, 1, "x"))
    assert bigger["test"] == a["test"] and bigger["val"] == a["val"]
    with pytest.raises(ConfigError, match="need more than the 20"):
        assign_splits(fake(20), {**sizes, "train": 16}, 1, "x")


def test_groups_never_span_two_splits_and_sizes_stay_exact():
    records = [{"query_id": f"q{i:02d}", "pool": "all", "group": f"g{i // 3}"} for i in range(30)]
    sizes = {"train": 7, "val": 4, "test": 5}
    rows = assign_splits(records, sizes, 1, "x")
    assert {k: len(v) for k, v in by_split(rows).items()} == sizes
    splits_of = {}
    for r in rows:
        splits_of.setdefault(r["group"], set()).add(r["split"])
    assert all(len(s) == 1 for s in splits_of.values())
    bigger = by_split(assign_splits(records, {**sizes, "train": 12}, 1, "x"))
    assert bigger["test"] == by_split(rows)["test"]


@pytest.mark.parametrize("key", sorted(REGISTRY))
def test_no_shared_context_across_splits(key):
    """With the configured sizes, no passage (or other shared context) is in two splits."""
    from omegaconf import OmegaConf

    from tests.test_config import CONF

    sizes = dict(OmegaConf.load(CONF / "benchmark" / f"{key}.yaml").splits)
    records, _ = dedupe(load(key))
    rows = assign_splits(records, sizes, 1234, key)
    assert len(rows) == sum(sizes.values())
    seen = {}
    for r in rows:
        context = r["fields"].get("context") or r["fields"].get("documents") or r["query_id"]
        seen.setdefault(context, set()).add(r["split"])
    assert all(len(s) == 1 for s in seen.values())
    if key == "squad":
        assert len(seen) < len(rows) / 2  # passages really are shared by several questions
    # the router's query starts with the question and holds the rest of the query
    assert all(r["query"].startswith(r["question"]) for r in rows)


def test_two_pool_benchmarks_test_only_on_upstream_test():
    rows = assign_splits(fake(10, "train", "a") + fake(4, "test", "b"),
                         {"train": 6, "val": 2, "test": 4}, 1, "x")
    split = by_split(rows)
    assert sorted(split["test"]) == [f"b{i:03d}" for i in range(4)]
    assert all(q.startswith("a") for q in split["train"] + split["val"])


def test_dedupe_keeps_the_test_copy():
    records = [{"query_id": "same", "pool": "train"}, {"query_id": "same", "pool": "test"},
               {"query_id": "other", "pool": "train"}]
    kept, dropped = dedupe(records)
    assert dropped == 1 and {(r["query_id"], r["pool"]) for r in kept} == \
        {("same", "test"), ("other", "train")}
