"""The blob store (content addressed, verified on read) and the activity registry (semver, persisted)."""

from __future__ import annotations

import pytest

from pipeline import errors
from pipeline.core import ActivityDefinition, Limits
from pipeline.store import ActivityRegistry, semver_key
from pipeline.store._blobs import FileBlobStore, MemoryBlobStore, sha256_hex


@pytest.fixture(params=["memory", "files"])
def store(request, tmp_path):
    return MemoryBlobStore() if request.param == "memory" else FileBlobStore(tmp_path / "blobs")


def test_put_returns_the_sha256_and_get_returns_the_bytes(store) -> None:
    digest = store.put(b"hello")
    assert digest == sha256_hex(b"hello")
    assert store.get(digest) == b"hello" and store.has(digest)
    assert store.put(b"hello") == digest


def test_missing_and_malformed_digests(store) -> None:
    with pytest.raises(errors.BlobNotFound):
        store.get("0" * 64)
    with pytest.raises(errors.InvalidInput, match="not a sha256 digest"):
        store.get("../../etc/passwd")


def test_corruption_on_disk_is_detected(tmp_path) -> None:
    store = FileBlobStore(tmp_path)
    digest = store.put(b"receipt bytes")
    store.path(digest).write_bytes(b"receipt bytez")
    with pytest.raises(errors.BlobCorrupted, match=digest):
        store.get(digest)


def _defn(version: str, name: str = "pick") -> ActivityDefinition:
    return ActivityDefinition(name=name, version=version, runtime="wasm", blob=sha256_hex(version.encode()))


def test_resolve_latest_semver_and_exact(tmp_path) -> None:
    registry = ActivityRegistry(tmp_path / "r.sqlite")
    for v in ["1.2.0", "1.10.0", "1.9.9", "2.0.0-rc.1"]:
        registry.register(_defn(v))
    assert registry.resolve("pick").version == "2.0.0-rc.1"
    registry.register(_defn("2.0.0"))
    assert registry.resolve("pick").version == "2.0.0"
    assert registry.resolve("pick", "1.9.9").version == "1.9.9"
    assert registry.resolve("pick@1.10.0").version == "1.10.0"
    assert [d.version for d in registry.list()] == ["1.2.0", "1.9.9", "1.10.0", "2.0.0-rc.1", "2.0.0"]


def test_definitions_survive_a_restart(tmp_path) -> None:
    ActivityRegistry(tmp_path / "r.sqlite").register(_defn("1.0.0"))
    assert ActivityRegistry(tmp_path / "r.sqlite").resolve("pick") == _defn("1.0.0")


def test_published_versions_are_immutable(tmp_path) -> None:
    registry = ActivityRegistry(tmp_path / "r.sqlite")
    registry.register(_defn("1.0.0"))
    registry.register(_defn("1.0.0"))  # the same definition again is fine
    changed = _defn("1.0.0").model_copy(update={"limits": Limits(fuel=5)})
    with pytest.raises(errors.InvalidInput, match="already registered with different content"):
        registry.register(changed)


def test_not_found_lists_what_exists(tmp_path) -> None:
    registry = ActivityRegistry(tmp_path / "r.sqlite")
    registry.register(_defn("1.0.0"))
    with pytest.raises(errors.ActivityNotFound, match=r"registered: pick@1.0.0"):
        registry.resolve("pick", "3.0.0")
    with pytest.raises(errors.ActivityNotFound, match="no activity nope"):
        registry.resolve("nope")


@pytest.mark.parametrize("bad", [{"name": "Bad Name"}, {"version": "1.0"}, {"blob": "xyz"}, {"runtime": "jvm"}])
def test_definition_validation(bad: dict) -> None:
    fields = {"name": "ok", "version": "1.0.0", "runtime": "wasm", "blob": "a" * 64, **bad}
    with pytest.raises(ValueError):
        ActivityDefinition(**fields)


def test_semver_order() -> None:
    assert semver_key("1.0.0-alpha") < semver_key("1.0.0-alpha.1") < semver_key("1.0.0-beta") < semver_key("1.0.0")


def test_build_metadata_does_not_order_the_latest_registration_wins(tmp_path) -> None:
    registry = ActivityRegistry(tmp_path / "r.sqlite")
    for build in ["bbb", "aaa", "ccc"]:
        registry.register(_defn(f"1.0.0+{build}"))
    assert registry.resolve("pick").version == "1.0.0+ccc"
    registry.register(_defn("1.0.0+bbb"))  # re-registering an existing one changes nothing
    assert registry.resolve("pick").version == "1.0.0+ccc"
