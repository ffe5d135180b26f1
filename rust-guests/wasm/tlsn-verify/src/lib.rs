//! `tlsn-verify`: `{"presentation": "<base64>", "policy": {...}}` in, the verified facts out (see
//! `tlsn_verifier::verify_request`). A rejected presentation is reported through `loom.fail`, so the host
//! raises an error with the verifier's reason instead of passing on an output.

use std::alloc::{alloc as raw_alloc, dealloc as raw_dealloc, Layout};

#[link(wasm_import_module = "loom")]
extern "C" {
    /// Ends the call with an error message (UTF-8 at `ptr..ptr+len`); does not return.
    fn fail(ptr: *const u8, len: u32);
}

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

/// Verifies the request at `ptr..ptr+len`; returns `(out_ptr << 32) | out_len` of the JSON facts.
#[no_mangle]
pub extern "C" fn run(ptr: *const u8, len: u32) -> u64 {
    let input = unsafe { core::slice::from_raw_parts(ptr, len as usize) };
    match tlsn_verifier::verify_request(input) {
        Ok(json) => {
            let out = json.into_bytes().into_boxed_slice();
            let out_len = out.len() as u64;
            let out_ptr = Box::into_raw(out) as *mut u8 as u64;
            (out_ptr << 32) | out_len
        }
        Err(e) => {
            let message = e.to_string();
            unsafe { fail(message.as_ptr(), message.len() as u32) };
            core::arch::wasm32::unreachable()
        }
    }
}
