//! An Extism plugin run by Loom's ExtismExecutor: HMAC-SHA256 of the input under the secret `hmac_key`, which the
//! host hands out only when the activity's capabilities grant it. Output: `{"hmac": "<hex>", "bytes": N}`.
use extism_pdk::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

#[host_fn]
extern "ExtismHost" {
    fn loom_log(level: i64, msg: String);
    fn loom_get_secret(name: String) -> String;
}

#[plugin_fn]
pub fn run(input: Vec<u8>) -> FnResult<String> {
    let key = unsafe { loom_get_secret("hmac_key".to_string())? };
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.as_bytes()).map_err(|e| Error::msg(e.to_string()))?;
    mac.update(&input);
    let digest: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    unsafe { loom_log(1, format!("signed {} bytes", input.len()))? };
    Ok(format!(
        "{{\"hmac\":\"{digest}\",\"bytes\":{}}}",
        input.len()
    ))
}
