//! Reading a revealed transcript as one HTTP/1.1 message, so users get the response they asked about rather
//! than raw bytes. Framing follows RFC 9112: chunked transfer coding, then Content-Length, then (responses
//! only) the rest of the stream.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::Serialize;
use serde_json::Value;

/// One HTTP/1.1 message: its start line (a request's method and target, or a response's status and reason), its
/// headers in order, and its body (decoded from the chunked coding), also as JSON when it is JSON. Fields in key
/// order, so the bytes are those of a sorted JSON object.
#[derive(Serialize)]
pub struct HttpMessage {
    pub body: Option<String>,
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON, or null.
    pub json: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Bytes after the message.
    pub trailing_bytes: usize,
    pub version: String,
}

/// The message, or why the bytes are not one HTTP/1.1 message.
pub fn parse(bytes: &[u8], response: bool) -> Result<HttpMessage, String> {
    let head_end = find(bytes, b"\r\n\r\n", 0).ok_or("no blank line ends the header section")?;
    let head =
        core::str::from_utf8(&bytes[..head_end]).map_err(|_| "the header section is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let start = lines.next().unwrap_or_default();
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| alloc::format!("header line without a colon: {line:?}"))?;
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(alloc::format!("bad header name {name:?}"));
        }
        headers.push((
            name.to_string(),
            value.trim_matches(|c| c == ' ' || c == '\t').to_string(),
        ));
    }
    let header = |want: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(want))
            .map(|(_, v)| v.as_str())
    };
    let rest = &bytes[head_end + 4..];
    let chunked =
        header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().ends_with("chunked"));
    let (body, used) = if chunked {
        dechunk(rest)?
    } else if let Some(len) = header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| alloc::format!("bad Content-Length {len:?}"))?;
        if len > rest.len() {
            return Err(alloc::format!(
                "Content-Length is {len} but only {} body bytes follow",
                rest.len()
            ));
        }
        (rest[..len].to_vec(), len)
    } else if response {
        (rest.to_vec(), rest.len())
    } else {
        (Vec::new(), 0)
    };
    let mut message = start_line(start, response)?;
    let text = String::from_utf8(body).ok();
    message.json = text
        .as_deref()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .unwrap_or(Value::Null);
    message.body = text;
    message.headers = headers;
    message.trailing_bytes = rest.len() - used;
    Ok(message)
}

/// The message as its start line gives it (the rest filled in by `parse`).
fn start_line(line: &str, response: bool) -> Result<HttpMessage, String> {
    let empty = |version: &str| HttpMessage {
        body: None,
        headers: Vec::new(),
        json: Value::Null,
        method: None,
        reason: None,
        status: None,
        target: None,
        trailing_bytes: 0,
        version: version.to_string(),
    };
    let mut parts = line.splitn(3, ' ');
    let (a, b, c) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next(),
    );
    if response {
        let status: u16 = b
            .parse()
            .ok()
            .filter(|s| (100..=999).contains(s) && b.len() == 3)
            .ok_or_else(|| alloc::format!("bad status line {line:?}"))?;
        if !a.starts_with("HTTP/") {
            return Err(alloc::format!("bad status line {line:?}"));
        }
        Ok(HttpMessage {
            reason: Some(c.unwrap_or_default().to_string()),
            status: Some(status),
            ..empty(a)
        })
    } else {
        match c {
            Some(version) if version.starts_with("HTTP/") && !a.is_empty() && !b.is_empty() => {
                Ok(HttpMessage {
                    method: Some(a.to_string()),
                    target: Some(b.to_string()),
                    ..empty(version)
                })
            }
            _ => Err(alloc::format!("bad request line {line:?}")),
        }
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// The decoded body and how many bytes the chunked coding took (through the last CRLF of the trailer).
fn dechunk(data: &[u8]) -> Result<(Vec<u8>, usize), String> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let eol = find(data, b"\r\n", at).ok_or("unterminated chunk size line")?;
        let line =
            core::str::from_utf8(&data[at..eol]).map_err(|_| "chunk size line is not text")?;
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| alloc::format!("bad chunk size {size_text:?}"))?;
        at = eol + 2;
        if size == 0 {
            // Trailer fields, then an empty line.
            loop {
                let eol = find(data, b"\r\n", at).ok_or("unterminated chunked trailer")?;
                let empty = eol == at;
                at = eol + 2;
                if empty {
                    return Ok((body, at));
                }
            }
        }
        let end = at
            .checked_add(size)
            .filter(|&e| e + 2 <= data.len())
            .ok_or("chunk runs past the end")?;
        if &data[end..end + 2] != b"\r\n" {
            return Err("chunk not followed by CRLF".into());
        }
        body.extend_from_slice(&data[at..end]);
        at = end + 2;
    }
}
