"""The catalogue of activities Loom ships: each one's file in the data dir, runtime and grants. Data only: registering
them (on first use, see ``pipeline.activities.resolve``) is the activities layer's job."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.core._models import Capabilities, Runtime


@dataclass(frozen=True)
class Builtin:
    file: str  # under the data dir (see pipeline.core._artifacts)
    runtime: Runtime
    capabilities: Capabilities = field(default_factory=Capabilities)


HMAC_GRANTS = Capabilities(host_functions=("loom_get_secret", "loom_log"), secrets=("hmac_key",))

BUILTINS: dict[str, Builtin] = {
    "counter": Builtin("activities/counter.wasm", Runtime.assemblyscript),
    "json-pick": Builtin("activities/json_pick.wasm", Runtime.assemblyscript),
    "http-parse": Builtin("activities/http_parse.wasm", Runtime.assemblyscript),
    "redact": Builtin("activities/redact.wasm", Runtime.assemblyscript),
    "echo": Builtin("wasm/echo.wasm", Runtime.wasm),
    "tlsn-verify": Builtin("wasm/tlsn_verify.wasm", Runtime.wasm),
    "hmac": Builtin("activities/hmac.wasm", Runtime.assemblyscript, HMAC_GRANTS),
    "hmac-plugin": Builtin("wasm/hmac_plugin.wasm", Runtime.extism, HMAC_GRANTS),
    "hmac-rust": Builtin("wasm/hmac_rust.wasm", Runtime.wasm, HMAC_GRANTS),
    "hello": Builtin("zkvm/hello.elf", Runtime.risc0),
    "sha-chain": Builtin("zkvm/sha-chain.elf", Runtime.risc0),
    "json-claim": Builtin("zkvm/json-claim.elf", Runtime.risc0),
    "tlsn-claim": Builtin("zkvm/tlsn-claim.elf", Runtime.risc0),
    "json-canon": Builtin("wasi/json-canon.wasm", Runtime.wasi),
    "csv-to-json": Builtin("wasi/csv-to-json.wasm", Runtime.wasi),
}
