"""One compact JSON encoding for everything Loom hashes or hands on (cache keys, guest inputs, values spliced into
template text): sorted keys, no spaces, UTF-8 kept as is, so equal documents give equal bytes everywhere."""

from __future__ import annotations

import json
from typing import Any


def compact_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
