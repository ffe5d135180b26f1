//! risc0-zkvm 3.0.6 beside Loom's 5.0.0-rc.1 (issue 33): the same guests, built against 3.0.6, executed and proven
//! here the way a Rust user of 3.0.6 would (LocalProver), each proof in a process of its own.
//! - `risc0-v3-host execute ELF INPUT PO2`: cycles and segments, one JSON line.
//! - `risc0-v3-host prove ELF INPUT composite|succinct PO2 [RECEIPT_OUT]`: wall time, cycles, segments, seal bytes,
//!   peak RSS; the receipt is verified before anything is printed, and written (bincode) to RECEIPT_OUT.
//! - `risc0-v3-host verify RECEIPT IMAGE_ID`: 3.0.6's verifier on a receipt; prints the journal as hex.
//! - `risc0-v3-host params`: the digests of 3.0.6's verifier parameters, which name the version a receipt is for.
use std::time::Instant;

use risc0_binfmt::ProgramBinary;
use risc0_zkos_v1compat::V1COMPAT_ELF;
use risc0_zkvm::sha::Digestible;
use risc0_zkvm::{
    default_executor, CompositeReceiptVerifierParameters, ExecutorEnv, LocalProver, Prover,
    ProverOpts, ReceiptKind, SegmentReceiptVerifierParameters, SuccinctReceiptVerifierParameters,
    VerifierContext,
};

#[path = "../../../risc0-host/src/verify.rs"]
mod verify;
use verify::verify;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["execute", elf, input, po2] => execute(elf, input, po2),
        ["prove", elf, input, kind, po2, rest @ ..] if rest.len() <= 1 => {
            prove(elf, input, kind, po2, rest.first().copied())
        }
        ["verify", receipt, image_id] => verify(receipt, image_id),
        ["params"] => params(),
        _ => {
            eprintln!("usage: risc0-v3-host execute ELF INPUT PO2");
            eprintln!("       risc0-v3-host prove ELF INPUT composite|succinct PO2 [RECEIPT_OUT]");
            eprintln!("       risc0-v3-host verify RECEIPT IMAGE_ID");
            eprintln!("       risc0-v3-host params");
            std::process::exit(2);
        }
    }
}

fn binary(elf: &str) -> Vec<u8> {
    ProgramBinary::new(&std::fs::read(elf).expect("read ELF"), V1COMPAT_ELF).encode()
}

fn env(input: &str, po2: &str) -> ExecutorEnv<'static> {
    ExecutorEnv::builder()
        .write_slice(&std::fs::read(input).expect("read input"))
        .segment_limit_po2(po2.parse().expect("PO2"))
        .build()
        .expect("env")
}

fn execute(elf: &str, input: &str, po2: &str) {
    let info = default_executor()
        .execute(env(input, po2), &binary(elf))
        .expect("execute");
    let cycles: u64 = info.segments.iter().map(|s| 1u64 << s.po2).sum();
    let user: u64 = info.segments.iter().map(|s| s.cycles as u64).sum();
    let po2s: Vec<String> = info.segments.iter().map(|s| s.po2.to_string()).collect();
    println!(
        "{{\"user_cycles\":{user},\"total_cycles\":{cycles},\"segments\":{},\"segment_po2\":[{}]}}",
        info.segments.len(),
        po2s.join(",")
    );
}

fn prove(elf: &str, input: &str, kind: &str, po2: &str, out: Option<&str>) {
    let program = binary(elf);
    let kind = match kind {
        "composite" => ReceiptKind::Composite,
        "succinct" => ReceiptKind::Succinct,
        other => panic!("unknown kind {other}"),
    };
    let opts = ProverOpts::default()
        .with_receipt_kind(kind)
        .with_dev_mode(false);
    let start = Instant::now();
    let info = LocalProver::new("local")
        .prove_with_opts(env(input, po2), &program, &opts)
        .expect("prove");
    let seconds = start.elapsed().as_secs_f64();
    let image_id = ProgramBinary::decode(&program)
        .and_then(|b| b.compute_image_id())
        .expect("image ID");
    info.receipt
        .verify_with_context(&VerifierContext::default().with_dev_mode(false), image_id)
        .expect("the receipt verifies");
    println!(
        "{{\"seconds\":{seconds:.1},\"total_cycles\":{},\"user_cycles\":{},\"paging_cycles\":{},\"segments\":{},\"seal_bytes\":{},\"peak_rss_mib\":{},\"image_id\":\"{}\"}}",
        info.stats.total_cycles,
        info.stats.user_cycles,
        info.stats.paging_cycles,
        info.stats.segments,
        info.receipt.seal_size(),
        peak_rss_mib(),
        hex::encode(image_id.as_bytes()),
    );
    if let Some(path) = out {
        std::fs::write(
            path,
            bincode::serialize(&info.receipt).expect("encode receipt"),
        )
        .expect("write receipt");
    }
}

fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

fn params() {
    println!(
        "{{\"composite\":\"{}\",\"segment\":\"{}\",\"succinct\":\"{}\"}}",
        hex::encode(
            CompositeReceiptVerifierParameters::default()
                .digest()
                .as_bytes()
        ),
        hex::encode(
            SegmentReceiptVerifierParameters::default()
                .digest()
                .as_bytes()
        ),
        hex::encode(
            SuccinctReceiptVerifierParameters::default()
                .digest()
                .as_bytes()
        ),
    );
}
