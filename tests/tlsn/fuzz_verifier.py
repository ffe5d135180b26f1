"""libFuzzer (atheris) target for the presentation decoder and verifier in ``pipeline._native``.

    python tests/tlsn/fuzz_verifier.py SEED_DIR -max_total_time=60

Each input is either raw bytes, or a short list of edits (overwrite, insert, delete, truncate) applied to one of the
valid presentations in SEED_DIR: the native code is not instrumented for coverage, so mutating valid files is what
carries the fuzzer past the decoder into hashing, signatures, chains and openings. Any outcome but success or
``PresentationInvalid`` fails, and so does a rejection labelled internal (a caught panic).
``tests/tlsn/test_fuzz.py`` runs this in CI for a bounded time.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import atheris

from pipeline import _native, errors

# The golden notary's key; the test notary's default key is the same one (secret 0x2a * 32).
POLICY = {"notary_keys": ["035be5e9478209674a96e60f1f037f6176540fd001fa1d64694770c56a7709c42c"]}
SEEDS: list[bytes] = []


def edited(fdp: atheris.FuzzedDataProvider) -> bytes:
    data = bytearray(SEEDS[fdp.ConsumeIntInRange(0, len(SEEDS) - 1)])
    for _ in range(fdp.ConsumeIntInRange(1, 6)):
        at = fdp.ConsumeIntInRange(0, max(len(data) - 1, 0))
        op = fdp.ConsumeIntInRange(0, 3)
        if op == 0 and data:
            data[at] = fdp.ConsumeIntInRange(0, 255)
        elif op == 1:
            data[at:at] = fdp.ConsumeBytes(fdp.ConsumeIntInRange(1, 16))
        elif op == 2:
            del data[at : at + fdp.ConsumeIntInRange(1, 16)]
        else:
            del data[at:]
    return bytes(data)


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    presentation = edited(fdp) if SEEDS and fdp.ConsumeBool() else fdp.ConsumeBytes(fdp.remaining_bytes())
    request = json.dumps({"presentation": base64.b64encode(presentation).decode(), "policy": POLICY}).encode()
    try:
        json.loads(_native.tlsn_verify(request))
    except errors.PresentationInvalid as exc:
        if exc.stage == "internal":
            raise AssertionError(f"the verifier panicked: {exc}") from None


if __name__ == "__main__":
    seed_dir = Path(sys.argv.pop(1))
    SEEDS.extend(p.read_bytes() for p in sorted(seed_dir.iterdir()))
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
