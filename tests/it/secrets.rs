//! Secrets never echoed (issue 26 §6): malformed configuration files that hold API keys make
//! the stages fail with the place of the error, never its text, on stderr, in the logs and in
//! the journals.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

const RISK: &str = env!("CARGO_BIN_EXE_njord-risk");
const FAKE_KEY: &str = "AKIAFAKEKEY1234567890";
const FAKE_SECRET: &str = "FAKESECRETfakesecret0987654321";

fn risk(dir: &Path) -> Command {
    let mut c = Command::new(RISK);
    c.current_dir(dir)
        .env_remove("NJORD_CONFIG")
        .env("NJORD__JOURNAL__DIR", dir.join("journal"))
        .env("NJORD__LOGGING__LOG_DIR", dir.join("logs"))
        .env("NJORD__LOGGING__JSON_FILE", "true")
        .env("NJORD__RISK__KILL_SWITCH_FILE", dir.join("halt"))
        .arg("--config")
        .arg(dir.join("config/base.yaml"));
    c
}

/// Occurrences of the fake key or secret in `text`.
fn leaks(text: &str) -> usize {
    text.matches(FAKE_KEY).count() + text.matches(FAKE_SECRET).count()
}

/// Occurrences in every file under `dir` other than the configuration itself.
fn leaks_in_files(dir: &Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            if !p.ends_with("config") {
                n += leaks_in_files(&p);
            }
        } else {
            n += leaks(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
        }
    }
    n
}

fn write_config(dir: &Path, base: &str, secrets: Option<&str>) {
    let c = dir.join("config");
    std::fs::create_dir_all(&c).unwrap();
    std::fs::write(c.join("base.yaml"), base).unwrap();
    match secrets {
        Some(s) => std::fs::write(c.join("secrets.yaml"), s).unwrap(),
        None => {
            let _ = std::fs::remove_file(c.join("secrets.yaml"));
        }
    }
}

/// A broken configuration: `base.yaml`, maybe `secrets.yaml`, environment variables, and what
/// the error must say.
type Case = (
    &'static str,
    String,
    Option<String>,
    &'static [(&'static str, &'static str)],
    &'static str,
);

#[test]
fn malformed_files_with_keys_fail_at_start_without_echoing_them() {
    let k = FAKE_KEY;
    let s = FAKE_SECRET;
    let base = "risk:\n  per_order_usd_cap: 5\n";
    let cases: Vec<Case> = vec![
        (
            "syntax error in secrets.yaml",
            base.into(),
            Some(format!(
                "api_keys:\n  binanceus:\n    key: {k}\n    secret: \"{s}\n  x: [\n"
            )),
            &[],
            "secrets.yaml: not valid YAML: syntax error at line",
        ),
        (
            "syntax error in a base.yaml holding keys",
            format!("{base}api_keys:\n  binanceus: {{key: {k}, secret: {s}\n"),
            None,
            &[],
            "base.yaml: not valid YAML: syntax error at line",
        ),
        (
            "bad indentation in secrets.yaml",
            base.into(),
            Some(format!(
                "api_keys:\n  binanceus:\n    key: {k}\n   secret: {s}\n"
            )),
            &[],
            "secrets.yaml: not valid YAML",
        ),
        (
            "a string where the key pair belongs",
            base.into(),
            Some(format!("api_keys:\n  binanceus: {k}\n")),
            &[],
            "key `api_keys.binanceus`: wrong type",
        ),
        (
            "a list where the key belongs",
            format!("{base}api_keys:\n  binanceus:\n    key: [{k}, {s}]\n"),
            None,
            &[],
            "key `api_keys.binanceus.key`: wrong type",
        ),
        (
            "the key pasted as a key name",
            base.into(),
            Some(format!("api_keys:\n  binanceus:\n    {k}: {s}\n")),
            &[],
            "key `api_keys.binanceus.<hidden>`: unknown key",
        ),
        (
            "a misspelt key name in base.yaml",
            format!("{base}api_keys:\n  binanceus:\n    key: {k}\n    secert: {s}\n"),
            None,
            &[],
            "unknown key",
        ),
        (
            "a secrets file that is not under api_keys",
            base.into(),
            Some(format!("{k}: {s}\n")),
            &[],
            "secrets.yaml: key `<hidden>`: the secrets file may only hold `api_keys`",
        ),
        (
            "an environment variable of the wrong shape",
            base.into(),
            None,
            &[("NJORD__API_KEYS__BINANCEUS", FAKE_KEY)],
            "NJORD__API_KEYS__BINANCEUS: key `api_keys.binanceus`: wrong type",
        ),
    ];
    for (name, base, secrets, env, says) in cases {
        let dir = tempfile::tempdir().unwrap();
        write_config(dir.path(), &base, secrets.as_deref());
        let out = risk(dir.path())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(says), "{name}: {stderr}");
        assert_eq!(leaks(&stderr), 0, "{name}: {stderr}");
        assert_eq!(leaks_in_files(dir.path()), 0, "{name}: in logs or journals");
    }
}

/// A secrets file broken while a stage runs: SIGHUP re-reads it, logs that it keeps the current
/// caps, and the log (stderr and `app.ndjson`) names the place only.
#[test]
fn a_broken_secrets_file_at_reload_is_logged_without_its_text() {
    let dir = tempfile::tempdir().unwrap();
    let secrets =
        format!("api_keys:\n  binanceus:\n    key: {FAKE_KEY}\n    secret: {FAKE_SECRET}\n");
    write_config(
        dir.path(),
        "risk:\n  per_order_usd_cap: 5\n",
        Some(&secrets),
    );
    let mut child = risk(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    // A line forwarded says the stage runs, its signal handlers installed.
    let trade = r#"{"kind":"trade","venue":"t","symbol":"ATOM/USDT","trade_id":"1","price":10,"qty":1,"side":"buy","ts_ns":1}"#;
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{trade}").unwrap();
    stdin.flush().unwrap();
    let mut forwarded = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut forwarded)
        .unwrap();
    assert_eq!(forwarded.trim_end(), trade);
    let mut log = String::new();
    std::fs::write(
        dir.path().join("config/secrets.yaml"),
        format!("api_keys:\n  binanceus: {{key: {FAKE_KEY}, secret: \"{FAKE_SECRET}\n"),
    )
    .unwrap();
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    while !log.contains("keeping the current caps") {
        assert!(stderr.read_line(&mut log).unwrap() > 0, "{log}");
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    log.push_str(&rest);
    assert!(log.contains("secrets.yaml: not valid YAML"), "{log}");
    assert_eq!(leaks(&log), 0, "{log}");
    let app = std::fs::read_to_string(dir.path().join("logs/app.ndjson")).unwrap();
    assert!(app.contains("keeping the current caps"), "{app}");
    assert_eq!(leaks_in_files(dir.path()), 0, "in logs or journals");
}
