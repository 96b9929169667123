"""The shim every entry point shares: compose the config, run the stage, turn errors into exits."""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable

import hydra
from omegaconf import DictConfig

from trouter.catalog import conf_dir
from trouter.errors import TrouterError

log = logging.getLogger("trouter")


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def entry(run: Callable[[DictConfig], object], name: str) -> Callable[[], None]:
    """Build `main()` for a stage; SIGTERM unwinds like Ctrl-C so servers are always stopped."""

    @hydra.main(version_base="1.3", config_path=conf_dir(), config_name="config")
    def _main(cfg: DictConfig) -> None:
        signal.signal(signal.SIGTERM, _terminate)
        # even when started from a shell that ignores SIGINT (a background job)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("WANDB_MODE", "offline")
        try:
            run(cfg)
        except TrouterError as exc:
            log.error("%s failed: %s", name, exc)
            sys.exit(2)
        except KeyboardInterrupt:
            log.error("%s interrupted; finished work is kept and cached", name)
            sys.exit(130)

    _main.__name__ = name
    return _main
