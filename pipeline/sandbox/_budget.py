"""How one memory cap (``limits.memory_mib``) is shared by everything a call can make the host hold.

wasmtime's store limits are per linear memory and per table, so Loom turns the one cap into a split: a module has
at most one memory (multi-memory is off in Loom's engine) and at most ``MAX_TABLES`` tables; tables get an eighth
of the cap, an actor's key-value state (only when it is granted ``loom_state``) a quarter, an HTTP request or
response (only when it is granted ``loom_http``) a quarter, the directory listings
a WASI guest holds open (only when it is granted directories) an eighth, and linear memory the rest. Their sum never
exceeds the cap.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from pipeline.core import Capabilities, HostFunction, Limits

MIB = 1 << 20
WASM_PAGE = 1 << 16
MAX_TABLES = 4
TABLE_ELEMENT_BYTES = 8  # a funcref or externref slot is a pointer on the host


@dataclass(frozen=True)
class Budget:
    """Bytes (or elements) of each kind one call may hold; together at most the memory cap."""

    memory_bytes: int
    table_elements: int  # per table; MAX_TABLES tables at most
    state_bytes: int
    listing_bytes: int  # WASI directory listings Loom holds for the guest (``_wasi_files``)
    http_bytes: int = 0  # one HTTP request or response Loom holds for the guest (``_http``)

    @classmethod
    @functools.lru_cache(maxsize=256)
    def of(cls, limits: Limits, capabilities: Capabilities) -> Budget:
        cap = limits.memory_mib * MIB
        tables = cap // 8
        state = cap // 4 if HostFunction.loom_state in capabilities.host_functions else 0
        listings = cap // 8 if capabilities.wasi_dirs else 0
        http = cap // 4 if HostFunction.loom_http in capabilities.host_functions else 0
        return cls(
            memory_bytes=cap - tables - state - listings - http,
            table_elements=tables // (MAX_TABLES * TABLE_ELEMENT_BYTES),
            state_bytes=state,
            listing_bytes=listings,
            http_bytes=http,
        )

    @property
    def memory_pages(self) -> int:
        return self.memory_bytes // WASM_PAGE
