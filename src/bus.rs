//! Publish/subscribe transports: Redis (real daemons) and an in-memory bus (tests, backtests).
//!
//! Both speak raw payload bytes on named channels with Redis glob patterns, so a stage runs
//! unchanged over either.

use crate::backoff::Backoff;
use crate::topic::glob_match;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use redis::Commands;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error(
        "cannot connect to Redis at {url}: {msg} (is redis-server running? check --bus/--redis or redis.url)"
    )]
    Connect { url: String, msg: String },
    #[error("Redis at {url}: {msg}")]
    Command { url: String, msg: String },
    #[error("bus closed")]
    Closed,
}

/// One message received on a subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub topic: String,
    pub payload: Vec<u8>,
}

/// Messages of a subscription, in arrival order. Dropping it unsubscribes.
pub struct Subscription {
    rx: Receiver<Message>,
    stop: Arc<AtomicBool>,
}

impl Subscription {
    /// The next message, or `Ok(None)` after `timeout` without one.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Option<Message>, BusError> {
        match self.rx.recv_timeout(timeout) {
            Ok(m) => Ok(Some(m)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(BusError::Closed),
        }
    }

    /// A message already waiting, without blocking.
    pub fn try_recv(&self) -> Option<Message> {
        self.rx.try_recv().ok()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A publish/subscribe transport.
pub trait Bus {
    fn publish(&mut self, topic: &str, payload: &[u8]) -> Result<(), BusError>;
    /// Publishes several messages in order; Redis sends them in one round trip.
    fn publish_all(&mut self, msgs: &[(String, Vec<u8>)]) -> Result<(), BusError> {
        msgs.iter().try_for_each(|(t, p)| self.publish(t, p))
    }
    /// Subscribes to channels or patterns (`md.trades.*`); messages published after this
    /// returns are delivered.
    fn subscribe(&mut self, patterns: &[String]) -> Result<Subscription, BusError>;
}

/// Reconnect timing for Redis connections.
#[derive(Debug, Clone, Copy)]
pub struct Reconnect {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect {
            base: Duration::from_millis(100),
            max: Duration::from_secs(5),
        }
    }
}

impl Reconnect {
    pub fn from_config(r: &crate::config::Redis) -> Self {
        Reconnect {
            base: Duration::from_millis(r.reconnect_base_ms),
            max: Duration::from_millis(r.reconnect_max_ms),
        }
    }
    fn backoff(&self) -> Backoff {
        Backoff::new(self.base, self.max)
    }
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a Redis bus connects: one server (`redis://`), or the primary that Redis Sentinel
/// names at each (re)connect (`redis+sentinel://S1:P1,S2:P2/MASTER/DB`), so the daemons follow
/// a failover.
#[derive(Clone)]
enum Target {
    Direct(redis::Client),
    Sentinel {
        sentinels: Vec<String>,
        master: String,
        db: i64,
    },
}

/// The scheme of a bus that follows Redis Sentinel.
pub const SENTINEL_SCHEME: &str = "redis+sentinel://";

impl Target {
    fn parse(url: &str) -> Result<Target, String> {
        let Some(rest) = url.strip_prefix(SENTINEL_SCHEME) else {
            return redis::Client::open(url).map(Target::Direct).map_err(|e| {
                format!("`{url}` is not a Redis URL ({e}); use redis://HOST:PORT/DB")
            });
        };
        let usage = || {
            format!(
                "`{url}`: a Sentinel URL is redis+sentinel://HOST:PORT[,HOST:PORT…]/MASTER[/DB]"
            )
        };
        let mut parts = rest.split('/');
        let hosts = parts.next().unwrap_or_default();
        let master = parts.next().filter(|m| !m.is_empty()).ok_or_else(usage)?;
        let db = match parts.next() {
            None | Some("") => 0,
            Some(d) => d.parse().map_err(|_| usage())?,
        };
        if parts.next().is_some() {
            return Err(usage());
        }
        let sentinels: Vec<String> = hosts
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| format!("redis://{h}"))
            .collect();
        if sentinels.is_empty() {
            return Err(usage());
        }
        for s in &sentinels {
            redis::Client::open(s.as_str()).map_err(|e| format!("{}: {e}", usage()))?;
        }
        Ok(Target::Sentinel {
            sentinels,
            master: master.to_string(),
            db,
        })
    }

    /// A client for the server to talk to now: for Sentinel, the primary it names.
    fn client(&self) -> redis::RedisResult<redis::Client> {
        match self {
            Target::Direct(c) => Ok(c.clone()),
            Target::Sentinel {
                sentinels,
                master,
                db,
            } => primary_of(sentinels, master, *db),
        }
    }
}

/// Asks each Sentinel in turn where `master` is, and takes the first answer whose server says
/// it is a primary (a Sentinel may not have seen a failover yet). Every connection and reply
/// is bounded by the bus timeouts, so a Sentinel or server that went silent costs seconds, not
/// the operating system's minutes, in the middle of a kill-switch read.
fn primary_of(sentinels: &[String], master: &str, db: i64) -> redis::RedisResult<redis::Client> {
    let mut last = None;
    for s in sentinels {
        let asked = redis::Client::open(s.as_str())
            .and_then(|c| c.get_connection_with_timeout(CONNECT_TIMEOUT))
            .and_then(|mut c| {
                c.set_read_timeout(Some(IO_TIMEOUT))?;
                c.set_write_timeout(Some(IO_TIMEOUT))?;
                redis::cmd("SENTINEL")
                    .arg("get-master-addr-by-name")
                    .arg(master)
                    .query::<Option<(String, u16)>>(&mut c)
            });
        let (host, port) = match asked {
            Ok(Some(addr)) => addr,
            Ok(None) => {
                last = Some(redis::RedisError::from((
                    redis::ErrorKind::Client,
                    "Sentinel does not know this master",
                    format!("{s}: {master}"),
                )));
                continue;
            }
            Err(e) => {
                last = Some(e);
                continue;
            }
        };
        let client = redis::Client::open(format!("redis://{host}:{port}/{db}"))?;
        let role = client
            .get_connection_with_timeout(CONNECT_TIMEOUT)
            .and_then(|mut c| {
                c.set_read_timeout(Some(IO_TIMEOUT))?;
                redis::cmd("ROLE").query::<Vec<redis::Value>>(&mut c)
            });
        match role {
            Ok(r) if matches!(r.first(), Some(redis::Value::BulkString(b)) if b == b"master") => {
                return Ok(client);
            }
            Ok(_) => {
                last = Some(redis::RedisError::from((
                    redis::ErrorKind::Client,
                    "the server Sentinel named is not a primary (yet)",
                    format!("{host}:{port}"),
                )))
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        redis::RedisError::from((redis::ErrorKind::Client, "no Sentinel given"))
    }))
}

/// Checks a bus URL: `redis://…` or `redis+sentinel://…`.
pub fn check_url(url: &str) -> Result<(), String> {
    Target::parse(url).map(|_| ())
}

/// A client for the server a bus URL names now (through Sentinel, today's primary).
pub fn client(url: &str) -> Result<redis::Client, String> {
    Target::parse(url)?
        .client()
        .map_err(|e| format!("{url}: {e}"))
}

/// Redis pub/sub plus the few key commands the kill switch and risk engine need.
pub struct RedisBus {
    url: String,
    target: Target,
    conn: Option<redis::Connection>,
    reconnect: Reconnect,
    /// Set to stop retrying (shutdown).
    pub stop: Arc<AtomicBool>,
}

fn connect(target: &Target, url: &str) -> Result<redis::Connection, BusError> {
    let conn = target
        .client()
        .and_then(|c| c.get_connection_with_timeout(CONNECT_TIMEOUT))
        .map_err(|e| BusError::Connect {
            url: url.to_string(),
            msg: e.to_string(),
        })?;
    conn.set_read_timeout(Some(IO_TIMEOUT)).ok();
    conn.set_write_timeout(Some(IO_TIMEOUT)).ok();
    Ok(conn)
}

impl RedisBus {
    /// Connects and pings; an unreachable server is an error naming the URL.
    pub fn connect(url: &str, reconnect: Reconnect) -> Result<Self, BusError> {
        let target = Target::parse(url).map_err(|msg| BusError::Connect {
            url: url.to_string(),
            msg,
        })?;
        let mut conn = connect(&target, url)?;
        redis::cmd("PING")
            .query::<String>(&mut conn)
            .map_err(|e| BusError::Connect {
                url: url.to_string(),
                msg: e.to_string(),
            })?;
        crate::telemetry::bus();
        Ok(RedisBus {
            url: url.to_string(),
            target,
            conn: Some(conn),
            reconnect,
            stop: Arc::new(AtomicBool::new(false)),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs one command, reconnecting once if the connection broke. Errors are returned, not
    /// retried: the caller decides (the kill switch fails closed).
    pub fn with_conn<T>(
        &mut self,
        f: impl Fn(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, BusError> {
        let cmd_err = |url: &str, e: redis::RedisError| BusError::Command {
            url: url.to_string(),
            msg: e.to_string(),
        };
        if let Some(c) = self.conn.as_mut() {
            match f(c) {
                Ok(v) => return Ok(v),
                Err(e) if !(e.is_io_error() || e.is_connection_dropped() || e.is_timeout()) => {
                    return Err(cmd_err(&self.url, e));
                }
                Err(_) => self.conn = None,
            }
        }
        let mut c = connect(&self.target, &self.url)?;
        let v = f(&mut c).map_err(|e| cmd_err(&self.url, e))?;
        self.conn = Some(c);
        crate::telemetry::bus().reconnects.inc();
        Ok(v)
    }

    pub fn get(&mut self, key: &str) -> Result<Option<String>, BusError> {
        self.with_conn(|c| c.get(key))
    }

    pub fn set(&mut self, key: &str, value: &str) -> Result<(), BusError> {
        self.with_conn(|c| c.set(key, value))
    }

    pub fn del(&mut self, key: &str) -> Result<(), BusError> {
        self.with_conn(|c| c.del(key))
    }
}

impl Bus for RedisBus {
    /// Publishes, retrying with backoff while Redis is away (until `stop` is set).
    fn publish(&mut self, topic: &str, payload: &[u8]) -> Result<(), BusError> {
        let mut backoff = self.reconnect.backoff();
        loop {
            match self.with_conn(|c| c.publish::<_, _, ()>(topic, payload)) {
                Ok(()) => return Ok(()),
                Err(e) if self.stop.load(Ordering::Relaxed) => return Err(e),
                Err(e) => {
                    let d = backoff.next_delay(rand::random());
                    tracing::warn!(topic, error = %e, retry_in_ms = d.as_millis() as u64, "publish failed");
                    std::thread::sleep(d);
                }
            }
        }
    }

    /// One pipelined round trip for all (a decision and its order leave together), retrying
    /// like [`RedisBus::publish`].
    fn publish_all(&mut self, msgs: &[(String, Vec<u8>)]) -> Result<(), BusError> {
        if msgs.len() < 2 {
            return msgs.iter().try_for_each(|(t, p)| self.publish(t, p));
        }
        let mut pipe = redis::pipe();
        for (t, p) in msgs {
            pipe.publish(t, p).ignore();
        }
        let mut backoff = self.reconnect.backoff();
        loop {
            match self.with_conn(|c| pipe.query::<()>(c)) {
                Ok(()) => return Ok(()),
                Err(e) if self.stop.load(Ordering::Relaxed) => return Err(e),
                Err(e) => {
                    let d = backoff.next_delay(rand::random());
                    tracing::warn!(error = %e, retry_in_ms = d.as_millis() as u64, "publish failed");
                    std::thread::sleep(d);
                }
            }
        }
    }

    /// Subscribes on a dedicated connection and thread, which reconnects and resubscribes
    /// with backoff when the connection drops. Fails at once if Redis is unreachable now.
    fn subscribe(&mut self, patterns: &[String]) -> Result<Subscription, BusError> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
        let stop = Arc::new(AtomicBool::new(false));
        let worker = SubscriberWorker {
            target: self.target.clone(),
            url: self.url.clone(),
            patterns: patterns.to_vec(),
            tx,
            stop: stop.clone(),
            reconnect: self.reconnect,
        };
        std::thread::Builder::new()
            .name("redis-sub".into())
            .spawn(move || worker.run(ready_tx))
            .map_err(|e| BusError::Connect {
                url: self.url.clone(),
                msg: e.to_string(),
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Subscription { rx, stop }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(BusError::Closed),
        }
    }
}

struct SubscriberWorker {
    target: Target,
    url: String,
    patterns: Vec<String>,
    tx: Sender<Message>,
    stop: Arc<AtomicBool>,
    reconnect: Reconnect,
}

impl SubscriberWorker {
    fn run(self, ready: Sender<Result<(), BusError>>) {
        let mut ready = Some(ready);
        let mut backoff = self.reconnect.backoff();
        while !self.stop.load(Ordering::Relaxed) {
            let outcome = self.session(&mut ready, &mut backoff);
            if let Err(e) = outcome {
                if let Some(r) = ready.take() {
                    let _ = r.send(Err(e));
                    return;
                }
                let d = backoff.next_delay(rand::random());
                tracing::warn!(url = %self.url, error = %e, retry_in_ms = d.as_millis() as u64, "Redis subscription lost; reconnecting");
                std::thread::sleep(d);
            }
        }
    }

    /// One connection's life: subscribe, then forward messages until it breaks or we stop.
    fn session(
        &self,
        ready: &mut Option<Sender<Result<(), BusError>>>,
        backoff: &mut Backoff,
    ) -> Result<(), BusError> {
        let err = |e: redis::RedisError| BusError::Command {
            url: self.url.clone(),
            msg: e.to_string(),
        };
        let mut conn = connect(&self.target, &self.url)?;
        let mut ps = conn.as_pubsub();
        for p in &self.patterns {
            if p.contains(['*', '?', '[']) {
                ps.psubscribe(p).map_err(err)?;
            } else {
                ps.subscribe(p).map_err(err)?;
            }
        }
        ps.set_read_timeout(Some(Duration::from_millis(100)))
            .map_err(err)?;
        if backoff.attempts() > 0 {
            tracing::info!(url = %self.url, "Redis subscription restored");
            crate::telemetry::bus().reconnects.inc();
        }
        backoff.reset();
        if let Some(r) = ready.take() {
            let _ = r.send(Ok(()));
        }
        while !self.stop.load(Ordering::Relaxed) {
            match ps.get_message() {
                Ok(msg) => {
                    let m = Message {
                        topic: msg.get_channel_name().to_string(),
                        payload: msg.get_payload_bytes().to_vec(),
                    };
                    if self.tx.send(m).is_err() {
                        return Ok(());
                    }
                }
                Err(e) if e.is_timeout() => continue,
                Err(e) => return Err(err(e)),
            }
        }
        Ok(())
    }
}

type MemorySubs = Vec<(Vec<String>, Sender<Message>)>;

/// An in-process bus with Redis' pattern semantics; clones share the same channels.
#[derive(Clone, Default)]
pub struct MemoryBus {
    subs: Arc<Mutex<MemorySubs>>,
}

impl MemoryBus {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Bus for MemoryBus {
    fn publish(&mut self, topic: &str, payload: &[u8]) -> Result<(), BusError> {
        let mut subs = self.subs.lock().map_err(|_| BusError::Closed)?;
        subs.retain(|(patterns, tx)| {
            if patterns.iter().any(|p| glob_match(p, topic)) {
                tx.send(Message {
                    topic: topic.to_string(),
                    payload: payload.to_vec(),
                })
                .is_ok()
            } else {
                true
            }
        });
        Ok(())
    }

    fn subscribe(&mut self, patterns: &[String]) -> Result<Subscription, BusError> {
        let (tx, rx) = crossbeam_channel::unbounded();
        self.subs
            .lock()
            .map_err(|_| BusError::Closed)?
            .push((patterns.to_vec(), tx));
        Ok(Subscription {
            rx,
            stop: Arc::new(AtomicBool::new(false)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_bus_matches_patterns() {
        let mut bus = MemoryBus::new();
        let s = bus
            .subscribe(&["md.trades.*".into(), "risk.decisions".into()])
            .unwrap();
        bus.publish("md.trades.ATOM/USDT", b"a").unwrap();
        bus.publish("md.book.ATOM/USDT", b"b").unwrap();
        bus.publish("risk.decisions", b"c").unwrap();
        let got: Vec<_> = std::iter::from_fn(|| s.try_recv())
            .map(|m| m.payload)
            .collect();
        assert_eq!(got, vec![b"a".to_vec(), b"c".to_vec()]);
    }

    #[test]
    fn sentinel_urls_name_their_sentinels_master_and_db() {
        match Target::parse("redis+sentinel://127.0.0.1:26379,10.0.0.2:26380/mymaster/2") {
            Ok(Target::Sentinel {
                sentinels,
                master,
                db,
            }) => {
                assert_eq!(
                    sentinels,
                    ["redis://127.0.0.1:26379", "redis://10.0.0.2:26380"]
                );
                assert_eq!((master.as_str(), db), ("mymaster", 2));
            }
            _ => panic!("not a Sentinel target"),
        }
        for bad in [
            "redis+sentinel://127.0.0.1:26379",
            "redis+sentinel:///mymaster",
            "redis+sentinel://127.0.0.1:26379/m/x",
            "redis+sentinel://127.0.0.1:26379/m/0/extra",
        ] {
            let e = check_url(bad).err().unwrap();
            assert!(e.contains("redis+sentinel://HOST:PORT"), "{bad}: {e}");
        }
        assert!(check_url("redis://127.0.0.1:6379/0").is_ok());
        assert!(
            check_url("redis//x")
                .unwrap_err()
                .contains("is not a Redis URL")
        );
    }

    #[test]
    fn unreachable_redis_names_the_url() {
        let e = RedisBus::connect("redis://127.0.0.1:1/0", Reconnect::default())
            .err()
            .unwrap();
        assert!(e.to_string().contains("redis://127.0.0.1:1/0"), "{e}");
    }
}
