//! njord-alert end to end: its messages against a real HTTP receiver on loopback, in each
//! channel's shape, and none lost when the process is killed mid-delivery.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the receiver read.
#[derive(Debug, Clone)]
pub(crate) struct Got {
    pub path: String,
    pub key: String,
    pub body: Value,
}

/// An HTTP receiver on loopback that records every request. With `hang_first`, it never
/// answers the first one (a delivery in flight when the sender dies). It accepts each
/// idempotency key once and answers a repeat 200 without counting it, as a receiver should.
#[derive(Clone)]
pub(crate) struct Receiver {
    pub addr: String,
    got: Arc<Mutex<Vec<Got>>>,
    accepted: Arc<Mutex<BTreeMap<String, u32>>>,
}

impl Receiver {
    pub fn start(hang_first: bool) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let r = Receiver {
            addr: listener.local_addr().unwrap().to_string(),
            got: Arc::default(),
            accepted: Arc::default(),
        };
        let me = r.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let Some(got) = read_request(&stream) else {
                    continue;
                };
                let first = {
                    let mut all = me.got.lock().unwrap();
                    all.push(got.clone());
                    all.len() == 1
                };
                if hang_first && first {
                    held.push(stream);
                    continue;
                }
                let mut repeats = me.accepted.lock().unwrap();
                *repeats.entry(got.key.clone()).or_default() += 1;
                drop(repeats);
                let mut s = stream;
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        r
    }

    pub fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    pub fn wait_for(&self, what: &str, cond: impl Fn(&Receiver) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !cond(self) {
            assert!(Instant::now() < deadline, "{what}: {:#?}", self.got());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn read_request(stream: &TcpStream) -> Option<Got> {
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let path = line.split(' ').nth(1)?.to_string();
    let (mut len, mut key) = (0usize, String::new());
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        match k.to_ascii_lowercase().as_str() {
            "content-length" => len = v.trim().parse().ok()?,
            "idempotency-key" => key = v.trim().to_string(),
            _ => {}
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Got {
        path,
        key,
        body: serde_json::from_slice(&body).ok()?,
    })
}

fn decision(id: &str, halted: bool, ts: i64) -> String {
    let reason = if halted { r#""halted""# } else { "null" };
    format!(
        r#"{{"kind":"decision","intent_id":"{id}","allowed":{},"reason":{reason},"caps":{{"source":"file"}},"ts_ns":{ts}}}"#,
        !halted
    )
}

pub(crate) fn alert_cmd(dir: &Path, rules: &str, env: &[(&str, &str)]) -> Command {
    std::fs::write(dir.join("alerts.yaml"), rules).unwrap();
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("njord-alert"));
    c.current_dir(dir)
        .env_remove("NJORD_CONFIG")
        .env("NJORD__LOGGING__JSON_FILE", "false")
        .env("NJORD__JOURNAL__DIR", dir.join("journal"))
        .args(["--alerts", "alerts.yaml", "--emit-only"]);
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

#[test]
fn each_channel_gets_its_shape_with_an_idempotency_key_and_secrets_stay_secret() {
    let rx = Receiver::start(false);
    let dir = tempfile::tempdir().unwrap();
    let a = &rx.addr;
    let rules = format!(
        r#"channels:
  hook: {{type: webhook, url: "http://{a}/hook"}}
  slack: {{type: slack, url_secret: slack}}
  discord: {{type: discord, url: "http://{a}/discord"}}
  tg: {{type: telegram, url: "http://{a}", token_secret: tg, chat_id: "-100"}}
rules:
  - name: halted
    when: kill_switch
    severity: critical
    channels: [hook, slack, discord, tg]
"#
    );
    let slack_url = format!("http://{a}/slack-s3cret-path");
    let input = [
        decision("a", false, 1),
        decision("b", true, 2),
        decision("c", false, 3),
    ]
    .join("\n");
    let cmd = alert_cmd(
        dir.path(),
        &rules,
        &[
            ("NJORD__API_KEYS__ALERTS__SLACK", &slack_url),
            ("NJORD__API_KEYS__ALERTS__TG", "tok-s3cret"),
        ],
    );
    let out = run(cmd, &input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // Firing, then resolved, on four channels; all delivered before the run ended.
    let got = rx.got();
    assert_eq!(got.len(), 8, "{got:#?}");
    let keys: std::collections::BTreeSet<&str> = got.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(keys.len(), 8, "one key per message: {got:#?}");
    let at = |path: &str| -> Vec<&Got> { got.iter().filter(|g| g.path == path).collect() };
    let hooks = at("/hook");
    assert_eq!(hooks.len(), 2);
    let firing = &hooks[0].body;
    assert_eq!(firing["version"], "4");
    assert_eq!(firing["status"], "firing");
    assert_eq!(firing["alerts"][0]["labels"]["alertname"], "halted");
    assert_eq!(firing["alerts"][0]["labels"]["severity"], "critical");
    assert_eq!(firing["idempotencyKey"], hooks[0].key.as_str());
    assert_eq!(hooks[1].body["status"], "resolved");
    assert_ne!(hooks[1].body["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    let slack = at("/slack-s3cret-path");
    assert!(
        slack[0].body["text"]
            .as_str()
            .unwrap()
            .starts_with("[FIRING] critical halted: "),
        "{slack:?}"
    );
    assert!(
        at("/discord")[1].body["content"]
            .as_str()
            .unwrap()
            .starts_with("[RESOLVED] critical halted: ")
    );
    let tg = at("/bottok-s3cret/sendMessage");
    assert_eq!(tg.len(), 2);
    assert_eq!(tg[0].body["chat_id"], "-100");
    // The secrets are nowhere but in the requests themselves.
    let outbox = std::fs::read_to_string(dir.path().join("journal/alert.outbox.ndjson")).unwrap();
    for text in [&*stderr, &outbox] {
        assert!(!text.contains("s3cret"), "{text}");
    }
}

/// Runs `c` on `input` to its end.
fn run(mut c: Command, input: &str) -> std::process::Output {
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(input.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap()
}

fn spawn(mut c: Command) -> Child {
    c.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn killed_mid_delivery_and_restarted_every_alert_arrives_once() {
    let rx = Receiver::start(true);
    let dir = tempfile::tempdir().unwrap();
    let rules = format!(
        r#"channels:
  hook: {{type: webhook, url: "http://{}/hook"}}
rules:
  - name: halted
    when: kill_switch
    severity: critical
    channels: [hook]
"#,
        rx.addr
    );
    let mut first = spawn(alert_cmd(dir.path(), &rules, &[]));
    let mut stdin = first.stdin.take().unwrap();
    // One write (under PIPE_BUF, so atomic): the four arrive as one batch however loaded the
    // machine is, and all are queued before the first delivery starts.
    let lines: String = [true, false, true, false]
        .into_iter()
        .enumerate()
        .map(|(i, halted)| format!("{}\n", decision(&i.to_string(), halted, i as i64)))
        .collect();
    stdin.write_all(lines.as_bytes()).unwrap();
    stdin.flush().unwrap();
    // The first delivery hangs at the receiver: kill -9 while it is in flight.
    rx.wait_for("the first delivery", |r| !r.got().is_empty());
    first.kill().unwrap();
    first.wait().unwrap();
    let outbox = dir.path().join("journal/alert.outbox.ndjson");
    let queued = std::fs::read_to_string(&outbox)
        .unwrap()
        .lines()
        .filter(|l| l.contains(r#""op":"queued""#))
        .count();
    assert_eq!(queued, 4, "every notice was written before any was sent");

    // A restart with no input sends what the outbox holds before it ends.
    let mut second = spawn(alert_cmd(dir.path(), &rules, &[]));
    drop(second.stdin.take());
    assert!(second.wait().unwrap().success());
    let accepted = rx.accepted.lock().unwrap().clone();
    assert_eq!(accepted.len(), 4, "{accepted:?}");
    assert!(accepted.values().all(|n| *n == 1), "{accepted:?}");
    let hung = &rx.got()[0].key;
    assert!(
        accepted.contains_key(hung),
        "the hung message was sent again"
    );
    // And a third run has nothing left to send.
    let before = rx.got().len();
    let mut third = spawn(alert_cmd(dir.path(), &rules, &[]));
    drop(third.stdin.take());
    assert!(third.wait().unwrap().success());
    assert_eq!(rx.got().len(), before);
}

/// A channel's rate limit holds messages back and sends them, once it may, as one summary:
/// a webhook payload with an alert each, a chat message with a line each. Nothing is lost,
/// and a restart has nothing left to send.
#[test]
fn a_rate_limit_sends_what_it_held_back_as_one_summary() {
    let rx = Receiver::start(false);
    let dir = tempfile::tempdir().unwrap();
    let a = &rx.addr;
    let rules = format!(
        r#"channels:
  hook: {{type: webhook, url: "http://{a}/hook", rate_limit: 1/2s}}
  slack: {{type: slack, url: "http://{a}/slack", rate_limit: 1/2s}}
rules:
  - name: halted
    when: kill_switch
    severity: critical
    channels: [hook, slack]
"#
    );
    let input: Vec<String> = (0..4)
        .map(|i| decision(&i.to_string(), i % 2 == 0, i))
        .collect();
    let out = run(alert_cmd(dir.path(), &rules, &[]), &input.join("\n"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let got = rx.got();
    let at = |path: &str| -> Vec<&Got> { got.iter().filter(|g| g.path == path).collect() };
    let hooks = at("/hook");
    assert_eq!(
        hooks.len(),
        2,
        "the first alert, then one summary: {got:#?}"
    );
    assert_eq!(hooks[0].body["alerts"].as_array().unwrap().len(), 1);
    let summary = &hooks[1].body;
    assert_eq!(summary["commonLabels"]["alertname"], "rate_limit_summary");
    let states: Vec<&str> = summary["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["resolved", "firing", "resolved"]);
    assert!(hooks[1].key.ends_with("+2"), "{}", hooks[1].key);
    assert!(
        summary["commonAnnotations"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("3 alerts held back by the rate limit of channel hook"),
        "{summary}"
    );
    let slack = at("/slack");
    assert_eq!(slack.len(), 2, "{got:#?}");
    let text = slack[1].body["text"].as_str().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[1].starts_with("[RESOLVED] critical halted"), "{text}");
    assert!(lines[2].starts_with("[FIRING] critical halted"), "{text}");
    // Folded messages are settled in the outbox: a restart sends nothing.
    let mut again = spawn(alert_cmd(dir.path(), &rules, &[]));
    drop(again.stdin.take());
    assert!(again.wait().unwrap().success());
    assert_eq!(rx.got().len(), 4);
}

/// A real SMTP server on loopback (aiosmtpd, which `make test` installs in `.venv`), printing
/// every message it receives.
struct Smtp {
    child: Child,
    port: u16,
    out: Arc<Mutex<String>>,
}

impl Smtp {
    /// aiosmtpd's own server, plain, printing what it receives.
    fn start() -> Smtp {
        Smtp::spawn(|port| {
            vec![
                "-m".into(),
                "aiosmtpd".into(),
                "-n".into(),
                "-c".into(),
                "aiosmtpd.handlers.Debugging".into(),
                "-l".into(),
                format!("127.0.0.1:{port}"),
            ]
        })
    }

    /// `tests/it/smtp_server.py`: TLS (`starttls` or `tls`) with the certificate and key
    /// files given, and a login required.
    fn start_tls(mode: &str, cert: &Path, key: &Path, user: &str, password: &str) -> Smtp {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/smtp_server.py");
        Smtp::spawn(|port| {
            vec![
                script.display().to_string(),
                mode.into(),
                port.to_string(),
                cert.display().to_string(),
                key.display().to_string(),
                user.into(),
                password.into(),
            ]
        })
    }

    fn spawn(args: impl FnOnce(u16) -> Vec<String>) -> Smtp {
        let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
        let port = crate::support::free_port();
        let mut child = Command::new(&python)
            .arg("-u")
            .args(args(port))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (make test installs aiosmtpd in .venv)",
                    python.display()
                )
            });
        let out: Arc<Mutex<String>> = Arc::default();
        let sink = out.clone();
        let mut stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Smtp { child, port, out }
    }

    /// Waits for `n` messages and returns everything the server printed.
    fn wait_messages(&self, n: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.out.lock().unwrap().matches("END MESSAGE").count() < n {
            assert!(Instant::now() < deadline, "{}", self.out.lock().unwrap());
            std::thread::sleep(Duration::from_millis(50));
        }
        self.out.lock().unwrap().clone()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn email_reaches_a_real_smtp_server_with_subject_body_and_recipients() {
    let smtp = Smtp::start();
    let dir = tempfile::tempdir().unwrap();
    let rules = format!(
        r#"channels:
  mail:
    type: email
    host: 127.0.0.1
    port: {}
    tls: none
    from: "Njord <njord@example.org>"
    to: [ops@example.org, desk@example.org]
rules:
  - name: halted
    when: kill_switch
    severity: critical
    channels: [mail]
"#,
        smtp.port
    );
    let input = [decision("a", true, 1), decision("b", false, 2)].join("\n");
    let out = run(alert_cmd(dir.path(), &rules, &[]), &input);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = smtp.wait_messages(2);
    for want in [
        "Subject: FIRING [critical] halted",
        "Subject: RESOLVED [critical] halted",
        "From: Njord <njord@example.org>",
        "To: ops@example.org, desk@example.org",
        "trading is halted (kill switch read from file)",
        "Message-ID: <halted.",
        "idempotency key: halted/",
    ] {
        assert!(got.contains(want), "{want} missing:\n{got}");
    }
}

/// STARTTLS and TLS from the first byte, each with a login, against a real SMTP server that
/// requires both, trusting its certificate through `ca_file`; the password stays secret.
#[test]
fn email_goes_over_starttls_and_tls_with_a_login() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    for mode in ["starttls", "tls"] {
        let smtp = Smtp::start_tls(mode, &cert, &key, "njord", "pw-s3cret");
        let run_dir = tempfile::tempdir().unwrap();
        let rules = format!(
            r#"channels:
  mail:
    type: email
    host: 127.0.0.1
    port: {}
    tls: {mode}
    ca_file: {}
    username: njord
    password_secret: smtp
    from: njord@example.org
    to: [ops@example.org]
rules:
  - name: halted
    when: kill_switch
    severity: critical
    channels: [mail]
"#,
            smtp.port,
            cert.display()
        );
        let cmd = alert_cmd(
            run_dir.path(),
            &rules,
            &[("NJORD__API_KEYS__ALERTS__SMTP", "pw-s3cret")],
        );
        let out = run(cmd, &decision("a", true, 1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{mode}: {stderr}");
        let got = smtp.wait_messages(1);
        for want in [
            "TLS True",
            "LOGIN njord",
            "RCPT TO ops@example.org",
            "Subject: FIRING [critical] halted",
        ] {
            assert!(got.contains(want), "{mode}: {want} missing:\n{got}");
        }
        assert!(!stderr.contains("pw-s3cret"), "{stderr}");
        if mode == "tls" {
            // Without ca_file the certificate is not trusted: nothing is sent, and the
            // message waits in the outbox.
            let cmd = alert_cmd(
                run_dir.path(),
                &rules.replace(&format!("ca_file: {}", cert.display()), ""),
                &[("NJORD__API_KEYS__ALERTS__SMTP", "pw-s3cret")],
            );
            let out = run(cmd, &decision("b", true, 2));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("alert not delivered"), "{stderr}");
            assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
            assert!(stderr.contains("alerts undelivered"), "{stderr}");
            assert_eq!(smtp.out.lock().unwrap().matches("END MESSAGE").count(), 1);
        }
    }
}
