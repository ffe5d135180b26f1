// Loom's host functions (wasm module "loom"), for activities whose definitions grant them. Buffers cross as UTF-8
// (ptr, len); a buffer the host returns is an ArrayBuffer it pinned for us, unpinned here once copied.

@external("loom", "log")
declare function loom_log(level: i32, ptr: usize, len: i32): void;

@external("loom", "get_secret")
declare function loom_get_secret(ptr: usize, len: i32): i64;

export const DEBUG = 0;
export const INFO = 1;
export const WARN = 2;
export const ERROR = 3;

export function log(level: i32, message: string): void {
  const buf = String.UTF8.encode(message);
  loom_log(level, changetype<usize>(buf), buf.byteLength);
}

/** The secret's value, or null when it is granted but not set. Asking for an ungranted one fails the call. */
export function secret(name: string): ArrayBuffer | null {
  const buf = String.UTF8.encode(name);
  const packed = loom_get_secret(changetype<usize>(buf), buf.byteLength);
  if (packed < 0) return null;
  const ptr = <usize>(packed >>> 32);
  const len = <i32>(packed & 0xffffffff);
  const out = new ArrayBuffer(len);
  memory.copy(changetype<usize>(out), ptr, len);
  __unpin(ptr);
  return out;
}

@external("loom", "http")
declare function loom_http(ptr: usize, len: i32): i64;

/**
 * Sends `request`, JSON `{"method", "url", "headers", "body"}`, through the host and returns its JSON response
 * `{"status", "url", "headers", "body"}` (`body_base64` when the body is not UTF-8). The host sends only what the
 * activity's loom_http grant allows (hosts, methods, public addresses); a header value may name a granted secret,
 * `"Bearer {{secret:api_token}}"`, which the host fills in, so the value never enters this module's memory.
 */
export function http(request: string): string {
  const buf = String.UTF8.encode(request);
  const packed = loom_http(changetype<usize>(buf), buf.byteLength);
  const ptr = <usize>(packed >>> 32);
  const len = <i32>(packed & 0xffffffff);
  const out = String.UTF8.decodeUnsafe(ptr, len);
  __unpin(ptr);
  return out;
}
