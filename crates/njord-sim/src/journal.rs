//! The request journal (`--journal FILE`): one JSON line per HTTP request, response (with
//! the signature verdict), WebSocket connection and frame in or out, for tests to assert on.
//! API keys and secrets are never written; only whether a key was sent.

use serde_json::{Value, json};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

pub struct Journal {
    out: Mutex<BufWriter<File>>,
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

impl Journal {
    pub fn create(path: &Path) -> std::io::Result<Self> {
        Ok(Journal {
            out: Mutex::new(BufWriter::new(File::create(path)?)),
        })
    }

    /// Appends one record, stamped `ts_ns`, and flushes so readers see it at once.
    pub fn write(&self, mut rec: Value) {
        if let Value::Object(m) = &mut rec {
            m.insert("ts_ns".into(), json!(now_ns()));
        }
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = serde_json::to_writer(&mut *out, &rec);
        let _ = out.write_all(b"\n");
        let _ = out.flush();
    }

    pub fn ws(&self, conn: u64, dir: &str, text: &str) {
        self.write(json!({"type": dir, "conn": conn, "text": text}));
    }
}
