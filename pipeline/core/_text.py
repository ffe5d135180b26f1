"""Untrusted text made inert for whoever shows it (a terminal, a web page): every character that could steer a
terminal or pass for other text shown as an escape. One definition, so the CLI and the run viewer agree."""

from __future__ import annotations

import re

UNSAFE_BEYOND_C0 = "\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff"
"""DEL and C1 controls (escape sequences that move the cursor, clear the screen, retitle the window), bidi controls
and line separators (text that displays as other text), and lone surrogates (which cannot even be encoded); with
the C0 controls, what must not reach a reader as itself."""
_UNSAFE = re.compile(f"[\x00-\x1f{UNSAFE_BEYOND_C0}]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert_text(text: object) -> str:
    """Untrusted text made inert: each unsafe character shown as a Python-style escape (``\\x1b``, ``\\u202e``)."""
    return _UNSAFE.sub(_visible, str(text))
