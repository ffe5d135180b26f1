//! A plain client of RISC Zero's Bonsai REST API, written the way its users write one: `bonsai-sdk` 1.4.3 from
//! crates.io, unchanged, configured by `BONSAI_API_URL` and `BONSAI_API_KEY`. Pointed at `loom serve`, it shows
//! that Loom speaks the protocol: it uploads a guest and an input, creates a session, polls it, downloads the
//! receipt and checks it with risc0's own verifier.
//!
//! `bonsai-client ELF INPUT_FILE [execute-only]` prints one JSON line: the session, its stats and the verified
//! journal (hex); any failure is one line on stderr and exit code 1. While it polls, it rides out a server that is
//! down for up to two minutes (a restart), as a client of a long proof should.
use std::time::{Duration, Instant};

use bonsai_sdk::{blocking::Client, SdkErr};
use risc0_binfmt::ProgramBinary;
use risc0_zkos_v1compat::V1COMPAT_ELF;
use risc0_zkvm::{compute_image_id, Receipt, VerifierContext};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (elf, input, execute_only) = match args.as_slice() {
        [elf, input] => (elf, input, false),
        [elf, input, flag] if flag == "execute-only" => (elf, input, true),
        _ => {
            eprintln!("usage: bonsai-client ELF INPUT_FILE [execute-only]");
            std::process::exit(2);
        }
    };
    if let Err(problem) = run(elf, input, execute_only) {
        eprintln!("bonsai-client: {problem}");
        std::process::exit(1);
    }
}

fn run(elf: &str, input: &str, execute_only: bool) -> Result<(), String> {
    let user_elf = std::fs::read(elf).map_err(|e| format!("read {elf}: {e}"))?;
    let input = std::fs::read(input).map_err(|e| format!("read {input}: {e}"))?;
    let program = ProgramBinary::new(&user_elf, V1COMPAT_ELF).encode();
    let image_id = compute_image_id(&program).map_err(|e| format!("image ID: {e}"))?;

    let client = Client::from_env(risc0_zkvm::VERSION).map_err(|e| e.to_string())?;
    client
        .upload_img(&image_id.to_string(), program)
        .map_err(|e| format!("upload image: {e}"))?;
    let input_id = client
        .upload_input(input)
        .map_err(|e| format!("upload input: {e}"))?;
    let session = client
        .create_session(image_id.to_string(), input_id, vec![], execute_only)
        .map_err(|e| format!("create session: {e}"))?;

    let mut unreachable_since: Option<Instant> = None;
    let status = loop {
        match session.status(&client) {
            Ok(status) if status.status != "RUNNING" => break status,
            Ok(_) => unreachable_since = None,
            Err(SdkErr::HttpErr(e)) if e.is_connect() || e.is_request() => {
                let since = *unreachable_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(120) {
                    return Err(format!("status: the server is unreachable: {e}"));
                }
            }
            Err(e) => return Err(format!("status: {e}")),
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    if status.status != "SUCCEEDED" {
        return Err(format!(
            "session {} {}: {}",
            session.uuid,
            status.status,
            status.error_msg.unwrap_or_default()
        ));
    }
    let stats = status.stats.ok_or("a finished session without stats")?;
    let journal = if execute_only {
        session
            .exec_only_journal(&client)
            .map_err(|e| format!("journal: {e}"))?
    } else {
        let url = status
            .receipt_url
            .ok_or("a proven session without a receipt URL")?;
        let bytes = client
            .download(&url)
            .map_err(|e| format!("download: {e}"))?;
        let again = client
            .receipt_download(&session)
            .map_err(|e| format!("receipt: {e}"))?;
        if again != bytes {
            return Err("the receipt URL and receipts/{id} gave different bytes".into());
        }
        let receipt: Receipt =
            bincode::deserialize(&bytes).map_err(|e| format!("decode receipt: {e}"))?;
        receipt
            .verify_with_context(&VerifierContext::default().with_dev_mode(false), image_id)
            .map_err(|e| format!("the receipt does not verify: {e}"))?;
        receipt.journal.bytes
    };
    let versions = client.version().map_err(|e| format!("version: {e}"))?;
    println!(
        "{{\"session\":\"{}\",\"image_id\":\"{image_id}\",\"segments\":{},\"total_cycles\":{},\"cycles\":{},\
         \"journal\":\"{}\",\"server_versions\":{:?}}}",
        session.uuid,
        stats.segments,
        stats.total_cycles,
        stats.cycles,
        hex::encode(journal),
        versions.risc0_zkvm,
    );
    Ok(())
}
