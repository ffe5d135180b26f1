//! The smallest Rust activity: it proves the alloc/dealloc/run ABI end to end.
//! The input is a JSON document; the output wraps it as `{"bytes":N,"echo":<input>}`.

use std::alloc::{alloc as raw_alloc, dealloc as raw_dealloc, Layout};

/// Allocates `len` bytes for the host to write the input into.
#[no_mangle]
pub extern "C" fn alloc(len: u32) -> *mut u8 {
    if len == 0 {
        return core::ptr::NonNull::dangling().as_ptr();
    }
    unsafe { raw_alloc(Layout::from_size_align_unchecked(len as usize, 1)) }
}

/// Frees a buffer the host got from `alloc` or from `run`.
#[no_mangle]
pub extern "C" fn dealloc(ptr: *mut u8, len: u32) {
    if len != 0 {
        unsafe { raw_dealloc(ptr, Layout::from_size_align_unchecked(len as usize, 1)) }
    }
}

/// Runs the activity on the JSON input at `ptr..ptr+len`; returns `(out_ptr << 32) | out_len`.
#[no_mangle]
pub extern "C" fn run(ptr: *const u8, len: u32) -> u64 {
    let input = unsafe { core::slice::from_raw_parts(ptr, len as usize) };
    let mut out = format!("{{\"bytes\":{},\"echo\":", input.len()).into_bytes();
    out.extend_from_slice(input);
    out.push(b'}');
    let out = out.into_boxed_slice();
    let out_len = out.len() as u64;
    let out_ptr = Box::into_raw(out) as *mut u8 as u64;
    (out_ptr << 32) | out_len
}
