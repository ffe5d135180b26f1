//! `verify RECEIPT_FILE IMAGE_ID`: risc0's own Rust verifier on a receipt (bincode); prints its journal as hex.
//! The same source serves benches/risc0-v3's host, built on another risc0 release.
use risc0_zkvm::{sha::Digest, Receipt, VerifierContext};

pub fn verify(receipt: &str, image_id: &str) {
    let receipt: Receipt = bincode::deserialize(&std::fs::read(receipt).expect("read receipt"))
        .expect("decode receipt");
    let image_id = Digest::try_from(hex::decode(image_id).expect("hex image ID").as_slice())
        .expect("32 bytes");
    match receipt.verify_with_context(&VerifierContext::default().with_dev_mode(false), image_id) {
        Ok(()) => println!("{}", hex::encode(&receipt.journal.bytes)),
        Err(e) => {
            eprintln!("receipt does not verify: {e}");
            std::process::exit(1);
        }
    }
}
