//! `njord-alert`'s shell: the rules file (`config/alerts.yaml`), the channels (HTTP and email)
//! and what each is sent, the outbox on disk ([`outbox`]) and its delivery ([`deliver`]). The rules
//! themselves are pure, in the core crate ([`njord_core::alert`]).

pub mod deliver;
pub mod outbox;
pub mod poll;
pub mod stage;

pub use njord_core::alert::*;

use crate::event::Kind;
use njord_core::backtest::metrics::parse_interval;
use njord_core::config::NamedSecrets;
use outbox::Item;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The default rules file.
pub const DEFAULT_PATH: &str = "config/alerts.yaml";

/// How often the daemons are polled unless `poll_every` says.
const DEFAULT_POLL_NS: i64 = 10_000_000_000;

/// Where a channel sends, with its secrets resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A generic JSON webhook: Alertmanager's webhook payload.
    Webhook { url: String },
    /// A Slack incoming webhook: `{"text": …}`.
    Slack { url: String },
    /// A Discord webhook: `{"content": …}`.
    Discord { url: String },
    /// The Telegram Bot API: `POST {url}/bot{token}/sendMessage`.
    Telegram {
        url: String,
        token: String,
        chat_id: String,
    },
    /// Email over SMTP.
    Email(Email),
}

/// How an SMTP server is reached: plain, STARTTLS, or TLS from the first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// User name and password, when the server wants them.
    pub login: Option<(String, String)>,
    pub from: String,
    pub to: Vec<String>,
    /// PEM certificates trusted besides the usual roots (a private relay's CA).
    pub ca_pem: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct Channel {
    pub name: String,
    pub target: Target,
    /// At most this many sends within this long; what it holds back goes out as one summary.
    pub rate_limit: Option<(u32, std::time::Duration)>,
}

/// The rules and channels of a rules file.
#[derive(Debug, Clone)]
pub struct Alerts {
    pub rules: Vec<Rule>,
    /// For each rule, the channels its notices go to.
    pub routes: BTreeMap<String, Vec<String>>,
    pub channels: BTreeMap<String, Channel>,
    /// The daemons whose endpoints njord-alert polls.
    pub daemons: Daemons,
}

/// The daemons to poll (name and base URL of their metrics endpoints), and how often.
#[derive(Debug, Clone, PartialEq)]
pub struct Daemons {
    pub every: std::time::Duration,
    pub urls: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    channels: BTreeMap<String, ChannelSpec>,
    rules: Vec<RuleSpec>,
    /// Daemon name: the base URL of its `/livez`, `/readyz` and `/metrics`.
    #[serde(default)]
    daemons: BTreeMap<String, String>,
    poll_every: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelSpec {
    #[serde(rename = "type")]
    kind: String,
    url: Option<String>,
    /// The URL is a secret: `api_keys.alerts.<url_secret>`.
    url_secret: Option<String>,
    token_secret: Option<String>,
    chat_id: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    tls: Option<SmtpTls>,
    username: Option<String>,
    password_secret: Option<String>,
    /// PEM file of certificates to trust for the SMTP server's TLS.
    ca_file: Option<std::path::PathBuf>,
    from: Option<String>,
    #[serde(default)]
    to: Vec<String>,
    rate_limit: Option<String>,
}

/// `30/1m`: at most 30 messages within any minute.
fn rate_limit(s: &str) -> Result<(u32, std::time::Duration), String> {
    let (n, per) = s
        .split_once('/')
        .ok_or_else(|| format!("rate_limit `{s}` is COUNT/INTERVAL, e.g. 30/1m"))?;
    let n: u32 = n
        .trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("rate_limit `{s}`: the count is a positive whole number"))?;
    let per = parse_interval(per).map_err(|e| format!("rate_limit `{s}`: {e}"))?;
    Ok((n, std::time::Duration::from_nanos(per as u64)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    name: String,
    when: When,
    #[serde(default = "warning")]
    severity: String,
    channels: Vec<String>,
    #[serde(rename = "for", default)]
    for_: Option<String>,
    repeat: Option<String>,
    #[serde(default = "yes")]
    resolve: bool,
}

fn warning() -> String {
    "warning".into()
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(untagged)]
enum When {
    Named(String),
    Field(FieldSpec),
    Stale { stale_stream: String },
    Heartbeat { heartbeat: String },
    DailyLoss { daily_loss: Decimal },
    Slippage { slippage_bps: Decimal },
    DaemonDown { daemon_down: String },
    DaemonNotReady { daemon_not_ready: String },
    ReconnectStorm { reconnect_storm: CountSpec },
    VenueErrors { venue_errors: CountSpec },
}

/// `{count: 5, window: 5m}`: a counter's rise within a window.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CountSpec {
    count: u32,
    window: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldSpec {
    kind: String,
    field: String,
    op: Op,
    value: serde_json::Value,
    window: String,
    #[serde(default = "one")]
    count: usize,
    dedupe: Option<String>,
}

fn one() -> usize {
    1
}

/// `0`, or a positive interval such as `30s`, `5m`, `1h`.
fn span(s: &Option<String>) -> Result<i64, String> {
    match s.as_deref() {
        None | Some("0") | Some("0s") => Ok(0),
        Some(t) => parse_interval(t),
    }
}

/// Reads and checks a rules file; errors name the file and the key. Secrets come from
/// `api_keys.alerts` and appear in no error; `daily_loss_cap` is risk.daily_loss_usd_cap.
pub fn load(
    path: &Path,
    secrets: &NamedSecrets,
    daily_loss_cap: Decimal,
) -> Result<Alerts, String> {
    let shown = path.display();
    let file: File = crate::config::load_yaml(path)?;
    let mut channels = BTreeMap::new();
    for (name, c) in file.channels {
        let at = |what: &str| format!("{shown}: channels.{name}: {what}");
        let limit = c
            .rate_limit
            .as_deref()
            .map(rate_limit)
            .transpose()
            .map_err(|e| at(&e))?;
        let secret = |key: &Option<String>, what: &str| -> Result<String, String> {
            let k = key.as_deref().ok_or_else(|| at(&format!("needs {what}")))?;
            secrets
                .get(k)
                .map(str::to_string)
                .ok_or_else(|| at(&format!("api_keys.alerts.{k} is not set (secrets.yaml)")))
        };
        if c.kind == "email" {
            let need = |v: &Option<String>, what: &str| {
                v.clone().ok_or_else(|| at(&format!("needs {what}")))
            };
            let tls = c.tls.unwrap_or(SmtpTls::Starttls);
            let login = match (&c.username, &c.password_secret) {
                (None, None) => None,
                (Some(u), Some(_)) => {
                    Some((u.clone(), secret(&c.password_secret, "password_secret")?))
                }
                _ => return Err(at("give both username and password_secret, or neither")),
            };
            let from = need(&c.from, "from")?;
            let mut to = c.to.clone();
            for a in std::iter::once(&from).chain(&to) {
                a.parse::<lettre::message::Mailbox>()
                    .map_err(|e| at(&format!("`{a}` is not an email address: {e}")))?;
            }
            if to.is_empty() {
                return Err(at("needs at least one address in to"));
            }
            to.dedup();
            let ca_pem = match &c.ca_file {
                None => None,
                Some(f) => {
                    let pem = std::fs::read(f)
                        .map_err(|e| at(&format!("ca_file {}: {e}", f.display())))?;
                    let certs = lettre::transport::smtp::client::Certificate::from_pem(&pem);
                    if certs.is_err() || !pem.windows(17).any(|w| w == b"BEGIN CERTIFICATE") {
                        return Err(at(&format!(
                            "ca_file {}: no PEM certificate in it",
                            f.display()
                        )));
                    }
                    Some(pem)
                }
            };
            let email = Email {
                host: need(&c.host, "host")?,
                port: c.port.unwrap_or(match tls {
                    SmtpTls::Tls => 465,
                    SmtpTls::Starttls => 587,
                    SmtpTls::None => 25,
                }),
                tls,
                login,
                from,
                to,
                ca_pem,
            };
            channels.insert(
                name.clone(),
                Channel {
                    name,
                    target: Target::Email(email),
                    rate_limit: limit,
                },
            );
            continue;
        }
        let url = match (&c.url, &c.url_secret) {
            (Some(u), None) => u.clone(),
            (None, Some(_)) => secret(&c.url_secret, "url_secret")?,
            _ => return Err(at("give url or url_secret (one of them)")),
        };
        crate::config::parse_http_url(&url).map_err(|_| at("the URL is not http(s)"))?;
        let target = match c.kind.as_str() {
            "webhook" => Target::Webhook { url },
            "slack" => Target::Slack { url },
            "discord" => Target::Discord { url },
            "telegram" => Target::Telegram {
                url,
                token: secret(&c.token_secret, "token_secret")?,
                chat_id: c.chat_id.clone().ok_or_else(|| at("needs chat_id"))?,
            },
            other => {
                return Err(at(&format!(
                    "unknown type `{other}` (webhook, slack, discord, telegram, email)"
                )));
            }
        };
        channels.insert(
            name.clone(),
            Channel {
                name,
                target,
                rate_limit: limit,
            },
        );
    }
    let mut rules = Vec::new();
    let mut routes = BTreeMap::new();
    for (i, r) in file.rules.into_iter().enumerate() {
        let at = |what: String| format!("{shown}: rules[{i}] ({}): {what}", r.name);
        let condition = match &r.when {
            When::Named(n) if n == "kill_switch" => Condition::KillSwitch,
            When::Named(n) => {
                return Err(at(format!(
                    "unknown `when: {n}` (kill_switch, {{stale_stream: 2m}}, {{heartbeat: 1m}}, {{daily_loss: 0.8}}, {{slippage_bps: 50}}, {{daemon_down: 30s}}, {{daemon_not_ready: 2m}}, {{reconnect_storm: {{count: 5, window: 5m}}}}, {{venue_errors: {{count: 10, window: 5m}}}}, or a field rule)"
                )));
            }
            When::DaemonDown { daemon_down } => Condition::DaemonDown {
                after_ns: parse_interval(daemon_down).map_err(at)?,
            },
            When::DaemonNotReady { daemon_not_ready } => Condition::DaemonNotReady {
                after_ns: parse_interval(daemon_not_ready).map_err(at)?,
            },
            When::ReconnectStorm { reconnect_storm: c } => Condition::ReconnectStorm {
                count: c.count.max(1),
                window_ns: parse_interval(&c.window).map_err(at)?,
            },
            When::VenueErrors { venue_errors: c } => Condition::VenueErrors {
                count: c.count.max(1),
                window_ns: parse_interval(&c.window).map_err(at)?,
            },
            When::Stale { stale_stream } => Condition::StaleStream {
                after_ns: parse_interval(stale_stream).map_err(at)?,
            },
            When::Heartbeat { heartbeat } => Condition::Heartbeat {
                after_ns: parse_interval(heartbeat).map_err(at)?,
            },
            When::DailyLoss { daily_loss } => {
                if !(Decimal::ZERO < *daily_loss && *daily_loss <= Decimal::ONE) {
                    return Err(at(format!(
                        "daily_loss is a fraction of risk.daily_loss_usd_cap in (0, 1], not {daily_loss}"
                    )));
                }
                Condition::DailyLoss {
                    cap: daily_loss_cap,
                    fraction: *daily_loss,
                }
            }
            When::Slippage { slippage_bps } => Condition::Slippage {
                max_bps: *slippage_bps,
            },
            When::Field(f) => Condition::Field {
                kind: Kind::parse(&f.kind)
                    .ok_or_else(|| at(format!("unknown event kind `{}`", f.kind)))?,
                field: f.field.clone(),
                op: f.op,
                value: f.value.clone(),
                window_ns: parse_interval(&f.window).map_err(at)?,
                count: f.count.max(1),
                dedupe: f.dedupe.clone(),
            },
        };
        let polled = matches!(
            condition,
            Condition::DaemonDown { .. }
                | Condition::DaemonNotReady { .. }
                | Condition::ReconnectStorm { .. }
                | Condition::VenueErrors { .. }
        );
        if polled && file.daemons.is_empty() {
            return Err(at(
                "watches the daemons, but the file lists none under `daemons`".into(),
            ));
        }
        for c in &r.channels {
            if !channels.contains_key(c) {
                return Err(at(format!("unknown channel `{c}`")));
            }
        }
        if rules.iter().any(|x: &Rule| x.name == r.name) {
            return Err(at("a second rule of this name".into()));
        }
        routes.insert(r.name.clone(), r.channels.clone());
        rules.push(Rule {
            for_ns: span(&r.for_).map_err(at)?,
            repeat_ns: span(&r.repeat).map_err(at)?,
            name: r.name,
            severity: r.severity,
            condition,
            resolve: r.resolve,
        });
    }
    for (name, url) in &file.daemons {
        crate::config::parse_http_url(url)
            .map_err(|_| format!("{shown}: daemons.{name}: `{url}` is not an http(s) URL"))?;
    }
    let every = match &file.poll_every {
        None => DEFAULT_POLL_NS,
        Some(t) => parse_interval(t).map_err(|e| format!("{shown}: poll_every: {e}"))?,
    };
    Ok(Alerts {
        rules,
        routes,
        channels,
        daemons: Daemons {
            every: std::time::Duration::from_nanos(every as u64),
            urls: file.daemons,
        },
    })
}

/// RFC 3339 of a wall time in ns.
fn rfc3339(ns: i64) -> String {
    crate::time::format_rfc3339(ns)
}

/// The one-line text of a notice, as chat channels show it.
pub fn text(n: &Notice) -> String {
    let state = match n.state {
        State::Firing => "FIRING",
        State::Resolved => "RESOLVED",
    };
    format!("[{state}] {} {}: {}", n.severity, n.rule, n.summary)
}

/// The text of a message: its notice's line, then a summary's folded notices one a line,
/// within `max` characters (a chat's message limit); what does not fit is counted.
fn message_text(item: &Item, max: usize) -> String {
    let mut out = text(&item.notice);
    for (i, n) in item.folded.iter().enumerate() {
        let line = text(n);
        let left = item.folded.len() - i;
        // Room for this line and, after it, the count of the rest.
        if out.len() + 1 + line.len() + 40 > max {
            out.push_str(&format!("\n… and {left} more (njord-alert's log has each)"));
            break;
        }
        out.push('\n');
        out.push_str(&line);
    }
    out
}

/// Message limits of the chat APIs, in characters.
const SLACK_MAX: usize = 4_000;
const DISCORD_MAX: usize = 2_000;
const TELEGRAM_MAX: usize = 4_096;

/// One alert of Alertmanager's webhook payload.
fn alert_json(n: &Notice) -> serde_json::Value {
    serde_json::json!({
        "status": status_of(n.state),
        "labels": {"alertname": n.rule, "severity": n.severity, "key": n.key},
        "annotations": {"summary": n.summary},
        "startsAt": rfc3339(n.starts_at_ns),
        "endsAt": if n.state == State::Resolved { rfc3339(n.at_ns) } else { "0001-01-01T00:00:00Z".into() },
        "generatorURL": "",
        "fingerprint": n.id,
    })
}

fn status_of(state: State) -> &'static str {
    match state {
        State::Firing => "firing",
        State::Resolved => "resolved",
    }
}

/// Where to POST a message on an HTTP target, and the JSON body, which for webhooks carries
/// the message's idempotency key too. `None` for email. A summary is one webhook payload
/// with an alert per folded notice, or one chat message with a line per notice.
pub fn request(target: &Target, item: &Item) -> Option<(String, serde_json::Value)> {
    use serde_json::json;
    let n = &item.notice;
    Some(match target {
        Target::Email(_) => return None,
        Target::Webhook { url } => {
            let alerts: Vec<serde_json::Value> = if item.folded.is_empty() {
                vec![alert_json(n)]
            } else {
                item.folded.iter().map(alert_json).collect()
            };
            let firing = item.folded.is_empty() && n.state == State::Firing
                || item.folded.iter().any(|f| f.state == State::Firing);
            let status = if firing { "firing" } else { "resolved" };
            (
                url.clone(),
                json!({
                    "version": "4",
                    "groupKey": format!("{}/{}", n.rule, n.key),
                    "status": status,
                    "receiver": "njord-alert",
                    "groupLabels": {"alertname": n.rule},
                    "commonLabels": {"alertname": n.rule, "severity": n.severity},
                    "commonAnnotations": {"summary": n.summary},
                    "externalURL": "",
                    "truncatedAlerts": 0,
                    "idempotencyKey": item.id,
                    "alerts": alerts,
                }),
            )
        }
        Target::Slack { url } => (
            url.clone(),
            json!({ "text": message_text(item, SLACK_MAX) }),
        ),
        Target::Discord { url } => (
            url.clone(),
            json!({ "content": message_text(item, DISCORD_MAX) }),
        ),
        Target::Telegram {
            url,
            token,
            chat_id,
        } => (
            format!("{}/bot{token}/sendMessage", url.trim_end_matches('/')),
            json!({ "chat_id": chat_id, "text": message_text(item, TELEGRAM_MAX) }),
        ),
    })
}

/// The email of a message: subject, plain-text body (a summary lists every notice), and a
/// Message-ID made from the idempotency key, so a mailbox can drop a repeat.
pub fn email(e: &Email, item: &Item) -> Result<lettre::Message, String> {
    let (key, n) = (&item.id, &item.notice);
    let mut b = lettre::Message::builder()
        .from(e.from.parse().map_err(|x| format!("from: {x}"))?)
        .subject(format!(
            "{} [{}] {}",
            match n.state {
                State::Firing => "FIRING",
                State::Resolved => "RESOLVED",
            },
            n.severity,
            n.rule
        ))
        .message_id(Some(format!(
            "<{}@njord-alert>",
            key.replace(
                |c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)),
                "."
            )
        )));
    for to in &e.to {
        b = b.to(to.parse().map_err(|x| format!("to: {x}"))?);
    }
    let mut body = format!(
        "{}\n\nrule: {}\nkey: {}\nseverity: {}\nsince: {}\nidempotency key: {key}\n",
        n.summary,
        n.rule,
        n.key,
        n.severity,
        rfc3339(n.starts_at_ns)
    );
    if !item.folded.is_empty() {
        body.push('\n');
        for f in &item.folded {
            body.push_str(&format!(
                "{} (since {})\n",
                text(f),
                rfc3339(f.starts_at_ns)
            ));
        }
    }
    b.body(body).map_err(|x| x.to_string())
}

/// Sends `msg` to the SMTP server of `e` (blocking).
pub fn send_email(
    e: &Email,
    msg: &lettre::Message,
    timeout: std::time::Duration,
) -> Result<(), String> {
    use lettre::Transport;
    use lettre::transport::smtp::SmtpTransport;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    let params = || {
        let mut p = TlsParameters::builder(e.host.clone());
        if let Some(pem) = &e.ca_pem {
            p = p.add_root_certificate(Certificate::from_pem(pem).map_err(|x| x.to_string())?);
        }
        p.build_rustls().map_err(|x| x.to_string())
    };
    let builder = SmtpTransport::builder_dangerous(&e.host);
    // STARTTLS is required, never opportunistic: no login or mail goes out in the clear.
    let builder = match e.tls {
        SmtpTls::None => builder,
        SmtpTls::Starttls => builder.tls(Tls::Required(params()?)),
        SmtpTls::Tls => builder.tls(Tls::Wrapper(params()?)),
    };
    let mut builder = builder.port(e.port).timeout(Some(timeout));
    if let Some((user, pass)) = &e.login {
        builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
    }
    builder
        .build()
        .send(msg)
        .map(drop)
        .map_err(|x| x.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn load_text(text: &str, secrets: &[(&str, &str)]) -> Result<Alerts, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.yaml");
        std::fs::write(&path, text).unwrap();
        let s = NamedSecrets(
            secrets
                .iter()
                .map(|(k, v)| (k.to_string(), SecretString::from(v.to_string())))
                .collect(),
        );
        load(&path, &s, Decimal::from(500))
    }

    #[test]
    fn the_shipped_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_PATH);
        let a = load(&path, &NamedSecrets::default(), Decimal::from(500)).unwrap();
        assert_eq!(a.rules.len(), 7);
        assert!(a.rules.iter().any(|r| r.condition
            == Condition::DailyLoss {
                cap: Decimal::from(500),
                fraction: Decimal::new(8, 1)
            }));
        assert!(a.routes.values().all(|c| c == &["ops"]));
    }

    #[test]
    fn mistakes_name_the_key_and_secrets_stay_out_of_errors() {
        let base = "channels:\n  c: {type: slack, url_secret: hook}\nrules:\n  - {name: r, when: kill_switch, channels: [c]}\n";
        let a = load_text(base, &[("hook", "https://hooks.example/s3cret")]).unwrap();
        assert_eq!(
            a.channels["c"].target,
            Target::Slack {
                url: "https://hooks.example/s3cret".into()
            }
        );
        let e = load_text(base, &[]).unwrap_err();
        assert!(e.contains("api_keys.alerts.hook is not set"), "{e}");
        let e = load_text(&base.replace("url_secret", "url_secrett"), &[]).unwrap_err();
        assert!(e.contains("url_secrett"), "{e}");
        let e = load_text(&base.replace("[c]", "[d]"), &[("hook", "https://x")]).unwrap_err();
        assert!(e.contains("unknown channel `d`"), "{e}");
        let e = load_text(
            &base.replace("kill_switch", "{heartbeat: 1x}"),
            &[("hook", "https://x")],
        )
        .unwrap_err();
        assert!(e.contains("rules[0] (r)") && e.contains("1x"), "{e}");
        let e = load_text(base, &[("hook", "ftp://s3cret")]).unwrap_err();
        assert!(e.contains("not http(s)") && !e.contains("s3cret"), "{e}");
        let mail = "channels:\n  m: {type: email, host: smtp.example.org, from: a@example.org, to: [b@example.org], username: u, password_secret: pw}\nrules:\n  - {name: r, when: kill_switch, channels: [m]}\n";
        let a = load_text(mail, &[("pw", "s3cret")]).unwrap();
        let Target::Email(e) = &a.channels["m"].target else {
            panic!("{a:?}")
        };
        assert_eq!((e.port, e.tls), (587, SmtpTls::Starttls));
        assert_eq!(e.login, Some(("u".into(), "s3cret".into())));
        let e = load_text(
            &mail.replace("[b@example.org]", "[not an address]"),
            &[("pw", "x")],
        )
        .unwrap_err();
        assert!(e.contains("not an email address"), "{e}");
        let e = load_text(&mail.replace(", username: u", ""), &[("pw", "x")]).unwrap_err();
        assert!(e.contains("username and password_secret"), "{e}");
        let polled = "channels:\n  c: {type: webhook, url: http://127.0.0.1:1/h}\nrules:\n  - {name: d, when: {daemon_down: 30s}, channels: [c]}\n";
        let e = load_text(polled, &[]).unwrap_err();
        assert!(e.contains("rules[0] (d)") && e.contains("`daemons`"), "{e}");
        let with = format!("{polled}poll_every: 5s\ndaemons:\n  ingest: http://127.0.0.1:9101\n");
        let a = load_text(&with, &[]).unwrap();
        assert_eq!(a.daemons.every, std::time::Duration::from_secs(5));
        assert_eq!(
            a.rules[0].condition,
            Condition::DaemonDown {
                after_ns: 30_000_000_000
            }
        );
        let e = load_text(&with.replace("ingest: http", "ingest: tcp"), &[]).unwrap_err();
        assert!(e.contains("daemons.ingest"), "{e}");
    }
}
