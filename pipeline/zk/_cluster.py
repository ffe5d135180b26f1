"""Proving on a Ray cluster, planned as RISC Zero's Bento plans it: the driver executes the guest into segments;
each segment is proven (and, for a succinct receipt, lifted) by a Ray task; succinct receipts are joined pairwise
as a tree of tasks and their assumptions resolved by one more; the driver assembles the receipt and verifies it
before returning it, so a receipt proven on a cluster is the receipt a local proof gives.

Ray is an optional extra (``loom-verifiable[cluster]``), imported only when a cluster is asked for. Every node
needs Loom installed: tasks call its prover, and only bytes travel (segments, receipts), through Ray's object
store.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import re
import socket
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pipeline import _native, errors
from pipeline.zk import _recursion as recursion
from pipeline.zk import _segments as segment_size
from pipeline.zk._recursion import Progress, ProvingPhase, Receipt
from pipeline.zk._segments import Capacity, SegmentPlan, segment_memory

ENV = "LOOM_CLUSTER"
"""The environment variable the CLI reads a cluster address from."""
INSTALL_HINT = "Ray is not installed: pip install 'loom-verifiable[cluster]' (on the driver and on every node)"
RETRIES = 3
"""How often Ray runs a task again whose worker or node died (killed, out of memory) before the proof fails."""

RECURSION_PO2 = 18
"""Lift, join and resolve run risc0's recursion circuit, always at 2^18 rows."""


def connect(address: str) -> Any:
    """Ray, connected to the cluster at ``address`` (as ``ray.init`` takes it: ``auto``, the head's
    ``HOST:PORT``, or ``ray://HOST:PORT``). A process that is already connected (a task on the cluster) stays
    connected."""
    try:
        import ray
    except ImportError:
        raise errors.ClusterUnavailable(INSTALL_HINT) from None
    if not address.strip():
        raise errors.ClusterUnavailable(f"no cluster address given (--cluster or {ENV})")
    if ray.is_initialized():
        return ray
    _probe(address)
    _authenticate(ray, address)
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")  # Ray's C++ core logs warnings on stderr otherwise
    # Ray's C++ core would install crash handlers for SIGILL/SIGSEGV over wasmtime's, which catch a wasm trap: a
    # hostile module's trap in this process would then kill it instead of failing its step. Ray reads this switch
    # (made for the JVM's handlers) from its constants module when it connects; it also turns on Python's
    # faulthandler, whose handlers do the same, so that is undone unless it was on before.
    from ray._private import ray_constants

    ray_constants.RAY_DISABLE_FAILURE_SIGNAL_HANDLER = True
    faults_were_reported = faulthandler.is_enabled()
    try:
        ray.init(address=address, namespace="loom", log_to_driver=False, logging_level=logging.ERROR)
    except (ConnectionError, ValueError, RuntimeError, TimeoutError) as exc:
        if isinstance(exc.__cause__, ray.exceptions.AuthenticationError):
            raise _token_refused(address) from None
        raise errors.ClusterUnavailable(f"cannot reach the Ray cluster at {address!r}: {reason(exc)}") from None
    finally:
        if not faults_were_reported:
            faulthandler.disable()
    if not requires_token():
        warnings.warn(
            errors.ClusterWithoutToken(
                f"the Ray cluster at {address!r} accepted this driver without a token: anyone who reaches its ports "
                "can run code on it (RAY_AUTH_MODE=token on every node; see docs/cluster.md)"
            ),
            stacklevel=2,
        )
    return ray


def _authenticate(ray: Any, address: str) -> None:
    """Fails at once, on one line, when the head refuses this driver's token (or its lack of one): ``ray.init``
    would retry for 20 s, printing a line a second. Asks the head for its cluster ID, as Ray's own client does
    first; any other failure is left to ``ray.init`` to report. Ray Client (``ray://``) and ``auto`` are not
    asked."""
    head = address.strip()
    if head == "auto" or head.startswith("ray://"):
        return
    from ray._raylet import GcsClient  # type: ignore[attr-defined]

    try:
        with _stderr_silenced():  # Ray's C++ core prints its own warning about the refusal
            GcsClient(address=head)
    except ray.exceptions.AuthenticationError:
        raise _token_refused(address) from None
    except Exception:  # unreachable or odd heads are reported by ray.init, with its reasons
        pass


@contextmanager
def _stderr_silenced() -> Iterator[None]:
    """File descriptor 2 points at /dev/null for the duration (C++ code writes to it directly)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _token_refused(address: str) -> errors.ClusterUnavailable:
    return errors.ClusterUnavailable(
        f"the Ray cluster at {address!r} refused this driver's token (or its lack of one): set RAY_AUTH_MODE=token "
        "and give the cluster's token as RAY_AUTH_TOKEN or in ~/.ray/auth_token"
    )


def requires_token() -> bool:
    """Whether this driver connects with Ray's token authentication: a cluster that accepted a driver without a
    token does not require one."""
    from ray._raylet import AuthenticationMode, get_authentication_mode  # type: ignore[attr-defined]

    return bool(get_authentication_mode() == AuthenticationMode.TOKEN)


def reason(exc: BaseException) -> str:
    """The first line of a Ray error (they run to pages of remote traceback), or its class's name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


TIMEOUT_ENV = "LOOM_CLUSTER_TIMEOUT"
"""Seconds the head may take to answer before a cluster counts as unreachable (default 10)."""
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])  # + an empty SETTINGS


def probe_timeout() -> float:
    value = os.environ.get(TIMEOUT_ENV, "10")
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise errors.ClusterUnavailable(f"{TIMEOUT_ENV}={value[:40]!r} is not a number of seconds in (0, 3600]")
    return seconds


def parse_address(address: str) -> tuple[str, int] | None:
    """The head's host and port (None for ``auto``); anything else is refused on one line."""
    address = address.strip()
    if address == "auto":
        return None
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536 or not _HOST.fullmatch(host):
        raise errors.ClusterUnavailable(
            f"{address[:80]!r} is not a Ray address: auto, HOST:PORT or ray://HOST:PORT (IPv6 as [ADDR]:PORT)"
        )
    return host, int(port)


_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}|[0-9A-Fa-f:.]{2,45}")


def _probe(address: str) -> None:
    """Fails in seconds on an address nothing listens on, or where something listens that never answers as Ray's
    gRPC head does (an HTTP/2 SETTINGS frame in reply to the client preface): Ray itself would wait minutes."""
    where = parse_address(address)
    if where is None:
        return  # Ray finds the cluster this machine belongs to, or says at once that there is none
    timeout = probe_timeout()
    try:
        with socket.create_connection(where, timeout=timeout) as conn:
            if os.environ.get("RAY_USE_TLS", "0") in ("0", ""):  # a TLS head answers only a TLS handshake
                conn.sendall(_HTTP2_PREFACE)
                frame = b""
                while len(frame) < 9 and (chunk := conn.recv(9 - len(frame))):
                    frame += chunk
            else:
                frame = bytes([0, 0, 0, 4]) + bytes(5)
    except TimeoutError:
        raise errors.ClusterUnavailable(
            f"the Ray cluster at {address!r} did not answer within {timeout:g} s ({TIMEOUT_ENV} sets the bound)"
        ) from None
    except (OSError, OverflowError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise errors.ClusterUnavailable(f"cannot reach the Ray cluster at {address!r}: {reason}") from None
    if len(frame) < 9 or frame[3] != 4:
        raise errors.ClusterUnavailable(f"{address!r} answered, but not as a Ray head (gRPC) does")


@dataclass(frozen=True, slots=True)
class Placement:
    """What each task asks Ray for."""

    cpus: float
    """The CPUs of the cluster's smallest node: risc0's prover starts a thread per hardware thread whatever Ray
    says, so by default one proving task runs per node."""
    segment_memory: int
    recursion_memory: int


def _nodes(ray: Any) -> list[dict[str, float]]:
    """The resources of each live node that can run tasks."""
    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive") and n["Resources"].get("CPU", 0) > 0]
    if not nodes:
        raise errors.ClusterUnavailable("the Ray cluster has no live node with CPUs")
    return nodes


def capacity(ray: Any) -> Capacity:
    """The cluster as a place to prove: the memory of its largest node (a segment is proven on one node)."""
    largest = max(n.get("memory", 0) for n in _nodes(ray))
    return Capacity(largest, "the largest node of the cluster offers", "add a node with more memory")


def segment_po2_ceiling(ray: Any) -> int:
    """The largest segment size the cluster's largest node can prove, up to risc0's own default of 2^20."""
    return capacity(ray).ceiling


def placement(ray: Any, po2: int) -> Placement:
    """The resources a proof at segment size 2^po2 needs (each segment task asks Ray for the memory its proof
    takes, so Ray never places two segments on a node that cannot hold both); refuses, before anything runs, a
    segment no node can hold."""
    where = capacity(ray)
    where.check(po2)
    return Placement(
        cpus=min(n["CPU"] for n in _nodes(ray)),
        segment_memory=segment_memory(po2),
        recursion_memory=int(min(segment_memory(RECURSION_PO2), where.memory)),
    )


# --- the tasks (module-level functions: Ray ships them by reference to nodes where Loom is installed) -----------


def _prove_segment(segment: bytes, lift: bool) -> bytes:
    receipt = recursion.prove_segment(segment)
    return recursion.lift(receipt) if lift else receipt


def _join(a: bytes, b: bytes) -> bytes:
    return recursion.join(a, b)


def _resolve(conditional: bytes, *assumptions: bytes) -> bytes:
    return recursion.resolve_assumptions(conditional, [Receipt.from_bytes(a) for a in assumptions])


# --- the driver ---------------------------------------------------------------------------------------------------


def prove(
    address: str,
    elf: bytes,
    input: bytes,
    *,
    succinct: bool,
    segment_limit_po2: int | None = None,
    max_cycles: int | None = None,
    progress: Progress | None = None,
    assumptions: Sequence[Receipt] = (),
    on_plan: Callable[[SegmentPlan], None] | None = None,
) -> tuple[_native.ExecutionInfo, Receipt]:
    """Proves ``elf`` on ``input`` with the cluster's nodes; returns the execution and the verified receipt. The
    segment size is ``segment_limit_po2``, else the cheapest the largest node can hold (as ``zk.prove``)."""
    ray = connect(address)
    plan = segment_size.plan(
        elf,
        input,
        capacity(ray),
        given=segment_limit_po2,
        succinct=succinct,
        max_cycles=max_cycles,
        assumptions=assumptions,
        on_plan=on_plan,
    )
    where = placement(ray, plan.po2)
    info, segments = recursion.execute_segments(
        elf, input, segment_limit_po2=plan.po2, max_cycles=max_cycles, assumptions=assumptions
    )
    segment_task = ray.remote(_prove_segment).options(
        num_cpus=where.cpus, memory=where.segment_memory, max_retries=RETRIES
    )
    recursion_options = {"num_cpus": where.cpus, "memory": where.recursion_memory, "max_retries": RETRIES}
    parts = [segment_task.remote(segment, succinct) for segment in segments]
    phases: dict[ProvingPhase, list[Any]] = {ProvingPhase.SEGMENT: parts}
    if succinct:
        join_task = ray.remote(_join).options(**recursion_options)
        joins: list[Any] = []

        def join(a: Any, b: Any) -> Any:
            joins.append(join_task.remote(a, b))
            return joins[-1]

        final = recursion.join_tree(parts, join=join)
        phases[ProvingPhase.JOIN] = joins
        if assumptions:
            final = (
                ray.remote(_resolve).options(**recursion_options).remote(final, *(a.to_bytes() for a in assumptions))
            )
            phases[ProvingPhase.RESOLVE] = [final]
        receipt = recursion.succinct_receipt(_await(ray, phases, progress, final), info.journal)
    else:
        receipt = recursion.composite_receipt(_await(ray, phases, progress, parts), assumptions, info.journal)
    receipt.verify(_native.image_id(elf))
    return info, receipt


def _await(ray: Any, phases: dict[ProvingPhase, list[Any]], progress: Progress | None, results: Any) -> Any:
    """Waits for every task, reporting each phase's progress as its tasks finish, and returns the values of
    ``results``; a task's failure is raised as Loom's error, and an interrupted wait (Ctrl-C) cancels every task
    first."""
    phase_of = {ref: phase for phase, refs in phases.items() for ref in refs}
    done = dict.fromkeys(phases, 0)
    pending = list(phase_of)
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                ray.get(ref)  # raises a task's failure now, not after the rest
                phase = phase_of[ref]
                done[phase] += 1
                if progress:
                    progress(phase, done[phase], len(phases[phase]))
        return ray.get(results)  # a node lost since holds no result: Ray makes it again
    except BaseException as exc:
        for ref in pending:
            ray.cancel(ref, force=True)
        if isinstance(exc, ray.exceptions.RayTaskError) and isinstance(exc.cause, errors.LoomError):
            raise exc.cause from None
        if isinstance(exc, ray.exceptions.RayError):
            raise errors.ProvingFailed(
                f"a cluster task failed (after up to {RETRIES} retries): {reason(exc)}"
            ) from None
        raise
