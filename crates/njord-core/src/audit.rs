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

/// The `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Writes the canonical form of `v` to `out`; `Err` names the path of a float.
pub fn canonical(v: &Value, out: &mut String) -> Result<(), String> {
    let mut buf = Vec::new();
    canon(v, Path::Root, &mut buf)?;
    // Every piece written is ASCII or a whole string of the (UTF-8) input.
    out.push_str(&String::from_utf8_lossy(&buf));
    Ok(())
}

/// Where a value sits in a record, for the message about a float: built on the stack as the
/// writer descends, rendered only when needed.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn render(&self) -> String {
        match self {
            Path::Root => String::new(),
            Path::Key(Path::Root, k) => k.to_string(),
            Path::Key(p, k) => format!("{}.{k}", p.render()),
            Path::Index(p, i) => format!("{}[{i}]", p.render()),
        }
    }
}

fn canon(v: &Value, path: Path<'_>, out: &mut Vec<u8>) -> Result<(), String> {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::String(s) => string(s, out),
        Value::Number(n) => number(n.as_str(), path, out)?,
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canon(x, Path::Index(&path, i), out)?;
            }
            out.push(b']');
        }
        Value::Object(m) => {
            // serde_json's map is ordered by key bytes: UTF-8 byte order is code point order.
            out.push(b'{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(k, out);
                out.push(b':');
                canon(x, Path::Key(&path, k), out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// A JSON string: `"` and `\` escaped, the short escapes for \b \f \n \r \t, other control
/// characters as `\u00xx`, everything else as itself (Python's `json.dumps(s,
/// ensure_ascii=False)` writes the same).
fn string(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    out.push(b'"');
    match crate::swar::string_end(bytes) {
        None => out.extend_from_slice(bytes),
        Some(first) => {
            out.extend_from_slice(&bytes[..first]);
            let tail = &bytes[first..];
            // Without an early exit, so that it runs on vectors.
            if tail.iter().fold(false, |any, c| any | (*c < 0x20)) {
                escape_all(tail, out);
            } else {
                escape_quotes(tail, out);
            }
        }
    }
    out.push(b'"');
}

/// The hot path of a trail: an event line embedded in a record, with a quote to escape every
/// few bytes (each key's) and no control character. Without a branch per byte: each byte is
/// written as a backslash or itself, then itself, and the cursor moves by one or two; room for
/// the worst case is made first, and the buffer cut to size after.
fn escape_quotes(tail: &[u8], out: &mut Vec<u8>) {
    /// 1 for the bytes to escape here, `"` and `\`.
    const QUOTES: [u8; 256] = {
        let mut t = [0u8; 256];
        t[b'"' as usize] = 1;
        t[b'\\' as usize] = 1;
        t
    };
    let at = out.len();
    out.resize(at + tail.len() * 2 + 1, 0);
    let buf = &mut out[at..];
    let mut j = 0;
    for &c in tail {
        let escaped = QUOTES[usize::from(c)];
        // All ones for a byte to escape: its first byte becomes the backslash.
        let mask = 0u8.wrapping_sub(escaped);
        buf[j] = c ^ ((c ^ b'\\') & mask);
        buf[j + 1] = c;
        j += 1 + usize::from(escaped);
    }
    out.truncate(at + j);
}

/// Any text with control characters: each byte as itself or its escape.
fn escape_all(tail: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &c in tail {
        match c {
            b'"' | b'\\' => out.extend_from_slice(&[b'\\', c]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..0x20 => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 0xf)]);
            }
            _ => out.push(c),
        }
    }
}

/// `s` as a canonical JSON string, appended to `out`.
pub fn push_string(s: &str, out: &mut String) {
    if crate::swar::string_end(s.as_bytes()).is_none() {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        let mut buf = Vec::with_capacity(s.len() + 8);
        string(s, &mut buf);
        out.push_str(&String::from_utf8_lossy(&buf));
    }
}

/// A JSON number as written: an integer bare, a decimal normalised (`10.50` → `10.5`, `2.0` →
/// `2`, `-0.0` → `0`), an exponent refused.
fn number(text: &str, path: Path<'_>, out: &mut Vec<u8>) -> Result<(), String> {
    if text.contains(['e', 'E']) {
        return Err(format!(
            "`{}` is a float ({text}): the audit trail takes exact decimals only",
            path.render()
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
        out.push(b'0');
        return Ok(());
    }
    if neg {
        out.push(b'-');
    }
    out.extend_from_slice(int.as_bytes());
    if !frac.is_empty() {
        out.push(b'.');
        out.extend_from_slice(frac.as_bytes());
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
    body.insert("seq".into(), Value::from(prev.1.saturating_add(1)));
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
    let mut values = Vec::with_capacity(body.len());
    for (k, v) in &body {
        let mut text = Vec::new();
        canon(v, Path::Key(&Path::Root, k), &mut text)?;
        values.push((k.as_str(), String::from_utf8_lossy(&text).into_owned()));
    }
    let mut fields: Vec<(&str, Field<'_>)> = values
        .iter()
        .map(|(k, t)| (*k, Field::Canonical(t)))
        .collect();
    let mut text = Vec::new();
    let (hash, at) = seal_fields(&mut fields, prev, &mut text);
    let line = line_parts(&text, &hash, at).concat();
    Ok((
        String::from_utf8_lossy(&line).into_owned(),
        String::from_utf8_lossy(&hash).into_owned(),
    ))
}

/// A value of a record written without a JSON tree ([`seal_fields`]): the hot path of a
/// writer that records every decision.
#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    Text(&'a str),
    Int(i64),
    /// A value already in canonical form (written by [`canonical`]).
    Canonical(&'a str),
}

/// [`seal_line`] for a record given as fields (any order, sorted here in place; `seq`, `prev`
/// and `hash` among them are ignored), without a JSON tree or an allocation: writes the
/// canonical form without `hash` into `text` (cleared) and returns the hash in hex and where
/// its member goes (the line is `text[..at]`, `"hash":"…",`, `text[at..]`).
pub fn seal_fields(
    fields: &mut [(&str, Field<'_>)],
    prev: (&str, u64),
    text: &mut Vec<u8>,
) -> ([u8; 64], usize) {
    let seq = i64::try_from(prev.1.saturating_add(1)).unwrap_or(i64::MAX);
    fields.sort_unstable_by(|a, b| a.0.cmp(b.0));
    // Writers name each field once: a key written twice would make a record whose parsed
    // form no longer gives its hash.
    debug_assert!(
        fields.windows(2).all(|w| w[0].0 != w[1].0),
        "a field named twice"
    );
    let links = [("prev", Field::Text(prev.0)), ("seq", Field::Int(seq))];
    let mut links = links.iter().peekable();
    text.clear();
    text.push(b'{');
    let mut after_hash = None;
    let mut member = |k: &str, v: &Field<'_>| {
        if text.len() > 1 {
            text.push(b',');
        }
        if after_hash.is_none() && k > "hash" {
            after_hash = Some(text.len());
        }
        string(k, text);
        text.push(b':');
        match v {
            Field::Text(t) => string(t, text),
            Field::Int(n) => text.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
            Field::Canonical(c) => text.extend_from_slice(c.as_bytes()),
        }
    };
    for (k, v) in fields
        .iter()
        .filter(|(k, _)| !matches!(*k, "seq" | "prev" | "hash"))
    {
        while let Some((lk, lv)) = links.next_if(|(lk, _)| lk < k) {
            member(lk, lv);
        }
        member(k, v);
    }
    links.for_each(|(lk, lv)| member(lk, lv));
    text.push(b'}');
    let mut hash = [0u8; 64];
    // 32 bytes always fit 64 hex digits.
    let _ = hex::encode_to_slice(Sha256::digest(&*text), &mut hash);
    // `prev` and `seq` sort after `hash`: there is always a member to put it before.
    (hash, after_hash.unwrap_or(1))
}

/// The pieces of a sealed record's line: the canonical text with `hash` in its place.
pub fn line_parts<'a>(text: &'a [u8], hash: &'a [u8; 64], at: usize) -> [&'a [u8]; 5] {
    [&text[..at], b"\"hash\":\"", hash, b"\",", &text[at..]]
}

/// A record line read as bytes, accepting only the canonical form (no whitespace, keys in
/// order and unique, canonical numbers and escapes): whatever it accepts, every verifier's
/// canonical form of the parsed record gives the same bytes. Anything else is left to the
/// full check.
struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

/// `a < b` in byte order. Keys of a record mostly differ in their first byte: comparing it
/// first spares a `memcmp` call per key.
fn ascending(a: &[u8], b: &[u8]) -> bool {
    match (a.first(), b.first()) {
        (Some(x), Some(y)) if x != y => x < y,
        _ => a < b,
    }
}

/// What the scan of a record finds at its top level.
struct Top<'a> {
    seq: u64,
    prev: &'a str,
    hash: &'a str,
    /// The `"hash":"…"` member.
    hash_at: (usize, usize),
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// A string; returns its raw content.
    fn string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            self.i += crate::swar::string_end(self.b.get(self.i..)?)?;
            match self.b[self.i] {
                b'"' => {
                    let s = &self.b[start..self.i];
                    self.i += 1;
                    return Some(s);
                }
                b'\\' => {
                    let e = *self.b.get(self.i + 1)?;
                    self.i += match e {
                        b'"' | b'\\' | b'n' | b'r' | b't' | b'b' | b'f' => 2,
                        b'u' => {
                            // Only control characters without a short escape, lowercase.
                            let hex = self.b.get(self.i + 2..self.i + 6)?;
                            let ok = hex.starts_with(b"00")
                                && matches!(hex[2], b'0' | b'1')
                                && matches!(hex[3], b'0'..=b'9' | b'a'..=b'f')
                                && !matches!(&hex[2..], b"08" | b"09" | b"0a" | b"0c" | b"0d");
                            if !ok {
                                return None;
                            }
                            6
                        }
                        _ => return None,
                    };
                }
                _ => return None,
            }
        }
    }

    /// A canonical number: no exponent, no leading zeros, no trailing fractional zeros, no
    /// negative zero.
    fn number(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        let neg = self.eat(b'-').is_some();
        let int = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        let digits = &self.b[int..self.i];
        if digits.is_empty() || (digits.len() > 1 && digits[0] == b'0') {
            return None;
        }
        if self.eat(b'.').is_some() {
            let frac = self.i;
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
            if self.i == frac || self.b[self.i - 1] == b'0' {
                return None;
            }
        } else if neg && digits == b"0" {
            return None;
        }
        Some(&self.b[start..self.i])
    }

    fn value(&mut self, depth: u32) -> Option<()> {
        if depth > 64 {
            return None;
        }
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' => self.object(depth, |_, _, _| Some(())),
            b'[' => {
                self.i += 1;
                if self.eat(b']').is_some() {
                    return Some(());
                }
                loop {
                    self.value(depth + 1)?;
                    if self.eat(b']').is_some() {
                        return Some(());
                    }
                    self.eat(b',')?;
                }
            }
            b't' | b'f' | b'n' => {
                let rest = &self.b[self.i..];
                let lit: &[u8] = [&b"true"[..], b"false", b"null"]
                    .into_iter()
                    .find(|l| rest.starts_with(l))?;
                self.i += lit.len();
                Some(())
            }
            _ => self.number().map(|_| ()),
        }
    }

    /// An object with keys in strictly ascending order (keys with escapes are left to the
    /// full check). At depth 0, `member` sees each key and where its member starts, with the
    /// scanner at the value, which it must consume.
    fn object(
        &mut self,
        depth: u32,
        mut member: impl FnMut(&mut Self, &'a [u8], usize) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        if self.eat(b'}').is_some() {
            return Some(());
        }
        let mut last: Option<&[u8]> = None;
        loop {
            let at = self.i;
            let key = self.string()?;
            if key.contains(&b'\\') || last.is_some_and(|l| !ascending(l, key)) {
                return None;
            }
            last = Some(key);
            self.eat(b':')?;
            if depth == 0 {
                member(self, key, at)?;
            } else {
                self.value(depth + 1)?;
            }
            if self.eat(b'}').is_some() {
                return Some(());
            }
            self.eat(b',')?;
        }
    }

    /// The whole line as a canonical record.
    fn record(b: &'a [u8]) -> Option<Top<'a>> {
        let mut s = Scan { b, i: 0 };
        let (mut seq, mut prev, mut hash) = (None, None, None);
        let mut hash_at = (0, 0);
        let hex64 = |v: &'a [u8]| -> Option<&'a str> {
            let ok = v.len() == 64 && v.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
            if ok {
                std::str::from_utf8(v).ok()
            } else {
                None
            }
        };
        s.object(0, |s, key, at| {
            match key {
                b"hash" => {
                    hash = Some(hex64(s.string()?)?);
                    hash_at = (at, s.i);
                }
                b"prev" => prev = Some(hex64(s.string()?)?),
                b"seq" => {
                    let n = s.number()?;
                    seq = Some(std::str::from_utf8(n).ok()?.parse::<u64>().ok()?);
                }
                _ => s.value(1)?,
            }
            Some(())
        })?;
        if s.i != b.len() {
            return None;
        }
        Some(Top {
            seq: seq?,
            prev: prev?,
            hash: hash?,
            hash_at,
        })
    }
}

/// The fast check of one line, independent of every other (a caller may run it on many lines
/// at once and hand the results to [`verify_checked`]): the `seq`, `prev` and `hash` of a line
/// that is a sealed record exactly as written, in canonical form, and the line without its
/// `hash` member hashes to that member. A match
/// proves the bytes are the ones sealed; anything else (`None`) goes to the full check, which
/// says what is wrong.
pub fn check_line(line: &str) -> Intact<'_> {
    let top = Scan::record(line.as_bytes())?;
    let (at, end) = top.hash_at;
    let bytes = line.as_bytes();
    let (head, tail) = if bytes.get(end) == Some(&b',') {
        (&bytes[..at], &bytes[end + 1..])
    } else if bytes[at - 1] == b',' {
        (&bytes[..at - 1], &bytes[end..])
    } else {
        return None;
    };
    let digest = Sha256::new()
        .chain_update(head)
        .chain_update(tail)
        .finalize();
    let mut hex_digest = [0u8; 64];
    hex::encode_to_slice(digest, &mut hex_digest).ok()?;
    (hex_digest == top.hash.as_bytes()).then_some((top.seq, top.prev, top.hash))
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

/// The head of a verified chain: its last record's hash and seq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub hash: String,
    pub seq: u64,
}

impl Head {
    /// Whether a record of `seq` whose `prev` is `prev` comes right after this head.
    pub fn followed_by(&self, seq: u64, prev: &str) -> bool {
        self.seq.checked_add(1) == Some(seq) && prev == self.hash
    }
}

/// Checks records (one JSON text each) that continue the chain at `from` (the previous hash
/// and seq; [`GENESIS`] and 0 at the start). `ends_torn`: the input's last line had no
/// newline, so a record there that does not parse is a torn write rather than tampering.
pub fn verify<'a>(
    lines: impl IntoIterator<Item = &'a str>,
    from: Head,
    ends_torn: bool,
) -> Result<Head, (Break, Head)> {
    let lines: Vec<&str> = lines.into_iter().collect();
    let checks: Vec<Intact<'_>> = lines.iter().map(|l| check_line(l)).collect();
    verify_checked(&lines, &checks, from, ends_torn)
}

/// What the fast check found in one line: its `seq`, `prev` and `hash` when it is a sealed
/// record in canonical form whose hash is right.
pub type Intact<'a> = Option<(u64, &'a str, &'a str)>;

/// [`verify`] with each line's [`check_line`] already done (`checks[i]` for `lines[i]`).
pub fn verify_checked(
    lines: &[&str],
    checks: &[Intact<'_>],
    from: Head,
    ends_torn: bool,
) -> Result<Head, (Break, Head)> {
    let mut head = from;
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
        if let Some(Some((seq, prev, hash))) = checks.get(i)
            && head.followed_by(*seq, prev)
        {
            head.seq = *seq;
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
        let Some(expected) = head.seq.checked_add(1) else {
            let why = "no record can follow seq 2^64 - 1".to_string();
            return Err((Break::Malformed { at, why }, head));
        };
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
        if seq != expected || prev != head.hash {
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

    proptest::proptest! {
        /// Strings are written as serde_json (and Python's `json.dumps`) write them, whatever
        /// they hold and wherever the escapes fall.
        #[test]
        fn strings_are_escaped_as_json_writers_do(s in "(?s).{0,80}", pre in "[a-z]{0,3}") {
            let mut out = pre.as_bytes().to_vec();
            string(&s, &mut out);
            proptest::prop_assert_eq!(
                String::from_utf8(out).unwrap(),
                format!("{pre}{}", serde_json::to_string(&s).unwrap())
            );
        }
    }
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

    #[test]
    fn strings_are_escaped_as_json_writers_escape_them() {
        // serde_json escapes exactly as the canonical form does (as Python's json.dumps with
        // ensure_ascii=False): check every position of an escape within and across words.
        let pieces = [
            "a", "\"", "\\", "\n", "\u{1}", "\u{1f}", "é", "\t", "/", "\u{7f}", "xyz",
        ];
        for n in 0..400usize {
            let text: String = (0..(n % 23))
                .map(|k| pieces[(n * 7 + k * 3) % pieces.len()])
                .collect();
            let mut out = Vec::new();
            string(&text, &mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&text).unwrap()
            );
        }
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
        assert!(relaid[0].contains(": ") && check_line(relaid[0]).is_none());
        assert!(check_line(refs[0]).is_some());
        // The one-pass line is the canonical form of the sealed record.
        let body =
            serde_json::from_str::<Value>(r#"{"kind":"x","a":"q\"\u0001é","z":[1.50,{"k":2}]}"#)
                .unwrap();
        let (line, hash) = seal_line(body.as_object().unwrap().clone(), (GENESIS, 0)).unwrap();
        let sealed = seal(body.as_object().unwrap().clone(), (GENESIS, 0)).unwrap();
        assert_eq!(line, canon_of(&sealed));
        assert_eq!(hash, sealed["hash"]);
        let mut text = Vec::new();
        let mut fields = [
            ("z", Field::Canonical("[1.5,{\"k\":2}]")),
            ("seq", Field::Int(99)),
            ("kind", Field::Text("x")),
            ("a", Field::Text("q\"\u{1}é")),
        ];
        let (fast_hash, at) = seal_fields(&mut fields, (GENESIS, 0), &mut text);
        assert_eq!(fast_hash, hash.as_bytes());
        assert_eq!(line_parts(&text, &fast_hash, at).concat(), line.as_bytes());
        // The fast check takes the canonical form only; the same content written otherwise
        // is still intact by the full check.
        let base = seal_line(
            serde_json::from_str::<Value>(
                r#"{"kind":"k","n":1.5,"o":{"a":[true,null,-2]},"t":"x\ty"}"#,
            )
            .unwrap()
            .as_object()
            .unwrap()
            .clone(),
            (GENESIS, 0),
        )
        .unwrap()
        .0;
        assert!(check_line(&base).is_some(), "{base}");
        for other in [
            base.replace("1.5", "1.50"),
            base.replace("\"n\":", "\"n\": "),
            base.replace("\\t", "\\u0009"),
            base.replace("\"x", "\"\\u0078"),
            base.replace(
                "{\"a\":[true,null,-2]}",
                "{\"a\":[true,null,-2],\"a\":[true,null,-2]}",
            ),
        ] {
            assert_ne!(other, base);
            assert!(check_line(&other).is_none(), "{other}");
            let verdict = verify([other.as_str()], start(), false);
            assert!(verdict.is_ok(), "{other}: {verdict:?}");
        }
        assert_eq!(verify(relaid, start(), false).unwrap().seq, 5);
        // The chain continues from a head (a rotated file's first record).
        let second: Vec<&str> = refs[3..].to_vec();
        let mid = verify(refs[..3].to_vec(), start(), false).unwrap();
        assert_eq!(verify(second, mid, false).unwrap().seq, 5);
    }
}
