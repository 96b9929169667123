"""The shim every entry point shares: compose the config, run the stage, turn errors into exits."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

import hydra
from omegaconf import DictConfig

from trouter.catalog import conf_dir
from trouter.checks import check_config
from trouter.errors import TrouterError
from trouter.interrupts import make_interruptible

log = logging.getLogger("trouter")


def entry(run: Callable[[DictConfig], object], name: str) -> Callable[[], None]:
    """Build `main()` for a stage; SIGTERM unwinds like Ctrl-C so servers are always stopped."""

    @hydra.main(version_base="1.3", config_path=conf_dir(), config_name="config")
    def _main(cfg: DictConfig) -> None:
        make_interruptible()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("WANDB_MODE", "offline")
        try:
            check_config(cfg)
            run(cfg)
        except TrouterError as exc:
            log.error("%s failed: %s", name, exc)
            sys.exit(2)
        except KeyboardInterrupt:
            log.error("%s interrupted; finished work is kept and cached", name)
            sys.exit(130)

    _main.__name__ = name
    return _main
