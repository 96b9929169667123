"""provenance.json of a run or sweep point: the code, the resolved config, the input data and the
model cards behind every number of its report, and the keyed folders that hold them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from omegaconf import DictConfig

from trouter.data.files import sha256_of
from trouter.io import read_json
from trouter.layout import MANIFEST, SUMMARY, Layout, plain
from trouter.plan import config_digest

CARD_FIELDS = ("key", "model_id", "base_url", "structured_output", "params_b", "price")


def code_version() -> dict:
    """The git commit of the source tree and whether it had uncommitted changes."""
    root = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                                 text=True, timeout=10, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit or "unknown (not a git checkout)",
            "dirty": bool(status) if status is not None else None}


def card_identity(card: dict | None) -> dict | None:
    if not card:
        return None
    out = {k: card.get(k) for k in CARD_FIELDS}
    weights = (card.get("local") or {}).get("weights") or {}
    out["weights_sha256"] = weights.get("sha256")
    return out


def data_files(manifest: dict) -> dict[str, str]:
    """SHA-256 of every benchmark file the point's prepare_data jobs read."""
    out = {}
    for label, entry in manifest["folders"].items():
        if not label.startswith("data/"):
            continue
        summary = Path(entry["dir"]) / SUMMARY
        for f in read_json(summary).get("files", []) if summary.is_file() else []:
            out[str(f)] = sha256_of(Path(f))
    return dict(sorted(out.items()))


def provenance(cfg: DictConfig) -> dict:
    lay = Layout(cfg)
    manifest = read_json(lay.point_file(MANIFEST))
    roles = {r: card_identity(plain(cfg.roles[r])) for r in cfg.roles}
    return {"code": code_version(), "config_sha256": config_digest(cfg),
            "config": str(lay.point_file("config.yaml")), "overrides": manifest["overrides"],
            "data_files": data_files(manifest),
            "recorded": plain(cfg.recorded),
            "models": {"candidates": {m: card_identity(lay.card(m)) for m in lay.candidates()},
                       "roles": roles, "judge": card_identity(plain(cfg.judge))},
            "folders": {k: v["dir"] for k, v in manifest["folders"].items()}}


def footer(record: dict) -> str:
    code = record["code"]
    dirty = " (with uncommitted changes)" if code["dirty"] else ""
    return (f"\n---\nEvery number above: config sha256 `{record['config_sha256']}`, code "
            f"`{code['commit']}`{dirty}; inputs, model cards and folders in provenance.json.\n")
