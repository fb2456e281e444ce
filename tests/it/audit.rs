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

/// A directory with a configuration that writes the audit trail (signed checkpoints every
/// `every` records, anchors in a second directory, files rotated at `rotate` bytes).
struct Setup {
    dir: tempfile::TempDir,
    public: String,
}

impl Setup {
    fn new(every: u64, rotate: u64) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let key = d.join("audit.key");
        let out = audit(d)
            .args(["keygen", "--out"])
            .arg(&key)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        let public = said.lines().last().unwrap().trim().to_string();
        std::fs::write(
            d.join("cfg.yaml"),
            format!(
                "journal:\n  dir: {j}\naudit:\n  enabled: true\n  dir: {a}\n  checkpoint_records: {every}\n  \
                 rotate_max_bytes: {rotate}\n  compress_rotated: false\n  key_file: {k}\n  public_key: {public}\n  \
                 anchor_dir: {h}\nrisk:\n  kill_switch_file: {kill}\n",
                j = d.join("j").display(),
                a = d.join("audit").display(),
                k = key.display(),
                h = d.join("anchors").display(),
                kill = d.join("kill").display(),
            ),
        )
        .unwrap();
        Setup { dir, public }
    }

    fn path(&self, p: &str) -> std::path::PathBuf {
        self.dir.path().join(p)
    }

    fn cmd(&self, bin: &str) -> Command {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin(bin));
        c.arg("--config").arg(self.path("cfg.yaml"));
        c.env("NJORD__LOGGING__JSON_FILE", "false");
        c
    }

    /// `njord-audit verify` of the trail: exit code and what it printed.
    fn verify(&self, extra: &[&str]) -> (Option<i32>, String) {
        let out = self
            .cmd("njord-audit")
            .arg("verify")
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }

    /// Runs `njord-risk | njord-paper` over `input`.
    fn pipeline(&self, input: &[u8]) {
        let risk = self
            .cmd("njord-risk")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut risk = risk;
        let paper = self
            .cmd("njord-paper")
            .stdin(risk.stdout.take().unwrap())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        risk.stdin.take().unwrap().write_all(input).unwrap();
        assert!(risk.wait_with_output().unwrap().status.success());
        assert!(paper.wait_with_output().unwrap().status.success());
    }
}

fn audit(dir: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("njord-audit"));
    c.current_dir(dir).env("NJORD__LOGGING__JSON_FILE", "false");
    c
}

fn demo_tape() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo_intents.ndjson"))
        .unwrap()
}

#[test]
fn a_pipeline_is_audited_signed_anchored_and_its_decisions_replay_identically() {
    let s = Setup::new(7, 0);
    s.pipeline(&demo_tape());
    // The kill switch tripped from the CLI (recorded with its source), then a run that is
    // denied `halted`, then cleared.
    let tripped = s
        .cmd("njord-kill")
        .args(["trip", "--reason", "audit test"])
        .output()
        .unwrap();
    assert!(tripped.status.success());
    s.pipeline(&demo_tape());
    assert!(
        s.cmd("njord-kill")
            .args(["clear", "--source", "control API token ops"])
            .status()
            .unwrap()
            .success()
    );
    s.pipeline(&demo_tape());

    let (code, said) = s.verify(&[]);
    assert_eq!(code, Some(0), "{said}");
    for chain in ["njord-risk", "njord-paper", "njord-kill"] {
        assert!(said.contains(&format!("{chain}: ")), "{said}");
    }
    assert!(
        said.contains("signed and checked") && said.contains("intact"),
        "{said}"
    );
    assert!(
        !said.contains(" 0 anchors"),
        "anchors are checked by default: {said}"
    );
    // Another key's checkpoints are refused.
    let other = "ab".repeat(32);
    let (code, said) = s.verify(&["--public-key", &other]);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("bad signature") && said.contains("not by audit.public_key"),
        "{said}"
    );
    assert_ne!(other, s.public);

    let out = s.cmd("njord-audit").arg("replay").output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("njord-risk: 66 intents re-decided, 66 decisions identical, 0 differences"),
        "{said}"
    );
    // The same chain as written before one record per intent: an intent record, then its
    // decision. It replays the same.
    let legacy = s.path("legacy");
    std::fs::create_dir(&legacy).unwrap();
    let (mut prev, mut seq, mut lines) = (GENESIS.to_string(), 0u64, String::new());
    for file in files_of(&s.path("audit"), "njord-risk") {
        for line in std::fs::read_to_string(file).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            let mut body = v.as_object().unwrap().clone();
            for k in ["seq", "prev", "hash", "intent", "ext", "prices"] {
                body.remove(k);
            }
            let mut records = vec![body];
            if let Some(intent) = v.get("intent") {
                let mut first = serde_json::Map::new();
                first.insert("kind".into(), Value::from("intent"));
                first.insert("event".into(), intent.clone());
                first.insert("ext".into(), v["ext"].clone());
                first.insert("ts_ns".into(), v["ts_ns"].clone());
                if let Some(p) = v.get("prices") {
                    first.insert("prices".into(), p.clone());
                }
                records.insert(0, first);
            }
            for body in records.into_iter().filter(|b| b["kind"] != "checkpoint") {
                let (sealed, hash) = njord::audit::seal_line(body, (&prev, seq)).unwrap();
                lines.push_str(&(sealed + "\n"));
                (prev, seq) = (hash, seq + 1);
            }
        }
    }
    assert!(lines.contains("\"kind\":\"intent\""));
    std::fs::write(legacy.join("audit.njord-risk.ndjson"), lines).unwrap();
    let out = audit(s.path("").as_path())
        .arg("replay")
        .arg(&legacy)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("njord-risk: 66 intents re-decided, 66 decisions identical, 0 differences"),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = s
        .cmd("njord-audit")
        .args(["trace", "demo-1"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    for step in [
        "njord-risk#",
        " intent ",
        " decision ",
        " order ",
        "njord-paper#",
        " fill ",
    ] {
        assert!(said.contains(step), "{step} missing from\n{said}");
    }
    let report = |format: &str| {
        let out = s
            .cmd("njord-audit")
            .args([
                "report",
                "--from",
                "2026-01-05",
                "--to",
                "2026-01-06",
                "--format",
                format,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let json: Value = serde_json::from_str(&report("json")).unwrap();
    assert_eq!(json["orders"].as_array().unwrap().len(), 18);
    assert!(json["fills"][0]["fee_asset"] == "USDT" && json["fills"][0]["liquidity"] == "taker");
    assert_eq!(json["pnl"][0]["strategy"], "demo", "{json}");
    let denials = json["denials"].to_string();
    assert!(
        denials.contains("halted") && denials.contains("duplicate_intent"),
        "{denials}"
    );
    // Kill-switch actions are recorded with their time, so they fall in the wall-clock day.
    let csv = report("csv");
    assert!(
        csv.starts_with("section,") && csv.contains("\nfills,njord-paper,"),
        "{csv}"
    );
    assert!(report("html").contains("<h2>denials</h2>"));
    let kills = s
        .cmd("njord-audit")
        .args(["report", "--from", "2026-01-01", "--to", "2100-01-01"])
        .output()
        .unwrap();
    let kills: Value = serde_json::from_slice(&kills.stdout).unwrap();
    let states = kills["trading_state"].to_string();
    assert!(
        states.contains("\"trip\"")
            && states.contains("control API token ops")
            && states.contains("\"source\":\"cli\""),
        "{states}"
    );

    // The documented Python verifier agrees with the real trail.
    let script = s.path("verify.py");
    std::fs::write(&script, block(&doc(), "python")).unwrap();
    let out = Command::new("python3")
        .arg(&script)
        .arg(s.path("audit/audit.njord-risk.ndjson"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The lines of a chain's files, in order.
fn files_of(dir: &Path, chain: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n.starts_with(&format!("audit.{chain}.")) && n.ends_with(".ndjson")
        })
        .collect();
    // Rotated files by date and number, then the open one.
    files.sort_by_key(|p| {
        let n = p.file_name().unwrap().to_string_lossy().to_string();
        let rest = n[format!("audit.{chain}.").len()..]
            .trim_end_matches(".ndjson")
            .to_string();
        let mut parts = rest.split('.').map(|x| x.parse::<u64>().unwrap_or(0));
        (
            rest.is_empty() || rest == "ndjson",
            parts.next().unwrap_or(0),
            parts.next().unwrap_or(0),
        )
    });
    files
}

/// What a forger without the key can do: turn the first decision's `allowed` to false,
/// drop every checkpoint if asked, and re-seal the whole chain (checkpoints kept are made to
/// close the forged records), so the hash chain is whole again.
fn forge(files: &mut [Vec<String>], drop_checkpoints: bool) {
    let (mut prev, mut seq) = (GENESIS.to_string(), 0u64);
    let mut edited = false;
    for file in files.iter_mut() {
        let mut forged = Vec::with_capacity(file.len());
        for line in file.iter() {
            let v: Value = serde_json::from_str(line).unwrap();
            if drop_checkpoints && v["kind"] == "checkpoint" {
                continue;
            }
            let mut body = v.as_object().unwrap().clone();
            for k in ["seq", "prev", "hash"] {
                body.remove(k);
            }
            if !edited && v["kind"] == "decision" {
                let e = v["event"]
                    .as_str()
                    .unwrap()
                    .replace("\"allowed\":true", "\"allowed\":false");
                body.insert("event".into(), Value::from(e));
                edited = true;
            }
            if v["kind"] == "checkpoint" {
                body.insert("head".into(), Value::from(prev.as_str()));
                body.insert("count".into(), Value::from(seq));
            }
            let (sealed, hash) = njord::audit::seal_line(body, (&prev, seq)).unwrap();
            forged.push(sealed);
            (prev, seq) = (hash, seq + 1);
        }
        *file = forged;
    }
}

/// Intents enough for a few hundred records.
fn intents_tape(n: u64) -> Vec<u8> {
    let mut out = String::new();
    let t0 = 1_767_571_200_000_000_000i64;
    for i in 0..n as i64 {
        out.push_str(&crate::support::trade_line(
            "ATOM/USDT",
            i as u64,
            "10.5",
            t0 + i * 1_000_000_000,
        ));
        out.push('\n');
        out.push_str(&format!(
            r#"{{"kind":"intent","id":"t-{i}","ts_ns":{},"strategy_id":"s","symbol":"ATOM/USDT","side":"buy","type":"market","qty":1}}"#,
            t0 + i * 1_000_000_000 + 1
        ));
        out.push('\n');
    }
    out.into_bytes()
}

#[test]
fn every_tamper_is_found_at_the_start_middle_end_and_across_a_rotation() {
    let s = Setup::new(25, 20_000);
    let out = s
        .cmd("njord-risk")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut risk = out;
    use std::io::Write as _;
    risk.stdin
        .take()
        .unwrap()
        .write_all(&intents_tape(60))
        .unwrap();
    assert!(risk.wait().unwrap().success());
    let dir = s.path("audit");
    let files = files_of(&dir, "njord-risk");
    assert!(files.len() >= 3, "rotated: {files:?}");
    let (code, said) = s.verify(&[]);
    assert_eq!(code, Some(0), "{said}");
    let original: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    let restore = || {
        for (f, t) in files.iter().zip(&original) {
            std::fs::write(f, t).unwrap();
        }
    };
    let lines_of = |i: usize| original[i].lines().map(str::to_string).collect::<Vec<_>>();
    let write =
        |i: usize, lines: &[String]| std::fs::write(&files[i], lines.join("\n") + "\n").unwrap();
    let last = files.len() - 1;
    let name = |i: usize| files[i].file_name().unwrap().to_string_lossy().to_string();
    // (file, line index): the start of the trail, the middle of a file, the end of the trail,
    // the last line before a rotation and the first after it.
    let first_len = lines_of(0).len();
    let spots = [
        (0, 0),
        (1, lines_of(1).len() / 2),
        (last, lines_of(last).len() - 2),
        (0, first_len - 1),
        (1, 0),
    ];
    for (f, i) in spots {
        let at = format!("{}:{}", name(f), i + 1);
        // Modified: a digit of the record changed, its hash kept.
        let mut l = lines_of(f);
        l[i] = l[i]
            .replacen("\"seq\":", "\"seq\": ", 1)
            .replacen("\"ts_ns\":1", "\"ts_ns\":2", 1);
        write(f, &l);
        let (code, said) = s.verify(&[]);
        assert_eq!(code, Some(1), "{said}");
        assert!(
            said.contains(&format!("{at}: modified")),
            "modify {at}: {said}"
        );
        restore();
        // Deleted.
        let mut l = lines_of(f);
        l.remove(i);
        write(f, &l);
        let (code, said) = s.verify(&[]);
        assert_eq!(code, Some(1), "{said}");
        let kind = if f == last && i + 1 == lines_of(f).len() {
            "truncated"
        } else {
            "deleted"
        };
        assert!(
            said.contains(kind) || said.contains("file replaced"),
            "delete {at}: {said}"
        );
        restore();
        // Inserted: a copy of another record.
        let mut l = lines_of(f);
        let copy = l[(i + 3) % l.len()].clone();
        l.insert(i, copy);
        write(f, &l);
        let (code, said) = s.verify(&[]);
        assert_eq!(code, Some(1), "{said}");
        assert!(said.contains(&format!("{at}: ")), "insert {at}: {said}");
        restore();
        // Reordered: swapped with the next record of the same file.
        let mut l = lines_of(f);
        if i + 1 < l.len() {
            l.swap(i, i + 1);
            write(f, &l);
            let (code, said) = s.verify(&[]);
            assert_eq!(code, Some(1), "{said}");
            assert!(said.contains(&format!("{at}: ")), "reorder {at}: {said}");
            restore();
        }
    }
    // Truncated after the last anchor: the last records cut, the file kept whole.
    let mut l = lines_of(last);
    l.truncate(l.len() - 1);
    write(last, &l);
    let (code, said) = s.verify(&[]);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("truncated") && said.contains("anchors/njord-risk.head"),
        "{said}"
    );
    restore();
    // A file replaced by a chain of its own, valid from genesis.
    let mut prev = (GENESIS.to_string(), 0u64);
    let forged: Vec<String> = (0..5)
        .map(|i| {
            let body = serde_json::json!({"kind": "note", "ts_ns": i});
            let (line, hash) =
                njord::audit::seal_line(body.as_object().unwrap().clone(), (&prev.0, prev.1))
                    .unwrap();
            prev = (hash, prev.1 + 1);
            line
        })
        .collect();
    write(1, &forged);
    let (code, said) = s.verify(&[]);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains(&format!("{}:1: file replaced", name(1))),
        "{said}"
    );
    restore();
    // A forger who rewrites a record and re-seals every later one keeps the chain whole,
    // but cannot sign: the next checkpoint's signature gives it away.
    let mut chain: Vec<Vec<String>> = (0..files.len()).map(lines_of).collect();
    forge(&mut chain, false);
    for (i, l) in chain.iter().enumerate() {
        write(i, l);
    }
    let (code, said) = s.verify(&[]);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("bad signature") && said.contains("does not verify"),
        "{said}"
    );
    // The replay checks signatures too, and refuses the forged chain ...
    let out = s.cmd("njord-audit").arg("replay").output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("not replaying a broken chain") && said.contains("bad signature"),
        "{said}"
    );
    // ... and without a public key, where the chain looks whole, it still finds the decision
    // the rules in force do not give, and prints both versions.
    let cfg = std::fs::read_to_string(s.path("cfg.yaml")).unwrap();
    let keyless: String = cfg
        .lines()
        .filter(|l| !l.contains("public_key"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(s.path("keyless.yaml"), keyless).unwrap();
    let out = audit(s.dir.path())
        .arg("--config")
        .arg(s.path("keyless.yaml"))
        .arg("replay")
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    let audited = said
        .lines()
        .find(|l| l.trim_start().starts_with("audited:"))
        .unwrap_or_default();
    let replayed = said
        .lines()
        .find(|l| l.trim_start().starts_with("replayed:"))
        .unwrap_or_default();
    assert!(said.contains(" 1 differences"), "{said}");
    assert!(
        audited.contains("\"allowed\":false") && replayed.contains("\"allowed\":true"),
        "{said}"
    );
    restore();
    // Closed files gzipped: the chain reads the same.
    for f in &files[..last] {
        let gz = std::process::Command::new("gzip").arg(f).status().unwrap();
        assert!(gz.success());
    }
    let (code, said) = s.verify(&[]);
    assert_eq!(code, Some(0), "{said}");
    // No trail where one is asked for: a usage error.
    let (code, said) = s.verify(&[s.path("anchors").to_str().unwrap()]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("no audit trail"), "{said}");
}

#[test]
fn kill_9_mid_write_leaves_a_verifiable_prefix_and_the_chain_resumes() {
    let s = Setup::new(50, 0);
    let mut risk = s
        .cmd("njord-risk")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = risk.stdin.take().unwrap();
    let tape = intents_tape(200_000);
    let writer = std::thread::spawn(move || {
        use std::io::Write as _;
        let _ = stdin.write_all(&tape);
    });
    let trail = s.path("audit/audit.njord-risk.ndjson");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::fs::metadata(&trail).map(|m| m.len()).unwrap_or(0) < 2_000_000 {
        assert!(std::time::Instant::now() < deadline, "the trail never grew");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    risk.kill().unwrap();
    risk.wait().unwrap();
    let _ = writer.join();
    let (code, said) = s.verify(&["--anchor", s.path("anchors").to_str().unwrap()]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.matches("torn last line").count() <= 1, "{said}");
    // A crash mid-line, for certain: half a record at the end.
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&trail)
        .unwrap();
    f.write_all(br#"{"event":"{\"kind\":\"intent\",\"id\":\"t-9"#)
        .unwrap();
    drop(f);
    let (code, said) = s.verify(&[]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("torn last line"), "{said}");
    let before: u64 = said
        .split(" records")
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // The next run moves the torn line aside and continues the chain.
    let mut risk = s
        .cmd("njord-risk")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    risk.stdin
        .take()
        .unwrap()
        .write_all(&intents_tape(5))
        .unwrap();
    assert!(risk.wait().unwrap().success());
    let (code, said) = s.verify(&[]);
    assert_eq!(code, Some(0), "{said}");
    assert!(!said.contains("torn"), "{said}");
    let after: u64 = said
        .split(" records")
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(after > before + 5, "{before} -> {after}");
    let aside: Vec<String> = crate::support::file_names(&s.path("audit"))
        .into_iter()
        .filter(|n| n.contains(".torn-"))
        .collect();
    assert_eq!(aside.len(), 1, "the torn line is kept aside");
}

#[test]
fn a_live_broker_audits_its_orders_fills_and_the_venue_clock_and_never_a_secret() {
    use crate::broker::{Env, KEY, SECRET, Sim, kind, order};
    let sim = Sim::start(&[]);
    let mut env = Env::new(Some(&sim)).live();
    let trail = env.path("audit");
    env.set("NJORD__AUDIT__ENABLED", "true");
    env.set("NJORD__AUDIT__DIR", trail.to_str().unwrap());
    env.set("NJORD__BROKER__CLOCK_SYNC_INTERVAL_MS", "1000");
    let mut b = env.spawn(&["--emit-only"]);
    b.wait_for(20, kind("balance"));
    b.send(order("aud-1", "buy", "market", "0.3", None));
    b.wait_for(20, kind("fill"));
    // The hourly re-measurement, here every second: its record is the readiness signal.
    let file = trail.join("audit.njord-broker.ndjson");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::read_to_string(&file)
        .unwrap_or_default()
        .matches("\"kind\":\"clock_offset\"")
        .count()
        < 2
    {
        if std::time::Instant::now() > deadline {
            let (_, _, stderr) = b.finish();
            panic!(
                "no second clock measurement: {stderr}\n{:?}\n{}",
                crate::support::file_names(&trail),
                std::fs::read_to_string(&file).unwrap_or_default()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (code, _, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains(KEY) && !text.contains(SECRET),
        "a secret in the trail"
    );
    for kind in [
        "start",
        "config",
        "order_update",
        "fill",
        "clock_offset",
        "stop",
        "checkpoint",
    ] {
        assert!(
            text.contains(&format!("\"kind\":\"{kind}\"")),
            "no {kind} record"
        );
    }
    let run = |args: &[&str]| {
        let out = audit(&env.path(""))
            .args(args)
            .arg(&trail)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, said) = run(&["verify"]);
    assert_eq!(code, Some(0), "{said}");
    let (code, said) = run(&["trace", "aud-1"]);
    assert_eq!(code, Some(0), "{said}");
    for step in ["order_update", "fill"] {
        assert!(said.contains(step), "{step} missing from\n{said}");
    }
    let (code, said) = run(&["report", "--from", "2026-01-01", "--to", "2100-01-01"]);
    assert_eq!(code, Some(0), "{said}");
    let r: Value = serde_json::from_str(&said[..said.rfind('}').unwrap() + 1]).unwrap();
    assert!(
        r["clock_offset"][0]["measurements"].as_u64().unwrap() >= 2,
        "{said}"
    );
    assert_eq!(r["fills"][0]["intent_id"], "aud-1", "{said}");
}

/// Waits until the chain file holds `needle` `n` times (the records are the readiness signal).
fn wait_for_records(file: &Path, needle: &str, n: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::fs::read_to_string(file)
        .unwrap_or_default()
        .matches(needle)
        .count()
        < n
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{needle} x{n} never reached {}",
            file.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_reload_mid_run_is_recorded_and_the_replay_applies_the_caps_then_in_force() {
    let s = Setup::new(1000, 0);
    let mut risk = s
        .cmd("njord-risk")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = risk.stdin.take().unwrap();
    let tape = String::from_utf8(demo_tape()).unwrap();
    let lines: Vec<&str> = tape.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    use std::io::Write as _;
    let file = s.path("audit/audit.njord-risk.ndjson");
    let decided = |part: &[&str]| {
        part.iter()
            .filter(|l| l.contains("\"kind\":\"intent\""))
            .count()
    };
    stdin
        .write_all((first.join("\n") + "\n").as_bytes())
        .unwrap();
    stdin.flush().unwrap();
    wait_for_records(&file, "\"kind\":\"decision\"", decided(first));
    // A lower per-order cap, then the same file again: one new configuration, stored once.
    let cfg = std::fs::read_to_string(s.path("cfg.yaml")).unwrap();
    std::fs::write(
        s.path("cfg.yaml"),
        cfg.replace("risk:\n", "risk:\n  per_order_usd_cap: 15\n"),
    )
    .unwrap();
    let hup = |n: usize| {
        let ok = Command::new("kill")
            .args(["-HUP", &risk.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        wait_for_records(&file, "\"why\":\"reload\"", n);
    };
    hup(1);
    hup(2);
    stdin
        .write_all((second.join("\n") + "\n").as_bytes())
        .unwrap();
    drop(stdin);
    assert!(risk.wait().unwrap().success());
    let trail = std::fs::read_to_string(&file).unwrap();
    let records: Vec<Value> = trail
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let configs: Vec<&Value> = records.iter().filter(|r| r["kind"] == "config").collect();
    assert_eq!(configs.len(), 2, "the start's and the reload's");
    assert_eq!(
        records
            .iter()
            .filter(|r| r["kind"] == "config_in_force")
            .count(),
        1
    );
    let reloaded = configs[1]["config_hash"].as_str().unwrap();
    let after: Vec<&Value> = records
        .iter()
        .skip_while(|r| r["config_hash"] != reloaded)
        .filter(|r| r["kind"] == "decision")
        .collect();
    assert_eq!(after.len(), decided(second));
    assert!(after.iter().all(|d| d["config_hash"] == reloaded));
    assert!(
        after
            .iter()
            .any(|d| d["event"].as_str().unwrap().contains("per_order_usd_cap"))
    );
    let out = s.cmd("njord-audit").arg("replay").output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains(" 0 differences"), "{said}");
}

#[test]
fn a_head_anchored_in_redis_finds_a_truncation_and_a_correction_is_a_new_record() {
    let redis = crate::support::RedisServer::start();
    let s = Setup::new(1000, 0);
    let cfg = std::fs::read_to_string(s.path("cfg.yaml")).unwrap();
    std::fs::write(
        s.path("cfg.yaml"),
        cfg.replace(
            "audit:\n",
            "audit:\n  anchor_redis_prefix: 'njord:audit:head:'\n",
        ) + &format!("redis:\n  url: {}\n", redis.url()),
    )
    .unwrap();
    let correct = |seq: &str| {
        let out = s
            .cmd("njord-audit")
            .args([
                "correct",
                "--chain",
                "ops",
                "--seq",
                seq,
                "--text",
                "fill price was 10.51",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    correct("3");
    correct("4");
    let anchor = redis.url();
    let (code, said) = s.verify(&["--anchor", &anchor]);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains("ops: 10 records") && said.contains("1 anchors"),
        "{said}"
    );
    let file = s.path("audit/audit.ops.ndjson");
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.matches("\"kind\":\"correction\"").count(), 2);
    assert!(text.contains("\"corrects\":3") && text.contains("\"corrects\":4"));
    // Cut the last two records: the chain alone looks whole, the anchor in Redis does not.
    let kept: Vec<&str> = text.lines().collect();
    std::fs::write(&file, kept[..kept.len() - 2].join("\n") + "\n").unwrap();
    let (code, said) = s.verify(&["--anchor", &anchor]);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("njord:audit:head:ops") && said.contains("truncated"),
        "{said}"
    );
}

#[test]
fn kill_switch_actions_at_once_from_many_places_all_land_in_one_chain() {
    let s = Setup::new(1000, 0);
    let runs: Vec<std::process::Child> = (0..12)
        .map(|i| {
            s.cmd("njord-kill")
                .args(["trip", "--reason", &format!("at once {i}")])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut r in runs {
        assert!(r.wait().unwrap().success());
    }
    let (code, said) = s.verify(&[]);
    assert_eq!(code, Some(0), "{said}");
    let trail = std::fs::read_to_string(s.path("audit/audit.njord-kill.ndjson")).unwrap();
    assert_eq!(
        trail.matches("\"kind\":\"kill_switch\"").count(),
        12,
        "{trail}"
    );
}

#[test]
fn a_forger_who_drops_the_checkpoints_is_caught_by_the_public_key() {
    let s = Setup::new(5, 0);
    s.pipeline(&demo_tape());
    let file = s.path("audit/audit.njord-risk.ndjson");
    let text = std::fs::read_to_string(&file).unwrap();
    // Every checkpoint removed, a decision edited, the rest renumbered and re-sealed.
    let mut forged = vec![text.lines().map(str::to_string).collect::<Vec<_>>()];
    forge(&mut forged, true);
    let forged = &forged[0];
    std::fs::write(&file, forged.join("\n") + "\n").unwrap();
    let (code, said) = s.verify(&["--anchor", s.path("none").to_str().unwrap()]);
    assert_eq!(
        code,
        Some(2),
        "a missing anchor source is a usage error: {said}"
    );
    std::fs::create_dir_all(s.path("none")).unwrap();
    let (code, said) = s.verify(&["--anchor", s.path("none").to_str().unwrap()]);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("bad signature") && said.contains("no signed checkpoint after it"),
        "{said}"
    );
}

/// `njord-risk` holds a pair's first leg for the second: a pair is allowed whole or not at
/// all, a group cut short by another intent or the end is denied `group_incomplete`, the
/// orders carry the `group_id`, the journal and the trail hold one decision per leg, and
/// the replay re-decides them identically.
#[test]
fn a_group_of_legs_is_decided_as_one_and_replays_identically() {
    let s = Setup::new(1000, 0);
    let t = 1_704_067_200_000_000_000i64;
    let trade = |sym: &str, px: &str, k: i64| {
        format!(
            r#"{{"kind":"trade","symbol":"{sym}","trade_id":"{k}","price":{px},"qty":1,"side":"buy","ts_ns":{}}}"#,
            t + k
        )
    };
    let leg = |id: &str, sym: &str, qty: &str, group: &str, size: u32, k: i64| {
        format!(
            r#"{{"kind":"intent","id":"{id}","ts_ns":{},"strategy_id":"pair","symbol":"{sym}","side":"buy","type":"market","qty":{qty},"group_id":"{group}","group_size":{size}}}"#,
            t + k
        )
    };
    // 20 B at 20 is above the default per-order cap.
    let input = [
        trade("A/USDT", "10", 1),
        trade("B/USDT", "20", 2),
        // The legs of a group answer one event: they share its time.
        leg("a1", "A/USDT", "1", "g1", 2, 3),
        trade("A/USDT", "10.5", 3),
        leg("b1", "B/USDT", "20", "g1", 2, 3),
        leg("a2", "A/USDT", "1", "g2", 2, 6),
        leg("b2", "B/USDT", "1", "g2", 2, 6),
        leg("a3", "A/USDT", "1", "g3", 3, 8),
        leg("b3", "B/USDT", "1", "g3", 3, 8),
        leg("a4", "A/USDT", "1", "g4", 2, 10),
    ]
    .join("\n")
        + "\n";
    let mut risk = s
        .cmd("njord-risk")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    risk.stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = risk.wait_with_output().unwrap();
    assert!(out.status.success());
    let answers: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter_map(|v| match v["kind"].as_str() {
            Some("decision") => Some(format!(
                "{} {}",
                v["intent_id"].as_str().unwrap(),
                v["reason"].as_str().unwrap_or("allowed")
            )),
            Some("order") => Some(format!(
                "order {} {}",
                v["intent_id"].as_str().unwrap(),
                v["group_id"].as_str().unwrap()
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        answers,
        [
            "a1 group_leg_denied",
            "b1 per_order_usd_cap",
            "a2 allowed",
            "order a2 g2",
            "b2 allowed",
            "order b2 g2",
            "a3 group_incomplete",
            "b3 group_incomplete",
            "a4 group_incomplete",
        ]
    );
    let journal = std::fs::read_to_string(s.path("j/risk.decisions.ndjson")).unwrap();
    assert_eq!(
        journal.lines().count(),
        7,
        "one decision per leg: {journal}"
    );
    let replay = s.cmd("njord-audit").arg("replay").output().unwrap();
    let said = String::from_utf8_lossy(&replay.stdout);
    assert!(replay.status.success(), "{said}");
    assert!(
        said.contains("njord-risk: 7 intents re-decided, 7 decisions identical, 0 differences"),
        "{said}"
    );
}
