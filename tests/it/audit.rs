//! The audit trail's record format (docs/audit.md): the documented test vectors are what the
//! Rust core computes, and the documented stdlib-only Python verifier accepts a trail the core
//! seals and names each kind of tampering in it.

use njord::audit::{GENESIS, Head, hash_of, seal, verify};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn doc() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/audit.md")).unwrap()
}

/// The body of the first fenced block whose info string starts with `info`.
fn block(text: &str, info: &str) -> String {
    let start = text
        .find(&format!("```{info}"))
        .unwrap_or_else(|| panic!("no ```{info} block"));
    let body = &text[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("\n```").unwrap()].to_string()
}

#[test]
fn the_documented_vectors_are_what_the_core_computes() {
    let lines = block(&doc(), "ndjson vectors");
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 3);
    for l in &lines {
        let v: Value = serde_json::from_str(l).unwrap();
        assert_eq!(hash_of(&v).unwrap(), v["hash"].as_str().unwrap(), "{l}");
    }
    let start = Head {
        hash: GENESIS.into(),
        seq: 0,
    };
    assert_eq!(verify(lines, start, false).unwrap().seq, 3);
}

/// A trail of `n` records as the core seals them: decimals, text with escapes, nested caps.
fn trail(n: u64) -> Vec<String> {
    let mut prev = (GENESIS.to_string(), 0);
    (0..n)
        .map(|i| {
            let body: Value = serde_json::from_str(&format!(
                r#"{{"kind":"decision","intent_id":"s-{i}","allowed":{},"reason":"ünïcode \"{i}\"\n","caps":{{"notional_usd":1{i}.50,"ref_price":9.9290}},"ts_ns":{}}}"#,
                i % 2 == 0,
                1_704_067_200_000_000_000u64 + i
            ))
            .unwrap();
            let r = seal(body.as_object().unwrap().clone(), (&prev.0, prev.1)).unwrap();
            prev = (r["hash"].as_str().unwrap().to_string(), i + 1);
            r.to_string()
        })
        .collect()
}

#[test]
fn the_documented_python_verifier_checks_a_trail_the_core_seals() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("verify.py");
    std::fs::write(&script, block(&doc(), "python")).unwrap();
    let check = |lines: &[String], newline: bool| {
        let path = dir.path().join("trail.ndjson");
        let mut text = lines.join("\n");
        if newline {
            text.push('\n');
        }
        std::fs::write(&path, text).unwrap();
        let out = Command::new("python3")
            .arg(&script)
            .arg(&path)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let t = trail(50);
    let (code, said) = check(&t, true);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.starts_with("ok: 50 records"), "{said}");
    let mut edited = t.clone();
    edited[20] = edited[20].replace("\"s-20\"", "\"s-99\"");
    let (code, said) = check(&edited, true);
    assert_eq!(code, Some(1));
    assert!(said.contains("trail.ndjson:21: modified"), "{said}");
    let mut deleted = t.clone();
    deleted.remove(0);
    let (code, said) = check(&deleted, true);
    assert_eq!(code, Some(1));
    assert!(said.contains(":1: seq 2 where 1 was due"), "{said}");
    let mut torn = t.clone();
    let last = torn.pop().unwrap();
    torn.push(last[..last.len() / 3].to_string());
    let (code, said) = check(&torn, false);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains(":50: torn last line"), "{said}");
}
