//! An ordinary Extism plugin: it fetches with `extism_pdk::http::request`, as any plugin written for Extism does,
//! with nothing of Loom in it. Loom serves that request through its `loom_http` grant (the same allow-list,
//! address, certificate, size and deadline rules as for wasm activities). Input `{"url", "method", "headers",
//! "body", "repeat"}`; output `{"status", "headers", "body"}` of the last of `repeat` requests (default 1; the
//! body as text, lossily).
use std::collections::BTreeMap;

use extism_pdk::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Ask {
    url: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    repeat: Option<u64>,
}

#[plugin_fn]
pub fn run(Json(ask): Json<Ask>) -> FnResult<Json<serde_json::Value>> {
    let mut request =
        HttpRequest::new(&ask.url).with_method(ask.method.as_deref().unwrap_or("GET"));
    for (name, value) in &ask.headers {
        request = request.with_header(name, value);
    }
    let mut response = http::request::<String>(&request, ask.body.clone())?;
    for _ in 1..ask.repeat.unwrap_or(1) {
        response = http::request::<String>(&request, ask.body.clone())?;
    }
    Ok(Json(serde_json::json!({
        "status": response.status_code(),
        "headers": response.headers(),
        "body": String::from_utf8_lossy(&response.body()),
    })))
}
