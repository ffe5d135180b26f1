"""One compact JSON encoding for everything Loom hashes or hands on (cache keys, guest inputs, values spliced into
template text): sorted keys, no spaces, UTF-8 kept as is, so equal documents give equal bytes everywhere; and the
one form of the digests Loom names things by."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

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
