//! `json-canon`: a WASI command that rewrites a JSON document in canonical form, so that equal documents have
//! equal bytes (and digests) however they were formatted: object keys sorted (by UTF-8 bytes), no insignificant
//! whitespace, numbers and strings as serde_json writes them.
//!
//! stdin: `{"document": <JSON text as a string, or any JSON value>}`, e.g. the body `http-parse` returns.
//! stdout: `{"bytes": N, "canonical": "<canonical JSON text>"}`. Bad input: a reason on stderr, exit code 2.

use std::io::{self, Read, Write};
use std::process::ExitCode;

use serde_json::{json, Value};

fn canonical(input: &[u8]) -> Result<String, String> {
    let request: Value =
        serde_json::from_slice(input).map_err(|e| format!("input is not JSON: {e}"))?;
    let document = match request.get("document") {
        Some(Value::String(text)) => {
            serde_json::from_str(text).map_err(|e| format!("document is not JSON text: {e}"))?
        }
        Some(value) => value.clone(),
        None => return Err("input needs a \"document\" field".into()),
    };
    let text = serde_json::to_string(&document).map_err(|e| e.to_string())?;
    Ok(json!({"bytes": text.len(), "canonical": text}).to_string())
}

fn main() -> ExitCode {
    let mut input = Vec::new();
    if let Err(e) = io::stdin().read_to_end(&mut input) {
        eprintln!("json-canon: cannot read stdin: {e}");
        return ExitCode::from(1);
    }
    eprintln!("json-canon: {} bytes in", input.len());
    match canonical(&input) {
        Ok(out) => match io::stdout().write_all(out.as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("json-canon: cannot write stdout: {e}");
                ExitCode::from(1)
            }
        },
        Err(reason) => {
            eprintln!("json-canon: {reason}");
            ExitCode::from(2)
        }
    }
}
