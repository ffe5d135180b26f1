"""Loom: verifiable computation pipelines.

Untrusted computation runs in WebAssembly sandboxes, notarized HTTPS transcripts are verified (TLSNotary),
and zero-knowledge receipts are generated and checked (RISC Zero) through the native module
``pipeline._native``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("loom-pipeline")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
