//! The guest side of Loom's Rust activity ABI (`runtime: wasm`), so that an activity is one function:
//!
//! ```ignore
//! loom_guest::activity!(|input: &[u8]| -> Result<Vec<u8>, String> { Ok(input.to_vec()) });
//! ```
//!
//! The macro exports `alloc`, `dealloc` and `run` as Loom's host expects them. The host functions of module
//! `loom` are wrapped here: [`log`], [`get_secret`], [`http`] and [`fail`]. Each works only where the activity's
//! definition grants it (`loom_log`, `loom_get_secret`, `loom_http`); anything else ends the call with
//! `CapabilityDenied` on the host, before the wrapper returns.

#![no_std]
extern crate alloc;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::alloc::Layout;

#[link(wasm_import_module = "loom")]
extern "C" {
    #[link_name = "log"]
    fn host_log(level: u32, ptr: *const u8, len: u32);
    #[link_name = "get_secret"]
    fn host_get_secret(ptr: *const u8, len: u32) -> i64;
    #[link_name = "http"]
    fn host_http(ptr: *const u8, len: u32) -> i64;
    #[link_name = "fail"]
    fn host_fail(ptr: *const u8, len: u32);
}

/// Log levels of `loom.log`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

/// Writes a line into the run's log (`loom_log`).
pub fn log(level: Level, message: &str) {
    unsafe { host_log(level as u32, message.as_ptr(), message.len() as u32) }
}

/// A granted secret's value (`loom_get_secret`); `None` when it is granted but not set.
pub fn get_secret(name: &str) -> Option<String> {
    let packed = unsafe { host_get_secret(name.as_ptr(), name.len() as u32) };
    (packed != -1).then(|| String::from_utf8_lossy(&take(packed)).into_owned())
}

/// One HTTP request through the host (`loom_http`): `request` is the JSON `{method, url, headers, body}`; the
/// answer is the JSON `{status, url, headers, body | body_base64}`. A header value may name a granted secret as
/// `{{secret:NAME}}`: the host fills it in after the request has left the guest, so its value never reaches it.
/// Whatever the grant does not allow ends the call on the host; this function returns only answers.
pub fn http(request: &str) -> Vec<u8> {
    take(unsafe { host_http(request.as_ptr(), request.len() as u32) })
}

/// Ends the call as `ActivityRejected` with `reason`: how an activity refuses its input without trapping.
pub fn fail(reason: &str) -> ! {
    unsafe { host_fail(reason.as_ptr(), reason.len() as u32) };
    unreachable!("loom.fail returned")
}

/// The buffer `(ptr << 32) | len` the host allocated with this module's `alloc`, now owned here.
fn take(packed: i64) -> Vec<u8> {
    let (ptr, len) = (
        (packed as u64 >> 32) as usize as *mut u8,
        (packed as u64 & 0xFFFF_FFFF) as usize,
    );
    if len == 0 {
        return Vec::new();
    }
    // alloc gave `len` bytes with alignment 1: a Vec of exactly that capacity owns (and later frees) them
    unsafe { Vec::from_raw_parts(ptr, len, len) }
}

#[doc(hidden)]
pub fn alloc_bytes(len: u32) -> *mut u8 {
    if len == 0 {
        return core::ptr::NonNull::dangling().as_ptr();
    }
    unsafe { alloc::alloc::alloc(Layout::from_size_align_unchecked(len as usize, 1)) }
}

#[doc(hidden)]
pub fn dealloc_bytes(ptr: *mut u8, len: u32) {
    if len != 0 {
        unsafe { alloc::alloc::dealloc(ptr, Layout::from_size_align_unchecked(len as usize, 1)) }
    }
}

#[doc(hidden)]
pub fn run_with(
    ptr: *const u8,
    len: u32,
    body: impl FnOnce(&[u8]) -> Result<Vec<u8>, String>,
) -> u64 {
    let input = unsafe { core::slice::from_raw_parts(ptr, len as usize) };
    match body(input) {
        Ok(output) => {
            let out: Box<[u8]> = output.into_boxed_slice();
            let out_len = out.len() as u64;
            if out_len == 0 {
                return 0;
            }
            (Box::into_raw(out) as *mut u8 as u64) << 32 | out_len
        }
        Err(reason) => fail(&reason),
    }
}

/// Exports Loom's Rust ABI (`alloc`, `dealloc`, `run`) around `body`, a function from the input's JSON bytes to the
/// output's JSON bytes (or a reason to refuse the input, which ends the call as `ActivityRejected`).
#[macro_export]
macro_rules! activity {
    ($body:expr) => {
        #[no_mangle]
        pub extern "C" fn alloc(len: u32) -> *mut u8 {
            $crate::alloc_bytes(len)
        }

        #[no_mangle]
        pub extern "C" fn dealloc(ptr: *mut u8, len: u32) {
            $crate::dealloc_bytes(ptr, len)
        }

        #[no_mangle]
        pub extern "C" fn run(ptr: *const u8, len: u32) -> u64 {
            $crate::run_with(ptr, len, $body)
        }
    };
}
