//! A claim over a JSON document: a dot path (`buzz.1`, array indices as numbers), an operator and a value.
//! Guests evaluate claims with this one implementation so that "holds" means the same in every receipt.
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    Exists,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    pub path: String,
    pub op: Op,
    #[serde(default)]
    pub value: Value,
}

/// What a guest commits about a claim: the claim itself, whether its path exists, and whether it holds.
#[derive(Debug, Serialize)]
pub struct Verdict<'a> {
    pub claim: &'a Claim,
    pub found: bool,
    pub holds: bool,
}

/// Follows a dot path; an empty path is the document itself.
pub fn lookup<'v>(doc: &'v Value, path: &str) -> Option<&'v Value> {
    if path.is_empty() {
        return Some(doc);
    }
    path.split('.').try_fold(doc, |node, key| match node {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if a.is_number() && b.is_number() => x == y,
        _ => a == b,
    }
}

/// Evaluates `claim` on `doc`. Ordering operators hold only between two numbers or two strings.
pub fn evaluate<'a>(doc: &Value, claim: &'a Claim) -> Verdict<'a> {
    let found = lookup(doc, &claim.path);
    let want = &claim.value;
    let holds = match (claim.op, found) {
        (Op::Exists, found) => found.is_some(),
        (_, None) => false,
        (Op::Eq, Some(v)) => same(v, want),
        (Op::Ne, Some(v)) => !same(v, want),
        (Op::Contains, Some(Value::String(s))) => want.as_str().is_some_and(|w| s.contains(w)),
        (Op::Contains, Some(Value::Array(items))) => items.iter().any(|item| same(item, want)),
        (Op::Contains, Some(_)) => false,
        (op, Some(v)) => {
            let ord = match (v, want) {
                (Value::Number(a), Value::Number(b)) => a
                    .as_f64()
                    .zip(b.as_f64())
                    .and_then(|(a, b)| a.partial_cmp(&b)),
                (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                _ => None,
            };
            ord.is_some_and(|o| match op {
                Op::Lt => o.is_lt(),
                Op::Le => o.is_le(),
                Op::Gt => o.is_gt(),
                Op::Ge => o.is_ge(),
                _ => unreachable!("handled above"),
            })
        }
    };
    Verdict {
        claim,
        found: found.is_some(),
        holds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(path: &str, op: Op, value: Value) -> bool {
        let doc = json!({"foo": "bar", "bazz": 123, "buzz": [1, "5"]});
        evaluate(
            &doc,
            &Claim {
                path: path.into(),
                op,
                value,
            },
        )
        .holds
    }

    #[test]
    fn operators() {
        assert!(check("bazz", Op::Eq, json!(123)));
        assert!(check("bazz", Op::Eq, json!(123.0)));
        assert!(!check("bazz", Op::Eq, json!("123")));
        assert!(check("bazz", Op::Gt, json!(100)) && !check("bazz", Op::Lt, json!(100)));
        assert!(check("buzz.1", Op::Eq, json!("5")));
        assert!(check("buzz", Op::Contains, json!(1)));
        assert!(check("foo", Op::Contains, json!("ba")));
        assert!(check("foo", Op::Exists, Value::Null) && !check("nope", Op::Exists, Value::Null));
        assert!(!check("nope", Op::Ne, json!(1)));
        assert!(!check("foo", Op::Gt, json!(1)));
    }
}
