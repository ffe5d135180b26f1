//! `hmac-rust`: HMAC-SHA256 of the input document's bytes under the granted secret `hmac_key`, logged through the
//! host: `{"hmac": "<hex>", "bytes": N}`. The same transform as the AssemblyScript `hmac` and the Extism
//! `hmac-plugin`, written with `loom-guest`; refuses its input (`loom.fail`) when the secret is granted but unset.
use hmac::{Hmac, Mac};
use loom_guest::Level;
use sha2::Sha256;

loom_guest::activity!(|input: &[u8]| -> Result<Vec<u8>, String> {
    let key = loom_guest::get_secret("hmac_key")
        .ok_or_else(|| String::from("hmac-rust: the secret hmac_key is granted but not set"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).map_err(|e| e.to_string())?;
    mac.update(input);
    let digest: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    loom_guest::log(Level::Info, &format!("signed {} bytes", input.len()));
    Ok(format!("{{\"hmac\":\"{digest}\",\"bytes\":{}}}", input.len()).into_bytes())
});
