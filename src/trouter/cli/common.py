"""The shim every entry point shares: compose the config, run the stage, turn errors into exits."""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
import time
from collections.abc import Callable

import hydra
from omegaconf import DictConfig

from trouter.catalog import conf_dir
from trouter.checks import check_config
from trouter.errors import TrouterError
from trouter.interrupts import make_interruptible

log = logging.getLogger("trouter")
STARTED = time.monotonic()  # before the stage's own imports (torch, pandas, ...)


def usage(name: str, summary: object) -> dict:
    """This job's wall time (imports included), CPU time, peak memory and LLM calls."""
    me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    llm = summary.get("llm") if isinstance(summary, dict) else None
    llm = [s for s in (llm or {}).values() if isinstance(s, dict)]
    return {"stage": name, "wall_s": round(time.monotonic() - STARTED, 2),
            "cpu_s": round(me.ru_utime + me.ru_stime, 2),
            "peak_rss_mib": round(me.ru_maxrss / 1024, 1),
            "children_peak_rss_mib": round(kids.ru_maxrss / 1024, 1),
            "live_calls": sum(s.get("live_calls", 0) for s in llm),
            "cached_calls": sum(s.get("cached_calls", 0) for s in llm)}


def entry(run: Callable[[DictConfig], object], name: str) -> Callable[[], None]:
    """Build `main()` for a stage; SIGTERM unwinds like Ctrl-C so servers are always stopped."""

    @hydra.main(version_base="1.3", config_path=conf_dir(), config_name="config")
    def _main(cfg: DictConfig) -> None:
        make_interruptible()
        for quiet in ("httpx", "httpx2"):  # the openai client's transports: no line per call
            logging.getLogger(quiet).setLevel(logging.WARNING)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("WANDB_MODE", "offline")
        try:
            check_config(cfg)
            summary = run(cfg)
            log.info("usage %s", json.dumps(usage(name, summary)))
        except TrouterError as exc:
            log.error("%s failed: %s", name, exc)
            sys.exit(2)
        except KeyboardInterrupt:
            log.error("%s interrupted; finished work is kept and cached", name)
            # servers are stopped and files closed by now; do not wait for calls still in flight
            # on worker threads (the interpreter would join them at exit)
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)

    _main.__name__ = name
    return _main
