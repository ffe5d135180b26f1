//! JSON as Loom's host reads and writes it (Python's `json`), so that the guest computes the same values, texts and
//! digests: objects keep their keys in order (and refuse a key given twice), numbers keep their literal until they
//! are written, and `canonical` writes what `pipeline.core.compact_json` writes (sorted keys, no spaces, non-ASCII
//! as itself, floats as Python's `repr`).

pub enum Json {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

const MAX_DEPTH: usize = 256;

impl Json {
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A step of a reference path: an object's key, or an array's index in ASCII digits (as the host's `lookup`).
    pub fn child(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(_) => self.get(key),
            Json::Arr(items) if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) => {
                key.parse::<usize>().ok().and_then(|i| items.get(i))
            }
            _ => None,
        }
    }
}

pub fn parse(text: &str) -> Result<Json, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        at: 0,
    };
    p.ws();
    let value = p.value(0)?;
    p.ws();
    if p.at != p.s.len() {
        return Err(format!("text after the JSON value at byte {}", p.at));
    }
    Ok(value)
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while matches!(self.s.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.s.get(self.at) == Some(&b);
        self.at += usize::from(hit);
        hit
    }

    fn word(&mut self, w: &str, v: Json) -> Result<Json, String> {
        if self.s[self.at..].starts_with(w.as_bytes()) {
            self.at += w.len();
            Ok(v)
        } else {
            Err(format!("not JSON at byte {}", self.at))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > MAX_DEPTH {
            return Err(format!("nested deeper than {MAX_DEPTH}"));
        }
        match self.s.get(self.at) {
            Some(b'n') => self.word("null", Json::Null),
            Some(b't') => self.word("true", Json::Bool(true)),
            Some(b'f') => self.word("false", Json::Bool(false)),
            Some(b'"') => self.string().map(Json::Str),
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                self.ws();
                if !self.eat(b']') {
                    loop {
                        self.ws();
                        items.push(self.value(depth + 1)?);
                        self.ws();
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(format!("expected , or ] at byte {}", self.at));
                        }
                    }
                }
                Ok(Json::Arr(items))
            }
            Some(b'{') => {
                self.at += 1;
                let mut pairs: Vec<(String, Json)> = Vec::new();
                self.ws();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        let key = self.string()?;
                        if pairs.iter().any(|(k, _)| *k == key) {
                            return Err(format!("the key {key:?} is given twice"));
                        }
                        self.ws();
                        if !self.eat(b':') {
                            return Err(format!("expected : at byte {}", self.at));
                        }
                        self.ws();
                        let value = self.value(depth + 1)?;
                        pairs.push((key, value));
                        self.ws();
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(format!("expected , or }} at byte {}", self.at));
                        }
                    }
                }
                Ok(Json::Obj(pairs))
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(format!("not JSON at byte {}", self.at)),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while matches!(self.s.get(self.at), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at - start
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.at;
        self.eat(b'-');
        let first = self.s.get(self.at).copied();
        let int = self.digits();
        if int == 0 || (first == Some(b'0') && int > 1) {
            return Err(format!("bad number at byte {start}"));
        }
        if self.eat(b'.') && self.digits() == 0 {
            return Err(format!("bad number at byte {start}"));
        }
        if matches!(self.s.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if self.digits() == 0 {
                return Err(format!("bad number at byte {start}"));
            }
        }
        let text = core::str::from_utf8(&self.s[start..self.at]).expect("ASCII");
        Ok(Json::Num(text.to_string()))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let hex = self
            .s
            .get(self.at..self.at + 4)
            .ok_or("a \\u escape is cut short")?;
        let hex = core::str::from_utf8(hex).map_err(|_| "bad \\u escape")?;
        let code = u32::from_str_radix(hex, 16).map_err(|_| format!("bad \\u escape {hex:?}"))?;
        self.at += 4;
        Ok(code)
    }

    fn string(&mut self) -> Result<String, String> {
        if !self.eat(b'"') {
            return Err(format!("expected a string at byte {}", self.at));
        }
        let mut out = String::new();
        loop {
            let start = self.at;
            while !matches!(self.s.get(self.at), None | Some(b'"' | b'\\' | 0..=0x1f)) {
                self.at += 1;
            }
            // The text is UTF-8 (it came in as a Rust string) and we stopped on ASCII bytes, so this slice is whole.
            out.push_str(core::str::from_utf8(&self.s[start..self.at]).expect("UTF-8"));
            match self.s.get(self.at) {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.at += 1;
                    let c = match self.s.get(self.at) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.at += 1;
                            let high = self.hex4()?;
                            let code = if (0xd800..0xdc00).contains(&high) {
                                if !self.s[self.at..].starts_with(b"\\u") {
                                    return Err("a lone surrogate in a string".into());
                                }
                                self.at += 2;
                                let low = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&low) {
                                    return Err("a lone surrogate in a string".into());
                                }
                                0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00)
                            } else {
                                high
                            };
                            let c = char::from_u32(code).ok_or("a lone surrogate in a string")?;
                            out.push(c);
                            continue;
                        }
                        _ => return Err(format!("bad escape at byte {}", self.at)),
                    };
                    self.at += 1;
                    out.push(c);
                }
                _ => {
                    return Err(format!(
                        "a control character or the end inside a string at byte {}",
                        self.at
                    ))
                }
            }
        }
    }
}

/// The text `pipeline.core.compact_json` gives for this value.
pub fn canonical(value: &Json) -> Result<String, String> {
    let mut out = String::new();
    write(value, &mut out)?;
    Ok(out)
}

fn write(value: &Json, out: &mut String) -> Result<(), String> {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Num(text) => out.push_str(&number(text)?),
        Json::Str(s) => string(s, out),
        Json::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out)?;
            }
            out.push(']');
        }
        Json::Obj(pairs) => {
            // Python sorts keys by code point; UTF-8 byte order is the same order.
            let mut sorted: Vec<&(String, Json)> = pairs.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            out.push('{');
            for (i, (key, item)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(key, out);
                out.push(':');
                write(item, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A number as Python writes the value it reads from `literal`: an integer as its digits (`-0` is `0`), anything
/// else as a float in `repr`'s shortest form (`1e+16`, `1e-05`, `100.0`).
fn number(literal: &str) -> Result<String, String> {
    if !literal.contains(['.', 'e', 'E']) {
        return Ok(if literal == "-0" {
            "0".into()
        } else {
            literal.into()
        });
    }
    let x: f64 = literal
        .parse()
        .map_err(|_| format!("bad number {literal}"))?;
    if !x.is_finite() {
        return Err(format!("{literal} is too large for a double"));
    }
    // repr's digits: the fewest that read back as x (Rust's `{:e}` finds how many), and of those the closest to x,
    // a tie to the even digit (Rust's `{:.Ne}` rounds x exactly that way; `{:e}` may break a tie upwards).
    let shortest = format!("{:e}", x.abs());
    let n = shortest
        .split_once('e')
        .expect("{:e} has an exponent")
        .0
        .chars()
        .filter(char::is_ascii_digit)
        .count();
    let sci = format!("{:.*e}", n - 1, x.abs());
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exp.parse().expect("{:e} exponent");
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if x == 0.0 {
        return Ok(format!("{sign}0.0"));
    }
    let point = exp + 1; // x = 0.DIGITS * 10^point
    let n = digits.len() as i32;
    let text = if point <= -4 || point > 16 {
        let rest = if n > 1 {
            format!(".{}", &digits[1..])
        } else {
            String::new()
        };
        let e = point - 1;
        format!(
            "{}{rest}e{}{:02}",
            &digits[..1],
            if e < 0 { '-' } else { '+' },
            e.abs()
        )
    } else if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point >= n {
        format!("{digits}{}.0", "0".repeat((point - n) as usize))
    } else {
        format!(
            "{}.{}",
            &digits[..point as usize],
            &digits[point as usize..]
        )
    };
    Ok(format!("{sign}{text}"))
}
