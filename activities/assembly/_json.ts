// A small JSON toolkit for activities: scan JSON text without building a tree (values are returned as the
// exact text slices they occupy), unescape string literals, and escape strings for output.

export function isWs(c: i32): bool {
  return c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09;
}

export function skipWs(s: string, i: i32): i32 {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

function fail(what: string, i: i32): void {
  throw new Error("invalid JSON: " + what + " at offset " + i.toString());
}

/** Index just past the string literal starting at `i` (which must be a quote). */
export function skipString(s: string, i: i32): i32 {
  if (s.charCodeAt(i) != 0x22) fail("expected a string", i);
  i++;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c == 0x5c) i += 2;
    else if (c == 0x22) return i + 1;
    else i++;
  }
  fail("unterminated string", i);
  return i;
}

/** Index just past the JSON value starting at `i` (after whitespace). */
export function skipValue(s: string, i: i32): i32 {
  i = skipWs(s, i);
  if (i >= s.length) fail("expected a value", i);
  const c = s.charCodeAt(i);
  if (c == 0x22) return skipString(s, i);
  if (c == 0x7b || c == 0x5b) {
    const close = c == 0x7b ? 0x7d : 0x5d;
    i = skipWs(s, i + 1);
    if (s.charCodeAt(i) == close) return i + 1;
    while (true) {
      if (c == 0x7b) {
        i = skipWs(s, skipString(s, skipWs(s, i)));
        if (s.charCodeAt(i) != 0x3a) fail("expected ':'", i);
        i++;
      }
      i = skipWs(s, skipValue(s, i));
      const d = s.charCodeAt(i);
      if (d == close) return i + 1;
      if (d != 0x2c) fail("expected ',' or a closing bracket", i);
      i++;
    }
  }
  const start = i;
  while (i < s.length) {
    const d = s.charCodeAt(i);
    if (d == 0x2c || d == 0x7d || d == 0x5d || isWs(d)) break;
    i++;
  }
  if (i == start) fail("unexpected character", i);
  if (!isWord(s, start, i, "true") && !isWord(s, start, i, "false") && !isWord(s, start, i, "null") &&
      !isNumber(s, start, i)) fail("unexpected '" + s.substring(start, i) + "'", start);
  return i;
}

/** Whether s[start..end) is exactly `word` (compared in place: no allocation on the hot path). */
function isWord(s: string, start: i32, end: i32, word: string): bool {
  if (end - start != word.length) return false;
  for (let k = 0; k < word.length; k++) if (s.charCodeAt(start + k) != word.charCodeAt(k)) return false;
  return true;
}

function isNumber(s: string, start: i32, end: i32): bool {
  let i = start;
  if (s.charCodeAt(i) == 0x2d) i++;
  let digits = 0;
  for (; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) digits++;
    else if (c != 0x2e && c != 0x65 && c != 0x45 && c != 0x2b && c != 0x2d) return false;
  }
  return digits > 0;
}

/** Whether the string literal at s[start..end) (quotes included) means `key`. */
function keyIs(s: string, start: i32, end: i32, key: string): bool {
  for (let k = start + 1; k < end - 1; k++) {
    if (s.charCodeAt(k) == 0x5c) return unescape(s.substring(start, end)) == key; // rare: escapes in a key
  }
  return isWord(s, start + 1, end - 1, key);
}

// A span is `(start << 32) | end` of a value's text inside a larger JSON text, or -1 when there is none.
function span(start: i32, end: i32): i64 {
  return (i64(start) << 32) | i64(end);
}

export function spanStart(sp: i64): i32 {
  return i32(sp >> 32);
}

export function spanEnd(sp: i64): i32 {
  return i32(sp & 0xffffffff);
}

/** The span of member `key` of the object starting at `i`. */
export function memberAt(s: string, i: i32, key: string): i64 {
  i = skipWs(s, i);
  if (s.charCodeAt(i) != 0x7b) fail("expected an object", i);
  i = skipWs(s, i + 1);
  if (s.charCodeAt(i) == 0x7d) return -1;
  while (true) {
    const keyStart = i;
    const keyEnd = skipString(s, i);
    i = skipWs(s, keyEnd);
    if (s.charCodeAt(i) != 0x3a) fail("expected ':'", i);
    const valueStart = skipWs(s, i + 1);
    const valueEnd = skipValue(s, valueStart);
    if (keyIs(s, keyStart, keyEnd, key)) return span(valueStart, valueEnd);
    i = skipWs(s, valueEnd);
    if (s.charCodeAt(i) == 0x7d) return -1;
    if (s.charCodeAt(i) != 0x2c) fail("expected ','", i);
    i = skipWs(s, i + 1);
  }
}

/** The span of element `index` of the array starting at `i`. */
export function elementAt(s: string, i: i32, index: i32): i64 {
  i = skipWs(s, i);
  if (s.charCodeAt(i) != 0x5b) fail("expected an array", i);
  i = skipWs(s, i + 1);
  if (s.charCodeAt(i) == 0x5d) return -1;
  let n = 0;
  while (true) {
    const start = skipWs(s, i);
    const end = skipValue(s, start);
    if (n == index) return span(start, end);
    i = skipWs(s, end);
    if (s.charCodeAt(i) == 0x5d) return -1;
    if (s.charCodeAt(i) != 0x2c) fail("expected ','", i);
    i++;
    n++;
  }
}

/** The text of member `key` of the object `obj`, or null when absent. */
export function member(obj: string, key: string): string | null {
  const sp = memberAt(obj, 0, key);
  return sp < 0 ? null : obj.substring(spanStart(sp), spanEnd(sp));
}

/** Each element of the array `arr` (JSON text), as text. */
export function elements(arr: string): string[] {
  const out = new Array<string>();
  let i = skipWs(arr, 0);
  if (arr.charCodeAt(i) != 0x5b) fail("expected an array", i);
  i = skipWs(arr, i + 1);
  if (arr.charCodeAt(i) == 0x5d) return out;
  while (true) {
    const start = skipWs(arr, i);
    const end = skipValue(arr, start);
    out.push(arr.substring(start, end));
    i = skipWs(arr, end);
    if (arr.charCodeAt(i) == 0x5d) return out;
    if (arr.charCodeAt(i) != 0x2c) fail("expected ','", i);
    i++;
  }
}

/** The span of the value at dot path `path` (`a.b.0`: object keys, or indices into arrays) in `doc`. */
export function locate(doc: string, path: string): i64 {
  const start = skipWs(doc, 0);
  if (path.length == 0) return span(start, skipValue(doc, start));
  let sp = span(start, start); // only the start matters while walking down
  const parts = path.split(".");
  for (let p = 0; p < parts.length; p++) {
    const first = doc.charCodeAt(spanStart(sp));
    if (first == 0x7b) sp = memberAt(doc, spanStart(sp), parts[p]);
    else if (first == 0x5b && isIndex(parts[p])) sp = elementAt(doc, spanStart(sp), I32.parseInt(parts[p]));
    else return -1;
    if (sp < 0) return -1;
  }
  return sp;
}

/** The text of the value at `path` in `doc`, or null when absent. */
export function lookup(doc: string, path: string): string | null {
  const sp = locate(doc, path);
  return sp < 0 ? null : doc.substring(spanStart(sp), spanEnd(sp));
}

function isIndex(s: string): bool {
  if (s.length == 0 || s.length > 9) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** The value of a JSON string literal (with its quotes). */
export function unescape(lit: string): string {
  if (lit.length < 2 || lit.charCodeAt(0) != 0x22) fail("expected a string", 0);
  let out = "";
  let run = 1;
  for (let i = 1; i < lit.length - 1; i++) {
    if (lit.charCodeAt(i) != 0x5c) continue;
    out += lit.substring(run, i);
    const e = lit.charCodeAt(i + 1);
    if (e == 0x75) {
      out += String.fromCharCode(I32.parseInt(lit.substring(i + 2, i + 6), 16));
      i += 5;
    } else {
      if (e == 0x6e) out += "\n";
      else if (e == 0x72) out += "\r";
      else if (e == 0x74) out += "\t";
      else if (e == 0x62) out += "\b";
      else if (e == 0x66) out += "\f";
      else out += String.fromCharCode(e);
      i += 1;
    }
    run = i + 1;
  }
  return out + lit.substring(run, lit.length - 1);
}

const HEX = "0123456789abcdef";

/** A JSON string literal for `s`. */
export function quote(s: string): string {
  let out = "\"";
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c != 0x22 && c != 0x5c) continue;
    out += s.substring(run, i);
    if (c == 0x22) out += "\\\"";
    else if (c == 0x5c) out += "\\\\";
    else if (c == 0x0a) out += "\\n";
    else if (c == 0x0d) out += "\\r";
    else if (c == 0x09) out += "\\t";
    else out += "\\u00" + HEX.charAt(c >> 4) + HEX.charAt(c & 15);
    run = i + 1;
  }
  return out + s.substring(run) + "\"";
}
