"""The shared real data (../shared/data beside the checkout, or $TROUTER_DATA_DIR)."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    path = Path(os.environ.get("TROUTER_DATA_DIR") or ROOT.parent / "shared" / "data")
    if not (path / "benchmarks").is_dir():
        pytest.fail(f"real benchmark data not found at {path}: put ../shared beside the "
                    "checkout or set TROUTER_DATA_DIR")
    return path
