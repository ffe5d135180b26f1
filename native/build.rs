//! Records the CPU the module was compiled for, so `build_info()` can say whether it is portable: rustc's
//! `-C target-cpu` (cargo's encoded flags) and the `-march` that risc0's C++ kernels got from `CXXFLAGS` (the cc
//! crate adds what `CXXFLAGS` holds, but does not derive `-march` from rustc's target CPU).
fn main() {
    println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    println!("cargo:rerun-if-env-changed=CXXFLAGS");
    let rustflags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let mut target_cpu = "x86-64"; // rustc's default for x86_64
    let mut after_codegen = false;
    for flag in rustflags.split('\x1f') {
        let codegen = if after_codegen {
            Some(flag)
        } else {
            flag.strip_prefix("-C")
                .map(|rest| rest.trim_start_matches('='))
        };
        after_codegen = flag == "-C" || flag == "--codegen";
        if let Some(cpu) = codegen.and_then(|c| c.strip_prefix("target-cpu=")) {
            target_cpu = cpu;
        }
    }
    let cxxflags = std::env::var("CXXFLAGS").unwrap_or_default();
    let march = cxxflags
        .split_whitespace()
        .filter_map(|flag| flag.strip_prefix("-march="))
        .next_back()
        .unwrap_or("x86-64"); // what cc passes for x86_64 when CXXFLAGS says nothing
    println!("cargo:rustc-env=LOOM_TARGET_CPU={target_cpu}");
    println!("cargo:rustc-env=LOOM_KERNELS_MARCH={march}");
}
