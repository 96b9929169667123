"""The request cache under concurrent writers (jobs on several nodes share one folder)."""

import json
import multiprocessing as mp
import sqlite3

from trouter.llm.cache import RequestCache


def writer(folder, worker, n, queue):
    cache = RequestCache(folder)
    torn = 0
    for i in range(n):
        # half the keys are written by every worker, half by this one only
        key = f"{i:04x}shared" if i % 2 else f"{i:04x}w{worker}"
        cache.put(key, {"text": "x" * 2000, "i": i})
        got = cache.get(f"{(i + 1) % n:04x}shared")
        torn += got is not None and got != {"text": "x" * 2000, "i": (i + 1) % n}
    queue.put(torn)


def test_concurrent_writers_never_tear_or_lose_a_reply(tmp_path):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=writer, args=(tmp_path, w, 200, queue)) for w in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert all(p.exitcode == 0 for p in procs)
    assert sum(queue.get() for _ in procs) == 0  # no reader saw a half-written reply
    cache = RequestCache(tmp_path)
    assert len(cache) == 100 + 6 * 100  # shared keys once, each worker's own keys
    assert all(cache.get(f"{i:04x}w{w}") == {"text": "x" * 2000, "i": i}
               for w in range(6) for i in range(0, 200, 2))
    assert not list(tmp_path.rglob("*.tmp"))  # no temporary file left behind


def test_an_sqlite_cache_is_imported_once(tmp_path):
    db = sqlite3.connect(tmp_path / "llm.sqlite")
    db.execute("CREATE TABLE replies (key TEXT PRIMARY KEY, value TEXT)")
    db.execute("INSERT INTO replies VALUES (?, ?)", ("ab12", json.dumps({"text": "old"})))
    db.commit()
    db.close()
    assert RequestCache(tmp_path).get("ab12") == {"text": "old"}
    RequestCache(tmp_path).put("ab12", {"text": "new"})
    assert RequestCache(tmp_path).get("ab12") == {"text": "new"}  # imported once, not again
