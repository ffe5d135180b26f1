"""Proving a wasm activity: the ``wasm-exec`` guest runs the module in the wasmi interpreter inside the zkVM, so one
image ID proves any module, and the receipt's journal names which module ran on which input and what it returned.

The guest's stdin is framed (a module is binary): ``LOOMWX1\\n``, a u32 LE length and the header's JSON, a u32 LE
length and the module, then the input (rust-guests/zkvm/wasm-exec documents the fields). A module that fails
stops the guest with ``wasm-exec: <kind>: <reason>``; ``failure`` turns that into the error a wasmtime run gives.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from pipeline import errors
from pipeline.core import canonical, parse_json, validation_problem

GUEST = "wasm-exec"
MAGIC = b"LOOMWX1\n"
CYCLES_PER_FUEL = 64
"""The guest's cycle limit per unit of fuel: wasmi spends ~50 cycles per unit interpreting Loom's activities."""
CYCLES_PER_MODULE_BYTE = 256
"""... and per byte of module, for parsing, validating and translating it (75-130 a byte, measured)."""
BASE_CYCLES = 1 << 24


class WasmAbi(StrEnum):
    """How the guest calls ``run``: the two ABIs of ``pipeline.sandbox._abi``."""

    assemblyscript = "assemblyscript"
    rust = "rust"


class WasmRun(BaseModel):
    """The journal of a ``wasm-exec`` receipt: what it proves ran."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    abi: WasmAbi
    fuel_used: int
    input_sha256: str
    module_sha256: str
    output: Any
    """The module's output, as wasmtime gives it."""
    secrets: list[str]
    """The names of the secrets the module was granted; their values are never committed."""


def guest_input(
    module: bytes,
    abi: WasmAbi,
    document: bytes,
    *,
    fuel: int,
    memory_bytes: int,
    output_bytes: int,
    log: bool = False,
    secrets: Mapping[str, str | None] | None = None,
) -> bytes:
    """The guest's stdin for one call of ``module`` on ``document`` (UTF-8 JSON), within these limits."""
    header = canonical(
        {
            "abi": abi.value,
            "fuel": fuel,
            "memory_bytes": memory_bytes,
            "output_bytes": output_bytes,
            "log": log,
            "secrets": dict(secrets or {}),
        }
    )
    return b"".join((MAGIC, struct.pack("<I", len(header)), header, struct.pack("<I", len(module)), module, document))


def cycle_limit(fuel: int, module: bytes) -> int:
    """A bound no run within ``fuel`` reaches: the guest stops a runaway module by fuel, this stops the guest."""
    return BASE_CYCLES + CYCLES_PER_FUEL * fuel + CYCLES_PER_MODULE_BYTE * len(module)


def read_run(journal: bytes, ref: str) -> WasmRun:
    """The journal of a ``wasm-exec`` run, read as strictly as a wasmtime call's output: the guest checks that the
    output is JSON, and this that it is JSON Loom takes (no lone UTF-16 surrogate, no ``NaN``)."""
    document = parse_json(journal, f"the output of {ref} (run in {GUEST})", errors.InvalidOutput)
    try:
        return WasmRun.model_validate(document)
    except ValidationError as exc:
        raise errors.InvalidOutput(f"the {GUEST} journal of {ref} is not a run's: {validation_problem(exc)}") from None


def check_run(run: WasmRun, module: bytes, document: bytes) -> None:
    """A journal that does not name this module and this input is not a proof of this call."""
    if run.module_sha256 != hashlib.sha256(module).hexdigest():
        raise errors.ReceiptInvalid(f"the {GUEST} journal names module {run.module_sha256[:12]}..., not the one run")
    if run.input_sha256 != hashlib.sha256(document).hexdigest():
        raise errors.ReceiptInvalid(f"the {GUEST} journal names input {run.input_sha256[:12]}..., not the one given")


_KINDS: dict[str, type[errors.LoomError]] = {
    "fuel": errors.ActivityOutOfFuel,
    "memory": errors.ActivityOutOfMemory,
    "trap": errors.ActivityTrapped,
    "abort": errors.ActivityTrapped,
    "rejected": errors.ActivityRejected,
    "denied": errors.CapabilityDenied,
    "output": errors.InvalidOutput,
    "too-large": errors.OutputTooLarge,
    "invalid-module": errors.InvalidModule,
    "input": errors.InvalidInput,
}


def failure(exc: errors.LoomError, ref: str, fuel: int) -> errors.LoomError:
    """A guest that stopped on the module's account as the error a wasmtime call gives; anything else unchanged."""
    text = str(exc)
    prefix = f"{GUEST}: "
    at = text.find(prefix)
    if not isinstance(exc, errors.GuestPanicked) or at < 0:
        return exc
    kind, _, reason = text[at + len(prefix) :].partition(": ")
    error = _KINDS.get(kind)
    if error is None:
        return exc
    reason = reason.strip().splitlines()[0] if reason.strip() else kind
    if error is errors.ActivityOutOfFuel:
        reason = f"used all its fuel ({fuel} units of wasmi's)"
    elif kind == "abort":
        reason = f"aborted: {reason}"
    return error(f"{ref} (proven in {GUEST}): {reason}")
