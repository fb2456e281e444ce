//! One line of NDJSON as every reader of events judges it: the stdio stages, `njord-bus
//! check`, `njord-replay`, `njord-journal verify` and the journal readers all call
//! [`Decoder::line`], so a line one of them accepts none of them rejects.

use super::{Decoder, Event};

/// A line's text (without its `\n`) less a trailing `\r`; `None` for a blank line (only
/// whitespace), which every reader skips. Skipped lines still count in line numbers.
pub fn line_text(line: &[u8]) -> Option<&[u8]> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    (!line.iter().all(u8::is_ascii_whitespace)).then_some(line)
}

impl Decoder {
    /// Judges one line (without its `\n`): `None` when it is blank, else its text and event,
    /// or why it is not a well-formed event (not UTF-8, not JSON, a missing or mistyped
    /// field, a number that is not an exact decimal, a duplicate key, a rule of
    /// [`validate`](super::validate) broken).
    pub fn line<'a>(&mut self, raw: &'a [u8]) -> Option<Result<(&'a str, Event<'a>), String>> {
        let raw = line_text(raw)?;
        Some(
            simdutf8::compat::from_utf8(raw)
                .map_err(|e| format!("not UTF-8: {e}"))
                .and_then(|text| {
                    self.decode(text)
                        .map(|ev| (text, ev))
                        .map_err(|e| e.to_string())
                }),
        )
    }
}

/// [`Decoder::line`] for a reader that judges lines one at a time.
pub fn judge_line(raw: &[u8]) -> Option<Result<(&str, Event<'_>), String>> {
    Decoder::default().line(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_crlf_and_bad_bytes() {
        assert!(judge_line(b"").is_none());
        assert!(judge_line(b" \t\r").is_none());
        let t = br#"{"kind":"cancel","intent_id":"i","ts_ns":1}"#;
        let mut crlf = t.to_vec();
        crlf.push(b'\r');
        let (text, _) = judge_line(&crlf).unwrap().unwrap();
        assert_eq!(text.as_bytes(), t);
        let e = judge_line(b"{\"kind\":\"cancel\",\"intent_id\":\"\xff\",\"ts_ns\":1}")
            .unwrap()
            .unwrap_err();
        assert!(e.starts_with("not UTF-8"), "{e}");
    }
}
