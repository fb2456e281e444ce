//! Validation of event streams and journals (`njord-bus check`): every line decoded, every bad
//! one reported as `file:line: reason`. Blocks of whole lines are validated in parallel and
//! reported in input order, so the output is the same whatever the thread count.

use crate::event;
use crate::journal::{JournalReader, LineError};
use rayon::prelude::*;

/// The outcome of one block of lines.
#[derive(Debug, Default)]
pub struct BlockReport {
    /// The good lines, each with its `\n`, when forwarding.
    pub forwarded: Vec<u8>,
    pub errors: Vec<String>,
    pub good: u64,
    pub bad: u64,
}

/// Validates a block of whole lines whose first line is number `first`.
pub fn validate_block(name: &str, first: u64, block: &[u8], forward: bool) -> BlockReport {
    let mut r = BlockReport::default();
    let mut decoder = event::Decoder::default();
    let mut lineno = first;
    let mut start = 0;
    while start < block.len() {
        let (end, next, terminated) = match memchr::memchr(b'\n', &block[start..]) {
            Some(i) => (start + i, start + i + 1, true),
            None => (block.len(), block.len(), false),
        };
        if let Some(verdict) = decoder.line(&block[start..end]) {
            match verdict {
                Ok((line, _)) => {
                    r.good += 1;
                    if forward {
                        r.forwarded.extend_from_slice(line.as_bytes());
                        r.forwarded.push(b'\n');
                    }
                }
                Err(reason) => {
                    r.bad += 1;
                    r.errors.push(if terminated {
                        format!("{name}:{lineno}: {reason}")
                    } else {
                        format!("{name}:{lineno}: {}", crate::journal::torn_reason(&reason))
                    });
                }
            }
        }
        lineno += 1;
        start = next;
    }
    r
}

/// Validates a whole reader, handing each block's report to `sink` in input order. A read
/// error (a truncated gzip member) is reported and ends that input.
pub fn validate(reader: &mut JournalReader, forward: bool, mut sink: impl FnMut(BlockReport)) {
    const BLOCK: usize = 1 << 20;
    let batch = rayon::current_num_threads().max(1) * 2;
    let name = reader.name().to_string();
    loop {
        let mut blocks: Vec<(u64, Vec<u8>)> = Vec::with_capacity(batch);
        let mut failure: Option<LineError> = None;
        while blocks.len() < batch {
            let mut buf = Vec::with_capacity(BLOCK + 4096);
            match reader.next_block(&mut buf, BLOCK) {
                Ok(Some(first)) => blocks.push((first, buf)),
                Ok(None) => break,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let done = blocks.len() < batch;
        let reports: Vec<BlockReport> = blocks
            .par_iter()
            .map(|(first, b)| validate_block(&name, *first, b, forward))
            .collect();
        reports.into_iter().for_each(&mut sink);
        if let Some(e) = failure {
            sink(BlockReport {
                errors: vec![e.to_string()],
                bad: 1,
                ..Default::default()
            });
            return;
        }
        if done {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = r#"{"kind":"trade","symbol":"A/B","trade_id":"1","price":1,"qty":1,"side":"buy","ts_ns":1}"#;

    #[test]
    fn numbers_lines_across_blocks_and_reports_torn_tail() {
        let mut text = String::new();
        for i in 0..50_000 {
            text.push_str(if i == 30_000 { "oops\n" } else { T });
            if i != 30_000 {
                text.push('\n');
            }
        }
        text.push_str("\n{\"kind\":\"tr");
        let mut r = JournalReader::sniff("t", std::io::Cursor::new(text.into_bytes())).unwrap();
        let (mut good, mut errors, mut out) = (0, vec![], 0);
        validate(&mut r, true, |b| {
            good += b.good;
            errors.extend(b.errors);
            out += b.forwarded.len();
        });
        assert_eq!(good, 49_999);
        assert_eq!(out, 49_999 * (T.len() + 1));
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("t:30001: not JSON"), "{errors:?}");
        assert!(
            errors[1].starts_with("t:50002: torn last line"),
            "{errors:?}"
        );
    }
}
