//! The universal wasm guest: one image ID proves any wasm activity, and the module's digest in the journal says
//! which one ran. It runs the module in the wasmi interpreter with the activity's fuel and memory limit.
//!
//! stdin is framed, since a module is binary (Loom writes it: `pipeline.zk._wasm`):
//! `LOOMWX1\n`, u32 LE n, the header (n bytes of JSON), u32 LE m, the module (m bytes), then the input (the rest:
//! the step's input as UTF-8 JSON). The header: `{"abi": "assemblyscript" | "rust", "fuel": u64,
//! "memory_bytes": u64, "output_bytes": u64, "log": bool, "secrets": {NAME: VALUE | null}}` (`log`: whether
//! `loom.log` is granted; `secrets`: the granted secrets, null when unset).
//!
//! It commits `{"abi", "fuel_used", "input_sha256", "module_sha256", "output", "secrets"}`: `output` is the module's
//! output verbatim (checked to be JSON); `secrets` names the secrets the module was granted, never their values. A module that fails (out of fuel, over
//! its memory, a trap, `abort`, `loom.fail`, a host function it was not granted, an output that is not JSON)
//! panics with `wasm-exec: <kind>: <reason>`, so no receipt says anything of it.
use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

use risc0_zkvm::guest::env;
use risc0_zkvm::sha::{Impl, Sha256};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use wasmi::{
    Caller, Config, Engine, Error, Extern, Instance, Linker, Memory, Module, ResourceLimiter,
    Store, StoreLimits, StoreLimitsBuilder, TrapCode, TypedFunc,
};
use wasmi_core::LimiterError;

const MAGIC: &[u8] = b"LOOMWX1\n";
const AS_STRING: i32 = 2; // AssemblyScript's class id of String
const AS_ARRAYBUFFER: i32 = 1;

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Abi {
    Assemblyscript,
    Rust,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    abi: Abi,
    fuel: u64,
    memory_bytes: u64,
    output_bytes: u64,
    /// Whether `loom.log` is granted (its lines are dropped either way: a proof has no log).
    #[serde(default)]
    log: bool,
    #[serde(default)]
    secrets: BTreeMap<String, Option<String>>,
}

#[derive(Serialize)]
struct Journal<'a> {
    abi: Abi,
    fuel_used: u64,
    input_sha256: String,
    module_sha256: String,
    output: &'a RawValue,
    secrets: Vec<&'a str>,
}

/// Why a call stopped, raised from a host function or found in wasmi's error.
#[derive(Debug)]
enum Stop {
    Abort(String),
    Fail(String),
    Denied(String),
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Abort(m) => write!(f, "abort: {m}"),
            Stop::Fail(m) => write!(f, "rejected: {m}"),
            Stop::Denied(m) => write!(f, "denied: {m}"),
        }
    }
}

impl wasmi::errors::HostError for Stop {}

/// The store's limits, remembering whether a growth was refused: there, as in wasmtime, `memory.grow` returns -1 to
/// the module, and a module that then traps (an allocator's `unreachable`) ran out of memory.
struct Limits {
    store: StoreLimits,
    refused: bool,
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        let allowed = self.store.memory_growing(current, desired, maximum)?;
        self.refused |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        let allowed = self.store.table_growing(current, desired, maximum)?;
        self.refused |= !allowed;
        Ok(allowed)
    }

    fn instances(&self) -> usize {
        self.store.instances()
    }

    fn tables(&self) -> usize {
        self.store.tables()
    }

    fn memories(&self) -> usize {
        self.store.memories()
    }
}

struct Host {
    limits: Limits,
    abi: Abi,
    log: bool,
    secrets: BTreeMap<String, Option<String>>,
}

fn fail(kind: &str, reason: impl fmt::Display) -> ! {
    panic!("wasm-exec: {kind}: {reason}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256(bytes: &[u8]) -> String {
    hex(Impl::hash_bytes(bytes).as_bytes())
}

/// One length-prefixed frame of stdin, and what follows it.
fn frame(data: &[u8]) -> (&[u8], &[u8]) {
    let Some((len, rest)) = data.split_first_chunk::<4>() else {
        fail("input", "the frame is cut short")
    };
    let len = u32::from_le_bytes(*len) as usize;
    if rest.len() < len {
        fail("input", "the frame is cut short");
    }
    rest.split_at(len)
}

/// The error as Loom's kinds: what stopped the module, for the host to turn into its typed errors. `refused`: a
/// growth of its memory was refused before (then a trap or an abort is the module running out of memory).
fn stopped(error: Error, refused: bool) -> ! {
    if let Some(stop) = error.downcast_ref::<Stop>() {
        match stop {
            Stop::Denied(m) => fail("denied", m),
            Stop::Fail(m) => fail("rejected", m),
            Stop::Abort(m) if refused => fail(
                "memory",
                format!("it could not grow its memory, then aborted: {m}"),
            ),
            Stop::Abort(m) => fail("abort", m),
        }
    }
    match error.as_trap_code() {
        Some(TrapCode::OutOfFuel) => fail("fuel", "the module ran out of fuel"),
        Some(TrapCode::GrowthOperationLimited) => {
            fail("memory", "the module grew past its memory limit")
        }
        _ if refused => fail(
            "memory",
            format!("it could not grow its memory, then trapped: {error}"),
        ),
        Some(TrapCode::StackOverflow) => fail("trap", "call stack exhausted"),
        _ => fail("trap", error),
    }
}

fn refused(store: &Store<Host>) -> bool {
    store.data().limits.refused
}

fn memory_of(caller: &Caller<'_, Host>) -> Result<Memory, Error> {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => Err(Error::new("the module exports no memory")),
    }
}

fn read(memory: &[u8], ptr: u32, len: u32, what: &str) -> Result<Vec<u8>, Error> {
    let (start, end) = (ptr as usize, ptr as usize + len as usize);
    memory.get(start..end).map(<[u8]>::to_vec).ok_or_else(|| {
        Error::new(format!(
            "{what}: the buffer {ptr:#x}+{len} lies outside the guest's memory"
        ))
    })
}

/// An AssemblyScript string at `ptr` (its byte length is the u32 before it), as text.
fn as_string(memory: &[u8], ptr: u32, what: &str) -> Result<String, Error> {
    if ptr < 4 {
        return Err(Error::new(format!("{what}: a null string")));
    }
    let size = u32::from_le_bytes(read(memory, ptr - 4, 4, what)?.try_into().expect("4 bytes"));
    let units: Vec<u16> = read(memory, ptr, size, what)?
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], *c.get(1).unwrap_or(&0)]))
        .collect();
    if size % 2 == 1 {
        return Err(Error::new(format!("{what}: a string of odd length")));
    }
    String::from_utf16(&units)
        .map_err(|_| Error::new(format!("{what}: not valid UTF-16 (a lone surrogate)")))
}

fn func<P: wasmi::WasmParams, R: wasmi::WasmResults>(
    store: &Store<Host>,
    instance: &Instance,
    name: &str,
) -> TypedFunc<P, R> {
    instance
        .get_typed_func::<P, R>(store, name)
        .unwrap_or_else(|e| fail("invalid-module", format!("export {name:?}: {e}")))
}

/// Copies `data` into the module's memory with its own allocator; `(ptr << 32) | len`.
fn give(caller: &mut Caller<'_, Host>, data: &[u8]) -> Result<i64, Error> {
    let abi = caller.data().abi;
    let (alloc, pin) = match abi {
        Abi::Assemblyscript => ("__new", Some("__pin")),
        Abi::Rust => ("alloc", None),
    };
    let Some(Extern::Func(alloc)) = caller.get_export(alloc) else {
        return Err(Error::new("the module exports no allocator"));
    };
    let ptr = match abi {
        Abi::Assemblyscript => alloc
            .typed::<(i32, i32), i32>(&caller)?
            .call(&mut *caller, (data.len() as i32, AS_ARRAYBUFFER))?,
        Abi::Rust => alloc
            .typed::<i32, i32>(&caller)?
            .call(&mut *caller, data.len() as i32)?,
    };
    memory_of(caller)?
        .write(&mut *caller, ptr as u32 as usize, data)
        .map_err(|_| Error::new("the guest allocated a buffer outside its memory"))?;
    if let Some(pin) = pin {
        let Some(Extern::Func(pin)) = caller.get_export(pin) else {
            return Err(Error::new("the module exports no __pin"));
        };
        pin.typed::<i32, i32>(&caller)?.call(&mut *caller, ptr)?;
    }
    Ok(((ptr as u32 as i64) << 32) | data.len() as i64)
}

fn linker(engine: &Engine) -> Linker<Host> {
    let mut linker = Linker::<Host>::new(engine);
    linker
        .func_wrap(
            "loom",
            "log",
            |caller: Caller<'_, Host>, _: i32, _: i32, _: i32| -> Result<(), Error> {
                match caller.data().log {
                    true => Ok(()), // a proof has no log: the line is dropped
                    false => Err(Error::host(Stop::Denied(
                        "the module called loom.log, which it was not granted".into(),
                    ))),
                }
            },
        )
        .expect("loom.log")
        .func_wrap(
            "loom",
            "get_secret",
            |mut caller: Caller<'_, Host>, ptr: i32, len: i32| -> Result<i64, Error> {
                let memory = memory_of(&caller)?;
                let name = read(
                    memory.data(&caller),
                    ptr as u32,
                    len as u32,
                    "loom.get_secret",
                )?;
                let name = String::from_utf8_lossy(&name).into_owned();
                let value = match caller.data().secrets.get(&name) {
                    None => {
                        return Err(Error::host(Stop::Denied(format!(
                            "the module asked for secret {name:?}, which it was not granted"
                        ))))
                    }
                    Some(None) => return Ok(-1),
                    Some(Some(value)) => value.clone().into_bytes(),
                };
                give(&mut caller, &value)
            },
        )
        .expect("loom.get_secret")
        .func_wrap(
            "loom",
            "state_get",
            |_: Caller<'_, Host>, _: i32, _: i32| -> Result<i64, Error> {
                Err(Error::host(Stop::Denied(
                    "loom.state_get: an actor's state is not part of a proof".into(),
                )))
            },
        )
        .expect("loom.state_get")
        .func_wrap(
            "loom",
            "state_set",
            |_: Caller<'_, Host>, _: i32, _: i32, _: i32, _: i32| -> Result<(), Error> {
                Err(Error::host(Stop::Denied(
                    "loom.state_set: an actor's state is not part of a proof".into(),
                )))
            },
        )
        .expect("loom.state_set")
        .func_wrap(
            "loom",
            "fail",
            |caller: Caller<'_, Host>, ptr: i32, len: i32| -> Result<(), Error> {
                let memory = memory_of(&caller)?;
                let reason = read(
                    memory.data(&caller),
                    ptr as u32,
                    (len as u32).min(1024),
                    "loom.fail",
                )?;
                Err(Error::host(Stop::Fail(
                    String::from_utf8_lossy(&reason).into_owned(),
                )))
            },
        )
        .expect("loom.fail")
        .func_wrap(
            "env",
            "abort",
            |caller: Caller<'_, Host>,
             msg: i32,
             file: i32,
             line: i32,
             col: i32|
             -> Result<(), Error> {
                let memory = memory_of(&caller)?;
                let text = |ptr: i32| -> String {
                    if ptr == 0 {
                        return String::new();
                    }
                    let mut s = as_string(memory.data(&caller), ptr as u32, "env.abort")
                        .unwrap_or_default();
                    s.truncate(s.floor_char_boundary(1024));
                    s
                };
                Err(Error::host(Stop::Abort(format!(
                    "{} (at {}:{line}:{col})",
                    text(msg),
                    text(file)
                ))))
            },
        )
        .expect("env.abort");
    linker
}

/// Runs `run` on `input` with the module's ABI; the output's UTF-8 bytes.
fn call(
    store: &mut Store<Host>,
    instance: &Instance,
    abi: Abi,
    input: &[u8],
    limit: u64,
) -> Vec<u8> {
    let memory = instance
        .get_memory(&*store, "memory")
        .unwrap_or_else(|| fail("invalid-module", "the module exports no memory"));
    let too_large = |size: u64| -> ! {
        fail("too-large", format!("the output is {size} bytes; the activity's limit is {limit} bytes (limits.output_mib)"))
    };
    match abi {
        Abi::Assemblyscript => {
            let text = std::str::from_utf8(input)
                .unwrap_or_else(|_| fail("input", "the input is not UTF-8"));
            let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
            let new = func::<(i32, i32), i32>(store, instance, "__new");
            let pin = func::<i32, i32>(store, instance, "__pin");
            let unpin = func::<i32, ()>(store, instance, "__unpin");
            let run = func::<i32, i32>(store, instance, "run");
            let ptr = new
                .call(&mut *store, (utf16.len() as i32, AS_STRING))
                .unwrap_or_else(|e| stopped(e, refused(store)));
            memory
                .write(&mut *store, ptr as u32 as usize, &utf16)
                .unwrap_or_else(|_| {
                    fail(
                        "trap",
                        "__new: the guest allocated a buffer outside its memory",
                    )
                });
            pin.call(&mut *store, ptr)
                .unwrap_or_else(|e| stopped(e, refused(store)));
            let out = run
                .call(&mut *store, ptr)
                .unwrap_or_else(|e| stopped(e, refused(store)));
            unpin
                .call(&mut *store, ptr)
                .unwrap_or_else(|e| stopped(e, refused(store)));
            if out == 0 {
                fail("output", "the activity returned a null string");
            }
            let data = memory.data(&*store);
            let size = read(data, (out as u32).wrapping_sub(4), 4, "run's result")
                .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
                .unwrap_or_else(|e| fail("trap", e));
            if u64::from(size / 2) > limit {
                too_large(u64::from(size / 2));
            }
            let text =
                as_string(data, out as u32, "run's result").unwrap_or_else(|e| fail("output", e));
            if text.len() as u64 > limit {
                too_large(text.len() as u64);
            }
            text.into_bytes()
        }
        Abi::Rust => {
            let alloc = func::<i32, i32>(store, instance, "alloc");
            let dealloc = func::<(i32, i32), ()>(store, instance, "dealloc");
            let run = func::<(i32, i32), i64>(store, instance, "run");
            let ptr = alloc
                .call(&mut *store, input.len() as i32)
                .unwrap_or_else(|e| stopped(e, refused(store)));
            memory
                .write(&mut *store, ptr as u32 as usize, input)
                .unwrap_or_else(|_| {
                    fail(
                        "trap",
                        "alloc: the guest allocated a buffer outside its memory",
                    )
                });
            let packed = run
                .call(&mut *store, (ptr, input.len() as i32))
                .unwrap_or_else(|e| stopped(e, refused(store))) as u64;
            let (out, size) = ((packed >> 32) as u32, packed as u32);
            if u64::from(size) > limit {
                too_large(u64::from(size));
            }
            let data = read(memory.data(&*store), out, size, "run's result")
                .unwrap_or_else(|e| fail("trap", e));
            dealloc
                .call(&mut *store, (out as i32, size as i32))
                .unwrap_or_else(|e| stopped(e, refused(store)));
            data
        }
    }
}

fn main() {
    let mut raw = Vec::new();
    env::stdin().read_to_end(&mut raw).expect("stdin");
    let Some(rest) = raw.strip_prefix(MAGIC) else {
        fail(
            "input",
            "stdin must start with LOOMWX1 (a module framed by pipeline.zk)",
        )
    };
    let (header, rest) = frame(rest);
    let (module_bytes, input) = frame(rest);
    let header: Header =
        serde_json::from_slice(header).unwrap_or_else(|e| fail("input", format!("header: {e}")));

    let mut config = Config::default();
    // The features of Loom's wasmtime engine (pipeline.sandbox._engine.loom_config), so that a module wasmtime
    // runs, this runs: one linear memory (the limit is per memory), 64x64->128-bit products.
    config
        .consume_fuel(true)
        .wasm_multi_memory(false)
        .wasm_wide_arithmetic(true);
    let engine = Engine::new(&config);
    let module = Module::new(&engine, module_bytes).unwrap_or_else(|e| fail("invalid-module", e));
    let limits = StoreLimitsBuilder::new()
        .memory_size(usize::try_from(header.memory_bytes).unwrap_or(usize::MAX))
        .memories(1)
        .instances(1)
        .build();
    let limits = Limits {
        store: limits,
        refused: false,
    };
    let host = Host {
        limits,
        abi: header.abi,
        log: header.log,
        secrets: header.secrets.clone(),
    };
    let mut store = Store::new(&engine, host);
    store.limiter(|host| &mut host.limits);
    store.set_fuel(header.fuel).expect("fuel is enabled");
    let instance = linker(&engine)
        .instantiate_and_start(&mut store, &module)
        .unwrap_or_else(|e| {
            if e.as_trap_code().is_some() || e.downcast_ref::<Stop>().is_some() {
                stopped(e, store.data().limits.refused)
            }
            if store.data().limits.refused {
                fail(
                    "memory",
                    format!("its memory or tables are larger than its limit allows: {e}"),
                )
            }
            fail("invalid-module", format!("cannot instantiate: {e}"))
        });
    let output = call(
        &mut store,
        &instance,
        header.abi,
        input,
        header.output_bytes,
    );
    let fuel_used = header.fuel - store.get_fuel().expect("fuel is enabled");

    let text =
        std::str::from_utf8(&output).unwrap_or_else(|_| fail("output", "the output is not UTF-8"));
    let value: &RawValue = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| fail("output", format!("the output is not JSON: {e}")));
    let journal = Journal {
        abi: header.abi,
        fuel_used,
        input_sha256: sha256(input),
        module_sha256: sha256(module_bytes),
        output: value,
        secrets: header.secrets.keys().map(String::as_str).collect(),
    };
    env::commit_slice(&serde_json::to_vec(&journal).expect("journal encodes"));
}
