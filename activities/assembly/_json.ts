// A small JSON toolkit for activities: scan JSON text without building a tree (values are returned as the
// exact text slices they occupy), unescape string literals, and escape strings for output.
//
// The scanners read the text's UTF-16 code units straight from memory (a base pointer and a length) and take no
// managed references, so the incremental runtime keeps no shadow-stack frame for them: a call per token costs a few
// instructions, not a frame. The exported functions keep their string signatures and wrap the scanners.

// ---- scanning a text at `b` (a string's data) of `n` code units; `cu` is -1 past either end, as charCodeAt is

@inline function cu(b: usize, n: i32, i: i32): i32 {
  return <u32>i < <u32>n ? <i32>load<u16>(b + (<usize>i << 1)) : -1;
}

@inline function base(s: string): usize {
  return changetype<usize>(s);
}

/** The code units `start..end` of the text at `b`, as a string of their own. */
function slice(b: usize, start: i32, end: i32): string {
  return String.UTF16.decodeUnsafe(b + (<usize>start << 1), <usize>(end - start) << 1);
}

export function isWs(c: i32): bool {
  return c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09;
}

function ws(b: usize, n: i32, i: i32): i32 {
  while (<u32>i < <u32>n) {
    const c = <i32>load<u16>(b + (<usize>i << 1));
    if (c > 0x20 || (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09)) break;
    i++;
  }
  return i;
}

// Why a scan failed: one code per message, so that the hot functions pass no string.
const EXPECTED_STRING = 0;
const UNTERMINATED = 1;
const EXPECTED_VALUE = 2;
const EXPECTED_COLON = 3;
const EXPECTED_COMMA_OR_CLOSE = 4;
const UNEXPECTED_CHARACTER = 5;
const EXPECTED_OBJECT = 6;
const EXPECTED_COMMA = 7;
const EXPECTED_ARRAY = 8;

function fail(what: string, i: i32): void {
  throw new Error("invalid JSON: " + what + " at offset " + i.toString());
}

function failWith(code: i32, i: i32): void {
  const what = code == EXPECTED_STRING ? "expected a string"
    : code == UNTERMINATED ? "unterminated string"
    : code == EXPECTED_VALUE ? "expected a value"
    : code == EXPECTED_COLON ? "expected ':'"
    : code == EXPECTED_COMMA_OR_CLOSE ? "expected ',' or a closing bracket"
    : code == UNEXPECTED_CHARACTER ? "unexpected character"
    : code == EXPECTED_OBJECT ? "expected an object"
    : code == EXPECTED_COMMA ? "expected ','"
    : "expected an array";
  fail(what, i);
}

function failToken(b: usize, start: i32, end: i32): void {
  fail("unexpected '" + slice(b, start, end) + "'", start);
}

/** The first index from `i` holding a quote or a backslash, or where the text ends (`i` itself when past it). */
function quoteOrBackslash(b: usize, n: i32, i: i32): i32 {
  while (i < n) {
    const c = load<u16>(b + (<usize>i << 1));
    if (c == 0x22 || c == 0x5c) return i;
    i++;
  }
  return i;
}

/** The first index from `i` holding a backslash, or `n`. */
function backslash(b: usize, n: i32, i: i32): i32 {
  while (i < n && load<u16>(b + (<usize>i << 1)) != 0x5c) i++;
  return i;
}

/** The first index from `i` holding what a JSON string must escape (a quote, a backslash, a control), or `n`. */
function escapable(b: usize, n: i32, i: i32): i32 {
  while (i < n) {
    const c = load<u16>(b + (<usize>i << 1));
    if (c < 0x20 || c == 0x22 || c == 0x5c) return i;
    i++;
  }
  return i;
}

/** Index just past the string literal at `i` (which must be a quote). */
function str(b: usize, n: i32, i: i32): i32 {
  if (cu(b, n, i) != 0x22) failWith(EXPECTED_STRING, i);
  i++;
  while (true) {
    i = quoteOrBackslash(b, n, i);
    if (i >= n) break;
    if (load<u16>(b + (<usize>i << 1)) == 0x22) return i + 1;
    i += 2; // a backslash and what it escapes
  }
  failWith(UNTERMINATED, i);
  return i;
}

// The containers `value` is inside, innermost last: one byte each ('{' or '['), in a buffer kept between calls.
let nest: usize = 0;
let nestCap: i32 = 0;

@inline function push(depth: i32, c: i32): void {
  if (depth == nestCap) {
    const cap = max(64, nestCap << 1);
    const grown = __alloc(<usize>cap);
    if (nestCap > 0) {
      memory.copy(grown, nest, <usize>nestCap);
      __free(nest);
    }
    nest = grown;
    nestCap = cap;
  }
  store<u8>(nest + <usize>depth, <u8>c);
}

/** Index just past the JSON value at `i` (after whitespace). One loop over the text, with the containers it is
 * inside on a stack of its own: no call per token, and no depth limit but memory. It checks what the recursive
 * descent it replaces checked, in the same order, so a malformed text fails with the same message and offset. */
function value(b: usize, n: i32, i: i32): i32 {
  let depth = 0;
  let state = 0; // 0: a value is next; 1: a key (and ':'); 2: a value has ended
  while (true) {
    if (state == 0) {
      i = ws(b, n, i);
      if (i >= n) failWith(EXPECTED_VALUE, i);
      const c = <i32>load<u16>(b + (<usize>i << 1));
      if (c == 0x22) {
        i = str(b, n, i);
        state = 2;
      } else if (c == 0x7b || c == 0x5b) {
        i = ws(b, n, i + 1);
        if (cu(b, n, i) == c + 2) { // '{' + 2 is '}', '[' + 2 is ']'
          i++;
          state = 2;
        } else {
          push(depth, c);
          depth++;
          state = c == 0x7b ? 1 : 0;
        }
      } else {
        const start = i;
        i = scalarEnd(b, n, i);
        if (i == start) failWith(UNEXPECTED_CHARACTER, i);
        if (!isScalar(b, start, i)) failToken(b, start, i);
        state = 2;
      }
    } else if (state == 1) {
      i = ws(b, n, str(b, n, ws(b, n, i)));
      if (cu(b, n, i) != 0x3a) failWith(EXPECTED_COLON, i);
      i++;
      state = 0;
    } else {
      if (depth == 0) return i;
      i = ws(b, n, i);
      const open = <i32>load<u8>(nest + <usize>(depth - 1));
      const d = cu(b, n, i);
      if (d == open + 2) {
        i++;
        depth--;
      } else {
        if (d != 0x2c) failWith(EXPECTED_COMMA_OR_CLOSE, i);
        i++;
        state = open == 0x7b ? 1 : 0;
      }
    }
  }
  return i;
}

/** Index just past the scalar (a number, `true`, `false`, `null`, or what claims to be one) at `i`: the first comma,
 * closing bracket or whitespace. */
@inline function scalarEnd(b: usize, n: i32, i: i32): i32 {
  while (i < n) {
    const d = <i32>load<u16>(b + (<usize>i << 1));
    if (d == 0x2c || d == 0x7d || d == 0x5d || d == 0x20 || d == 0x0a || d == 0x0d || d == 0x09) break;
    i++;
  }
  return i;
}

/** Whether text[start..end) is `true`, `false`, `null` or a number as JSON spells one (loosely: its characters). */
function isScalar(b: usize, start: i32, end: i32): bool {
  const c = <i32>load<u16>(b + (<usize>start << 1));
  const size = end - start;
  if (c == 0x74) return size == 4 && load<u64>(b + (<usize>start << 1)) == 0x0065_0075_0072_0074; // true
  if (c == 0x66) {
    return size == 5 && load<u64>(b + (<usize>start << 1)) == 0x0073_006c_0061_0066 && // fals
      load<u16>(b + (<usize>(start + 4) << 1)) == 0x65; // e
  }
  if (c == 0x6e) return size == 4 && load<u64>(b + (<usize>start << 1)) == 0x006c_006c_0075_006e; // null
  let i = start;
  if (c == 0x2d) i++;
  let digits = 0;
  for (; i < end; i++) {
    const d = <i32>load<u16>(b + (<usize>i << 1));
    if (d >= 0x30 && d <= 0x39) digits++;
    else if (d != 0x2e && d != 0x65 && d != 0x45 && d != 0x2b && d != 0x2d) return false;
  }
  return digits > 0;
}

/** Whether text[start..end) holds exactly the code units of `key` (compared in place). */
function sameText(b: usize, start: i32, end: i32, key: string): bool {
  const size = end - start;
  if (size != key.length) return false;
  return memory.compare(b + (<usize>start << 1), base(key), <usize>size << 1) == 0;
}

/** Whether the string literal at text[start..end) (quotes included) means `key`. */
function keyIs(b: usize, start: i32, end: i32, key: string): bool {
  for (let k = start + 1; k < end - 1; k++) {
    if (load<u16>(b + (<usize>k << 1)) == 0x5c) return unescape(slice(b, start, end)) == key; // rare: escapes
  }
  return sameText(b, start + 1, end - 1, key);
}

// ---- the exported API: string in, offsets or text out

export function skipWs(s: string, i: i32): i32 {
  return ws(base(s), s.length, i);
}

/** Index just past the string literal starting at `i` (which must be a quote). */
export function skipString(s: string, i: i32): i32 {
  return str(base(s), s.length, i);
}

/** Index just past the JSON value starting at `i` (after whitespace). */
export function skipValue(s: string, i: i32): i32 {
  return value(base(s), s.length, i < 0 ? s.length : i);
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
  return membersFrom(base(s), s.length, i, [key])[0];
}

/** The span of element `index` of the array starting at `i`. */
export function elementAt(s: string, i: i32, index: i32): i64 {
  return elementFrom(base(s), s.length, i, index);
}

function elementFrom(b: usize, n: i32, i: i32, index: i32): i64 {
  i = ws(b, n, i);
  if (cu(b, n, i) != 0x5b) failWith(EXPECTED_ARRAY, i);
  i = ws(b, n, i + 1);
  if (cu(b, n, i) == 0x5d) return -1;
  let k = 0;
  while (true) {
    const start = ws(b, n, i);
    const end = value(b, n, start);
    if (k == index) return span(start, end);
    i = ws(b, n, end);
    const c = cu(b, n, i);
    if (c == 0x5d) return -1;
    if (c != 0x2c) failWith(EXPECTED_COMMA, i);
    i++;
    k++;
  }
}

/** The text of member `key` of the object `obj`, or null when absent. */
export function member(obj: string, key: string): string | null {
  const sp = memberAt(obj, 0, key);
  return sp < 0 ? null : obj.substring(spanStart(sp), spanEnd(sp));
}

/** The spans of members `keys` of the object `obj` (-1 for each absent one; the first of a key given twice), in
 * one pass over it: what `memberAt` finds for each key, without scanning the members before it once per key. */
export function membersAt(obj: string, keys: string[]): i64[] {
  return membersFrom(base(obj), obj.length, 0, keys);
}

function membersFrom(b: usize, n: i32, i: i32, keys: string[]): i64[] {
  const out = new Array<i64>(keys.length);
  out.fill(-1);
  i = ws(b, n, i);
  if (cu(b, n, i) != 0x7b) failWith(EXPECTED_OBJECT, i);
  i = ws(b, n, i + 1);
  if (cu(b, n, i) == 0x7d) return out;
  let missing = keys.length;
  while (missing > 0) {
    const keyStart = i;
    const keyEnd = str(b, n, i);
    i = ws(b, n, keyEnd);
    if (cu(b, n, i) != 0x3a) failWith(EXPECTED_COLON, i);
    const valueStart = ws(b, n, i + 1);
    const valueEnd = value(b, n, valueStart);
    for (let k = 0; k < keys.length; k++) {
      if (out[k] < 0 && keyIs(b, keyStart, keyEnd, keys[k])) {
        out[k] = span(valueStart, valueEnd);
        missing--;
      }
    }
    if (missing == 0) break;
    i = ws(b, n, valueEnd);
    const c = cu(b, n, i);
    if (c == 0x7d) break;
    if (c != 0x2c) failWith(EXPECTED_COMMA, i);
    i = ws(b, n, i + 1);
  }
  return out;
}

/** Each element of the array `arr` (JSON text), as text. */
export function elements(arr: string): string[] {
  const out = new Array<string>();
  const b = base(arr);
  const n = arr.length;
  let i = ws(b, n, 0);
  if (cu(b, n, i) != 0x5b) failWith(EXPECTED_ARRAY, i);
  i = ws(b, n, i + 1);
  if (cu(b, n, i) == 0x5d) return out;
  while (true) {
    const start = ws(b, n, i);
    const end = value(b, n, start);
    out.push(arr.substring(start, end));
    i = ws(b, n, end);
    const c = cu(b, n, i);
    if (c == 0x5d) return out;
    if (c != 0x2c) failWith(EXPECTED_COMMA, i);
    i++;
  }
}

/** The span of the value at dot path `path` (`a.b.0`: object keys, or indices into arrays) in `doc`. */
export function locate(doc: string, path: string): i64 {
  return locateFrom(base(doc), doc.length, 0, path);
}

function locateFrom(b: usize, n: i32, from: i32, path: string): i64 {
  const start = ws(b, n, from);
  if (path.length == 0) return span(start, value(b, n, start));
  let sp = span(start, start); // only the start matters while walking down
  const parts = path.split(".");
  for (let p = 0; p < parts.length; p++) {
    const first = cu(b, n, spanStart(sp));
    if (first == 0x7b) sp = membersFrom(b, n, spanStart(sp), [parts[p]])[0];
    else if (first == 0x5b && isIndex(parts[p])) sp = elementFrom(b, n, spanStart(sp), I32.parseInt(parts[p]));
    else return -1;
    if (sp < 0) return -1;
  }
  return sp;
}

/** The spans of the values at each of `paths` in `doc` (-1 for each absent one): what `locate` gives for each,
 * found in one walk over the document (which stops once every path is found) rather than one walk per path. */
export function locateAll(doc: string, paths: string[]): i64[] {
  return locateAllFrom(base(doc), doc.length, 0, paths);
}

/** `locateAll` of the document at span `doc` of `s` where it lies, without copying it out: the spans are positions
 * in `s`. `doc` must be a span these functions found (`membersAt`, `memberAt`, `elementAt`, `locate`...): they read
 * a value to its end and check it, so the walk steps over what it does not look into without checking it again. */
export function locateAllIn(s: string, doc: i64, paths: string[]): i64[] {
  checked = true;
  const out = locateAllFrom(base(s), spanEnd(doc), spanStart(doc), paths);
  checked = false;
  return out;
}

// Whether the walk in progress is over a value `value` has already read to its end without an error (one found by
// `membersAt`, say): then the values it steps over are skipped without being checked again.
let checked = false;

/** Index just past the JSON value at `i`: `value`, or `skipChecked` over a value `value` has checked already. */
@inline function end(b: usize, n: i32, i: i32): i32 {
  return checked ? skipChecked(b, n, i) : value(b, n, i);
}

/** Index just past the JSON value at `i` in text `value` has checked: the end `value` finds, by skipping strings and
 * counting brackets, with none of its checks (json_pick on a megabyte: a tenth less time). */
function skipChecked(b: usize, n: i32, i: i32): i32 {
  i = ws(b, n, i);
  const first = cu(b, n, i);
  if (first == 0x22) return str(b, n, i);
  if (first != 0x7b && first != 0x5b) return scalarEnd(b, n, i);
  let depth = 0;
  let inString = false;
  for (; i < n; i++) {
    const c = <i32>load<u16>(b + (<usize>i << 1));
    if (inString) {
      if (c == 0x5c) i++; // a backslash and what it escapes
      else if (c == 0x22) inString = false;
    } else if (c == 0x22) inString = true;
    else if (c == 0x7b || c == 0x5b) depth++;
    else if ((c == 0x7d || c == 0x5d) && --depth == 0) return i + 1;
  }
  return i;
}

function locateAllFrom(b: usize, n: i32, from: i32, paths: string[]): i64[] {
  const out = new Array<i64>(paths.length);
  out.fill(-1);
  const split = new Array<string[]>(paths.length);
  const wanted = new Array<i32>(paths.length);
  for (let p = 0; p < paths.length; p++) {
    // "" is the whole document, which locate reads in full: path by path, so that a document given as a string
    // that is not JSON fails with the message locate would give first. A small document too: there one walk per
    // path costs less than setting up one walk for all (what a call in the zkVM mostly reads).
    if (paths[p].length == 0 || n - from < 1024) {
      for (let q = 0; q < paths.length; q++) out[q] = locateFrom(b, n, from, paths[q]);
      return out;
    }
    split[p] = paths[p].split(".");
    wanted[p] = p;
  }
  if (paths.length > 0) {
    unfound = paths.length;
    walk(b, n, from, split, wanted, 0, out);
  }
  return out;
}

let unfound = 0; // paths of the walk in progress not yet found: at 0, it stops

/** Walks the value at `i` for part `depth` of each of the paths `wanted` (and, inside what matches, the parts after
 * it), as `locate` would for each: the first member of a key given twice, indices only into arrays. Returns the
 * index just past the value, or -1 when the walk stops early. Only the document's own container stops early (once
 * no path can match further in it), and with the messages `memberAt` and `elementAt` give; anything below it is read
 * to its end, as `locate` reads a member before it looks inside. So a document that is not JSON (one given as a
 * string) fails, or does not, exactly where `locate` path by path would. */
function walk(b: usize, n: i32, i: i32, split: string[][], wanted: i32[], depth: i32, out: i64[]): i32 {
  const top = depth == 0;
  i = ws(b, n, i);
  const open = cu(b, n, i);
  if (open != 0x7b && open != 0x5b) return top ? -1 : end(b, n, i); // a path into a scalar finds nothing
  const count = wanted.length;
  const taken = new Array<i32>(count); // objects: the member (from 1) each path matched, 0 while none has
  const index = new Array<i32>(count); // arrays: the index each path asks for here (-1: none)
  let last = -1;
  if (open == 0x5b) {
    for (let w = 0; w < count; w++) {
      const part = split[wanted[w]][depth];
      index[w] = isIndex(part) ? I32.parseInt(part) : -1;
      last = max(last, index[w]);
    }
    if (top && last < 0) return -1;
  }
  let untaken = count;
  i = ws(b, n, i + 1);
  if (cu(b, n, i) == open + 2) return i + 1;
  for (let element = 0; ; element++) {
    let matched = false;
    let valueStart = i;
    if (open == 0x7b) {
      const keyEnd = str(b, n, i);
      const colon = ws(b, n, keyEnd);
      if (cu(b, n, colon) != 0x3a) failWith(EXPECTED_COLON, colon);
      valueStart = ws(b, n, colon + 1);
      for (let w = 0; w < count; w++) {
        if (taken[w] == 0 && keyIs(b, i, keyEnd, split[wanted[w]][depth])) {
          taken[w] = element + 1;
          untaken--;
          matched = true;
        }
      }
    } else if (element <= last) {
      for (let w = 0; w < count; w++) if (index[w] == element) matched = true;
    }
    let valueEnd: i32;
    if (!matched) valueEnd = end(b, n, valueStart);
    else {
      const ending = new Array<i32>(); // the paths that end at this value, and those that go on inside it
      const going = new Array<i32>();
      for (let w = 0; w < count; w++) {
        if (open == 0x7b ? taken[w] == element + 1 : index[w] == element) {
          (depth + 1 == split[wanted[w]].length ? ending : going).push(wanted[w]);
        }
      }
      valueEnd = going.length > 0 ? walk(b, n, valueStart, split, going, depth + 1, out) : end(b, n, valueStart);
      for (let e = 0; e < ending.length; e++) out[ending[e]] = span(valueStart, valueEnd);
      unfound -= ending.length;
    }
    if (top && (unfound == 0 || (open == 0x7b ? untaken == 0 : element >= last))) return -1;
    i = ws(b, n, valueEnd);
    const c = cu(b, n, i);
    if (c == open + 2) return i + 1;
    if (c != 0x2c) failWith(top ? EXPECTED_COMMA : EXPECTED_COMMA_OR_CLOSE, i);
    i = ws(b, n, i + 1);
  }
  return i;
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
  return unescapeIn(lit, span(0, lit.length));
}

/** The value of the JSON string literal at span `lit` of `s` (a member of an input, say), read where it lies. */
export function unescapeIn(s: string, lit: i64): string {
  const b = base(s) + (<usize>spanStart(lit) << 1);
  const n = spanEnd(lit) - spanStart(lit) - 1; // the closing quote
  if (n < 1 || load<u16>(b) != 0x22) fail("expected a string", 0);
  let i = backslash(b, n, 1);
  if (i >= n) return slice(b, 1, n); // no escapes: the common case
  const buf = __alloc(<usize>n << 1); // the value is never longer than the literal
  let size: usize = 0;
  let run = 1;
  for (; i < n; i = backslash(b, n, i + 1)) {
    memory.copy(buf + size, b + (<usize>run << 1), <usize>(i - run) << 1);
    size += <usize>(i - run) << 1;
    const e = cu(b, n + 1, i + 1);
    let c = e;
    if (e == 0x75) {
      c = I32.parseInt(slice(b, i + 2, min(i + 6, n + 1)), 16); // clamped to the literal, as substring clamps
      i += 5;
    } else {
      if (e == 0x6e) c = 0x0a;
      else if (e == 0x72) c = 0x0d;
      else if (e == 0x74) c = 0x09;
      else if (e == 0x62) c = 0x08;
      else if (e == 0x66) c = 0x0c;
      i += 1;
    }
    store<u16>(buf + size, <u16>c);
    size += 2;
    run = i + 1;
  }
  if (run < n) {
    memory.copy(buf + size, b + (<usize>run << 1), <usize>(n - run) << 1);
    size += <usize>(n - run) << 1;
  }
  const out = String.UTF16.decodeUnsafe(buf, size);
  __free(buf);
  return out;
}

const HEX = "0123456789abcdef";

/** A JSON string literal for `s`. */
export function quote(s: string): string {
  return quoteRange(s, 0, s.length);
}

/** `before`, a JSON string literal for the code units `start..end` of `s`, and `after`, as one string: built in one
 * allocation of its exact size (a large value costs one copy, not one per concatenation). */
export function quoteRange(s: string, start: i32, end: i32, before: string = "", after: string = ""): string {
  const b = base(s) + (<usize>start << 1);
  const n = end - start;
  let units = before.length + n + 2 + after.length;
  for (let i = escapable(b, n, 0); i < n; i = escapable(b, n, i + 1)) {
    units += shortEscape(load<u16>(b + (<usize>i << 1))) != 0 ? 1 : 5; // \" or \u00XX for one unit
  }
  const out = __new(<usize>units << 1, idof<string>());
  let at = put(out, 0, base(before), before.length);
  store<u16>(out + at, 0x22);
  at += 2;
  let run = 0; // the first unit not yet copied
  for (let i = escapable(b, n, 0); i < n; i = escapable(b, n, i + 1)) {
    const c = <i32>load<u16>(b + (<usize>i << 1));
    at = put(out, at, b + (<usize>run << 1), i - run);
    run = i + 1;
    store<u16>(out + at, 0x5c);
    const e = shortEscape(c);
    if (e != 0) {
      store<u16>(out + at + 2, <u16>e);
      at += 4;
    } else {
      store<u64>(out + at + 2, 0x0030_0030_0075); // u00
      store<u16>(out + at + 8, <u16>HEX.charCodeAt(c >> 4));
      store<u16>(out + at + 10, <u16>HEX.charCodeAt(c & 15));
      at += 12;
    }
  }
  at = put(out, at, b + (<usize>run << 1), n - run);
  store<u16>(out + at, 0x22);
  put(out, at + 2, base(after), after.length);
  return changetype<string>(out);
}

/** The letter of the two-character escape of `c` (a quote, a backslash, \n, \r, \t), or 0 (then \u00XX). */
@inline function shortEscape(c: i32): i32 {
  return c == 0x22 ? 0x22 : c == 0x5c ? 0x5c : c == 0x0a ? 0x6e : c == 0x0d ? 0x72 : c == 0x09 ? 0x74 : 0;
}

/** Copies `units` code units from `src` to byte offset `at` of `out`; returns the offset after them. */
@inline function put(out: usize, at: usize, src: usize, units: i32): usize {
  memory.copy(out + at, src, <usize>units << 1);
  return at + (<usize>units << 1);
}

/** The code units `start..end` of `s` with each of `spans` (positions in `s`, ascending; one inside an earlier one
 * is skipped) replaced by `replacement`: built in one allocation of its exact size. */
export function replaceSpans(s: string, start: i32, end: i32, spans: i64[], replacement: string): string {
  let units = 0;
  let at = start;
  for (let i = 0; i < spans.length; i++) {
    if (spanStart(spans[i]) < at) continue;
    units += spanStart(spans[i]) - at + replacement.length;
    at = spanEnd(spans[i]);
  }
  units += end - at;
  const out = __new(<usize>units << 1, idof<string>());
  const b = base(s);
  let size: usize = 0;
  at = start;
  for (let i = 0; i < spans.length; i++) {
    if (spanStart(spans[i]) < at) continue;
    size = put(out, size, b + (<usize>at << 1), spanStart(spans[i]) - at);
    size = put(out, size, base(replacement), replacement.length);
    at = spanEnd(spans[i]);
  }
  put(out, size, b + (<usize>at << 1), end - at);
  return changetype<string>(out);
}
