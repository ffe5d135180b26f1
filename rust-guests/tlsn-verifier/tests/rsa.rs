//! RSA verification (`tlsn_verifier::rsa`, Loom's own Montgomery arithmetic) against signatures made by another
//! implementation (golden/rsa-vectors.txt, from pyca/cryptography): PKCS#1 v1.5 and PSS over SHA-256, moduli of
//! 32 to 35 64-bit limbs (every remainder of the unrolled loop's four-limb steps), exponents 3 and 65537; each
//! signature verifies, and with one bit flipped does not.

use tlsn_verifier::rsa::{PublicKey, SHA256_PREFIX};

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn signatures_of_another_implementation_verify_and_altered_ones_do_not() {
    let vectors = include_str!("golden/rsa-vectors.txt");
    let mut checked = 0;
    for line in vectors.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split(' ').collect();
        let (scheme, verifies) = (f[2], f[3] == "1");
        let (der, msg, sig) = (unhex(f[4]), unhex(f[5]), unhex(f[6]));
        let key = PublicKey::from_der(&der).expect("a valid RSA key");
        let got = match scheme {
            "pkcs1" => key.verify_pkcs1::<sha2::Sha256>(SHA256_PREFIX, &msg, &sig),
            _ => key.verify_pss::<sha2::Sha256>(&msg, &sig),
        };
        assert_eq!(got, verifies, "{} bits, e = {}, {scheme}", f[0], f[1]);
        checked += 1;
    }
    assert_eq!(checked, 16);
}
