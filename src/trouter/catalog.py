"""The config folder and the model cards in it, by key."""

from __future__ import annotations

import os
from difflib import get_close_matches
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


def model_card(key: str) -> ModelCard:
    """The card conf/model/<key>.yaml."""
    folder = Path(conf_dir()) / "model"
    path = folder / f"{key}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.yaml"))
        close = get_close_matches(key, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"model {key!r}: no card {path}{hint}")
    return card_from_config(OmegaConf.load(path), where=key)
