"""The typed contracts shared by the registry, the executors and the runner."""

from __future__ import annotations

import ipaddress
import re
import ssl
from enum import StrEnum
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from pipeline.core._canonical import is_digest
from pipeline.core._files import INPUT_BYTES, MIB
from pipeline.core._secrets import SECRET_NAME

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


class Runtime(StrEnum):
    """How an activity's blob is executed."""

    assemblyscript = "assemblyscript"  # AssemblyScript module, string in / string out (UTF-16 objects)
    wasm = "wasm"  # Rust-style module: alloc/dealloc/run(ptr, len) -> (ptr << 32 | len)
    extism = "extism"  # Extism plugin
    risc0 = "risc0"  # RISC Zero guest ELF, proved by pipeline._native
    wasi = "wasi"  # WASI command (wasm32-wasip1, exports _start): JSON on stdin, JSON on stdout


MAX_FUEL = 2**53  # wasmtime takes fuel as a u64; bounded well inside it (and inside JSON's exact integers)


class Limits(BaseModel):
    """Hard bounds on one call: untrusted code can exhaust no more than these."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fuel: int = Field(
        default=1_000_000_000,
        gt=0,
        le=MAX_FUEL,
        description="wasm instructions (roughly) per call; for risc0 guests, the cycle limit",
    )
    wall_clock_ms: int = Field(
        default=10_000,
        gt=0,
        le=86_400_000,
        description="deadline per call, enforced by epochs and checked in host functions",
    )
    memory_mib: int = Field(
        default=256,
        gt=0,
        le=4096,
        description="everything a call can make the host hold: linear memory, tables and host-side state together",
    )
    output_mib: int = Field(default=16, gt=0, le=1024, description="largest output per call, checked before it is read")

    def within(self, ceiling: Limits) -> bool:
        """Whether every bound is at most ``ceiling``'s: a pipeline step may lower an activity's limits, never
        raise them."""
        return all(getattr(self, f) <= getattr(ceiling, f) for f in Limits.model_fields)


class ReceiptKind(StrEnum):
    """What a RISC Zero proof gives: a composite receipt (one seal per segment: fastest to make, grows with the
    execution) or a succinct one (segments lifted and joined by recursion: one constant-size seal)."""

    composite = "composite"
    succinct = "succinct"


MIN_SEGMENT_PO2, MAX_SEGMENT_PO2 = 13, 24  # risc0_zkp's MIN_CYCLES_PO2..=MAX_CYCLES_PO2 (5.0.0-rc.1)


class ProveOptions(BaseModel):
    """How a guest is proven, as risc0's ``ProverOpts``: the receipt kind and the segment size (smaller segments
    need less memory). A pipeline step of a ``risc0`` activity takes them as ``prove:``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ReceiptKind = ReceiptKind.composite
    segment_po2: int | None = Field(default=None, ge=MIN_SEGMENT_PO2, le=MAX_SEGMENT_PO2)


class HostFunction(StrEnum):
    """The host functions an activity can be granted (see ``pipeline.sandbox._host``)."""

    loom_log = "loom_log"
    loom_get_secret = "loom_get_secret"
    loom_state = "loom_state"
    loom_http = "loom_http"


class WasiDir(BaseModel):
    """A host directory that a ``wasi`` activity may read, never write, seen by the guest at ``guest``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str
    guest: str

    @field_validator("host", "guest")
    @classmethod
    def _path(cls, v: str, info: ValidationInfo) -> str:
        """Absolute, without '..'. The host directory must exist when a grant is made (Python), not when a stored
        definition is read back (JSON): a directory removed later fails its activity's calls, not the registry."""
        if not v.startswith("/") or "\0" in v or ".." in PurePosixPath(v).parts:
            raise ValueError(f"{info.field_name} path {v!r} must be absolute, without '..'")
        if info.field_name == "host" and info.mode == "python" and not Path(v).is_dir():
            raise ValueError(f"host path {v!r} is not an existing directory")
        return v


_HTTP_HOST = re.compile(
    r"^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?::\d{1,5})?$"
    r"|^\[[0-9a-f:.]+\](?::\d{1,5})?$"
)
_HTTP_METHOD = re.compile(r"^[A-Z]{1,16}$")
MAX_REDIRECTS = 10


class HttpGrant(BaseModel):
    """Where an activity granted ``loom_http`` may send requests (``pipeline.sandbox._http``): everything else is
    refused, and so is any address that is not public unless this grant names it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hosts: tuple[str, ...] = Field(
        description="host names (exact, or *.example.com for its subdomains) or IP literals ([::1] for IPv6), each "
        "with an optional :port; without one, only the scheme's default port"
    )
    methods: tuple[str, ...] = Field(default=("GET",), description="HTTP methods allowed")
    plain_http: bool = Field(default=False, description="allow http:// URLs (unencrypted)")
    resolve: tuple[str, ...] = Field(
        default=(),
        description="HOST=ADDRESS pins (like curl --resolve): HOST is reached at ADDRESS, which the grant then names",
    )
    extra_roots: tuple[str, ...] = Field(
        default=(), description="PEM certificates trusted as roots beside the system's, for HTTPS"
    )
    max_redirects: int = Field(default=3, ge=0, le=MAX_REDIRECTS)

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("hosts: a grant of loom_http names at least one host")
        hosts = tuple(host.lower() for host in v)
        for host in hosts:
            port = host.rsplit("]", 1)[-1].rpartition(":")[2] if ":" in host.rsplit("]", 1)[-1] else ""
            if not _HTTP_HOST.fullmatch(host) or (port and not 0 < int(port) < 65536):
                raise ValueError(
                    f"host {host[:256]!r} is not a host name, *.domain or IP literal ([::1] for IPv6) with an "
                    "optional :port"
                )
        return hosts

    @field_validator("methods")
    @classmethod
    def _methods(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for method in v:
            if not _HTTP_METHOD.fullmatch(method):
                raise ValueError(f"method {method[:32]!r} must be an uppercase HTTP method such as GET")
        return v

    @field_validator("resolve")
    @classmethod
    def _resolve(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for pin in v:
            host, _, address = pin.partition("=")
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ValueError(f"resolve {pin[:256]!r} must be HOST=ADDRESS with an IP address") from None
            if not _HTTP_HOST.fullmatch(host) or host.startswith("*") or ":" in host:
                raise ValueError(f"resolve {pin[:256]!r}: {host[:256]!r} is not a host name")
        return v

    @field_validator("extra_roots")
    @classmethod
    def _roots(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for pem in v:
            try:
                ssl.create_default_context(cadata=pem)
            except (ssl.SSLError, ValueError):
                raise ValueError("extra_roots: each must be a PEM certificate") from None
        return v


class HttpExchange(BaseModel):
    """One HTTP request an activity made through ``loom_http``, as the run's journal keeps it (``loom runs show``):
    no header, no body, no secret; the URL as asked (cut at 2,048 characters), what came back (status, size,
    SHA-256 of the body) or why nothing did."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str
    url: str
    started_at: float
    ms: int
    status: int | None = None
    response_bytes: int | None = None
    response_sha256: str | None = None
    error: str | None = None


class Capabilities(BaseModel):
    """What the host grants an activity; everything else is denied."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host_functions: tuple[HostFunction, ...] = Field(
        default=(), description="loom_log, loom_get_secret, loom_state, loom_http"
    )
    secrets: tuple[str, ...] = Field(default=(), description="names readable through loom_get_secret")
    wasi_dirs: tuple[WasiDir, ...] = Field(default=(), description="wasi: host directories preopened read-only")
    wasi_env: tuple[str, ...] = Field(
        default=(),
        description="wasi: environment variables, each a granted secret (its value comes from the secret provider)",
    )
    http: HttpGrant | None = Field(default=None, description="loom_http: where requests may go")

    @field_validator("secrets")
    @classmethod
    def _secret_names(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for name in v:
            if not SECRET_NAME.fullmatch(name):
                raise ValueError(f"secret name {name!r} must be letters, digits, '_', '.' or '-' (at most 128)")
        return v

    @model_validator(mode="after")
    def _wasi_grants(self) -> Capabilities:
        """A WASI variable's value is a secret: listing it in ``secrets`` puts its value's digest in the runner's
        cache key and keeps it from every activity not granted it."""
        ungranted = [name for name in self.wasi_env if name not in self.secrets]
        if ungranted:
            raise ValueError(f"wasi_env {', '.join(ungranted)}: each variable must also be listed in secrets")
        if (HostFunction.loom_http in self.host_functions) != (self.http is not None):
            raise ValueError("loom_http and an http grant (its hosts) go together: give both or neither")
        guests = [d.guest for d in self.wasi_dirs]
        if len(set(guests)) != len(guests):
            raise ValueError("wasi_dirs: two directories share a guest path")
        return self


class ActivityDefinition(BaseModel):
    """A versioned activity: which blob runs, how, and within which limits and grants."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str
    runtime: Runtime
    blob: str = Field(description="sha256 of the module (or ELF) in the blob store")
    limits: Limits = Limits()
    capabilities: Capabilities = Capabilities()

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.fullmatch(v):
            raise ValueError("name must be lowercase letters, digits, '-' or '_', starting with a letter")
        return v

    @field_validator("version")
    @classmethod
    def _version(cls, v: str) -> str:
        if not _SEMVER.fullmatch(v):
            raise ValueError(f"version {v!r} is not semver (MAJOR.MINOR.PATCH)")
        return v

    @field_validator("blob")
    @classmethod
    def _blob(cls, v: str) -> str:
        if not is_digest(v):
            raise ValueError("blob must be a lowercase hex sha256 digest")
        return v

    @model_validator(mode="after")
    def _http_runtime(self) -> ActivityDefinition:
        """loom_http is a host function of Loom's wasm ABIs and serves an Extism plugin's own HTTP; a WASI command
        has no sockets here, and a RISC Zero guest none at all."""
        if HostFunction.loom_http in self.capabilities.host_functions and self.runtime not in (
            Runtime.wasm,
            Runtime.assemblyscript,
            Runtime.extism,
        ):
            raise ValueError(
                f"loom_http is offered to wasm, assemblyscript and extism activities, not to a {self.runtime.value} one"
            )
        return self

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def max_input_bytes(self) -> int:
        """The largest input (as JSON) it is handed: 64 MiB, and for a wasm sandbox a quarter of its memory limit
        (the input is copied into that memory)."""
        if self.runtime is Runtime.risc0:
            return INPUT_BYTES
        return min(INPUT_BYTES, self.limits.memory_mib * MIB // 4)
