//! `fetch`: one HTTP request through the host's `loom.http`, written with `loom-guest`. The input is the request
//! (`{"method", "url", "headers", "body"}`), the output the host's response (`{"status", "url", "headers", "body"}`).
//! It reaches only what its definition's `loom_http` grant allows; it never sees a secret named in a header.
loom_guest::activity!(|input: &[u8]| -> Result<Vec<u8>, String> {
    let request =
        core::str::from_utf8(input).map_err(|_| String::from("the request is not UTF-8"))?;
    Ok(loom_guest::http(request))
});
