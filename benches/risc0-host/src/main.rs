//! The Rust reference beside Loom's Python API, using risc0-zkvm directly:
//! - `risc0-host-bench prove ELF INPUT_FILE composite|succinct PO2 REPEAT [RECEIPT_OUT]` proves the guest REPEAT
//!   times the way a Rust user of risc0-zkvm would (LocalProver) and prints one JSON line per proof with its wall
//!   time and cycle counts (Loom's proving benchmark); the last receipt is written to RECEIPT_OUT (bincode).
//! - `risc0-host-bench verify RECEIPT_FILE IMAGE_ID` verifies a receipt (bincode) with risc0's Rust verifier and
//!   prints its journal as hex: receipts interoperate both ways.
use std::time::Instant;

use risc0_binfmt::ProgramBinary;
use risc0_zkos_v1compat::V1COMPAT_ELF;
use risc0_zkvm::{ExecutorEnv, LocalProver, Prover, ProverOpts, ReceiptKind};

mod verify;
use verify::verify;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["prove", elf, input, kind, po2, repeat, rest @ ..] if rest.len() <= 1 => {
            prove(elf, input, kind, po2, repeat, rest.first().copied())
        }
        ["verify", receipt, image_id] => verify(receipt, image_id),
        _ => {
            eprintln!("usage: risc0-host-bench prove ELF INPUT_FILE composite|succinct PO2 REPEAT [RECEIPT_OUT]");
            eprintln!("       risc0-host-bench verify RECEIPT_FILE IMAGE_ID");
            std::process::exit(2);
        }
    }
}

fn prove(elf: &str, input: &str, kind: &str, po2: &str, repeat: &str, out: Option<&str>) {
    let user_elf = std::fs::read(elf).expect("read ELF");
    let input = std::fs::read(input).expect("read input");
    let binary = ProgramBinary::new(&user_elf, V1COMPAT_ELF).encode();
    let kind = match kind {
        "composite" => ReceiptKind::Composite,
        "succinct" => ReceiptKind::Succinct,
        other => panic!("unknown kind {other}"),
    };
    let po2: u32 = po2.parse().expect("PO2");
    let opts = ProverOpts::default()
        .with_receipt_kind(kind)
        .with_dev_mode(false);
    for _ in 0..repeat.parse::<u32>().expect("REPEAT") {
        let env = ExecutorEnv::builder()
            .write_slice(&input)
            .segment_limit_po2(po2)
            .build()
            .expect("env");
        let start = Instant::now();
        let info = LocalProver::new("local")
            .prove_with_opts(env, &binary, &opts)
            .expect("prove");
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "{{\"seconds\":{seconds},\"total_cycles\":{},\"user_cycles\":{},\"segments\":{},\"seal_size\":{}}}",
            info.stats.total_cycles,
            info.stats.user_cycles,
            info.stats.segments,
            info.receipt.seal_size()
        );
        if let Some(path) = out {
            std::fs::write(
                path,
                bincode::serialize(&info.receipt).expect("encode receipt"),
            )
            .expect("write receipt");
        }
    }
}
