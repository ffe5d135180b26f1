"""One compact JSON encoding for everything Loom hashes or hands on (cache keys, guest inputs, values spliced into
template text): sorted keys, no spaces, UTF-8 kept as is, so equal documents give equal bytes everywhere; and the
one form of the digests Loom names things by."""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

from pipeline import errors

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def is_digest(value: object) -> bool:
    """A SHA-256 digest as Loom writes it: 64 lowercase hex digits."""
    return isinstance(value, str) and _DIGEST.fullmatch(value) is not None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def compact_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(document: Any) -> bytes:
    """``document`` as the bytes Loom hashes and hands to guests: its compact JSON, UTF-8."""
    return compact_json(document).encode()


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def parse_json(data: bytes | str, what: str, error: type[errors.LoomError] = errors.InvalidInput) -> Any:
    """``data`` as strict JSON, the one reading of every document Loom is handed: UTF-8, no ``NaN``/``Infinity``
    (no other JSON reader takes them), no number too large for a double (``1e999`` would be read as infinity, which
    Loom could not write back as JSON), not nested past the parser's stack, no lone UTF-16 surrogate (``"\\ud800"``
    is no character: it could never be encoded again). Anything else is ``error`` naming ``what``, on one line.
    A large document that the native check finds plainly valid is read without Python's per-number checks."""
    if _plainly_valid(data):
        return json.loads(data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data)
    return _parse_slowly(data, what, error)


def _parse_slowly(data: bytes | bytearray | str, what: str, error: type[errors.LoomError]) -> Any:
    """Python's reader with Loom's checks: the verdict, and the message, on anything."""
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
        document = json.loads(text, parse_constant=_not_json, parse_float=_finite)
    except UnicodeDecodeError as exc:
        raise error(f"{what} is not UTF-8 (byte {exc.start}: 0x{exc.object[exc.start]:02x})") from None
    except RecursionError:
        raise error(f"{what} is nested too deeply to be read as JSON") from None
    except json.JSONDecodeError as exc:
        raise error(f"{what} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:  # a NaN, an Infinity, or a number past a double
        raise error(f"{what} is not JSON: {exc}") from None
    if _SURROGATE_ESCAPE.search(text):  # rare: only then is the document encoded to find an unpaired one
        try:
            canonical(document)
        except UnicodeEncodeError as exc:
            lone = ord(exc.object[exc.start])
            raise error(f"{what} holds a lone UTF-16 surrogate (\\u{lone:04x}), which is not text") from None
        except RecursionError:
            raise error(f"{what} is nested too deeply to be read as JSON") from None
    return document


NATIVE_CHECK_BYTES = 64 * 1024
"""From this size on, a document is first checked by the native module (``_native.json_valid``), which reads a
megabyte in about a millisecond; Python's reader takes ten to build it, and the checks ``parse_json`` adds on top."""


def _plainly_valid(data: bytes | bytearray | str) -> bool:
    """A large document the native check says ``parse_json`` takes (its yes is never given to anything else; a no
    is no verdict)."""
    if len(data) < NATIVE_CHECK_BYTES or not isinstance(data, (bytes, bytearray)):
        return False
    from pipeline import _native  # loaded on first use: `core` is imported by everything

    return _native.json_valid(bytes(data))


def check_json(data: bytes, what: str, error: type[errors.LoomError] = errors.InvalidInput) -> None:
    """``parse_json``'s verdict on ``data`` without keeping the document (an input passed on as text): a large one
    the native check finds plainly valid is not read at all; anything else is read by ``parse_json``, which names
    what is wrong."""
    if not _plainly_valid(data):
        _parse_slowly(data, what, error)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text[:40]} is too large for a double")
    return value
