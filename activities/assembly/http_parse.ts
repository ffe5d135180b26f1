// http_parse: {"message": "<raw HTTP/1.1 request or response>"} ->
//   {"kind": "response", "version": "HTTP/1.1", "status": 200, "reason": "OK",      (or "method", "target")
//    "headers": [["Content-Type", "application/json"], ...], "body": "..."}
// The body is framed as HTTP/1.1 says: chunked transfer coding is decoded, Content-Length is honoured (in bytes),
// and a response without either runs to the end of the message.
import { memberAt, quote, quoteRange, spanStart, unescapeIn } from "./_json";

function fail(msg: string): void {
  throw new Error("http_parse: " + msg);
}

function indexOf(bytes: Uint8Array, pattern: string, from: i32): i32 {
  const n = pattern.length;
  for (let i = from; i + n <= bytes.length; i++) {
    let j = 0;
    while (j < n && i32(bytes[i + j]) == pattern.charCodeAt(j)) j++;
    if (j == n) return i;
  }
  return -1;
}

function text(bytes: Uint8Array, start: i32, end: i32): string {
  return String.UTF8.decodeUnsafe(bytes.dataStart + <usize>start, <usize>(end - start));
}

function parseHex(s: string): i32 {
  let v = 0;
  if (s.length == 0 || s.length > 7) fail("bad chunk size '" + s + "'");
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) | 0x20;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x61 + 10 : -1;
    if (d < 0) fail("bad chunk size '" + s + "'");
    v = v * 16 + d;
  }
  return v;
}

function dechunk(bytes: Uint8Array, at: i32): string {
  let body = "";
  while (true) {
    const eol = indexOf(bytes, "\r\n", at);
    if (eol < 0) fail("truncated chunk size line");
    const sizeText = text(bytes, at, eol).split(";")[0].trim();
    const size = parseHex(sizeText);
    at = eol + 2;
    if (size == 0) return body; // trailers, if any, are not part of the body
    if (at + size + 2 > bytes.length) fail("truncated chunk: expected " + size.toString() + " bytes");
    body += text(bytes, at, at + size);
    if (bytes[at + size] != 0x0d || bytes[at + size + 1] != 0x0a) fail("chunk data not followed by CRLF");
    at += size + 2;
  }
}

/** The UTF-16 index where `bytes` UTF-8 bytes from `start` end in `message`, or -1 when they end inside a character
 * or past the end (then the body is cut from the UTF-8 bytes instead, as a byte count says). */
function afterBytes(message: string, start: i32, bytes: i32): i32 {
  const b = changetype<usize>(message);
  const n = message.length;
  let i = start;
  let left = bytes;
  while (left > 0 && i < n) {
    const c = <i32>load<u16>(b + (<usize>i << 1));
    if (c < 0x80) left -= 1;
    else if (c < 0x800) left -= 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) { // a surrogate pair: one character of four bytes
      left -= 4;
      i++;
    } else left -= 3;
    i++;
  }
  return left == 0 ? i : -1;
}

export function run(input: string): string {
  const lit = memberAt(input, 0, "message");
  if (lit < 0 || input.charCodeAt(spanStart(lit)) != 0x22) fail("input must be {\"message\": \"<HTTP message>\"}");
  const message = unescapeIn(input, lit);
  // The head is ASCII in any message that parses; a header section's end found in the text is where it is in the
  // bytes. The body stays text unless a byte count cuts it (chunks; a Content-Length ending inside a character).
  const headEnd16 = message.indexOf("\r\n\r\n");
  if (headEnd16 < 0) fail("no end of header section (CRLF CRLF)");
  const head = message.substring(0, headEnd16);
  let bytes: Uint8Array | null = null;
  let headEnd = headEnd16;
  if (String.UTF8.byteLength(head) != head.length) {
    bytes = Uint8Array.wrap(String.UTF8.encode(message)); // a head that is not ASCII: count in bytes throughout
    headEnd = indexOf(bytes, "\r\n\r\n", 0);
  }
  const lines = head.split("\r\n");
  const start = lines[0].split(" ");
  let out = "{";
  let isResponse = false;
  if (lines[0].startsWith("HTTP/")) {
    isResponse = true;
    if (start.length < 2 || start[1].length != 3) fail("bad status line '" + lines[0] + "'");
    const status = I32.parseInt(start[1]);
    if (status < 100 || status > 599) fail("bad status code '" + start[1] + "'");
    out += "\"kind\":\"response\",\"version\":" + quote(start[0]) + ",\"status\":" + status.toString();
    out += ",\"reason\":" + quote(start.slice(2).join(" "));
  } else {
    if (start.length != 3 || !start[2].startsWith("HTTP/")) fail("bad request line '" + lines[0] + "'");
    out += "\"kind\":\"request\",\"method\":" + quote(start[0]) + ",\"target\":" + quote(start[1]);
    out += ",\"version\":" + quote(start[2]);
  }
  out += ",\"headers\":[";
  let chunked = false;
  let length = -1;
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(":");
    if (colon <= 0) fail("bad header line '" + lines[i] + "'");
    const name = lines[i].substring(0, colon);
    const value = lines[i].substring(colon + 1).trim();
    const lower = name.toLowerCase();
    if (lower == "transfer-encoding" && value.toLowerCase().includes("chunked")) chunked = true;
    if (lower == "content-length") {
      length = I32.parseInt(value);
      if (length < 0 || length.toString() != value) fail("bad Content-Length '" + value + "'");
    }
    if (i > 1) out += ",";
    out += "[" + quote(name) + "," + quote(value) + "]";
  }
  // The body is the code units bodyFrom..bodyTo of `body`: a range of the message where the text holds it as it is.
  let body = "";
  let bodyFrom = 0;
  let bodyTo = 0;
  const end = bytes === null && !chunked && length >= 0 ? afterBytes(message, headEnd16 + 4, length) : -1;
  if (bytes === null && !chunked && (length < 0 || end >= 0)) {
    if (length >= 0 || isResponse) {
      body = message;
      bodyFrom = headEnd16 + 4;
      bodyTo = length >= 0 ? end : message.length;
    }
  } else {
    const raw = bytes === null ? Uint8Array.wrap(String.UTF8.encode(message)) : bytes as Uint8Array;
    const bodyStart = headEnd + 4;
    if (chunked) body = dechunk(raw, bodyStart);
    else if (length >= 0) {
      if (bodyStart + length > raw.length) fail("body shorter than its Content-Length of " + length.toString());
      body = text(raw, bodyStart, bodyStart + length);
    } else if (isResponse) body = text(raw, bodyStart, raw.length);
    bodyTo = body.length;
  }
  return quoteRange(body, bodyFrom, bodyTo, out + "],\"body\":", "}"); // the body copied once, into the output
}
