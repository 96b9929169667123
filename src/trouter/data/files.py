"""Benchmark files from the local mirror or from upstream, checked by SHA-256."""

from __future__ import annotations

import hashlib
import json
import logging
import urllib.request
from functools import cache
from pathlib import Path

from trouter.errors import ConfigError, DataError
from trouter.io import atomic_path

log = logging.getLogger("trouter")
SOURCES = ("auto", "mirror", "download")


@cache
def upstream() -> dict[str, dict]:
    """relative path -> {url, sha256}; the same files as ../shared/data (see its README)."""
    return json.loads((Path(__file__).parent / "upstream.json").read_text())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _checked(path: Path, rel: str) -> Path:
    want = upstream()[rel]["sha256"]
    got = sha256_of(path)
    if got != want:
        raise DataError(f"{path}: SHA-256 {got} does not match upstream {rel} ({want}); "
                        "the file was changed or truncated")
    return path


def download(url: str, dest: Path, timeout_s: float = 60.0) -> None:
    log.info("downloading %s", url)
    with (atomic_path(dest) as tmp, urllib.request.urlopen(url, timeout=timeout_s) as resp,
          open(tmp, "wb") as fh):
        while chunk := resp.read(1 << 20):
            fh.write(chunk)


def benchmark_file(rel: str, *, source: str, mirror_dir: Path, download_dir: Path) -> Path:
    """Path of a verified copy of `rel` (e.g. 'benchmarks/gsm8k/test.jsonl').

    mirror: only `mirror_dir`; download: fetch into `download_dir` unless already there;
    auto: the mirror when it has the file, else download."""
    if source not in SOURCES:
        raise ConfigError(f"data.source={source!r}: expected one of {SOURCES}")
    if rel not in upstream():
        raise DataError(f"{rel}: not a known benchmark file")
    mirrored = Path(mirror_dir) / rel
    if source == "mirror" or (source == "auto" and mirrored.is_file()):
        if not mirrored.is_file():
            raise DataError(f"{mirrored}: not found (paths.data_dir={mirror_dir}); set "
                            "data.source=download to fetch it from upstream")
        return _checked(mirrored, rel)
    dest = Path(download_dir) / rel
    if dest.is_file():
        try:
            return _checked(dest, rel)
        except DataError as exc:
            log.warning("%s; downloading it again", exc)
    url = upstream()[rel]["url"]
    try:
        download(url, dest)
    except OSError as exc:
        raise DataError(f"{rel}: download from {url} failed: {exc}") from exc
    try:
        return _checked(dest, rel)
    except DataError:
        dest.unlink(missing_ok=True)
        raise
