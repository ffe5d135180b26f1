"""What a run hands over: a bundle of its output, each value's provenance and the receipts behind the proven ones,
and its verification on any machine (nothing but the bundle and the image IDs the verifier trusts)."""

from pipeline.results._bundle import (
    MAX_BYTES,
    Bundle,
    BundleReceipt,
    BundleReport,
    Made,
    ReceiptCheck,
    ValueCheck,
    bundle_json_schema,
    make_bundle,
    parse_bundle,
    verify_bundle,
)
from pipeline.results._handover import bundle_of

__all__ = [
    "MAX_BYTES",
    "Bundle",
    "BundleReceipt",
    "BundleReport",
    "Made",
    "ReceiptCheck",
    "ValueCheck",
    "bundle_json_schema",
    "bundle_of",
    "make_bundle",
    "parse_bundle",
    "verify_bundle",
]
