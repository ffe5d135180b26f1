"""The ground floor: where Loom keeps its data, the one canonical JSON encoding, key files, secrets, the typed
contracts every layer shares (activity definitions, limits, grants), the files Loom ships and reading files within
bounds. It imports nothing of Loom but ``pipeline.errors``."""

from pipeline.core._artifacts import (
    SAMPLE_NOTARY_KEY,
    SAMPLE_PRESENTATION,
    artifact,
    data_dir,
    pinned_image_ids,
)
from pipeline.core._builtins import BUILTINS, HMAC_GRANTS, Builtin
from pipeline.core._canonical import canonical, check_json, compact_json, is_digest, parse_json, sha256_hex
from pipeline.core._files import INPUT_BYTES, MIB, TEXT_BYTES, read_bounded, write_atomic
from pipeline.core._home import cache_dir, loom_home, risc0_host_binary
from pipeline.core._keyfile import private_key
from pipeline.core._models import (
    MAX_FUEL,
    MAX_SEGMENT_PO2,
    MIN_SEGMENT_PO2,
    ActivityDefinition,
    Capabilities,
    HostFunction,
    HttpExchange,
    HttpGrant,
    Limits,
    ProveOptions,
    ReceiptKind,
    Runtime,
    WasiDir,
)
from pipeline.core._secrets import (
    ChainedSecrets,
    EnvSecrets,
    FileSecrets,
    SecretProvider,
    default_secrets,
    use_secrets_dir,
)
from pipeline.core._text import UNSAFE_BEYOND_C0, inert_text
from pipeline.core._validation import validation_problem

__all__ = [
    "BUILTINS",
    "HMAC_GRANTS",
    "INPUT_BYTES",
    "MAX_FUEL",
    "MAX_SEGMENT_PO2",
    "MIB",
    "MIN_SEGMENT_PO2",
    "SAMPLE_NOTARY_KEY",
    "SAMPLE_PRESENTATION",
    "TEXT_BYTES",
    "UNSAFE_BEYOND_C0",
    "ActivityDefinition",
    "Builtin",
    "Capabilities",
    "ChainedSecrets",
    "EnvSecrets",
    "FileSecrets",
    "HostFunction",
    "HttpExchange",
    "HttpGrant",
    "Limits",
    "ProveOptions",
    "ReceiptKind",
    "Runtime",
    "SecretProvider",
    "WasiDir",
    "artifact",
    "cache_dir",
    "canonical",
    "check_json",
    "compact_json",
    "data_dir",
    "default_secrets",
    "inert_text",
    "is_digest",
    "loom_home",
    "parse_json",
    "pinned_image_ids",
    "private_key",
    "read_bounded",
    "risc0_host_binary",
    "sha256_hex",
    "use_secrets_dir",
    "validation_problem",
    "write_atomic",
]
