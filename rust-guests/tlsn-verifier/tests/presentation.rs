//! The golden presentation from TLSNotary's fixture generator, verified by this crate alone.

use std::path::PathBuf;

use tlsn_verifier::{verify, Policy, Stage};

const NOTARY_KEY: &str = "035be5e9478209674a96e60f1f037f6176540fd001fa1d64694770c56a7709c42c";

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/tlsn")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn policy() -> Policy {
    Policy::trusting(unhex(NOTARY_KEY))
}

#[test]
fn golden_presentation_verifies_with_its_facts() {
    let v = verify(&fixture("presentation.bin"), &policy()).expect("verifies");
    assert_eq!(v.time, 1671637529);
    assert_eq!(
        v.server.as_ref().map(|s| s.0.as_str()),
        Some("tlsnotary.org")
    );
    let (sent, received) = v.transcript.as_ref().unwrap();
    assert_eq!((sent.total, received.total), (35, 145));
    assert_eq!(sent.data, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert!(received
        .data
        .ends_with(b"{\"foo\": \"bar\", \"bazz\": 123, \"buzz\": [1,\"5\"]}\r\n"));
    let json = serde_json::to_value(tlsn_verifier::report(&v)).unwrap();
    assert_eq!(json["http"]["response"]["json"]["bazz"], 123);
}

/// The report's JSON is a contract with `pipeline/tlsn/_verify.py`: the golden presentation's report is
/// `tests/golden/presentation.json` (indented there for people; compact, its keys sorted, the bytes must be the
/// report's own), and the Python tests read the same file with their models of it.
#[test]
fn the_report_is_the_golden_document() {
    let v = verify(&fixture("presentation.bin"), &policy()).expect("verifies");
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/presentation.json");
    let text =
        std::fs::read_to_string(&golden).unwrap_or_else(|e| panic!("{}: {e}", golden.display()));
    let want: serde_json::Value = serde_json::from_str(&text).expect("the golden document is JSON");
    assert_eq!(
        serde_json::to_string(&tlsn_verifier::report(&v)).unwrap(),
        serde_json::to_string(&want).unwrap()
    );
}

/// All 255 other values of every byte (about a million verifications), spread over the machine's cores.
#[test]
fn every_single_byte_change_is_rejected() {
    let good = fixture("presentation.bin");
    let policy = policy();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let offsets: Vec<usize> = (0..good.len()).collect();
    std::thread::scope(|scope| {
        for share in offsets.chunks(good.len().div_ceil(threads)) {
            let (good, policy) = (&good, &policy);
            scope.spawn(move || {
                let mut bad = good.clone();
                for &i in share {
                    for value in (0..=255u8).filter(|&v| v != good[i]) {
                        bad[i] = value;
                        assert!(
                            verify(&bad, policy).is_err(),
                            "byte {i} set to {value:#04x} was accepted"
                        );
                    }
                    bad[i] = good[i];
                }
            });
        }
    });
}

#[test]
fn untrusted_notary_is_rejected() {
    let mut policy = policy();
    policy.notary_keys = vec![unhex("02")];
    let err = verify(&fixture("presentation.bin"), &policy).unwrap_err();
    assert_eq!(err.stage, Stage::Policy);
}
