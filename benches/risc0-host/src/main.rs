//! `risc0-host-bench ELF INPUT_FILE KIND PO2 REPEAT`: proves the guest REPEAT times the way a Rust user of
//! risc0-zkvm would (LocalProver), and prints one JSON line per proof with its wall time and cycle counts.
//! Loom's benchmark runs this beside its Python path on the same ELF and input.
use std::time::Instant;

use risc0_binfmt::ProgramBinary;
use risc0_zkos_v1compat::V1COMPAT_ELF;
use risc0_zkvm::{ExecutorEnv, LocalProver, Prover, ProverOpts, ReceiptKind};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, elf, input, kind, po2, repeat] = args.as_slice() else {
        eprintln!("usage: risc0-host-bench ELF INPUT_FILE composite|succinct PO2 REPEAT");
        std::process::exit(2);
    };
    let user_elf = std::fs::read(elf).expect("read ELF");
    let input = std::fs::read(input).expect("read input");
    let binary = ProgramBinary::new(&user_elf, V1COMPAT_ELF).encode();
    let kind = match kind.as_str() {
        "composite" => ReceiptKind::Composite,
        "succinct" => ReceiptKind::Succinct,
        other => panic!("unknown kind {other}"),
    };
    let po2: u32 = po2.parse().expect("PO2");
    let opts = ProverOpts::default().with_receipt_kind(kind).with_dev_mode(false);
    for _ in 0..repeat.parse::<u32>().expect("REPEAT") {
        let env = ExecutorEnv::builder().write_slice(&input).segment_limit_po2(po2).build().expect("env");
        let start = Instant::now();
        let info = LocalProver::new("local").prove_with_opts(env, &binary, &opts).expect("prove");
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "{{\"seconds\":{seconds},\"total_cycles\":{},\"user_cycles\":{},\"segments\":{},\"seal_size\":{}}}",
            info.stats.total_cycles,
            info.stats.user_cycles,
            info.stats.segments,
            info.receipt.seal_size()
        );
    }
}
