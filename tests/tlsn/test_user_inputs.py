"""TLSNotary data as users have it: presentations in every encoding tools write, notary keys as hex, PEM or a trust
file of named notaries, and claims written with symbols (issue #19)."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from pipeline import errors, tlsn
from tests.support import GOLDEN_NOTARY_KEY, GOLDEN_TIME, loom, notary

OTHER_KEY = notary.Notary(secret=b"\x07" * 32).public_key.hex()


def assert_one_line(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert result.returncode == code, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def pem(key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def ec_key(hex_key: str, curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePublicKey:
    return ec.EllipticCurvePublicKey.from_encoded_point(curve or ec.SECP256K1(), bytes.fromhex(hex_key))


@pytest.fixture
def golden_bin(fixtures: Path, built: Path) -> Path:
    return fixtures / "tlsn" / "presentation.bin"


def tlsn_js(data: bytes, version: str = "0.1.0-alpha.15") -> str:
    return json.dumps(
        {
            "version": version,
            "data": data.hex(),
            "meta": {"notaryUrl": "https://notary.example", "websocketProxyUrl": "wss://proxy.example"},
        }
    )


def encodings(golden_bin: Path, tmp_path: Path) -> dict[str, Path]:
    """presentation.bin in each encoding Loom reads, as files (text ones wrapped over lines, as tools write them)."""
    data = golden_bin.read_bytes()
    texts = {
        "tlsn-js-json": tlsn_js(data),
        "hex": "\n".join(data.hex()[i : i + 64] for i in range(0, 2 * len(data), 64)) + "\n",
        "base64": base64.encodebytes(data).decode(),
    }
    files = {"bincode": golden_bin}
    for name, text in texts.items():
        files[name] = tmp_path / f"presentation.{name}"
        files[name].write_text(text)
    return files


# --- encodings ----------------------------------------------------------------------------------------------------


def test_every_encoding_verifies_with_the_same_facts(golden_bin: Path, tmp_path: Path) -> None:
    outputs: dict[str, dict[str, Any]] = {}
    for name, file in encodings(golden_bin, tmp_path).items():
        shown = loom("tlsn", "verify", str(file), "--notary-key", GOLDEN_NOTARY_KEY, "--json")
        assert shown.returncode == 0, shown.stderr
        outputs[name] = json.loads(shown.stdout)
        assert outputs[name].pop("encoding") == name
    first = outputs["bincode"]
    assert first["time"] == GOLDEN_TIME and all(facts == first for facts in outputs.values())
    table = loom("tlsn", "verify", str(tmp_path / "presentation.tlsn-js-json"), "--notary-key", GOLDEN_NOTARY_KEY)
    assert table.returncode == 0 and "tlsn-js-json" in table.stdout and "https://notary.example" in table.stdout


def test_an_unsupported_tlsn_js_version_is_refused_naming_the_supported(golden_bin: Path, tmp_path: Path) -> None:
    file = tmp_path / "old.json"
    file.write_text(tlsn_js(golden_bin.read_bytes(), version="0.1.0-alpha.12"))
    refused = loom("tlsn", "verify", str(file), "--notary-key", GOLDEN_NOTARY_KEY)
    assert_one_line(refused, 2, "InvalidInput", "0.1.0-alpha.12", "0.1.0-alpha.14", "0.1.0-alpha.15")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("truncated", "not valid JSON"),
        ("0a1b2c3", "odd number"),
        ("QUJD!RA==", "neither hex nor base64"),
        ("QUJDRA=", "base64"),
    ],
)
def test_malformed_text_is_one_line_and_exit_2(golden_bin: Path, tmp_path: Path, text: str, why: str) -> None:
    file = tmp_path / "bad"
    file.write_text(tlsn_js(golden_bin.read_bytes())[:200] if text == "truncated" else text)
    assert_one_line(loom("tlsn", "verify", str(file), "--notary-key", GOLDEN_NOTARY_KEY), 2, "InvalidInput", why)


# --- notary keys --------------------------------------------------------------------------------------------------


def trust_file(path: Path, **entry: Any) -> Path:
    path.write_text(json.dumps([{"name": "other", "key": OTHER_KEY}, entry]))
    return path


def test_each_key_form_trusts_the_golden_notary_and_refuses_a_wrong_key(golden_bin: Path, tmp_path: Path) -> None:
    (tmp_path / "golden.pem").write_text(pem(ec_key(GOLDEN_NOTARY_KEY)))
    (tmp_path / "other.pem").write_text(pem(ec_key(OTHER_KEY)))
    uncompressed = (
        ec_key(GOLDEN_NOTARY_KEY)
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        .hex()
    )
    config = tmp_path / "config"
    config.mkdir()
    trust_file(
        config / "notaries.json",
        name="TLSNotary test notary",
        key=pem(ec_key(GOLDEN_NOTARY_KEY)),
        valid_from=GOLDEN_TIME - 1,
        valid_until=GOLDEN_TIME + 1,
    )
    (tmp_path / "wrong.json").write_text(json.dumps([{"name": "other", "key": OTHER_KEY}]))
    accepted = {
        "PEM": ["--notary-key", str(tmp_path / "golden.pem")],
        "uncompressed hex": ["--notary-key", uncompressed.upper()],
        "trust file": ["--notaries", str(config / "notaries.json")],
        "default trust file": [],
    }
    for form, args in accepted.items():
        shown = loom("tlsn", "verify", str(golden_bin), *args, "--json", env={"LOOM_CONFIG_DIR": str(config)})
        assert shown.returncode == 0, (form, shown.stderr)
        named = "TLSNotary test notary" if "trust file" in form else None
        assert json.loads(shown.stdout)["notary_name"] == named, form
    table = loom("tlsn", "verify", str(golden_bin), env={"LOOM_CONFIG_DIR": str(config)})
    assert table.returncode == 0 and "TLSNotary test notary" in table.stdout
    refused = {
        "PEM": ["--notary-key", str(tmp_path / "other.pem")],
        "hex": ["--notary-key", OTHER_KEY],
        "trust file": ["--notaries", str(tmp_path / "wrong.json")],
    }
    for args in refused.values():
        result = loom("tlsn", "verify", str(golden_bin), *args, env={"LOOM_CONFIG_DIR": str(config)})
        assert_one_line(result, 1, "PresentationInvalid", "not trusted")


def test_no_key_and_no_trust_file_is_a_usage_error(golden_bin: Path, tmp_path: Path) -> None:
    result = loom("tlsn", "verify", str(golden_bin), env={"LOOM_CONFIG_DIR": str(tmp_path)})
    assert_one_line(result, 2, "--notary-key", "--notaries", str(tmp_path / "notaries.json"))


@pytest.mark.parametrize(
    ("key", "why"),
    [
        (ed25519.Ed25519PrivateKey.generate().public_key(), "Ed25519"),
        (ec.generate_private_key(ec.SECP384R1()).public_key(), "secp384r1"),
    ],
)
def test_a_pem_key_on_another_curve_is_refused(golden_bin: Path, tmp_path: Path, key: Any, why: str) -> None:
    (tmp_path / "key.pem").write_text(pem(key))
    for args in (
        ["--notary-key", str(tmp_path / "key.pem")],
        ["--notaries", str(trust_file(tmp_path / "n.json", name="x", key=pem(key)))],
    ):
        result = loom("tlsn", "verify", str(golden_bin), *args)
        assert_one_line(result, 2, "InvalidInput", why, "secp256k1")


def test_a_key_of_the_other_curve_with_the_same_bytes_is_refused(golden_bin: Path, tmp_path: Path) -> None:
    """The golden key's bytes are also a P-256 point: the verifier matches bytes, Loom checks the curve too."""
    (tmp_path / "p256.pem").write_text(pem(ec_key(GOLDEN_NOTARY_KEY, ec.SECP256R1())))
    result = loom("tlsn", "verify", str(golden_bin), "--notary-key", str(tmp_path / "p256.pem"))
    assert_one_line(result, 1, "PresentationInvalid", "secp256r1", "secp256k1")


@pytest.mark.parametrize(
    ("window", "why"),
    [
        ({"valid_until": GOLDEN_TIME - 1}, "valid until"),
        ({"valid_from": GOLDEN_TIME + 1}, "valid from"),
    ],
)
def test_a_session_outside_the_notarys_validity_window_is_refused(
    golden_bin: Path, tmp_path: Path, window: dict[str, int], why: str
) -> None:
    file = trust_file(tmp_path / "n.json", name="retired notary", key=GOLDEN_NOTARY_KEY, **window)
    result = loom("tlsn", "verify", str(golden_bin), "--notaries", str(file))
    assert_one_line(result, 1, "PresentationInvalid", "retired notary", why)


def test_a_malformed_trust_file_is_a_usage_error(golden_bin: Path, tmp_path: Path) -> None:
    (tmp_path / "n.json").write_text(json.dumps([{"name": "x"}]))
    assert_one_line(
        loom("tlsn", "verify", str(golden_bin), "--notaries", str(tmp_path / "n.json")), 2, "InvalidInput", "key"
    )


# --- claims -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "word"), [("==", "eq"), ("!=", "ne"), ("<", "lt"), ("<=", "le"), (">", "gt"), (">=", "ge")]
)
def test_symbol_claims_parse_like_their_words(symbol: str, word: str) -> None:
    expected = tlsn.JsonClaim.parse(f"items.0.id {word} 123")
    assert tlsn.JsonClaim.parse(f"items.0.id {symbol} 123") == expected
    assert tlsn.JsonClaim.parse(f"items.0.id{symbol}123") == expected


def test_a_bad_claim_lists_the_accepted_forms() -> None:
    with pytest.raises(errors.InvalidInput, match=r"'equals'.*== != < <= > >=.*eq ne lt le gt ge contains.*exists"):
        tlsn.JsonClaim.parse("bazz equals 123")


def test_tlsn_claim_reads_a_tlsn_js_file_a_trust_file_and_a_symbol_claim(golden_bin: Path, tmp_path: Path) -> None:
    file = encodings(golden_bin, tmp_path)["tlsn-js-json"]
    notaries = trust_file(tmp_path / "n.json", name="golden", key=GOLDEN_NOTARY_KEY)
    proved = loom(
        "zk", "tlsn-claim", str(file), "--notaries", str(notaries), "--claim", "bazz == 123", "--dev-mode", "--json"
    )
    assert proved.returncode == 0, proved.stderr
    facts = json.loads(proved.stdout)
    assert facts["journal"]["holds"] and facts["journal"]["claim"]["claim"]["op"] == "eq"
    assert facts["encoding"] == "tlsn-js-json" and facts["notary_name"] == "golden"
