"""The files Loom ships beside its code, found through ``importlib.resources``: the wasm activities, the zkVM guest
ELFs with their image-id lock, the benchmark suites and TLSNotary's sample presentation.

A wheel carries them as package data (``pipeline/_data``); in a source checkout ``make`` links them there from
``build/`` (where they are made), ``benches/`` and the lock, so an install and a checkout find them the same way.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

from pipeline import errors

SAMPLE_PRESENTATION = "samples/presentation.bin"
"""TLSNotary's example presentation (tlsnotary.org, notarized by their test notary), for the benchmarks."""
SAMPLE_NOTARY_KEY = "035be5e9478209674a96e60f1f037f6176540fd001fa1d64694770c56a7709c42c"
"""The public key of the notary that signed the sample presentation (compressed secp256k1)."""


def data_dir() -> Path:
    """``pipeline/_data`` of the installed package (or of the checkout Loom runs from)."""
    return Path(str(files("pipeline").joinpath("_data")))


def artifact(relative: str) -> Path:
    """A shipped file by its path under the data dir, e.g. ``zkvm/hello.elf``; a clear error if it is missing."""
    path = data_dir() / relative
    if not path.is_file():
        raise errors.InvalidInput(
            f"{relative} is not installed (looked in {data_dir()}); in a source checkout, `make setup` builds it"
        )
    return path


def pinned_image_ids() -> dict[str, str]:
    """The image-id lock (guest name -> image ID) the guests were built against."""
    ids: dict[str, str] = json.loads(artifact("zkvm/image-ids.json").read_text())
    return ids
