//! Delivery: a thread that sends the outbox's messages, oldest first, each retried with
//! backoff until its channel accepts it (any 2xx), within each channel's rate limit. What a
//! rate limit holds back goes out as one summary when the channel may send again. Every
//! request carries the message's idempotency key (`Idempotency-Key`), so a receiver can drop
//! the repeat a crash between its answer and the outbox's `sent` record causes.

use super::outbox::{Item, Outbox};
use super::{Channel, Notice, State, Target, request};
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
/// The most messages one summary carries.
const MAX_FOLD: usize = 500;

struct Pending {
    item: Item,
    failures: u32,
    next_try: Instant,
    /// Its channel's rate limit held it back when it was due.
    held: bool,
}

impl Pending {
    fn new(item: Item) -> Pending {
        Pending {
            item,
            failures: 0,
            next_try: Instant::now(),
            held: false,
        }
    }
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
    use crate::venue::{blocking_runtime, http_client};
    let (rt, http) = match blocking_runtime().and_then(|rt| Ok((rt, http_client(REQUEST_TIMEOUT)?)))
    {
        Ok(both) => both,
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
        // Each channel's sends within its window, and whether it may send now.
        for (name, recent) in sends.iter_mut() {
            let per = channels
                .get(name)
                .and_then(|c| c.rate_limit)
                .map_or(Duration::ZERO, |(_, per)| per);
            while recent
                .front()
                .is_some_and(|t| now.duration_since(*t) >= per)
            {
                recent.pop_front();
            }
        }
        let open = |channel: &str| match channels.get(channel).and_then(|c| c.rate_limit) {
            None => true,
            Some((n, _)) => sends.get(channel).map_or(0, VecDeque::len) < n as usize,
        };
        let mut due = None;
        for (i, p) in queue.iter_mut().enumerate() {
            if p.next_try <= now {
                if open(&p.item.channel) {
                    due = due.or(Some(i));
                } else {
                    p.held = true;
                }
            }
        }
        let Some(at) = due else {
            // Until a message is due, or a channel holding messages back may send again.
            let reopens = |channel: &str| {
                let per = channels.get(channel).and_then(|c| c.rate_limit);
                let oldest = sends.get(channel).and_then(|s| s.front());
                match (per, oldest) {
                    (Some((_, per)), Some(t)) => (*t + per).saturating_duration_since(now),
                    _ => Duration::ZERO,
                }
            };
            let wait = queue
                .iter()
                .map(|p| match p.next_try.saturating_duration_since(now) {
                    Duration::ZERO => reopens(&p.item.channel),
                    d => d,
                })
                .min()
                .unwrap_or(Duration::from_secs(1))
                .clamp(Duration::from_millis(10), Duration::from_secs(1));
            match rx.recv_timeout(wait) {
                Ok(Msg::Send(item)) => queue.push_back(Pending::new(item)),
                Ok(Msg::Finish(at)) => finish = Some(at),
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                    finish.get_or_insert(Instant::now());
                }
            }
            m.pending.set(queue.len() as i64);
            continue;
        };
        let Some(channel) = queue.get(at).and_then(|p| channels.get(&p.item.channel)) else {
            if let Some(p) = queue.remove(at) {
                tracing::error!(channel = %p.item.channel, id = %p.item.id, "no such channel in the rules file; the message stays in the outbox");
            }
            continue;
        };
        let mut p = match fold(channel, &mut queue, now, &outbox) {
            Some(summary) => summary,
            None => match queue.remove(at) {
                Some(p) => p,
                None => continue,
            },
        };
        sends
            .entry(channel.name.clone())
            .or_default()
            .push_back(now);
        let sent = match (&channel.target, request(&channel.target, &p.item)) {
            (Target::Email(e), _) => {
                super::email(e, &p.item).and_then(|msg| super::send_email(e, &msg, REQUEST_TIMEOUT))
            }
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

/// When `channel`'s rate limit held messages back, takes every due message of the channel
/// off the queue (at most [`MAX_FOLD`]) and makes them one summary, queued in the outbox
/// before they are marked folded into it. `None` when nothing was held back, when there is
/// only one message to send, or when the outbox could not record the summary (then they go
/// one by one).
fn fold(
    channel: &Channel,
    queue: &mut VecDeque<Pending>,
    now: Instant,
    outbox: &Mutex<Outbox>,
) -> Option<Pending> {
    let (limit, per) = channel.rate_limit?;
    let mine = |p: &Pending| p.item.channel == channel.name && p.next_try <= now;
    let held = queue.iter().any(|p| mine(p) && p.held);
    if !held || queue.iter().filter(|p| mine(p)).take(2).count() < 2 {
        return None;
    }
    let mut taken = Vec::new();
    let mut i = 0;
    while i < queue.len() && taken.len() < MAX_FOLD {
        if mine(&queue[i]) {
            taken.extend(queue.remove(i));
        } else {
            i += 1;
        }
    }
    let notices: Vec<Notice> = taken
        .iter()
        .flat_map(|p| match p.item.folded.is_empty() {
            true => std::slice::from_ref(&p.item.notice),
            false => p.item.folded.as_slice(),
        })
        .cloned()
        .collect();
    let first = &taken[0].item;
    let id = format!("{}+{}", first.id, notices.len() - 1);
    let severity = notices
        .iter()
        .find(|n| n.severity == "critical")
        .unwrap_or(&notices[0])
        .severity
        .clone();
    let summary = Item {
        id: id.clone(),
        channel: channel.name.clone(),
        notice: Notice {
            id: id.clone(),
            rule: "rate_limit_summary".into(),
            key: channel.name.clone(),
            severity,
            state: State::Firing,
            summary: format!(
                "{} alerts held back by the rate limit of channel {} ({limit} per {} s)",
                notices.len(),
                channel.name,
                per.as_secs()
            ),
            starts_at_ns: notices.iter().map(|n| n.starts_at_ns).min().unwrap_or(0),
            at_ns: notices.iter().map(|n| n.at_ns).max().unwrap_or(0),
        },
        folded: notices,
    };
    let ids: Vec<String> = taken.iter().map(|p| p.item.id.clone()).collect();
    let recorded = {
        let mut o = outbox.lock().unwrap_or_else(|e| e.into_inner());
        o.queue(&summary).and_then(|()| o.folded(ids, &id))
    };
    match recorded {
        Ok(()) => {
            crate::telemetry::alerts().folded(&channel.name, taken.len());
            tracing::info!(channel = %channel.name, id = %id, messages = summary.folded.len(), "alerts held back by the rate limit go out as one summary");
            Some(Pending::new(summary))
        }
        Err(e) => {
            tracing::error!("{e}; the held-back alerts go out one by one");
            for p in taken.into_iter().rev() {
                queue.push_front(p);
            }
            None
        }
    }
}
