"""A TEST notary: mints TLSNotary presentations (the wire format of docs/tlsn-presentation.md) for tests.

It is a test tool, never a notary: it sees the plaintext (a real notary does not, it takes part in the TLS session
through MPC) and it signs whatever it is given. It exists so tests can make valid presentations for any transcript,
partial reveal, signature algorithm and hash algorithm, and then break them on purpose.

Server identities come either from a captured real handshake (fixtures/tlsn/handshakes) or from the test
server PKI (fixtures/tlsn/test-server-pki), whose keys sign fresh key-exchange parameters here.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import blake3
import ecdsa
from Crypto.Hash import keccak
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from pipeline import tlsn

SIG_ALGS = {"secp256k1": 1, "secp256r1": 2, "secp256k1eth": 3}
KEY_ALGS = {"secp256k1": 1, "secp256r1": 2, "secp256k1eth": 1}  # K256 or P256
HASH_ALGS = {"sha256": 1, "blake3": 2, "keccak256": 3}
# Server key-exchange signature algorithms, by position in TLSNotary's enum.
KX_ALGS = [
    "ecdsa_p256_sha256",
    "ecdsa_p256_sha384",
    "ecdsa_p384_sha256",
    "ecdsa_p384_sha384",
    "ed25519",
    "rsa_pkcs1_sha256",
    "rsa_pkcs1_sha384",
    "rsa_pkcs1_sha512",
    "rsa_pss_sha256",
    "rsa_pss_sha384",
    "rsa_pss_sha512",
]


def digest(alg: str, data: bytes) -> bytes:
    if alg == "sha256":
        return hashlib.sha256(data).digest()
    if alg == "blake3":
        return blake3.blake3(data).digest()
    return keccak.new(digest_bits=256, data=data).digest()


def separated(alg: str, type_name: str, bcs: bytes) -> bytes:
    return digest(alg, blake3.blake3(type_name.encode()).digest()[:16] + bcs)


def merkle_root(alg: str, leaves: list[bytes]) -> bytes:
    level = leaves
    while len(level) > 1:
        level = [
            digest(alg, level[i] + level[i + 1]) if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)
        ]
    return level[0]


# --- the two encodings ------------------------------------------------------------------------------------------


def uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


class Codec:
    """bincode (wire) or BCS (hashing): they differ in how lengths and enum variants are written."""

    def __init__(self, bcs: bool) -> None:
        self.bcs = bcs

    def len(self, n: int) -> bytes:
        return uleb(n) if self.bcs else struct.pack("<Q", n)

    def variant(self, n: int) -> bytes:
        return uleb(n) if self.bcs else struct.pack("<I", n)

    def bytes(self, b: bytes) -> bytes:
        return self.len(len(b)) + b

    def ranges(self, ranges: list[tuple[int, int]]) -> bytes:
        return self.len(len(ranges)) + b"".join(struct.pack("<QQ", s, e) for s, e in ranges)

    def typed_hash(self, alg: str, value: bytes) -> bytes:
        return bytes([HASH_ALGS[alg]]) + self.bytes(value)

    def ephemeral_key(self, key: bytes) -> bytes:
        return self.variant(0) + self.bytes(key)


WIRE, BCS = Codec(bcs=False), Codec(bcs=True)


# --- server identities ------------------------------------------------------------------------------------------


@dataclass
class Handshake:
    """What a TLS 1.2 server proved about itself: its chain and its signature over the ECDHE parameters."""

    certs: list[bytes]
    sig_alg: int
    sig: bytes
    client_random: bytes
    server_random: bytes
    ephemeral_key: bytes

    def encode(self, codec: Codec) -> bytes:
        return (
            codec.len(len(self.certs))
            + b"".join(codec.bytes(c) for c in self.certs)
            + codec.variant(self.sig_alg)
            + codec.bytes(self.sig)
            + codec.variant(0)
            + self.client_random
            + self.server_random
            + codec.ephemeral_key(self.ephemeral_key)
        )


def kx_message(client_random: bytes, server_random: bytes, key: bytes) -> bytes:
    return client_random + server_random + bytes([3, 0, 0x17, len(key)]) + key


def captured_handshake(fixtures: Path, host: str) -> Handshake:
    """A real handshake captured from a live server (fixtures/tlsn/handshakes/HOST)."""
    d = fixtures / "tlsn" / "handshakes" / host

    def hexfile(name: str) -> bytes:
        return bytes.fromhex((d / name).read_text().strip())

    ee, inter = (d / "ee.der").read_bytes(), (d / "inter.der").read_bytes()
    sig = hexfile("signature")
    alg = KX_ALGS.index("ecdsa_p256_sha256" if sig[0] == 0x30 else "rsa_pkcs1_sha256")
    return Handshake([ee, inter], alg, sig, hexfile("client_random"), hexfile("server_random"), hexfile("pubkey"))


@dataclass
class TestServer:
    """The fixtures' test PKI: a root CA and a test-server.io RSA leaf, with their private keys."""

    root_der: bytes
    root_key: rsa.RSAPrivateKey
    leaf_der: bytes
    leaf_key: object
    name: str = "test-server.io"

    @classmethod
    def load(cls, fixtures: Path) -> TestServer:
        pki = fixtures / "tlsn" / "test-server-pki"
        return cls(
            root_der=(pki / "root_ca_cert.der").read_bytes(),
            root_key=serialization.load_pem_private_key((pki / "root_ca.key").read_bytes(), None),
            leaf_der=(pki / "test_server_cert.der").read_bytes(),
            leaf_key=serialization.load_der_private_key((pki / "test_server_private_key.der").read_bytes(), None),
        )

    def with_leaf_key(self, key: object) -> TestServer:
        """The same server with a new leaf certificate for ``key`` (EC or Ed25519), issued by the test root."""
        from cryptography import x509
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        root = x509.load_der_x509_certificate(self.root_der)
        leaf = x509.load_der_x509_certificate(self.leaf_der)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.name)]))
            .issuer_name(root.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(leaf.not_valid_before_utc)
            .not_valid_after(leaf.not_valid_after_utc)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(self.name)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self.root_key, hashes.SHA256())
        )
        return TestServer(self.root_der, self.root_key, cert.public_bytes(serialization.Encoding.DER), key, self.name)

    def handshake(self, kx_alg: str = "rsa_pkcs1_sha256") -> Handshake:
        """A fresh TLS 1.2 key exchange signed by this server's leaf key with ``kx_alg``."""
        client_random, server_random = os.urandom(32), os.urandom(32)
        point = (
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        )
        message = kx_message(client_random, server_random, point)
        hash_name = kx_alg.rsplit("_", 1)[-1]
        h = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}.get(hash_name)
        key = self.leaf_key
        if kx_alg.startswith("rsa_pkcs1"):
            sig = key.sign(message, padding.PKCS1v15(), h)
        elif kx_alg.startswith("rsa_pss"):
            sig = key.sign(message, padding.PSS(padding.MGF1(h), h.digest_size), h)
        elif kx_alg.startswith("ecdsa"):
            sig = key.sign(message, ec.ECDSA(h))
        else:
            sig = key.sign(message)
        return Handshake([self.leaf_der], KX_ALGS.index(kx_alg), sig, client_random, server_random, point)


# --- notarizing -------------------------------------------------------------------------------------------------


@dataclass
class Notary:
    """A notary key: secp256k1 for ``secp256k1``/``secp256k1eth``, P-256 for ``secp256r1``."""

    alg: str = "secp256k1"
    secret: bytes = field(default_factory=lambda: bytes([0x2A]) * 32)
    high_s: bool = False  # sign with the high-S twin of the signature (valid maths, refused by k256 and Loom)

    @property
    def _key(self) -> ecdsa.SigningKey:
        curve = ecdsa.NIST256p if self.alg == "secp256r1" else ecdsa.SECP256k1
        return ecdsa.SigningKey.from_string(self.secret, curve=curve)

    @property
    def public_key(self) -> bytes:
        return self._key.get_verifying_key().to_string("compressed")

    def sign(self, message: bytes) -> bytes:
        key = self._key
        n = key.curve.order
        if self.alg == "secp256k1eth":
            prehash = keccak.new(digest_bits=256, data=message).digest()
        else:
            prehash = hashlib.sha256(message).digest()
        r, s = key.sign_digest_deterministic(prehash, hashfunc=hashlib.sha256, sigencode=lambda r, s, _: (r, s))
        if (s > n // 2) != self.high_s:  # low-S form, as k256 requires, unless asked for the other
            s = n - s
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        if self.alg != "secp256k1eth":
            return sig
        candidates = ecdsa.VerifyingKey.from_public_key_recovery_with_digest(
            sig, prehash, ecdsa.SECP256k1, hashfunc=hashlib.sha256
        )
        v = [c.to_string("compressed") for c in candidates].index(self.public_key)
        return sig + bytes([v])


Ranges = list[tuple[int, int]]


@dataclass
class Disclosure:
    """What the prover commits to and opens, per direction. Each entry of ``open_*`` is one commitment that is
    opened; ``hidden_*`` are committed but not opened (their bytes stay redacted)."""

    open_sent: list[Ranges]
    open_received: list[Ranges]
    hidden_sent: list[Ranges] = field(default_factory=list)
    hidden_received: list[Ranges] = field(default_factory=list)

    @classmethod
    def everything(cls, sent: bytes, received: bytes) -> Disclosure:
        return cls([[(0, len(sent))]], [[(0, len(received))]])


def union(sets: list[Ranges]) -> Ranges:
    out: Ranges = []
    for s, e in sorted(r for rs in sets for r in rs):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def gather(data: bytes, ranges: Ranges) -> bytes:
    return b"".join(data[s:e] for s, e in ranges)


def notarize(
    sent: bytes,
    received: bytes,
    *,
    handshake: Handshake,
    server_name: str,
    time: int,
    notary: Notary | None = None,
    hash_alg: str = "blake3",
    disclosure: Disclosure | None = None,
    identity: bool = True,
    transcript: bool = True,
    extensions: list[tuple[bytes, bytes]] = (),
) -> bytes:
    """A presentation of ``sent``/``received`` signed by ``notary``, in TLSNotary's wire format."""
    notary = notary or Notary()
    disclosure = disclosure or Disclosure.everything(sent, received)
    blinder = os.urandom(16)
    cert_commitment = separated(hash_alg, "ServerCertOpening", handshake.encode(BCS) + blinder)

    # Commitments: (direction, ranges, blinder, hash) for every opened and hidden range set.
    commitments, secrets = [], []
    for direction, data, opened, hidden in (
        (0, sent, disclosure.open_sent, disclosure.hidden_sent),
        (1, received, disclosure.open_received, disclosure.hidden_received),
    ):
        for ranges, is_open in [*((r, True) for r in opened), *((r, False) for r in hidden)]:
            b = os.urandom(16)
            commitments.append((direction, ranges, digest(hash_alg, gather(data, ranges) + b)))
            if is_open:
                secrets.append((direction, ranges, b))

    def field_bytes(codec: Codec) -> list[tuple[str, bytes]]:
        """Body fields in id order, each as (type name for hashing, encoding)."""
        fields = [
            ("VerifyingKey", bytes([KEY_ALGS[notary.alg]]) + codec.bytes(notary.public_key)),
            (
                "tlsn_core::connection::ConnectionInfo",
                struct.pack("<Q", time) + codec.variant(0) + struct.pack("<II", len(sent), len(received)),
            ),
            ("tlsn_core::connection::ServerEphemKey", codec.ephemeral_key(handshake.ephemeral_key)),
            ("ServerCertCommitment", codec.typed_hash(hash_alg, cert_commitment)),
        ]
        fields += [("Extension", codec.bytes(i) + codec.bytes(v)) for i, v in extensions]
        fields += [
            (
                "tlsn_core::transcript::TranscriptCommitment",
                codec.variant(0) + codec.variant(d) + codec.ranges(r) + codec.typed_hash(hash_alg, h),
            )
            for d, r, h in commitments
        ]
        return fields

    bcs_fields = field_bytes(BCS)
    root = merkle_root(hash_alg, [separated(hash_alg, name, enc) for name, enc in bcs_fields])
    header_id = os.urandom(16)
    header_bcs = header_id + struct.pack("<I", 0) + BCS.typed_hash(hash_alg, root)
    signature = notary.sign(header_bcs)

    out = bytes([SIG_ALGS[notary.alg]]) + WIRE.bytes(signature)
    out += header_id + struct.pack("<I", 0) + WIRE.typed_hash(hash_alg, root)
    wire_fields = field_bytes(WIRE)
    for i, (_, enc) in enumerate(wire_fields[:4]):
        out += struct.pack("<I", i) + enc
    ext, com = wire_fields[4 : 4 + len(extensions)], wire_fields[4 + len(extensions) :]
    for group, first in ((ext, 4), (com, 4 + len(ext))):
        out += WIRE.len(len(group)) + b"".join(struct.pack("<I", first + i) + enc for i, (_, enc) in enumerate(group))
    out += bytes([HASH_ALGS[hash_alg]]) + struct.pack("<Q", len(bcs_fields)) + WIRE.len(0)

    if identity:
        out += b"\x01" + WIRE.variant(0) + WIRE.bytes(server_name.encode()) + handshake.encode(WIRE) + blinder
    else:
        out += b"\x00"
    if transcript:
        sent_idx, recv_idx = union(disclosure.open_sent), union(disclosure.open_received)
        out += b"\x01" + WIRE.bytes(gather(sent, sent_idx)) + WIRE.bytes(gather(received, recv_idx))
        out += WIRE.ranges(sent_idx) + WIRE.ranges(recv_idx) + struct.pack("<QQ", len(sent), len(received))
        out += WIRE.len(len(secrets))
        for direction, ranges, b in secrets:
            out += WIRE.variant(direction) + WIRE.ranges(ranges) + bytes([HASH_ALGS[hash_alg]]) + b
    else:
        out += b"\x00"
    return out


# --- presentations of one transcript, as the tests mint them ----------------------------------------------------------


TIME = 1800000000  # 2027: inside the test PKI's validity (2024..2124)
SENT = b"GET /api/balance HTTP/1.1\r\nHost: test-server.io\r\nAuthorization: Bearer s3cr3t\r\n\r\n"
RECEIVED = (
    b"HTTP/1.1 200 OK\r\nSet-Cookie: session=abc\r\nContent-Type: application/json\r\n"
    b'Transfer-Encoding: chunked\r\n\r\n10\r\n{"balance": 1234\r\n1\r\n}\r\n0\r\n\r\n'
)


def mint(server: TestServer, **kw) -> bytes:
    if "handshake" not in kw:
        kw["handshake"] = server.handshake()
    return notarize(SENT, RECEIVED, server_name=server.name, time=TIME, **kw)


def policy(server: TestServer, n: Notary | None = None, **kw) -> tlsn.Policy:
    n = n or Notary()
    return tlsn.Policy(notary_keys=(n.public_key.hex(),), roots=(server.root_der,), **kw)
