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
    is no character: it could never be encoded again). Anything else is ``error`` naming ``what``, on one line."""
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


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text[:40]} is too large for a double")
    return value
