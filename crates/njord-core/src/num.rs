//! Exact decimals on the wire.
//!
//! Money and quantities are [`Decimal`]s in memory and JSON *numbers* on the wire, written
//! without binary-float artefacts (`0.1 + 0.2` is written `0.3`). Input accepts numbers or
//! decimal strings and is parsed from the number's own text, so `0.00031099999999999997`
//! keeps every digit. The serializer hands serde_json the digits through its arbitrary-precision
//! number token; the deserializer asks for the raw text of the value, which serde_json gives
//! borrowed from the input without allocating.

use rust_decimal::Decimal;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeStruct, Serializer};
use std::borrow::Cow;
use std::fmt;

/// serde_json's private token for an arbitrary-precision number (the same trick rust_decimal's
/// `serde-with-arbitrary-precision` feature uses).
const NUMBER_TOKEN: &str = "$serde_json::private::Number";
/// serde_json's private token for a raw value (`&RawValue`).
const RAW_TOKEN: &str = "$serde_json::private::RawValue";

/// A stack buffer big enough for any `Decimal` (at most 29 digits, a sign and a point).
struct DecBuf {
    buf: [u8; 48],
    len: usize,
}

impl DecBuf {
    fn new(d: &Decimal) -> Self {
        let mut b = DecBuf {
            buf: [0; 48],
            len: 0,
        };
        // At most 31 bytes: the buffer cannot overflow.
        plain(*d, |s| {
            let end = b.len + s.len();
            if let Some(dst) = b.buf.get_mut(b.len..end) {
                dst.copy_from_slice(s);
                b.len = end;
            }
        });
        b
    }
    fn as_str(&self) -> &str {
        // Only ASCII digits, '-' and '.' are ever written.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("0")
    }
}

/// Text that is already JSON, written as it is by serde_json (its raw-value token): for rows
/// written directly inside a document serde writes.
pub struct RawJson<'a>(pub &'a str);

impl serde::Serialize for RawJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct(RAW_TOKEN, 1)?;
        st.serialize_field(RAW_TOKEN, self.0)?;
        st.end()
    }
}

/// `d` as the JSON number the event writers write (for `caps` and `meta` maps).
pub fn to_json(d: Decimal) -> serde_json::Value {
    serde_json::to_value(Dec(d)).unwrap_or(serde_json::Value::Null)
}

/// `mantissa / 10^scale` without trailing zeros, the decimal the parser gives for the
/// number's text; `None` beyond 96 bits. A column stored at a scale wider than a value's own
/// (Parquet, Arrow) can hold a mantissa past 96 bits whose value still fits once its zeros
/// are gone. In 64 bits when it fits (a price or quantity always does), where dividing by ten
/// is a multiplication.
pub fn plain_decimal(mantissa: i128, scale: u32) -> Option<Decimal> {
    if let Ok(mut m) = i64::try_from(mantissa) {
        let mut scale = scale;
        while scale > 0 && m % 10 == 0 {
            m /= 10;
            scale -= 1;
        }
        return Decimal::try_new(m, scale).ok();
    }
    let (mut m, mut scale) = (mantissa, scale);
    while scale > 0 && m % 10 == 0 {
        m /= 10;
        scale -= 1;
    }
    Decimal::try_from_i128_with_scale(m, scale).ok()
}

/// The double nearest to `d`. Below 2^53 the mantissa converts exactly (through `i64`: an
/// `i128` conversion is a slow library call) and one division by an exact power of ten
/// rounds correctly; beyond, the decimal's text is parsed, which rounds correctly too.
/// (`Decimal::to_f64` is off by an ulp for some values; pyarrow plus numpy compute this same
/// value, so an exported `<col>_f64` is the same whichever reader made it.)
pub fn nearest_f64(d: Decimal) -> f64 {
    const POW10: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    let m = d.mantissa();
    match POW10.get(d.scale() as usize) {
        Some(p) if m.unsigned_abs() < 1 << 53 => m as i64 as f64 / p,
        _ => to_plain_string(&d).parse().unwrap_or(f64::NAN),
    }
}

/// Writes `d` in its shortest exact form (`1.50` → `1.5`, `-0` → `0`) to a `String`.
pub fn to_plain_string(d: &Decimal) -> String {
    DecBuf::new(d).as_str().to_owned()
}

/// Appends a decimal in its shortest exact form (`1.50` → `1.5`, `-0` → `0`), the same text
/// [`serialize`] writes, without going through `fmt`.
pub fn write_plain(d: Decimal, out: &mut Vec<u8>) {
    plain(d, |s| out.extend_from_slice(s));
}

/// [`write_plain`]'s text, piece by piece.
fn plain(d: Decimal, mut put: impl FnMut(&[u8])) {
    const ZEROS: &[u8; 28] = b"0000000000000000000000000000";
    let mut m = d.mantissa();
    let mut scale = d.scale() as usize;
    while scale > 0 && m % 10 == 0 {
        m /= 10;
        scale -= 1;
    }
    if m == 0 {
        return put(b"0");
    }
    if m < 0 {
        put(b"-");
    }
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(m.unsigned_abs()).as_bytes();
    if scale == 0 {
        put(digits);
    } else if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        put(int);
        put(b".");
        put(frac);
    } else {
        put(b"0.");
        // A scale is at most 28.
        put(&ZEROS[..(scale - digits.len()).min(ZEROS.len())]);
        put(digits);
    }
}

/// Parses a decimal from text: a JSON number, plain (`-12.5`) or scientific (`1.2e-5`),
/// surrounding JSON quotes allowed. Only exact values are accepted: a number with more than
/// 28 decimal places or beyond ±79228162514264337593543950335 is an error, never rounded.
pub fn parse_decimal(text: &str) -> Result<Decimal, String> {
    let t = text.trim();
    let t = if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
        &t[1..t.len() - 1]
    } else {
        t
    };
    parse_exact(t, true)
}

/// Parses the text of a JSON *string* holding a decimal: only the plain form
/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?` is a decimal string, so `"1_000"`, `".5"`, `"5."`, `"+1"`,
/// `"1e5"` and `" 1"` are errors (a reader in another language would read them differently,
/// or not at all).
pub fn parse_decimal_string(text: &str) -> Result<Decimal, String> {
    parse_exact(text, false)
}

/// The largest mantissa a `Decimal` holds (2^96 − 1).
const MAX_MANTISSA: u128 = (1 << 96) - 1;
/// The most decimal places a `Decimal` holds.
const MAX_SCALE: i64 = 28;

/// Parses `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, with `([eE][+-]?[0-9]+)?` when `exponent`, into the
/// exact decimal it names, or says why it cannot.
fn parse_exact(t: &str, exponent: bool) -> Result<Decimal, String> {
    if let Some(d) = parse_plain(t.as_bytes()) {
        return Ok(d);
    }
    let shown = || t.chars().take(40).collect::<String>();
    let not_plain = || {
        if t.is_empty() {
            "expected a decimal number, found an empty string".to_string()
        } else if exponent {
            format!("`{}` is not a decimal number", shown())
        } else {
            format!(
                "`{}` is not a plain decimal (digits with an optional leading `-` and one `.` \
                 between digits; no `+`, `_`, exponent or spaces)",
                shown()
            )
        }
    };
    let out_of_range = || {
        format!(
            "`{}` is outside the decimal range (at most 28 decimal places and 29 significant \
             digits, magnitude at most 79228162514264337593543950335)",
            shown()
        )
    };
    let b = t.as_bytes();
    let neg = b.first() == Some(&b'-');
    let digits_from = |i: usize| i + b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    let int_start = usize::from(neg);
    let mut i = digits_from(int_start);
    let int = &b[int_start..i];
    if int.is_empty() || (int.len() > 1 && int[0] == b'0') {
        return Err(not_plain());
    }
    let mut frac: &[u8] = &[];
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = digits_from(start);
        frac = &b[start..i];
        if frac.is_empty() {
            return Err(not_plain());
        }
    }
    let mut exp: i64 = 0;
    if exponent && matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let exp_neg = b.get(i) == Some(&b'-');
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let start = i;
        i = digits_from(start);
        if start == i {
            return Err(not_plain());
        }
        // Any exponent past a few thousand is out of range whatever the digits; saturate.
        for c in &b[start..i] {
            exp = (exp * 10 + i64::from(c - b'0')).min(1_000_000);
        }
        if exp_neg {
            exp = -exp;
        }
    }
    if i != b.len() {
        return Err(not_plain());
    }
    // value = significant digits × 10^e, without leading or trailing zeros.
    let all = || int.iter().chain(frac.iter());
    let lead = all().take_while(|c| **c == b'0').count();
    let total = int.len() + frac.len();
    if lead == total {
        return Ok(Decimal::ZERO);
    }
    let trail = frac
        .iter()
        .rev()
        .chain(int.iter().rev())
        .take_while(|c| **c == b'0')
        .count();
    let sig = total - lead - trail;
    let mut e = exp - frac.len() as i64 + trail as i64;
    if sig > 29 {
        return Err(out_of_range());
    }
    let mut m: u128 = 0;
    for c in all().skip(lead).take(sig) {
        m = m * 10 + u128::from(c - b'0');
    }
    if e > 0 {
        m = u32::try_from(e)
            .ok()
            .and_then(|e| 10u128.checked_pow(e))
            .and_then(|p| m.checked_mul(p))
            .ok_or_else(out_of_range)?;
        e = 0;
    }
    if m > MAX_MANTISSA || -e > MAX_SCALE {
        return Err(out_of_range());
    }
    let m = m as i128;
    Decimal::try_from_i128_with_scale(if neg { -m } else { m }, (-e) as u32)
        .map_err(|_| out_of_range())
}

/// The fast path for the common case: a plain JSON number (`-?(0|[1-9][0-9]*)(\.[0-9]+)?`, no
/// exponent) of at most 28 significant digits. `None` for anything else, which then goes
/// through rust_decimal's general parser, so the result is the same either way.
pub fn parse_plain(b: &[u8]) -> Option<Decimal> {
    match parse_plain_prefix(b) {
        Some((d, n)) if n == b.len() => Some(d),
        _ => None,
    }
}

/// [`parse_plain`] of the number at the start of `b`, with the number of bytes it took; the
/// caller checks what follows. One pass, in 64-bit arithmetic up to 18 digits.
#[inline(always)]
pub fn parse_plain_prefix(b: &[u8]) -> Option<(Decimal, usize)> {
    let start = usize::from(b.first() == Some(&b'-'));
    let (mut m, int_len) = crate::swar::digits(&b[start..], 18);
    if int_len == 0 || (int_len > 1 && b[start] == b'0') {
        return None;
    }
    let mut i = start + int_len;
    let mut scale = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let (frac, n) = crate::swar::digits(&b[i..], 18 - int_len);
        if n == 0 && !b.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        m = m * crate::swar::POW10[n] + frac;
        i += n;
        scale = n as u32;
    }
    if b.get(i)
        .is_some_and(|c| c.is_ascii_digit() || *c == b'e' || *c == b'E' || *c == b'.')
    {
        return parse_wide(b);
    }
    let m = m as i64;
    let d = Decimal::try_new(if start == 1 { -m } else { m }, scale).ok()?;
    Some((d, i))
}

/// The rare plain number of 19 to 28 significant digits, in 128-bit arithmetic.
fn parse_wide(b: &[u8]) -> Option<(Decimal, usize)> {
    let start = usize::from(b.first() == Some(&b'-'));
    let digits = &b[start..];
    let int_len = digits
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    let mut end = int_len;
    let mut frac_len = 0;
    if digits.get(end) == Some(&b'.') {
        frac_len = digits[end + 1..]
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(digits.len() - end - 1);
        if frac_len == 0 {
            return None;
        }
        end += 1 + frac_len;
    }
    if int_len + frac_len > 28 || digits.get(end).is_some_and(|c| *c == b'e' || *c == b'E') {
        return None;
    }
    let mut m: i128 = 0;
    for c in digits[..end].iter().filter(|c| **c != b'.') {
        m = m * 10 + i128::from(c - b'0');
    }
    let d =
        Decimal::try_from_i128_with_scale(if start == 1 { -m } else { m }, frac_len as u32).ok()?;
    Some((d, start + end))
}

/// Serializes a decimal as an exact JSON number.
pub fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    let text = DecBuf::new(d);
    let mut st = s.serialize_struct(NUMBER_TOKEN, 1)?;
    st.serialize_field(NUMBER_TOKEN, text.as_str())?;
    st.end()
}

/// Deserializes a decimal from a JSON number or a decimal string, exactly.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    d.deserialize_newtype_struct(RAW_TOKEN, DecVisitor)
}

struct DecVisitor;

impl<'de> Visitor<'de> for DecVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a decimal number (a JSON number or a decimal string)")
    }
    /// A string (YAML, or a `serde_json::Value`): a decimal string, plain form only.
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
        parse_decimal_string(v).map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
        // Only non-JSON deserializers (YAML config) get here; the shortest round-trip text
        // of the float is what the user wrote.
        parse_decimal(&format!("{v}")).map_err(E::custom)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Decimal, D::Error> {
        d.deserialize_any(DecVisitor)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Decimal, A::Error> {
        // serde_json hands raw values and arbitrary-precision numbers over as a one-entry map
        // keyed by its private token; both key and text arrive borrowed from the input.
        match map.next_key::<Text<'de>>()? {
            Some(k) if k.0 == NUMBER_TOKEN => {
                let text: Text<'de> = map.next_value()?;
                parse_exact(&text.0, true).map_err(de::Error::custom)
            }
            Some(k) if k.0 == RAW_TOKEN => {
                let text: Text<'de> = map.next_value()?;
                from_raw(&text.0).map_err(de::Error::custom)
            }
            _ => Err(de::Error::custom(
                "expected a decimal number, found an object",
            )),
        }
    }
}

/// A decimal from the raw JSON text of a value: a number (any JSON number that is exactly a
/// decimal) or a string holding a plain decimal.
fn from_raw(raw: &str) -> Result<Decimal, String> {
    match raw.as_bytes().first() {
        Some(b'"') => {
            let inner = raw.get(1..raw.len() - 1).unwrap_or_default();
            if inner.contains('\\') {
                return Err("a decimal string cannot contain escapes".into());
            }
            parse_decimal_string(inner)
        }
        Some(b'-' | b'0'..=b'9') => parse_exact(raw, true),
        _ => Err(format!(
            "expected a decimal number, found `{}`",
            raw.chars().take(20).collect::<String>()
        )),
    }
}

/// A string taken borrowed when the deserializer can lend it, owned otherwise.
struct Text<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A `Decimal` that (de)serializes through this module, for containers (`Option`, arrays).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dec(pub Decimal);

impl serde::Serialize for Dec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize(&self.0, s)
    }
}

impl<'de> serde::Deserialize<'de> for Dec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize(d).map(Dec)
    }
}

/// A decimal held in a JSON value (a number or a decimal string, by the rules of events), as
/// configuration files give them; `None` for anything else.
pub fn decimal_of(v: &serde_json::Value) -> Option<Decimal> {
    serde::Deserialize::deserialize(v).ok().map(|d: Dec| d.0)
}

/// `Option<Decimal>` as a JSON number or `null`.
pub mod opt {
    use super::Dec;
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        d.map(Dec).serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        Ok(Option::<Dec>::deserialize(d)?.map(|x| x.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};
    use std::str::FromStr;

    #[test]
    fn decimals_from_columns_equal_the_parsers() {
        for (m, s) in [
            (10_001_000i128, 6u32),
            (10_000, 3),
            (-2_500, 2),
            (0, 8),
            (7, 0),
            (1, 28),
            (79_228_162_514_264_337_593_543_950_330, 1),
        ] {
            let want = Decimal::from_i128_with_scale(m, s).normalize();
            let got = plain_decimal(m, s).unwrap();
            assert_eq!((got, got.scale()), (want, want.scale()), "{m}e-{s}");
        }
        // 1e11 stored at scale 18 beside a value that needs it: a 100-bit mantissa.
        let wide = plain_decimal(100_000_000_000 * 10i128.pow(18), 18).unwrap();
        assert_eq!((wide, wide.scale()), (Decimal::from(100_000_000_000u64), 0));
        assert_eq!(plain_decimal(i128::MAX, 2), None);
    }

    #[test]
    fn decimals_become_the_nearest_double() {
        for s in [
            "0.3",
            "10.001",
            "10.22",
            "-2.675",
            "-3.5",
            "7",
            "0.00031099999999999997",
            "123456789.123456789",
            "123456.789012345678",
            "79228162514264337593543950335",
            "0.0000000000000000000000000001",
        ] {
            let d = parse_decimal(s).unwrap();
            assert_eq!(nearest_f64(d), s.parse::<f64>().unwrap(), "{s}");
        }
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct W {
        #[serde(with = "super")]
        x: Decimal,
        #[serde(with = "super::opt", default)]
        y: Option<Decimal>,
    }

    #[test]
    fn writes_numbers_without_float_artefacts() {
        let x = Decimal::from_str("0.1").unwrap() + Decimal::from_str("0.2").unwrap();
        let s = serde_json::to_string(&W { x, y: None }).unwrap();
        assert_eq!(s, r#"{"x":0.3,"y":null}"#);
        let s = serde_json::to_string(&W {
            x: Decimal::from_str("1.500").unwrap(),
            y: Some(Decimal::NEGATIVE_ONE),
        })
        .unwrap();
        assert_eq!(s, r#"{"x":1.5,"y":-1}"#);
    }

    #[test]
    fn reads_numbers_and_strings_exactly() {
        let w: W = serde_json::from_str(r#"{"x":0.00031099999999999997,"y":"12.5"}"#).unwrap();
        assert_eq!(w.x.to_string(), "0.00031099999999999997");
        assert_eq!(w.y, Some(Decimal::from_str("12.5").unwrap()));
        let w: W = serde_json::from_str(r#"{"x":1e-5}"#).unwrap();
        assert_eq!(w.x, Decimal::from_str("0.00001").unwrap());
        let v: serde_json::Value = serde_json::from_str(r#"{"x":"3.25","y":7}"#).unwrap();
        let w: W = serde_json::from_value(v).unwrap();
        assert_eq!(w.x, Decimal::from_str("3.25").unwrap());
        assert_eq!(w.y, Some(Decimal::from(7)));
    }

    #[test]
    fn fast_path_agrees_with_the_general_parser() {
        for t in [
            "0",
            "-0",
            "1",
            "10.5",
            "-0.00031099999999999997",
            "123456789012345678901234567.8",
            "9.9990",
        ] {
            assert_eq!(
                parse_plain(t.as_bytes()),
                Some(Decimal::from_str(t).unwrap()),
                "{t}"
            );
        }
        for t in [
            "",
            "-",
            "01",
            "1.",
            ".5",
            "1e5",
            "+1",
            "1.2.3",
            "12345678901234567890123456789",
            "1 ",
        ] {
            assert_eq!(parse_plain(t.as_bytes()), None, "{t}");
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_path_never_disagrees(t in "-?(0|[1-9][0-9]{0,30})(\\.[0-9]{1,30})?") {
            if let Some(d) = parse_plain(t.as_bytes()) {
                proptest::prop_assert_eq!(d, Decimal::from_str(&t).unwrap());
            } else {
                let digits = t.bytes().filter(u8::is_ascii_digit).count();
                proptest::prop_assert!(digits > 28, "{} fell back", t);
            }
        }
    }

    #[test]
    fn rejects_non_numbers() {
        for bad in [
            r#"{"x":"abc"}"#,
            r#"{"x":null}"#,
            r#"{"x":true}"#,
            r#"{"x":{}}"#,
            r#"{"x":"1\u0030"}"#,
        ] {
            assert!(serde_json::from_str::<W>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn decimal_strings_are_plain_decimals_only() {
        for bad in [
            "1_000", ".5", "5.", "+1", "1e5", "1E5", " 1", "1 ", "01", "0x10", "-", "", "1.2.3",
            "NaN", "inf", "--1", "1,5",
        ] {
            let line = format!(r#"{{"x":"{bad}"}}"#);
            let e = serde_json::from_str::<W>(&line).unwrap_err().to_string();
            assert!(
                e.contains("not a plain decimal") || e.contains("empty string"),
                "{bad}: {e}"
            );
            // The same through a `Value` (and so through YAML strings).
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert!(serde_json::from_value::<W>(v).is_err(), "{bad}");
        }
        for (good, want) in [("-0", "0"), ("0.50", "0.5"), ("-12.5", "-12.5"), ("7", "7")] {
            let w: W = serde_json::from_str(&format!(r#"{{"x":"{good}"}}"#)).unwrap();
            assert_eq!(w.x, Decimal::from_str(want).unwrap(), "{good}");
        }
    }

    #[test]
    fn numbers_outside_the_decimal_range_are_errors() {
        for bad in [
            "1e29",
            "79228162514264337593543950336",
            "-79228162514264337593543950336",
            "1e-29",
            "0.12345678901234567890123456789",
            "123456789012345678901234567890",
            "1e1000000000000",
            "1e-1000000000000",
        ] {
            let e = serde_json::from_str::<W>(&format!(r#"{{"x":{bad}}}"#))
                .unwrap_err()
                .to_string();
            assert!(e.contains("outside the decimal range"), "{bad}: {e}");
            let e = serde_json::from_str::<W>(&format!(r#"{{"x":"{bad}"}}"#)).unwrap_err();
            assert!(!e.to_string().is_empty());
            assert!(parse_decimal(bad).is_err(), "{bad}");
        }
        for (good, want) in [
            (
                "79228162514264337593543950335",
                "79228162514264337593543950335",
            ),
            ("1e28", "10000000000000000000000000000"),
            ("1.5e-27", "0.0000000000000000000000000015"),
            ("0.1000000000000000000000000000000000", "0.1"),
            ("0e999", "0"),
            ("-2.50E+2", "-250"),
            (
                "0.0000000000000000000000000001",
                "0.0000000000000000000000000001",
            ),
        ] {
            let w: W = serde_json::from_str(&format!(r#"{{"x":{good}}}"#)).unwrap();
            assert_eq!(w.x, Decimal::from_str(want).unwrap(), "{good}");
            assert_eq!(parse_decimal(good), Ok(w.x), "{good}");
        }
    }

    proptest::proptest! {
        /// The general path reads the value rust_decimal reads.
        #[test]
        fn exact_path_agrees_with_rust_decimal(
            t in "-?(0|[1-9][0-9]{0,30})(\\.[0-9]{1,30})?(e-?[0-9]{1,2})?"
        ) {
            let r = if t.contains('e') {
                Decimal::from_scientific(&t)
            } else {
                Decimal::from_str(&t)
            };
            // rust_decimal refuses some exact values (`1.000…0e-20`) and rounds others: a
            // mantissa of more than 28 digits (`0.000…01e1` reads as 0). Where it reads an
            // unrounded mantissa and both read a value, it is the same one.
            let mantissa = t.split('e').next().unwrap_or_default();
            let digits = mantissa.bytes().filter(u8::is_ascii_digit).count();
            if digits <= 28
                && let (Ok(d), Ok(r)) = (parse_decimal(&t), r)
            {
                proptest::prop_assert_eq!(d, r);
            }
        }
    }

    #[test]
    fn to_value_keeps_exact_digits() {
        let v = serde_json::to_value(W {
            x: Decimal::from_str("0.123456789012345678901").unwrap(),
            y: None,
        })
        .unwrap();
        assert_eq!(v["x"].to_string(), "0.123456789012345678901");
    }
}
