"""What a run hands over: a bundle of its output, each value's provenance and the receipts behind the proven ones,
and its verification on any machine (nothing but the bundle and the image IDs the verifier trusts)."""

from pipeline.results._bundle import (
    MAX_BYTES,
    Bundle,
    BundleChain,
    BundleReceipt,
    BundleReport,
    ChainCheck,
    Made,
    ReceiptCheck,
    ValueCheck,
    bundle_json_schema,
    make_bundle,
    parse_bundle,
    spec_digest,
    verify_bundle,
)
from pipeline.results._chain import ChainCall, Chained, chain_call, execute_chain, prove_chain
from pipeline.results._handover import bundle_of

__all__ = [
    "MAX_BYTES",
    "Bundle",
    "BundleChain",
    "BundleReceipt",
    "BundleReport",
    "ChainCall",
    "ChainCheck",
    "Chained",
    "Made",
    "ReceiptCheck",
    "ValueCheck",
    "bundle_json_schema",
    "bundle_of",
    "chain_call",
    "execute_chain",
    "make_bundle",
    "parse_bundle",
    "prove_chain",
    "spec_digest",
    "verify_bundle",
]
