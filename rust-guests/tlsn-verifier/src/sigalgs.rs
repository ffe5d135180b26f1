//! Signature algorithms for certificate chains and the server's key-exchange signature, on pure-Rust crates
//! (RustCrypto), so the verifier builds for wasm32 and the zkVM: no `ring`, no C, no randomness.

use rustls_pki_types::{
    alg_id, AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm,
};
use sha2::{Digest, Sha256, Sha384, Sha512};

/// One algorithm: the key type and signature type webpki matches on, and a verify function.
pub struct Alg {
    pub name: &'static str,
    public_key: AlgorithmIdentifier,
    signature: AlgorithmIdentifier,
    verify: fn(&[u8], &[u8], &[u8]) -> bool,
}

impl core::fmt::Debug for Alg {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name)
    }
}

impl SignatureVerificationAlgorithm for Alg {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        if (self.verify)(public_key, message, signature) {
            Ok(())
        } else {
            Err(InvalidSignature)
        }
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.public_key
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.signature
    }
}

macro_rules! ecdsa {
    ($curve:ident, $hash:ty) => {
        |key: &[u8], msg: &[u8], sig: &[u8]| {
            let (Ok(vk), Ok(sig)) = (
                $curve::ecdsa::VerifyingKey::from_sec1_bytes(key),
                $curve::ecdsa::Signature::from_der(sig),
            ) else {
                return false;
            };
            $curve::verify_prehash(&vk, &<$hash>::digest(msg), &sig)
        }
    };
}

/// ECDSA P-256 over a prehash: RustCrypto's, or in the zkVM the accelerator's on the key and signature
/// RustCrypto parsed.
pub(crate) mod p256 {
    pub use ::p256::ecdsa;

    pub fn verify_prehash(
        vk: &ecdsa::VerifyingKey,
        prehash: &[u8],
        sig: &ecdsa::Signature,
    ) -> bool {
        #[cfg(target_os = "zkvm")]
        if crate::accel::enabled() {
            let point = vk.to_encoded_point(false);
            let (x, y) = (
                point.x().expect("uncompressed"),
                point.y().expect("uncompressed"),
            );
            return crate::accel::ecdsa_verify::<crate::accel::Secp256r1>(
                &crate::accel::SECP256R1,
                (x, y),
                prehash,
                &sig.r().to_bytes(),
                &sig.s().to_bytes(),
            );
        }
        use ::p256::ecdsa::signature::hazmat::PrehashVerifier;
        vk.verify_prehash(prehash, sig).is_ok()
    }
}

/// ECDSA P-384 over a prehash (RustCrypto's everywhere).
pub(crate) mod p384 {
    pub use ::p384::ecdsa;

    pub fn verify_prehash(
        vk: &ecdsa::VerifyingKey,
        prehash: &[u8],
        sig: &ecdsa::Signature,
    ) -> bool {
        use ::p384::ecdsa::signature::hazmat::PrehashVerifier;
        vk.verify_prehash(prehash, sig).is_ok()
    }
}

macro_rules! pkcs1 {
    ($hash:ty, $prefix:expr) => {
        |key: &[u8], msg: &[u8], sig: &[u8]| {
            crate::rsa::PublicKey::from_der(key)
                .is_some_and(|k| k.verify_pkcs1::<$hash>($prefix, msg, sig))
        }
    };
}

macro_rules! pss {
    ($hash:ty) => {
        |key: &[u8], msg: &[u8], sig: &[u8]| {
            crate::rsa::PublicKey::from_der(key).is_some_and(|k| k.verify_pss::<$hash>(msg, sig))
        }
    };
}

fn ed25519(key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    let (Ok(key), Ok(sig)) = (
        <[u8; 32]>::try_from(key),
        ed25519_dalek::Signature::from_slice(sig),
    ) else {
        return false;
    };
    ed25519_dalek::VerifyingKey::from_bytes(&key)
        .is_ok_and(|vk| vk.verify_strict(msg, &sig).is_ok())
}

pub static ECDSA_P256_SHA256: Alg = Alg {
    name: "ECDSA P-256 SHA-256",
    public_key: alg_id::ECDSA_P256,
    signature: alg_id::ECDSA_SHA256,
    verify: ecdsa!(p256, Sha256),
};
pub static ECDSA_P256_SHA384: Alg = Alg {
    name: "ECDSA P-256 SHA-384",
    public_key: alg_id::ECDSA_P256,
    signature: alg_id::ECDSA_SHA384,
    verify: ecdsa!(p256, Sha384),
};
pub static ECDSA_P384_SHA256: Alg = Alg {
    name: "ECDSA P-384 SHA-256",
    public_key: alg_id::ECDSA_P384,
    signature: alg_id::ECDSA_SHA256,
    verify: ecdsa!(p384, Sha256),
};
pub static ECDSA_P384_SHA384: Alg = Alg {
    name: "ECDSA P-384 SHA-384",
    public_key: alg_id::ECDSA_P384,
    signature: alg_id::ECDSA_SHA384,
    verify: ecdsa!(p384, Sha384),
};
pub static ED25519: Alg = Alg {
    name: "Ed25519",
    public_key: alg_id::ED25519,
    signature: alg_id::ED25519,
    verify: ed25519,
};
pub static RSA_PKCS1_SHA256: Alg = Alg {
    name: "RSA PKCS#1 SHA-256",
    public_key: alg_id::RSA_ENCRYPTION,
    signature: alg_id::RSA_PKCS1_SHA256,
    verify: pkcs1!(Sha256, crate::rsa::SHA256_PREFIX),
};
pub static RSA_PKCS1_SHA384: Alg = Alg {
    name: "RSA PKCS#1 SHA-384",
    public_key: alg_id::RSA_ENCRYPTION,
    signature: alg_id::RSA_PKCS1_SHA384,
    verify: pkcs1!(Sha384, crate::rsa::SHA384_PREFIX),
};
pub static RSA_PKCS1_SHA512: Alg = Alg {
    name: "RSA PKCS#1 SHA-512",
    public_key: alg_id::RSA_ENCRYPTION,
    signature: alg_id::RSA_PKCS1_SHA512,
    verify: pkcs1!(Sha512, crate::rsa::SHA512_PREFIX),
};
pub static RSA_PSS_SHA256: Alg = Alg {
    name: "RSA-PSS SHA-256",
    public_key: alg_id::RSA_ENCRYPTION,
    signature: alg_id::RSA_PSS_SHA256,
    verify: pss!(Sha256),
};
pub static RSA_PSS_SHA384: Alg = Alg {
    name: "RSA-PSS SHA-384",
    public_key: alg_id::RSA_ENCRYPTION,
    signature: alg_id::RSA_PSS_SHA384,
    verify: pss!(Sha384),
};
pub static RSA_PSS_SHA512: Alg = Alg {
    name: "RSA-PSS SHA-512",
    public_key: alg_id::RSA_ENCRYPTION,
    signature: alg_id::RSA_PSS_SHA512,
    verify: pss!(Sha512),
};

/// Algorithms accepted in certificate chains.
pub static CHAIN: &[&dyn SignatureVerificationAlgorithm] = &[
    &ECDSA_P256_SHA256,
    &ECDSA_P256_SHA384,
    &ECDSA_P384_SHA256,
    &ECDSA_P384_SHA384,
    &ED25519,
    &RSA_PKCS1_SHA256,
    &RSA_PKCS1_SHA384,
    &RSA_PKCS1_SHA512,
    &RSA_PSS_SHA256,
    &RSA_PSS_SHA384,
    &RSA_PSS_SHA512,
];

/// The server's key-exchange signature algorithm by its position in TLSNotary's enum.
pub static KEY_EXCHANGE: [&Alg; 11] = [
    &ECDSA_P256_SHA256,
    &ECDSA_P256_SHA384,
    &ECDSA_P384_SHA256,
    &ECDSA_P384_SHA384,
    &ED25519,
    &RSA_PKCS1_SHA256,
    &RSA_PKCS1_SHA384,
    &RSA_PKCS1_SHA512,
    &RSA_PSS_SHA256,
    &RSA_PSS_SHA384,
    &RSA_PSS_SHA512,
];
