//! A fast yes to "is this strict JSON?" for large documents handed to activities, so that Python reads (and
//! refuses) only what is not plainly valid: `pipeline.core.check_json` asks here first and, on any "no", lets
//! Python's own reader give the verdict and its message.
//!
//! It says yes only to what Loom's reader (`pipeline.core.parse_json`: Python's `json` with strict checks) takes:
//! UTF-8; RFC 8259 syntax with JSON's four whitespace characters; no raw control character in a string; escapes
//! that are JSON's, with every UTF-16 surrogate escape paired; every number with a fraction or an exponent finite
//! as a double; integers of at most `MAX_INT_DIGITS` digits; nesting no deeper than `MAX_DEPTH` (Python's own
//! limits are higher). Any value it is unsure of is a "no". One loop with a stack of its own: no recursion, whatever the input.
use pyo3::prelude::*;

/// Deeper documents go to Python's reader, whose limit (the recursion limit, ~1,000) decides.
const MAX_DEPTH: usize = 200;
/// Longer integers go to Python's reader too: it refuses integers past `sys.int_info.default_max_str_digits`
/// (4,300 unless configured, and never below 640).
const MAX_INT_DIGITS: usize = 600;

/// Whether `data` is one strict JSON value that Loom's reader takes (false: ask Python). Releases the GIL.
#[pyfunction]
pub fn json_valid(py: Python<'_>, data: &[u8]) -> bool {
    py.detach(|| valid(data))
}

fn valid(data: &[u8]) -> bool {
    if std::str::from_utf8(data).is_err() {
        return false;
    }
    let mut scan = Scan { data, at: 0 };
    scan.document().is_some()
}

struct Scan<'a> {
    data: &'a [u8],
    at: usize,
}

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.data.get(self.at).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// One value with only whitespace around it.
    fn document(&mut self) -> Option<()> {
        // the containers around the value being read: true for an object
        let mut stack: Vec<bool> = Vec::new();
        self.ws();
        loop {
            // a value
            match self.peek()? {
                b'{' | b'[' => {
                    let object = self.peek() == Some(b'{');
                    self.at += 1;
                    self.ws();
                    if self.eat(if object { b'}' } else { b']' }).is_none() {
                        if stack.len() == MAX_DEPTH {
                            return None;
                        }
                        stack.push(object);
                        if object {
                            self.key()?;
                        }
                        continue;
                    }
                }
                b'"' => self.string()?,
                b't' => self.word(b"true")?,
                b'f' => self.word(b"false")?,
                b'n' => self.word(b"null")?,
                _ => self.number()?,
            }
            // after a value: close what is complete, or go on to the next member or element
            loop {
                self.ws();
                let Some(&object) = stack.last() else {
                    return (self.at == self.data.len()).then_some(());
                };
                match self.peek()? {
                    b',' => {
                        self.at += 1;
                        self.ws();
                        if object {
                            self.key()?;
                        }
                        break;
                    }
                    b'}' if object => {
                        self.at += 1;
                        stack.pop();
                    }
                    b']' if !object => {
                        self.at += 1;
                        stack.pop();
                    }
                    _ => return None,
                }
            }
        }
    }

    /// A member's key and its colon, and the whitespace before its value.
    fn key(&mut self) -> Option<()> {
        self.string()?;
        self.ws();
        self.eat(b':')?;
        self.ws();
        Some(())
    }

    fn word(&mut self, word: &[u8]) -> Option<()> {
        self.data[self.at..]
            .starts_with(word)
            .then(|| self.at += word.len())
    }

    fn string(&mut self) -> Option<()> {
        self.eat(b'"')?;
        loop {
            let byte = self.peek()?;
            self.at += 1;
            match byte {
                b'"' => return Some(()),
                0x00..=0x1f => return None,
                b'\\' => {
                    let escape = self.peek()?;
                    self.at += 1;
                    match escape {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            let unit = self.hex4()?;
                            if (0xdc00..0xe000).contains(&unit) {
                                return None; // a low surrogate alone
                            }
                            if (0xd800..0xdc00).contains(&unit) {
                                self.eat(b'\\')?;
                                self.eat(b'u')?;
                                if !(0xdc00..0xe000).contains(&self.hex4()?) {
                                    return None; // a high surrogate not followed by a low one
                                }
                            }
                        }
                        _ => return None,
                    }
                }
                _ => {}
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.data.get(self.at..self.at + 4)?;
        self.at += 4;
        digits
            .iter()
            .try_fold(0u32, |v, &d| Some(v * 16 + (d as char).to_digit(16)?))
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, and finite as a double when it is a float.
    fn number(&mut self) -> Option<()> {
        let start = self.at;
        let _ = self.eat(b'-');
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        let mut float = false;
        if self.eat(b'.').is_some() {
            float = true;
            self.some_digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            float = true;
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            self.some_digits()?;
        }
        if !float && self.at - start > MAX_INT_DIGITS {
            return None;
        }
        if float {
            let text = std::str::from_utf8(&self.data[start..self.at]).ok()?;
            if !text.parse::<f64>().ok()?.is_finite() {
                return None;
            }
        }
        Some(())
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
    }

    fn some_digits(&mut self) -> Option<()> {
        let start = self.at;
        self.digits();
        (self.at > start).then_some(())
    }
}
