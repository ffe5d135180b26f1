"""Bad input and bad blobs get clear errors; nothing corrupted or foreign is ever executed."""

from __future__ import annotations

import pytest

from pipeline import errors
from pipeline.core import ActivityDefinition, Limits, Runtime


def test_non_utf8_input(executor, define, built) -> None:
    defn = define(built / "wasm" / "echo.wasm")
    with pytest.raises(errors.InvalidInput, match="not UTF-8"):
        executor.run(defn, b'{"a": "\xff"}')


def test_malformed_json_names_line_and_column(executor, define, built) -> None:
    defn = define(built / "wasm" / "echo.wasm")
    with pytest.raises(errors.InvalidInput, match="line 2 column 5"):
        executor.run(defn, b'{"a":\n  1,,}')


def test_huge_input_is_refused_before_it_reaches_the_module(executor, define, built) -> None:
    defn = define(built / "wasm" / "echo.wasm", limits=Limits(memory_mib=4))
    with pytest.raises(errors.InvalidInput, match="at most 1048576 bytes"):
        executor.run(defn, {"blob": "x" * (2 << 20)})


def test_unencodable_input(executor, define, built) -> None:
    defn = define(built / "wasm" / "echo.wasm")
    with pytest.raises(errors.InvalidInput, match="cannot be encoded as JSON"):
        executor.run(defn, {"nan": float("nan")})


def test_bytes_and_objects_give_the_same_result(executor, define, built) -> None:
    defn = define(built / "wasm" / "echo.wasm")
    as_bytes = executor.run(defn, b'{"k":[1,2]}')
    as_object = executor.run(defn, {"k": [1, 2]})
    assert as_bytes == {"bytes": 11, "echo": {"k": [1, 2]}}  # bytes pass through verbatim
    assert as_object["echo"] == as_bytes["echo"]


def test_non_wasm_blob_is_refused_at_registration(define) -> None:
    with pytest.raises(errors.InvalidModule, match="not a WebAssembly module"):
        define(b"#!/bin/sh\necho hi\n")
    with pytest.raises(errors.InvalidModule, match="an ELF binary"):
        define(b"\x7fELF\x02\x01\x01" + bytes(64))


def test_invalid_wasm_is_refused(define) -> None:
    with pytest.raises(errors.InvalidModule, match="not a valid WebAssembly module"):
        define(b"\0asm\x01\0\0\0\x01\xff")


def test_module_without_the_abi_exports(define, built) -> None:
    with pytest.raises(errors.InvalidModule, match="must export __new, __pin, __unpin"):
        define(built / "wasm" / "echo.wasm", "assemblyscript")


def test_corrupted_blob_is_detected_not_executed(executor, define, blobs, built) -> None:
    defn = define(built / "wasm" / "echo.wasm")
    path = blobs.path(defn.blob)
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(errors.BlobCorrupted, match=defn.blob):
        executor.run(defn, {})


def test_non_wasm_blob_reached_without_registration(executor, blobs) -> None:
    digest = blobs.put(b"not wasm at all")
    defn = ActivityDefinition(name="sneaky", version="1.0.0", runtime=Runtime.wasm, blob=digest)
    with pytest.raises(errors.InvalidModule):
        executor.run(defn, {})


def test_missing_blob(executor) -> None:
    defn = ActivityDefinition(name="ghost", version="1.0.0", runtime=Runtime.wasm, blob="0" * 64)
    with pytest.raises(errors.BlobNotFound):
        executor.run(defn, {})
