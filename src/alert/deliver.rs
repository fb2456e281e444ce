//! Delivery: a thread that sends the outbox's messages, oldest first, each retried with
//! backoff until its channel accepts it (any 2xx), within each channel's rate limit. Every
//! request carries the message's idempotency key (`Idempotency-Key`), so a receiver can drop
//! the repeat a crash between its answer and the outbox's `sent` record causes.

use super::outbox::{Item, Outbox};
use super::{Channel, Target, request};
use crossbeam_channel::{Receiver, Sender, unbounded};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// First retry delay; doubled per failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

struct Pending {
    item: Item,
    failures: u32,
    next_try: Instant,
}

enum Msg {
    Send(Item),
    /// Stop once everything queued is delivered, or at the deadline.
    Finish(Instant),
}

/// The delivery thread.
pub struct Delivery {
    tx: Sender<Msg>,
    thread: JoinHandle<()>,
}

impl Delivery {
    /// Starts delivering `pending` (what an earlier run left) and whatever [`Delivery::send`]
    /// adds later.
    pub fn start(
        channels: BTreeMap<String, Channel>,
        outbox: Arc<Mutex<Outbox>>,
        pending: Vec<Item>,
    ) -> Result<Delivery, String> {
        let (tx, rx) = unbounded();
        for item in pending {
            let _ = tx.send(Msg::Send(item));
        }
        let thread = std::thread::Builder::new()
            .name("alert-delivery".into())
            .spawn(move || run(channels, outbox, rx))
            .map_err(|e| format!("alert delivery thread: {e}"))?;
        Ok(Delivery { tx, thread })
    }

    /// Hands a message (already in the outbox) to the thread.
    pub fn send(&self, item: Item) {
        let _ = self.tx.send(Msg::Send(item));
    }

    /// Waits up to `grace` for the queue to empty; what is left stays in the outbox for the
    /// next run.
    pub fn finish(self, grace: Duration) {
        let _ = self.tx.send(Msg::Finish(Instant::now() + grace));
        if self.thread.join().is_err() {
            tracing::error!(
                "alert delivery stopped on an error; the outbox keeps what it had not sent"
            );
        }
    }
}

fn run(channels: BTreeMap<String, Channel>, outbox: Arc<Mutex<Outbox>>, rx: Receiver<Msg>) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return tracing::error!("alert delivery: {e}"),
    };
    let http = match reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .build()
    {
        Ok(c) => c,
        Err(e) => return tracing::error!("alert delivery: {e}"),
    };
    let m = crate::telemetry::alerts();
    let mut queue: VecDeque<Pending> = VecDeque::new();
    let mut sends: BTreeMap<String, VecDeque<Instant>> = BTreeMap::new();
    let mut finish: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if finish.is_some_and(|at| queue.is_empty() || now >= at) {
            if !queue.is_empty() {
                tracing::warn!(
                    left = queue.len(),
                    "stopping with alerts undelivered; the next run sends them"
                );
            }
            return;
        }
        // The first message that is due and whose channel may send now.
        for recent in sends.values_mut() {
            while recent
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
            {
                recent.pop_front();
            }
        }
        let due = queue.iter().position(|p| {
            let limit = channels.get(&p.item.channel).map_or(0, |c| c.per_minute);
            let sent = sends.get(&p.item.channel).map_or(0, VecDeque::len);
            p.next_try <= now && (limit == 0 || sent < limit as usize)
        });
        let Some(at) = due else {
            let wait = queue
                .iter()
                .map(|p| p.next_try.saturating_duration_since(now))
                .min()
                .unwrap_or(Duration::from_secs(1))
                .clamp(Duration::from_millis(10), Duration::from_secs(1));
            match rx.recv_timeout(wait) {
                Ok(Msg::Send(item)) => queue.push_back(Pending {
                    item,
                    failures: 0,
                    next_try: Instant::now(),
                }),
                Ok(Msg::Finish(at)) => finish = Some(at),
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                    finish.get_or_insert(Instant::now());
                }
            }
            m.pending.set(queue.len() as i64);
            continue;
        };
        let Some(mut p) = queue.remove(at) else {
            continue;
        };
        let Some(channel) = channels.get(&p.item.channel) else {
            tracing::error!(channel = %p.item.channel, id = %p.item.id, "no such channel in the rules file; the message stays in the outbox");
            continue;
        };
        sends
            .entry(channel.name.clone())
            .or_default()
            .push_back(now);
        let sent = match (
            &channel.target,
            request(&channel.target, &p.item.id, &p.item.notice),
        ) {
            (Target::Email(e), _) => super::email(e, &p.item.id, &p.item.notice)
                .and_then(|msg| super::send_email(e, &msg, REQUEST_TIMEOUT)),
            (_, Some((url, body))) => rt
                .block_on(async {
                    http.post(&url)
                        .header("Idempotency-Key", &p.item.id)
                        .json(&body)
                        .send()
                        .await
                })
                .map_err(crate::venue::request_error)
                .and_then(|r| match r.status() {
                    s if s.is_success() => Ok(()),
                    s => Err(format!("HTTP {}", s.as_u16())),
                }),
            (_, None) => Err("no request for this channel".into()),
        };
        match sent {
            Ok(()) => {
                m.sent(&channel.name);
                let marked = outbox
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .sent(&p.item.id);
                if let Err(e) = marked {
                    tracing::error!("{e}; {} may be sent again", p.item.id);
                }
                tracing::info!(channel = %channel.name, id = %p.item.id, "alert delivered");
            }
            Err(why) => {
                m.failed(&channel.name);
                // The URL may be a secret: say the channel and what went wrong only.
                p.failures += 1;
                let delay = FIRST_BACKOFF
                    .saturating_mul(1 << p.failures.min(8))
                    .min(MAX_BACKOFF);
                tracing::warn!(channel = %channel.name, id = %p.item.id, retry_in_ms = delay.as_millis() as u64, "alert not delivered: {why}");
                p.next_try = Instant::now() + delay;
                queue.push_back(p);
            }
        }
        m.pending.set(queue.len() as i64);
    }
}
