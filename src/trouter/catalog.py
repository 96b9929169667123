"""The config folder and the model cards in it, by key."""

from __future__ import annotations

import os
from difflib import get_close_matches
from functools import cache
from pathlib import Path

from omegaconf import OmegaConf

from trouter.errors import ConfigError
from trouter.llm.cards import ModelCard, card_from_config


def conf_dir() -> str:
    """`$TROUTER_CONF_DIR`, else ./conf (where Snakemake runs), else the source tree's conf/."""
    if env := os.environ.get("TROUTER_CONF_DIR"):
        return str(Path(env).resolve())
    here = Path.cwd() / "conf"
    if (here / "config.yaml").is_file():
        return str(here)
    return str(Path(__file__).resolve().parents[2] / "conf")


@cache
def card_settings(key: str) -> dict:
    """The settings of conf/model/<key>.yaml as plain data (the one place cards are read from
    their files; Hydra composes the same files for the stages)."""
    folder = Path(conf_dir()) / "model"
    path = folder / f"{key}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.yaml"))
        close = get_close_matches(key, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"model {key!r}: no card {path}{hint}")
    return OmegaConf.to_container(OmegaConf.load(path), resolve=True)


def model_card(key: str) -> ModelCard:
    """The card conf/model/<key>.yaml."""
    return card_from_config(card_settings(key), where=key)
