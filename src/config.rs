//! Configuration loading (DESIGN §7): `config/base.yaml`, an optional `secrets.yaml` beside it,
//! then environment overrides. The types live in the core crate and are re-exported here.
//!
//! Layers are merged as JSON trees and then read into typed structs that deny unknown keys;
//! an error names the key path, the layer it came from (file or variable) and what was
//! expected. Environment overrides: `NJORD__SECTION__KEY=value` (value read as YAML, so
//! `5`, `true` and `[a, b]` work), plus `NJORD_BINANCEUS_API_KEY` / `NJORD_BINANCEUS_API_SECRET`.
//!
//! Secrets are never echoed (DESIGN §9.5): a syntax error in a file that can hold API keys
//! (`secrets.yaml`, or any file mentioning `api_keys` or `secret`) shows its line and column
//! only, never the parser's excerpt of the source; an error under `api_keys`, or anywhere in
//! `secrets.yaml`, shows neither the value nor a key name that is not one of Njord's own.

pub use njord_core::config::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A configuration error; the message names the key, the source and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not valid YAML: {msg}")]
    Syntax { path: String, msg: String },
    #[error("{source_name}: key `{key}`: {msg}")]
    Key {
        source_name: String,
        key: String,
        msg: String,
    },
    #[error("{0}")]
    Other(String),
}

/// The effective configuration and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// Files read, in order.
    pub files: Vec<PathBuf>,
    /// The secrets file and its permission bits, when one was read.
    pub secrets: Option<(PathBuf, u32)>,
}

impl Loaded {
    /// The configuration as YAML with secrets redacted (`--print-config`, the report).
    pub fn to_yaml(&self) -> String {
        let v = serde_json::to_value(&self.config).unwrap_or(Value::Null);
        let mut out = String::new();
        write_yaml(&v, 0, &mut out);
        out
    }

    /// Refuses a secrets file others can read; required before trading live (DESIGN §7).
    pub fn check_secrets_private(&self) -> Result<(), ConfigError> {
        match &self.secrets {
            Some((path, mode)) if mode & 0o077 != 0 => Err(ConfigError::Other(format!(
                "{}: mode is {:o}, but live trading needs 600; run: chmod 600 {}",
                path.display(),
                mode & 0o777,
                path.display()
            ))),
            _ => Ok(()),
        }
    }
}

/// Writes a JSON tree as block YAML. Written by hand because a YAML serializer handed a
/// `serde_json` tree with exact (arbitrary-precision) numbers prints each number as a
/// `$serde_json::private::Number` map; here numbers keep their exact digits, bare.
fn write_yaml(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                out.push_str(&format!("{pad}{}:", yaml_scalar(&Value::String(k.clone()))));
                write_nested(v, indent, out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for v in a {
                out.push_str(&format!("{pad}-"));
                write_nested(v, indent, out);
            }
        }
        other => {
            out.push_str(&pad);
            out.push_str(&yaml_scalar(other));
            out.push('\n');
        }
    }
}

/// The value after `key:` or `-`: a scalar on the same line, a collection indented below.
fn write_nested(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_yaml(v, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_yaml(v, indent + 2, out);
        }
        _ => {
            out.push(' ');
            out.push_str(&yaml_scalar(v));
            out.push('\n');
        }
    }
}

/// One scalar (or empty collection) in flow form; strings quoted where YAML needs it.
fn yaml_scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        Value::String(s) => serde_saphyr::to_string(s)
            .map(|y| y.trim_end_matches('\n').to_string())
            .unwrap_or_else(|_| serde_json::to_string(s).unwrap_or_default()),
    }
}

/// Loads the configuration: `path` (an error if given and missing) or `config/base.yaml`
/// (defaults if missing), then `secrets.yaml` beside it, then the process environment.
/// The first 16 hex digits of the SHA-256 of a configuration's JSON (sorted keys, secrets
/// redacted as `--print-config` shows them): how njord-ctl and the audit trail name it.
pub fn effective_hash(config: &Value) -> String {
    use sha2::{Digest, Sha256};
    let text = serde_json::to_string(config).unwrap_or_default();
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

pub fn load(path: Option<&Path>) -> Result<Loaded, ConfigError> {
    load_with_env(path, std::env::vars())
}

/// [`load`] with an explicit environment, for tests.
pub fn load_with_env(
    path: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Loaded, ConfigError> {
    let base_path = path
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PATH));
    let mut files = Vec::new();
    let mut tree = Value::Object(Default::default());

    if let Some(base) = read_yaml(&base_path, path.is_some(), false)? {
        check(&base, &base_path.display().to_string(), false)?;
        merge(&mut tree, base);
        files.push(base_path.clone());
    }

    let secrets_path = base_path
        .parent()
        .unwrap_or(Path::new("."))
        .join("secrets.yaml");
    let mut secrets = None;
    if let Some(sec) = read_yaml(&secrets_path, false, true)? {
        let name = secrets_path.display().to_string();
        if let Some(k) = sec
            .as_object()
            .and_then(|o| o.keys().find(|k| k.as_str() != "api_keys"))
        {
            return Err(ConfigError::Key {
                source_name: name,
                key: shown_key_path(k),
                msg: "the secrets file may only hold `api_keys`".into(),
            });
        }
        let mut layered = tree.clone();
        merge(&mut layered, sec);
        check(&layered, &name, true)?;
        tree = layered;
        secrets = Some((secrets_path.clone(), file_mode(&secrets_path)));
        files.push(secrets_path);
    }

    for (name, value) in env {
        let Some(key_path) = env_key_path(&name)? else {
            continue;
        };
        let scalar: Value = if key_path
            .last()
            .is_some_and(|k| k == "key" || k == "secret" || k == "token")
        {
            Value::String(value)
        } else {
            serde_saphyr::from_str(&value).unwrap_or(Value::String(value))
        };
        let mut layered = tree.clone();
        set_path(&mut layered, &key_path, scalar);
        check(&layered, &format!("environment variable {name}"), false)?;
        tree = layered;
    }

    let config = check(&tree, "configuration", false)?;
    check_urls(&config)?;
    Ok(Loaded {
        config,
        files,
        secrets,
    })
}

/// A URL that does not parse is a configuration error (exit 2), found before anything tries
/// to connect to it and retries.
fn check_urls(c: &Config) -> Result<(), ConfigError> {
    let key_err = |key: &str, msg: String| ConfigError::Key {
        source_name: "configuration".into(),
        key: key.into(),
        msg,
    };
    if let Some(u) = &c.redis.url {
        parse_redis_url(u).map_err(|m| key_err("redis.url", m))?;
    }
    parse_http_url(&c.exchange.rest_url).map_err(|m| key_err("exchange.rest_url", m))?;
    parse_ws_url(&c.exchange.ws_url).map_err(|m| key_err("exchange.ws_url", m))?;
    crate::telemetry::MetricsAddr::parse(&c.telemetry.addr)
        .map_err(|m| key_err("telemetry.addr", m))?;
    Ok(())
}

/// Reads a YAML file of a binary's own (portfolio, alert rules) into `T`; errors name the file
/// and, for a wrong or unknown key, its path.
pub fn load_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let tree: serde_json::Value =
        serde_saphyr::from_str(&text).map_err(|e| format!("{shown}: not valid YAML: {e}"))?;
    serde_path_to_error::deserialize(&tree).map_err(|e| {
        let key = e.path().to_string();
        format!("{shown}: key `{key}`: {}", e.into_inner())
    })
}

/// Checks a Redis URL (`--bus`, `--redis`, `redis.url`).
pub fn parse_redis_url(s: &str) -> Result<String, String> {
    crate::bus::check_url(s).map(|()| s.to_string())
}

/// Checks a REST base URL (`--rest-url`, `exchange.rest_url`).
pub fn parse_http_url(s: &str) -> Result<String, String> {
    parse_url(s, &["http", "https"], "https://HOST[:PORT]")
}

/// Checks a WebSocket base URL (`--ws-url`, `exchange.ws_url`).
pub fn parse_ws_url(s: &str) -> Result<String, String> {
    parse_url(s, &["ws", "wss"], "wss://HOST[:PORT]")
}

fn parse_url(s: &str, schemes: &[&str], example: &str) -> Result<String, String> {
    let why = match url::Url::parse(s) {
        Ok(u) if !schemes.contains(&u.scheme()) => {
            format!("the scheme must be {}", schemes.join(" or "))
        }
        Ok(u) if u.host_str().is_none_or(str::is_empty) => "it names no host".to_string(),
        Ok(_) => return Ok(s.to_string()),
        Err(e) => e.to_string(),
    };
    Err(format!("`{s}` is not a valid URL: {why}; use {example}"))
}

/// Maps `NJORD__RISK__PER_ORDER_USD_CAP` and the two API key variables to key paths; `None`
/// for variables that are not configuration. A name that is meant as an override but cannot
/// be one (an empty segment, `NJORD_RISK__…` with one underscore) is an error naming it, as an
/// unknown key is: ignoring it would leave the operator believing a cap is set.
fn env_key_path(name: &str) -> Result<Option<Vec<String>>, ConfigError> {
    let malformed = |why: &str| {
        Err(ConfigError::Other(format!(
            "environment variable {name}: {why}; configuration overrides are spelled \
             NJORD__SECTION__KEY (e.g. NJORD__RISK__PER_ORDER_USD_CAP=5)"
        )))
    };
    match name {
        "NJORD_BINANCEUS_API_KEY" => Ok(Some(vec![
            "api_keys".into(),
            "binanceus".into(),
            "key".into(),
        ])),
        "NJORD_BINANCEUS_API_SECRET" => Ok(Some(vec![
            "api_keys".into(),
            "binanceus".into(),
            "secret".into(),
        ])),
        _ => match name.strip_prefix("NJORD__") {
            Some(rest) => {
                let parts: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
                if parts.iter().any(String::is_empty) {
                    return malformed("a key segment is empty");
                }
                Ok(Some(parts))
            }
            None if name.starts_with("NJORD_") && name.contains("__") => {
                malformed("it starts with NJORD_ (one underscore)")
            }
            None => Ok(None),
        },
    }
}

/// Reads a YAML file into a tree. `secret`: the file is meant for secrets; a syntax error in
/// it, or in any file that mentions keys, is reported by line and column only.
fn read_yaml(path: &Path, required: bool, secret: bool) -> Result<Option<Value>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
        Err(e) => {
            return Err(ConfigError::Read {
                path: path.display().to_string(),
                source: e,
            });
        }
    };
    if text.trim().is_empty() {
        return Ok(Some(Value::Object(Default::default())));
    }
    let v: Value = serde_saphyr::from_str(&text).map_err(|e| ConfigError::Syntax {
        path: path.display().to_string(),
        msg: if secret || may_hold_secrets(&text) {
            syntax_location(&e)
        } else {
            e.to_string()
        },
    })?;
    match v {
        Value::Object(_) => Ok(Some(v)),
        Value::Null => Ok(Some(Value::Object(Default::default()))),
        _ => Err(ConfigError::Syntax {
            path: path.display().to_string(),
            msg: "the top level must be a mapping of sections (app, risk, …)".into(),
        }),
    }
}

/// True when a file's text may hold API keys: the parser's excerpts of it must not be shown.
fn may_hold_secrets(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.contains("api_keys") || lower.contains("secret")
}

/// A syntax error by place only: the parser's message can quote the source.
fn syntax_location(e: &serde_saphyr::Error) -> String {
    let place = match e.location() {
        Some(l) => format!("line {}, column {}", l.line(), l.column()),
        None => "an unknown place".to_string(),
    };
    format!("syntax error at {place} (the text is not shown: this file can hold API keys)")
}

/// Reads `tree` into a [`Config`], naming `source_name` and the key path on error. `secret`:
/// the tree holds the secrets file; its errors, like any under `api_keys`, are redacted.
fn check(tree: &Value, source_name: &str, secret: bool) -> Result<Config, ConfigError> {
    serde_path_to_error::deserialize(tree).map_err(|e| {
        let key = e.path().to_string();
        let msg = e.into_inner().to_string();
        let (key, msg) = if secret || key == "api_keys" || key.starts_with("api_keys.") {
            (shown_key_path(&key), redacted_message(&msg))
        } else {
            (key, msg)
        };
        ConfigError::Key {
            source_name: source_name.to_string(),
            key: if key == "." {
                "(top level)".into()
            } else {
                key
            },
            msg,
        }
    })
}

/// Every key name of the configuration (sections, keys, venues under `api_keys`), as the
/// defaults serialize: names that are safe to echo where secrets live.
fn known_names() -> std::collections::BTreeSet<String> {
    fn walk(v: &Value, out: &mut std::collections::BTreeSet<String>) {
        if let Value::Object(m) = v {
            for (k, v) in m {
                out.insert(k.clone());
                walk(v, out);
            }
        }
    }
    let mut names = Default::default();
    walk(
        &serde_json::to_value(Config::default()).unwrap_or(Value::Null),
        &mut names,
    );
    names
}

/// A key path where secrets live, with every segment that is not one of Njord's own key names
/// hidden: a key pasted as a mapping key would otherwise be echoed.
fn shown_key_path(path: &str) -> String {
    if path == "." {
        return path.to_string();
    }
    let known = known_names();
    path.split('.')
        .map(|seg| if known.contains(seg) { seg } else { "<hidden>" })
        .collect::<Vec<_>>()
        .join(".")
}

/// A deserialization message without the value or unknown name it quotes, keeping what was
/// expected (those words come from Njord's types, never from the input).
fn redacted_message(msg: &str) -> String {
    let what = if msg.starts_with("unknown field") {
        "unknown key (its name is not shown: it may be a secret)"
    } else if msg.starts_with("invalid type") {
        "wrong type (the value is not shown)"
    } else if msg.starts_with("missing field") || msg.starts_with("duplicate field") {
        return msg.to_string();
    } else {
        "invalid value (not shown)"
    };
    match msg.split_once(", expected ") {
        Some((_, expected)) => format!("{what}; expected {expected}"),
        None => what.to_string(),
    }
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

fn set_path(tree: &mut Value, path: &[String], v: Value) {
    let mut cur = tree;
    for k in path {
        if !cur.is_object() {
            *cur = Value::Object(Default::default());
        }
        let Value::Object(m) = cur else { return };
        cur = m.entry(k.clone()).or_insert(Value::Null);
    }
    *cur = v;
}

#[cfg(unix)]
fn file_mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.permissions().mode())
        .unwrap_or(0o777)
}

#[cfg(not(unix))]
fn file_mode(_: &Path) -> u32 {
    0o600
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn missing_default_file_means_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let l = load_with_env(Some(&dir.path().join("nope.yaml")), env(&[]));
        assert!(
            matches!(l, Err(ConfigError::Read { .. })),
            "an explicit path must exist"
        );
        let cwd_default = load_with_env(None, env(&[])).unwrap();
        assert_eq!(
            cwd_default.config.risk.kill_switch_key,
            "njord:trading:halt"
        );
    }

    #[test]
    fn unknown_and_mistyped_keys_name_key_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("base.yaml");
        fs::write(&p, "risk:\n  per_order_usd_cap: lots\n").unwrap();
        let e = load_with_env(Some(&p), env(&[])).unwrap_err().to_string();
        assert!(
            e.contains("base.yaml")
                && e.contains("risk.per_order_usd_cap")
                && e.contains("decimal"),
            "{e}"
        );
        fs::write(&p, "risk:\n  per_order_cap: 5\n").unwrap();
        let e = load_with_env(Some(&p), env(&[])).unwrap_err().to_string();
        assert!(
            e.contains("unknown field `per_order_cap`") && e.contains("base.yaml"),
            "{e}"
        );
        fs::write(&p, "risk:\n  orders_per_min_cap: -3\n").unwrap();
        let e = load_with_env(Some(&p), env(&[])).unwrap_err().to_string();
        assert!(e.contains("risk.orders_per_min_cap"), "{e}");
    }

    #[test]
    fn layers_secrets_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("base.yaml");
        fs::write(&p, "risk:\n  per_order_usd_cap: 12.5\n").unwrap();
        fs::write(
            dir.path().join("secrets.yaml"),
            "api_keys:\n  binanceus:\n    key: K\n    secret: S3CR3T\n",
        )
        .unwrap();
        let l = load_with_env(
            Some(&p),
            env(&[
                ("NJORD__RISK__ORDERS_PER_MIN_CAP", "7"),
                ("NJORD_BINANCEUS_API_SECRET", "0123"),
            ]),
        )
        .unwrap();
        assert_eq!(l.config.risk.per_order_usd_cap.to_string(), "12.5");
        assert_eq!(l.config.risk.orders_per_min_cap, 7);
        assert_eq!(l.config.api_keys.binanceus.pair(), Some(("K", "0123")));
        let shown = format!("{} {:?}", l.to_yaml(), l.config);
        assert!(
            !shown.contains("S3CR3T") && !shown.contains("0123") && shown.contains("<redacted>"),
            "{shown}"
        );
        let e = load_with_env(Some(&p), env(&[("NJORD__RISK__NOPE", "1")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("NJORD__RISK__NOPE") && e.contains("nope"), "{e}");
        // Names that look like overrides but cannot be one are errors too, never ignored.
        for bad in [
            "NJORD__RISK__",
            "NJORD____CAP",
            "NJORD_RISK__PER_ORDER_USD_CAP",
        ] {
            let e = load_with_env(Some(&p), env(&[(bad, "1")]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(bad) && e.contains("NJORD__SECTION__KEY"), "{e}");
        }
        // Njord's other variables are not configuration keys.
        load_with_env(
            Some(&p),
            env(&[("NJORD_ENABLE_LIVE", "1"), ("NJORD_CONFIG", "x")]),
        )
        .unwrap();
    }

    #[test]
    fn printed_config_has_plain_numbers_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("base.yaml");
        fs::write(&p, "risk:\n  per_order_usd_cap: 0.00031099999999999997\n").unwrap();
        let l = load_with_env(Some(&p), env(&[])).unwrap();
        let y = l.to_yaml();
        assert!(!y.contains("serde_json"), "{y}");
        assert!(
            y.contains("  per_order_usd_cap: 0.00031099999999999997\n"),
            "{y}"
        );
        assert!(y.contains("  orders_per_min_cap: 30\n"), "{y}");
        // The printed configuration is itself a valid configuration with the same values.
        fs::write(&p, &y).unwrap();
        let again = load_with_env(Some(&p), env(&[])).unwrap();
        assert_eq!(again.to_yaml(), y);
    }

    #[test]
    fn urls_that_do_not_parse_are_configuration_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("base.yaml");
        fs::write(&p, "").unwrap();
        for (var, value, key) in [
            ("NJORD__REDIS__URL", "redis//localhost", "redis.url"),
            ("NJORD__EXCHANGE__REST_URL", "htp:/bad", "exchange.rest_url"),
            ("NJORD__EXCHANGE__REST_URL", "ws://x", "exchange.rest_url"),
            ("NJORD__EXCHANGE__WS_URL", "nope", "exchange.ws_url"),
        ] {
            let e = load_with_env(Some(&p), env(&[(var, value)]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(key) && e.contains(value), "{e}");
        }
        assert!(parse_redis_url("redis://127.0.0.1:6379/0").is_ok());
        assert!(parse_http_url("http://127.0.0.1:8080").is_ok());
        assert!(parse_ws_url("wss://stream.binance.us:9443").is_ok());
    }

    const FAKE: &str = "AKIAFAKEKEY1234567890";

    /// Loads `base` (and `secrets`, when given) and returns the error, which must not quote
    /// the fake key.
    fn redacted_error(base: &str, secrets: Option<&str>, env_pairs: &[(&str, &str)]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("base.yaml");
        fs::write(&p, base).unwrap();
        if let Some(s) = secrets {
            fs::write(dir.path().join("secrets.yaml"), s).unwrap();
        }
        let e = load_with_env(Some(&p), env(env_pairs)).unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(FAKE), "{shown}");
        e.to_string()
    }

    #[test]
    fn errors_where_secrets_live_never_quote_them() {
        let ok = "risk:\n  per_order_usd_cap: 5\n";
        // Syntax errors: line and column only, in the secrets file and in a base with keys.
        let e = redacted_error(
            ok,
            Some(&format!(
                "api_keys:\n  binanceus:\n    key: {FAKE}\n   secret: \"x\n"
            )),
            &[],
        );
        assert!(e.contains("secrets.yaml") && e.contains("line "), "{e}");
        let e = redacted_error(
            &format!("api_keys:\n  binanceus: {{key: {FAKE}, secret: [}}\n"),
            None,
            &[],
        );
        assert!(e.contains("base.yaml") && e.contains("column "), "{e}");
        // Wrong types: the value is not shown, what was expected is.
        let e = redacted_error(ok, Some(&format!("api_keys:\n  binanceus: {FAKE}\n")), &[]);
        assert!(
            e.contains("api_keys.binanceus") && e.contains("wrong type"),
            "{e}"
        );
        let e = redacted_error(ok, None, &[("NJORD__API_KEYS__BINANCEUS", FAKE)]);
        assert!(e.contains("NJORD__API_KEYS__BINANCEUS"), "{e}");
        // Unknown keys: a name that is not Njord's own is hidden.
        let e = redacted_error(
            ok,
            Some(&format!("api_keys:\n  binanceus:\n    {FAKE}: x\n")),
            &[],
        );
        assert!(
            e.contains("api_keys.binanceus.<hidden>") && e.contains("`key` or `secret`"),
            "{e}"
        );
        let e = redacted_error(ok, Some(&format!("{FAKE}: x\n")), &[]);
        assert!(e.contains("may only hold `api_keys`"), "{e}");
        // Elsewhere, errors still quote what they found.
        let e = redacted_error("risk:\n  per_order_usd_cap: lots\n", None, &[]);
        assert!(e.contains("lots"), "{e}");
    }
}

#[cfg(test)]
mod base_yaml {
    /// `config/base.yaml` documents every key with its default: it must load to exactly the
    /// built-in defaults, so a key added to the code without its documented line fails here.
    #[test]
    fn base_yaml_lists_every_key_with_its_default() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/base.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let file: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        let defaults = serde_json::to_value(super::Config::default()).unwrap();
        let loaded = serde_json::to_value(
            super::load_with_env(Some(&path), Vec::new())
                .unwrap()
                .config,
        )
        .unwrap();
        assert_eq!(
            loaded, defaults,
            "base.yaml values differ from the defaults"
        );
        fn keys(v: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
            if let serde_json::Value::Object(m) = v {
                for (k, v) in m {
                    let p = format!("{prefix}{k}");
                    keys(v, &format!("{p}."), out);
                    out.push(p);
                }
            }
        }
        let (mut a, mut b) = (vec![], vec![]);
        keys(&file, "", &mut a);
        keys(&defaults, "", &mut b);
        a.sort();
        b.sort();
        assert_eq!(a, b, "base.yaml must list every key");
    }
}
