//! One receipt for a pipeline's proven steps. In (private):
//! `{"spec": "<JSON text>", "input": "<JSON text>", "steps": [{"name", "image_id", "journal": "<text>", "input": "<text>"}]}`,
//! the steps in an order where each comes after the steps it references.
//!
//! For each step the guest asserts, with `env::verify`, that a receipt of `image_id` committed exactly `journal`;
//! that the journal's `input_sha256` is the SHA-256 of `input` (the text the step's guest read); and that `input`
//! is the value the spec's template for that step gives, rendered from the pipeline's input and the journals of the
//! earlier steps exactly as Loom's runner renders it (`pipeline.flow.render`): a step that reads anything else (a
//! host step's output, a receipt's bytes) cannot be chained. It commits, as compact JSON with sorted keys,
//! `{"format": "loom-chain/1", "spec_sha256", "input_sha256", "steps": [{"name", "activity", "image_id",
//! "module_sha256"}], "outputs": {name: journal}}`, where the digests are of the spec's and the input's canonical
//! JSON (as the bundle states them). The prover supplies each step's receipt as an assumption; resolving them
//! gives one succinct receipt that proves the whole chain.
use std::io::Read;

use risc0_zkvm::guest::env;
use risc0_zkvm::sha::{Digest, Impl, Sha256};

mod json;
use json::{canonical, parse, Json};

macro_rules! refuse {
    ($($arg:tt)*) => { panic!("chain: {}", format!($($arg)*)) };
}

fn sha256_hex(data: &[u8]) -> String {
    Impl::hash_bytes(data)
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn digest(hex: &str, step: &str) -> Digest {
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect();
    bytes
        .and_then(|b| Digest::try_from(b.as_slice()).ok())
        .unwrap_or_else(|| refuse!("step {step}: image_id must be 64 hex digits"))
}

fn text<'a>(value: &'a Json, key: &str, what: &str) -> &'a str {
    value
        .get(key)
        .and_then(Json::as_str)
        .unwrap_or_else(|| refuse!("{what} needs {key:?} as a string"))
}

fn read(what: &str, text: &str) -> Json {
    parse(text).unwrap_or_else(|e| refuse!("{what} is not JSON Loom reads: {e}"))
}

/// What references can see: the pipeline's input and the journals of the steps already chained.
struct Context<'a> {
    input: &'a Json,
    journals: Vec<(&'a str, Json)>,
}

impl Context<'_> {
    fn lookup(&self, step: &str, reference: &str) -> &Json {
        let mut parts = reference.split('.');
        let mut node = match parts.next() {
            Some("input") => self.input,
            Some("steps") => {
                let target = parts.next().unwrap_or("");
                let journal = self
                    .journals
                    .iter()
                    .find(|(name, _)| *name == target)
                    .map(|(_, j)| j)
                    .unwrap_or_else(|| {
                        refuse!("step {step} reads step {target}, which is not proven earlier in the chain")
                    });
                if parts.next() != Some("output") || parts.next() != Some("journal") {
                    refuse!(
                        "step {step} reads ${{{reference}}}: only a proven step's journal (steps.NAME.output.journal...) can be chained"
                    );
                }
                journal
            }
            _ => refuse!("step {step}: bad reference ${{{reference}}}"),
        };
        for key in parts {
            node = node.child(key).unwrap_or_else(|| {
                refuse!("step {step}: reference ${{{reference}}}: no {key:?} there")
            });
        }
        node
    }

    /// `pipeline.flow.render`: a string that is exactly one reference becomes the value; references inside a
    /// longer string are replaced by the value's text (a string as itself, anything else as compact JSON).
    fn render(&self, step: &str, template: &Json) -> Json {
        match template {
            Json::Str(s) => {
                let stripped = py_strip(s);
                if let Some(inner) = whole_reference(stripped) {
                    return clone(self.lookup(step, inner.trim_matches(is_py_space)));
                }
                let mut out = String::new();
                let mut rest = s.as_str();
                while let Some(start) = rest.find("${") {
                    let Some(len) = rest[start + 2..].find('}') else {
                        break;
                    };
                    out.push_str(&rest[..start]);
                    let reference = rest[start + 2..start + 2 + len].trim_matches(is_py_space);
                    match self.lookup(step, reference) {
                        Json::Str(v) => out.push_str(v),
                        v => out.push_str(
                            &canonical(v).unwrap_or_else(|e| refuse!("step {step}: {e}")),
                        ),
                    }
                    rest = &rest[start + 3 + len..];
                }
                out.push_str(rest);
                Json::Str(out)
            }
            Json::Arr(items) => Json::Arr(items.iter().map(|v| self.render(step, v)).collect()),
            Json::Obj(pairs) => Json::Obj(
                pairs
                    .iter()
                    .map(|(k, v)| (k.clone(), self.render(step, v)))
                    .collect(),
            ),
            other => clone(other),
        }
    }
}

/// Python's `str.isspace`, which `str.strip` uses: Unicode's white space plus the ASCII separators 0x1c-0x1f.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// The inside of `${...}` when the whole text is one reference (`REF.fullmatch`: no `}` inside it).
fn whole_reference(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("${")?.strip_suffix('}')?;
    (!inner.contains('}')).then_some(inner)
}

fn clone(value: &Json) -> Json {
    match value {
        Json::Null => Json::Null,
        Json::Bool(b) => Json::Bool(*b),
        Json::Num(n) => Json::Num(n.clone()),
        Json::Str(s) => Json::Str(s.clone()),
        Json::Arr(items) => Json::Arr(items.iter().map(clone).collect()),
        Json::Obj(pairs) => Json::Obj(pairs.iter().map(|(k, v)| (k.clone(), clone(v))).collect()),
    }
}

fn main() {
    let mut raw = Vec::new();
    env::stdin().read_to_end(&mut raw).expect("stdin");
    let raw = String::from_utf8(raw).unwrap_or_else(|_| refuse!("input is not UTF-8"));
    let request = read("the chain's input", &raw);
    let spec = read("the spec", text(&request, "spec", "the chain's input"));
    let input = read(
        "the pipeline input",
        text(&request, "input", "the chain's input"),
    );
    let spec_canonical = canonical(&spec).unwrap_or_else(|e| refuse!("the spec: {e}"));
    let input_canonical = canonical(&input).unwrap_or_else(|e| refuse!("the pipeline input: {e}"));
    let Some(Json::Arr(steps)) = request.get("steps") else {
        refuse!("the chain's input needs \"steps\": [...]")
    };
    if steps.is_empty() {
        refuse!("no steps to chain");
    }
    let spec_steps = spec
        .get("steps")
        .unwrap_or_else(|| refuse!("the spec has no steps"));

    let mut context = Context {
        input: &input,
        journals: Vec::new(),
    };
    let mut committed = Vec::new();
    for step in steps {
        let name = text(step, "name", "a step");
        if context.journals.iter().any(|(n, _)| *n == name) {
            refuse!("step {name} is chained twice");
        }
        let image_id = text(step, "image_id", "a step");
        let journal_text = text(step, "journal", "a step");
        let input_text = text(step, "input", "a step");
        env::verify(digest(image_id, name), journal_text.as_bytes())
            .unwrap_or_else(|_| refuse!("step {name}: no receipt of {image_id} with that journal"));
        let journal = read(&format!("step {name}'s journal"), journal_text);
        let bound = journal.get("input_sha256").and_then(Json::as_str);
        if bound != Some(sha256_hex(input_text.as_bytes()).as_str()) {
            refuse!(
                "step {name}: its journal does not commit the SHA-256 of the input given for it"
            );
        }
        let defn = spec_steps
            .get(name)
            .unwrap_or_else(|| refuse!("the spec has no step {name}"));
        if !matches!(defn.get("when"), None | Some(Json::Null)) {
            refuse!("step {name} runs only `when` a condition holds, which a chain does not prove");
        }
        let template = defn.get("input").unwrap_or(&Json::Null);
        let rendered = canonical(&context.render(name, template))
            .unwrap_or_else(|e| refuse!("step {name}: {e}"));
        let given = canonical(&read(&format!("step {name}'s input"), input_text))
            .unwrap_or_else(|e| refuse!("step {name}'s input: {e}"));
        if rendered != given {
            refuse!("step {name}: its input is not what the spec's template gives for this input and these steps");
        }
        committed.push(Json::Obj(vec![
            ("name".into(), Json::Str(name.into())),
            (
                "activity".into(),
                defn.get("activity").map(clone).unwrap_or(Json::Null),
            ),
            ("image_id".into(), Json::Str(image_id.into())),
            (
                "module_sha256".into(),
                journal
                    .get("module_sha256")
                    .map(clone)
                    .unwrap_or(Json::Null),
            ),
        ]));
        context.journals.push((name, journal));
    }

    let outputs = Json::Obj(
        context
            .journals
            .into_iter()
            .map(|(n, j)| (n.to_string(), j))
            .collect(),
    );
    let out = Json::Obj(vec![
        ("format".into(), Json::Str("loom-chain/1".into())),
        (
            "spec_sha256".into(),
            Json::Str(sha256_hex(spec_canonical.as_bytes())),
        ),
        (
            "input_sha256".into(),
            Json::Str(sha256_hex(input_canonical.as_bytes())),
        ),
        ("steps".into(), Json::Arr(committed)),
        ("outputs".into(), outputs),
    ]);
    env::commit_slice(canonical(&out).expect("the journal encodes").as_bytes());
}
