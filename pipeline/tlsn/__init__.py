"""TLSNotary: verifying presentations (the one Rust verifier, natively or in the wasm sandbox) under a policy of
trusted notaries, and zkTLS: the ``tlsn-claim`` guest, which verifies a presentation inside RISC Zero and proves
claims about its transcript."""

from pipeline.tlsn._claim import FRAME as CLAIM_FRAME
from pipeline.tlsn._claim import GUEST as CLAIM_GUEST
from pipeline.tlsn._claim import (
    BytesClaim,
    BytesVerdict,
    ClaimJournal,
    JsonClaim,
    JsonVerdict,
    PickedValue,
    claim_request,
)
from pipeline.tlsn._claim import decode as decode_claim
from pipeline.tlsn._claim import prove as prove_claim
from pipeline.tlsn._verify import (
    Direction,
    LoadedPresentation,
    Notary,
    Policy,
    TlsnJsMeta,
    Trust,
    TrustedNotary,
    VerifiedPresentation,
    default_trust_file,
    load_presentation,
    load_trust_file,
    read_presentation,
    verify_presentation,
    verify_to_dict,
)

__all__ = [
    "CLAIM_FRAME",
    "CLAIM_GUEST",
    "BytesClaim",
    "BytesVerdict",
    "ClaimJournal",
    "Direction",
    "JsonClaim",
    "JsonVerdict",
    "LoadedPresentation",
    "Notary",
    "PickedValue",
    "Policy",
    "TlsnJsMeta",
    "Trust",
    "TrustedNotary",
    "VerifiedPresentation",
    "claim_request",
    "decode_claim",
    "default_trust_file",
    "load_presentation",
    "load_trust_file",
    "prove_claim",
    "read_presentation",
    "verify_presentation",
    "verify_to_dict",
]
