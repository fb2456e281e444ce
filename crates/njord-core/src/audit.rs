//! The audit trail's pure part: the canonical form of a record, its hash, and the check of
//! a chain of records (docs/audit.md).
//!
//! A record is one JSON object per line with `seq` (from 1), `prev` (the previous record's
//! hash; 64 zeros for the first) and `hash`: SHA-256, lowercase hex, over the canonical form
//! of the record without `hash`. The canonical form has its keys sorted by code point, no
//! whitespace, UTF-8 text, integers bare and decimals as normalised JSON numbers (no exponent,
//! no trailing zeros); a number with an exponent is a float and is refused, so every value is
//! exact and every verifier, in any language, computes the same bytes.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt::Write;

/// The `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Writes the canonical form of `v` to `out`; `Err` names the path of a float.
pub fn canonical(v: &Value, out: &mut String) -> Result<(), String> {
    canon(v, "", out)
}

fn canon(v: &Value, path: &str, out: &mut String) -> Result<(), String> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::String(s) => string(s, out),
        Value::Number(n) => number(&n.to_string(), path, out)?,
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canon(x, &format!("{path}[{i}]"), out)?;
            }
            out.push(']');
        }
        Value::Object(m) => {
            // serde_json's map is ordered by key bytes: UTF-8 byte order is code point order.
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(k, out);
                out.push(':');
                let at = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                canon(x, &at, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// A JSON string: `"` and `\` escaped, the short escapes for \b \f \n \r \t, other control
/// characters as `\u00xx`, everything else as itself (Python's `json.dumps(s,
/// ensure_ascii=False)` writes the same).
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
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON number as written: an integer bare, a decimal normalised (`10.50` → `10.5`, `2.0` →
/// `2`, `-0.0` → `0`), an exponent refused.
fn number(text: &str, path: &str, out: &mut String) -> Result<(), String> {
    if text.contains(['e', 'E']) {
        return Err(format!(
            "`{path}` is a float ({text}): the audit trail takes exact decimals only"
        ));
    }
    let (neg, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    if int == "0" && frac.is_empty() {
        out.push('0');
        return Ok(());
    }
    if neg {
        out.push('-');
    }
    out.push_str(int);
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    Ok(())
}

/// The hash of a record: SHA-256, lowercase hex, of the canonical form without `hash`.
pub fn hash_of(record: &Value) -> Result<String, String> {
    let mut body = record.clone();
    if let Some(m) = body.as_object_mut() {
        m.remove("hash");
    }
    let mut text = String::new();
    canonical(&body, &mut text)?;
    Ok(hex::encode(Sha256::digest(text.as_bytes())))
}

/// Seals `body` (an object without `seq`, `prev` or `hash`) as the record after `prev` (its
/// hash and seq; [`GENESIS`] and 0 for the first): adds the three and returns the record.
pub fn seal(mut body: serde_json::Map<String, Value>, prev: (&str, u64)) -> Result<Value, String> {
    body.insert("seq".into(), Value::from(prev.1 + 1));
    body.insert("prev".into(), Value::String(prev.0.to_string()));
    body.remove("hash");
    let mut record = Value::Object(body);
    let h = hash_of(&record)?;
    record["hash"] = Value::String(h);
    Ok(record)
}

/// [`seal`], written out: the record's line (its canonical form, `hash` included) and hash.
/// Lines in canonical form let [`verify`] check a record without parsing it into a tree.
pub fn seal_line(
    body: serde_json::Map<String, Value>,
    prev: (&str, u64),
) -> Result<(String, String), String> {
    let record = seal(body, prev)?;
    let mut line = String::new();
    canonical(&record, &mut line)?;
    let hash = record["hash"].as_str().unwrap_or_default().to_string();
    Ok((line, hash))
}

/// The links of a record, read without building its tree.
#[derive(serde::Deserialize)]
struct Links<'a> {
    seq: u64,
    prev: &'a str,
    hash: &'a str,
}

/// The `seq` and `prev` of a line that is a sealed record exactly as written (canonical form):
/// the line without its `hash` member hashes to that member. A match proves the bytes are the
/// ones sealed; anything else (`None`) goes to the full check, which says what is wrong.
fn intact(line: &str) -> Option<(u64, &str, &str)> {
    let l: Links = serde_json::from_str(line).ok()?;
    if l.hash.len() != 64 {
        return None;
    }
    const KEY: &[u8] = b"\"hash\":\"";
    let bytes = line.as_bytes();
    let at = memchr::memmem::find_iter(bytes, KEY).find(|&at| {
        let v = at + KEY.len();
        bytes.get(v..v + 64) == Some(l.hash.as_bytes()) && bytes.get(v + 64) == Some(&b'"')
    })?;
    let end = at + KEY.len() + 65;
    let (head, tail) = if line.as_bytes().get(end) == Some(&b',') {
        (&line[..at], &line[end + 1..])
    } else if at > 0 && line.as_bytes()[at - 1] == b',' {
        (&line[..at - 1], &line[end..])
    } else {
        return None;
    };
    let digest = Sha256::new()
        .chain_update(head.as_bytes())
        .chain_update(tail.as_bytes())
        .finalize();
    let mut hex_digest = [0u8; 64];
    hex::encode_to_slice(digest, &mut hex_digest).ok()?;
    (hex_digest == l.hash.as_bytes()).then_some((l.seq, l.prev, l.hash))
}

/// What is wrong with a chain, at which record (its 1-based position in the input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// Not a JSON object with `seq`, `prev` and `hash`.
    Malformed { at: usize, why: String },
    /// Its content no longer gives its hash: edited.
    Modified { at: usize, seq: u64 },
    /// Its `seq` is ahead of the chain's: records before it are missing.
    Deleted {
        at: usize,
        expected: u64,
        found: u64,
    },
    /// Its `seq` is not the next one, though the next one comes later, or is behind, or its
    /// `prev` is not the previous record's hash: the order changed or a record was inserted.
    Reordered {
        at: usize,
        expected: u64,
        found: u64,
    },
    /// The last line was cut short, as a crash mid-write leaves it (not tampering).
    TornLastLine { at: usize },
}

/// The head of a verified chain: its last hash and seq, and how many records it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub hash: String,
    pub seq: u64,
}

/// Checks records (one JSON text each) that continue the chain at `from` (the previous hash
/// and seq; [`GENESIS`] and 0 at the start). `ends_torn`: the input's last line had no
/// newline, so a record there that does not parse is a torn write rather than tampering.
pub fn verify<'a>(
    lines: impl IntoIterator<Item = &'a str>,
    from: Head,
    ends_torn: bool,
) -> Result<Head, (Break, Head)> {
    let mut head = from;
    let lines: Vec<&str> = lines.into_iter().collect();
    let last = lines.len();
    // Whether a record of seq `n` comes later than position `after`: a record ahead of its
    // turn is then a reordering, not a deletion.
    let later = |after: usize, n: u64| {
        lines[after..]
            .iter()
            .any(|l| serde_json::from_str::<Value>(l).is_ok_and(|v| v["seq"].as_u64() == Some(n)))
    };
    for (i, line) in lines.iter().enumerate() {
        let at = i + 1;
        if let Some((seq, prev, hash)) = intact(line)
            && seq == head.seq + 1
            && prev == head.hash
        {
            head.seq = seq;
            head.hash.clear();
            head.hash.push_str(hash);
            continue;
        }
        let v: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(_) if at == last && ends_torn => return Err((Break::TornLastLine { at }, head)),
            Err(e) => {
                return Err((
                    Break::Malformed {
                        at,
                        why: e.to_string(),
                    },
                    head,
                ));
            }
        };
        let (Some(seq), Some(prev), Some(hash)) =
            (v["seq"].as_u64(), v["prev"].as_str(), v["hash"].as_str())
        else {
            let why = "a record needs seq, prev and hash".to_string();
            return Err((Break::Malformed { at, why }, head));
        };
        let computed = hash_of(&v).map_err(|why| (Break::Malformed { at, why }, head.clone()))?;
        if computed != hash {
            return Err((Break::Modified { at, seq }, head));
        }
        let expected = head.seq + 1;
        if seq > expected && !later(at, expected) {
            return Err((
                Break::Deleted {
                    at,
                    expected,
                    found: seq,
                },
                head,
            ));
        }
        if seq < expected || prev != head.hash {
            return Err((
                Break::Reordered {
                    at,
                    expected,
                    found: seq,
                },
                head,
            ));
        }
        head = Head {
            hash: hash.to_string(),
            seq,
        };
    }
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon_of(v: &Value) -> String {
        let mut s = String::new();
        canonical(v, &mut s).unwrap();
        s
    }

    #[test]
    fn the_canonical_form_sorts_keys_normalises_decimals_and_refuses_floats() {
        let v: Value = serde_json::from_str(
            r#"{"b": 1, "a": {"z": "é\n\u0001\"", "y": [10.50, -0.0, 2.0, 7, -3]}, "c": null}"#,
        )
        .unwrap();
        assert_eq!(
            canon_of(&v),
            r#"{"a":{"y":[10.5,0,2,7,-3],"z":"é\n\u0001\""},"b":1,"c":null}"#
        );
        let f: Value = serde_json::from_str(r#"{"x": {"p": 1e-7}}"#).unwrap();
        let e = hash_of(&f).unwrap_err();
        assert!(e.contains("`x.p` is a float"), "{e}");
    }

    fn chain(n: u64) -> Vec<String> {
        let mut prev = (GENESIS.to_string(), 0);
        (0..n)
            .map(|i| {
                let body = json!({"kind": "decision", "intent_id": format!("i{i}"), "ts_ns": 1_700_000_000_000_000_000i64 + i as i64, "caps": {"notional_usd": "14.50"}});
                let (line, hash) =
                    seal_line(body.as_object().unwrap().clone(), (&prev.0, prev.1)).unwrap();
                prev = (hash, prev.1 + 1);
                line
            })
            .collect()
    }

    fn start() -> Head {
        Head {
            hash: GENESIS.into(),
            seq: 0,
        }
    }

    #[test]
    fn every_tamper_is_told_apart_and_a_torn_last_line_is_not_tampering() {
        let c = chain(5);
        let refs: Vec<&str> = c.iter().map(String::as_str).collect();
        let head = verify(refs.clone(), start(), false).unwrap();
        assert_eq!(head.seq, 5);
        // Modified: a value changed, hash kept.
        let mut m = refs.clone();
        let edited = c[2].replace("\"i2\"", "\"i9\"");
        m[2] = &edited;
        assert_eq!(
            verify(m, start(), false).unwrap_err().0,
            Break::Modified { at: 3, seq: 3 }
        );
        // Deleted.
        let mut d = refs.clone();
        d.remove(1);
        assert_eq!(
            verify(d, start(), false).unwrap_err().0,
            Break::Deleted {
                at: 2,
                expected: 2,
                found: 3
            }
        );
        // Reordered.
        let mut r = refs.clone();
        r.swap(3, 4);
        assert_eq!(
            verify(r, start(), false).unwrap_err().0,
            Break::Reordered {
                at: 4,
                expected: 4,
                found: 5
            }
        );
        // Inserted: a record from another chain, valid on its own.
        let other = chain(3);
        let mut ins = refs.clone();
        ins.insert(3, &other[2]);
        assert_eq!(
            verify(ins, start(), false).unwrap_err().0,
            Break::Reordered {
                at: 4,
                expected: 4,
                found: 3
            }
        );
        // A torn last line, and the same text mid-file (tampering).
        let torn = &c[4][..c[4].len() / 2];
        let mut t = refs.clone();
        t[4] = torn;
        let (b, h) = verify(t.clone(), start(), true).unwrap_err();
        assert_eq!((b, h.seq), (Break::TornLastLine { at: 5 }, 4));
        assert!(matches!(
            verify(t, start(), false).unwrap_err().0,
            Break::Malformed { at: 5, .. }
        ));
        // A record rewritten in another (valid) JSON layout is checked the slow way.
        let relaid: Vec<String> = c
            .iter()
            .map(|l| {
                serde_json::from_str::<Value>(l)
                    .unwrap()
                    .to_string()
                    .replace(':', ": ")
            })
            .collect();
        let relaid: Vec<&str> = relaid.iter().map(String::as_str).collect();
        assert!(relaid[0].contains(": ") && intact(relaid[0]).is_none());
        assert!(intact(refs[0]).is_some());
        assert_eq!(verify(relaid, start(), false).unwrap().seq, 5);
        // The chain continues from a head (a rotated file's first record).
        let second: Vec<&str> = refs[3..].to_vec();
        let mid = verify(refs[..3].to_vec(), start(), false).unwrap();
        assert_eq!(verify(second, mid, false).unwrap().seq, 5);
    }
}
