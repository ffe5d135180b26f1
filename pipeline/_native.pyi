"""Type stubs for ``pipeline._native``, Loom's compiled core (PyO3, built by maturin from ``native/``)."""

__version__: str

def build_info() -> dict[str, str]:
    """Facts about the compiled module: its version, the risc0-zkvm version, build profile and target."""

def image_id(elf: bytes) -> str:
    """Hex image ID of a RISC Zero guest: a user ELF (combined with the v1compat kernel) or a combined binary.

    Raises ValueError when the bytes are neither.
    """
