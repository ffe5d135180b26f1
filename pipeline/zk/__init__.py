"""RISC Zero: guests by name, execution, proving (composite or succinct, here or on a Ray cluster, in segments of the
size that proves cheapest) and verification of receipts, over the native module (``pipeline._native``).

Loom's guests read one JSON document from stdin and commit one JSON document to their journal; ``wasm-exec`` (a
wasm activity proven in the wasmi interpreter) reads a framed module and input (``wasm_input``)."""

from pipeline.zk._cluster import RETRIES as CLUSTER_RETRIES
from pipeline.zk._cluster import connect as connect_cluster
from pipeline.zk._cluster import reason as cluster_failure
from pipeline.zk._prove import (
    Execution,
    Guest,
    Progress,
    Proof,
    ProvingPhase,
    Receipt,
    check_fits,
    decode_journal,
    encode_input,
    execute,
    guest_names,
    image_id,
    load_guest,
    load_receipt,
    machine_memory,
    prove,
    read_receipt,
    segment_po2_ceiling,
    store_receipt,
    verify,
)
from pipeline.zk._recursion import (
    composite_receipt,
    compress,
    execute_segments,
    join,
    join_tree,
    lift,
    prove_segment,
    resolve_assumptions,
    segment_receipts,
    succinct_receipt,
)
from pipeline.zk._segments import (
    SEGMENT_MEMORY_MIB,
    Capacity,
    SegmentChoice,
    SegmentPlan,
    segment_memory,
)
from pipeline.zk._segments import cheapest as cheapest_segments
from pipeline.zk._segments import plan as plan_segments
from pipeline.zk._wasm import GUEST as WASM_GUEST
from pipeline.zk._wasm import WasmAbi, WasmRun
from pipeline.zk._wasm import check_run as check_wasm_run
from pipeline.zk._wasm import cycle_limit as wasm_cycle_limit
from pipeline.zk._wasm import failure as wasm_failure
from pipeline.zk._wasm import guest_input as wasm_input
from pipeline.zk._wasm import read_run as read_wasm_run

__all__ = [
    "CLUSTER_RETRIES",
    "SEGMENT_MEMORY_MIB",
    "WASM_GUEST",
    "Capacity",
    "Execution",
    "Guest",
    "Progress",
    "Proof",
    "ProvingPhase",
    "Receipt",
    "SegmentChoice",
    "SegmentPlan",
    "WasmAbi",
    "WasmRun",
    "cheapest_segments",
    "check_fits",
    "check_wasm_run",
    "cluster_failure",
    "composite_receipt",
    "compress",
    "connect_cluster",
    "decode_journal",
    "encode_input",
    "execute",
    "execute_segments",
    "guest_names",
    "image_id",
    "join",
    "join_tree",
    "lift",
    "load_guest",
    "load_receipt",
    "machine_memory",
    "plan_segments",
    "prove",
    "prove_segment",
    "read_receipt",
    "read_wasm_run",
    "resolve_assumptions",
    "segment_memory",
    "segment_po2_ceiling",
    "segment_receipts",
    "store_receipt",
    "succinct_receipt",
    "verify",
    "wasm_cycle_limit",
    "wasm_failure",
    "wasm_input",
]
