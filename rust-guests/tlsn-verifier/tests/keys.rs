//! `notary::same_key` compares notary keys by their encodings where those settle it; it must always agree with
//! comparing the decoded points (`normalize_key`), the slow way it replaces.

use k256::elliptic_curve::sec1::ToEncodedPoint;
use tlsn_verifier::notary::{normalize_key, same_key, KeyAlg};

fn k256_spellings(secret: u8) -> Vec<Vec<u8>> {
    let key = k256::SecretKey::from_slice(&[secret; 32])
        .unwrap()
        .public_key();
    [true, false]
        .map(|compressed| key.to_encoded_point(compressed).as_bytes().to_vec())
        .to_vec()
}

fn p256_spellings(secret: u8) -> Vec<Vec<u8>> {
    let key = p256::SecretKey::from_slice(&[secret; 32])
        .unwrap()
        .public_key();
    [true, false]
        .map(|compressed| key.to_encoded_point(compressed).as_bytes().to_vec())
        .to_vec()
}

/// Encodings that name no point, or another point, in the shapes the fast paths look at.
fn near_misses(valid: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for key in valid {
        for i in [0, 1, key.len() - 1] {
            let mut bad = key.clone();
            bad[i] ^= 1;
            out.push(bad);
        }
        out.push(key[..key.len() - 1].to_vec());
        let mut compact = key[..33].to_vec();
        compact[0] = 5;
        out.push(compact);
    }
    out.push(vec![0]);
    out.push(Vec::new());
    out
}

#[test]
fn same_key_agrees_with_comparing_points() {
    for (alg, spellings) in [
        (KeyAlg::K256, k256_spellings as fn(u8) -> Vec<Vec<u8>>),
        (KeyAlg::P256, p256_spellings),
    ] {
        // Secrets whose public keys have even and odd y.
        let keys: Vec<Vec<u8>> = (1..=6).flat_map(spellings).collect();
        let mut trusted = keys.clone();
        trusted.extend(near_misses(&keys));
        let parities: Vec<u8> = keys
            .iter()
            .filter(|k| k.len() == 33)
            .map(|k| k[0])
            .collect();
        assert!(parities.contains(&2) && parities.contains(&3));
        for key in &keys {
            for t in &trusted {
                let slow = normalize_key(alg, key) == normalize_key(alg, t);
                assert_eq!(
                    same_key(alg, key, t),
                    slow,
                    "{alg:?} key {key:02x?} trusted {t:02x?}"
                );
            }
        }
    }
}
