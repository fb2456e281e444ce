//! The njord-broker shell: a [`Stage`] that echoes orders (dry-run) or sends them to a
//! [`Venue`] (live), owning the tokio runtime that drives the venue's futures.
//!
//! The service is generic over its venue and its [`Clock`]: Binance.US and the system clock
//! in production, a scripted in-memory venue and a manual clock in its tests, so the gates,
//! the one-order-per-intent rule and reconciliation are tested without sockets or waiting.
//!
//! Each order is handled to its venue answer inside `on_event`, so a stop signal between
//! orders never leaves one half-sent. Before the send, a `pending_new` order update is
//! journaled and put on disk: a broker killed mid-send finds it at restart and asks the venue.
//! An order whose answer is lost is published `unknown` and settled on later ticks, so it
//! never holds up the orders behind it. Venue news (user stream, REST polls, balances) is
//! drained on the runner's wall-clock tick; on stdio that is every 100 ms. Live, the broker
//! books each venue fill into positions ([`FillBook`]) and publishes them with the day's PnL,
//! as njord-paper does in paper, so the daily-loss cap sees real losses.

use super::armed::{ArmedBook, triggered};
use super::book::FillBook;
use super::client_id::client_order_id;
use super::guard::{self, Denial, PriceRules, Quote};
use super::order_state::OrderStatus;
use super::placement::{Settled, Unresolved, place_oco_once, place_once, resend_window, settle};
use super::reconcile::{AttributedFill, Outcome, Reconciler, VenueFill, Watermark};
use super::{
    BalanceSnapshot, BrokerError, BrokerOrderReq, BrokerOrderUpdate, StreamMsg, UserStream, Venue,
};
use crate::app::Error;
use crate::backoff::RetryPolicy;
use crate::bus::RedisBus;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, Loaded};
use crate::event::{
    Ack, Balance, Cancel, Decision, Echo, Event, Fill, Kind, Liquidity, Order, OrderType,
    OrderUpdate, Position, Side, TimeInForce,
};
use crate::journal::{JournalReader, Journals};
use crate::kill::KillSwitch;
use crate::reason::Reason;
use crate::stage::{Out, Stage, StageError};
use crate::venue::binanceus::venue::BinanceUs;
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Journal of what the broker did with each order (echo, ack, denial, order updates).
pub const ORDERS_JOURNAL: &str = "broker.orders";
/// Journal of venue fills.
pub const FILLS_JOURNAL: &str = "broker.fills";
/// Journal of published balances.
pub const BALANCES_JOURNAL: &str = "broker.balances";
/// Journal of the positions booked from venue fills.
pub const POSITIONS_JOURNAL: &str = "broker.positions";
/// Journal of the orders a live broker was given, as given: after a restart, the strategy of
/// an earlier run's order (its fills carry no other trace of it).
pub const GIVEN_JOURNAL: &str = "broker.given";
/// File of the fill watermark, beside the journals.
pub const WATERMARK_FILE: &str = "broker.watermark.json";
/// Journal of what the broker enforces itself: each protective order it holds until its
/// trigger and each member of a one-cancels-other group it enforces (`order`), and an
/// `order_update` when one leaves (sent on its trigger, cancelled, or its group resolved).
pub const ARMED_JOURNAL: &str = "broker.armed";
/// How long the first leg of a possible venue OCO list waits for its partner before it is
/// placed alone.
const OCO_PAIR_WAIT: Duration = Duration::from_secs(1);
/// How often a live broker writes the day's PnL again without a fill.
const PNL_REFRESH: Duration = Duration::from_secs(10);
/// How long an armed order refused at its trigger (kill switch, prices that disagree) waits
/// before the next trade may try it again: each try asks the venue for its quote.
const ARMED_RETRY: Duration = Duration::from_secs(1);

/// How the broker was asked to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `NJORD_ENABLE_LIVE`, as read from the environment by the binary.
    pub enable_live: Option<String>,
    /// Dry-run orders go to `POST /api/v3/order/test`.
    pub validate: bool,
    /// Redis for the kill-switch key (`--bus`, else `redis.url`).
    pub redis_url: Option<String>,
}

/// What a venue is opened for; a dry-run without `--validate` opens none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `--validate`: orders are only checked, so the venue may be opened read-only.
    Validate,
    /// Live trading.
    Trade,
}

pub struct BrokerStage<V: Venue, C: Clock> {
    /// The venue this broker trades, as orders name it.
    venue_name: String,
    journals: Journals,
    /// Last trade or ticker price seen on the input, per symbol, with its event time: checked
    /// against the venue's own quote before a live order.
    last_price: HashMap<String, (Decimal, i64)>,
    validator: Option<VenueRuntime<V>>,
    live: Option<Box<Live<V, C>>>,
    /// Live: the positions of the venue fills, rebuilt from the fills journal at start.
    book: FillBook,
    /// Where the day's PnL of `book` is shared (`njord:pnl:day`), for risk.
    pnl_redis: Option<RedisBus>,
    /// When, on the live clock's monotonic time, the PnL is written again without a fill.
    next_pnl: Duration,
}

/// A venue and the tokio runtime its futures (and its user stream) run on.
struct VenueRuntime<V> {
    rt: tokio::runtime::Runtime,
    venue: V,
}

impl<V> VenueRuntime<V> {
    fn new(venue: V) -> Result<Self, Error> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .thread_name("broker-io")
            .build()
            .map_err(|e| Error::Failed(format!("cannot start the I/O runtime: {e}")))?;
        Ok(VenueRuntime { rt, venue })
    }
}

struct Live<V: Venue, C: Clock> {
    io: VenueRuntime<V>,
    clock: C,
    /// How often a rate-limited or unanswered order is tried again.
    retry: RetryPolicy,
    rec: Reconciler,
    cap: Decimal,
    rules: PriceRules,
    /// Market intents go out as limit IOC at the capped price.
    market_as_ioc: bool,
    kill: KillSwitch,
    /// `kill.cancel_open`: cancel open orders when the switch trips.
    cancel_open: bool,
    /// The switch's state at the last tick, to see it trip.
    halted: bool,
    /// After a send without an answer, how long until the venue can no longer take it.
    window: Duration,
    /// Orders sent without an answer, settled on ticks.
    unresolved: Vec<Unresolved>,
    next_settle: Duration,
    stream: V::UserStream,
    symbols: Vec<String>,
    poll_every: Duration,
    /// On the clock's monotonic time, like every schedule here.
    next_poll: Duration,
    balance_every: Duration,
    next_balance: Duration,
    clock_every: Duration,
    next_clock: Duration,
    grace: Duration,
    watermark_path: PathBuf,
    /// Client order ids the venue has or may have: sent in this run, acknowledged in an
    /// earlier one (journal), or among the venue's own recent orders.
    sent: HashSet<String>,
    /// Last published balance per asset.
    balances: BTreeMap<String, (Decimal, Decimal)>,
    /// Events caused by venue news, waiting for the next tick.
    pending: Out,
    /// Intent and strategy of each venue order of an earlier run (`broker.given` and the
    /// orders journal), by exchange order id, for its fills.
    given: HashMap<String, (String, String)>,
    /// Protective orders the venue cannot hold, until they trigger.
    armed: ArmedBook,
    /// One-cancels-other groups the broker enforces (legs not in a venue list): group key →
    /// (intent, symbol) of each member.
    groups: HashMap<String, Vec<(String, String)>>,
    /// The first leg of a possible venue OCO list, and since when it waits for its partner.
    held: Option<(Order<'static>, Duration)>,
    /// Intents filled since the last tick whose groups are to be resolved.
    filled: Vec<String>,
    /// Records for the armed journal, written by the stage.
    armed_log: Vec<Event<'static>>,
    /// Armed orders refused at their trigger, and when they may be tried again.
    refused_until: HashMap<String, Duration>,
}

fn read_watermark(path: &Path) -> Result<Watermark, Error> {
    match std::fs::read_to_string(path) {
        Ok(t) => serde_json::from_str(&t).map_err(|e| {
            Error::Usage(format!(
                "{}: not a fill watermark ({e}); fix or remove it (fills after the last one \
                 recorded would be emitted again)",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Watermark::default()),
        Err(e) => Err(Error::Usage(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Reads every event of the journal `stem` in `dir`, its rotated files first (a journal
/// rotates by the event time of its lines); bad lines are logged and skipped.
fn read_journal(dir: &Path, stem: &str, mut f: impl FnMut(Event<'_>)) {
    let want = dir.join(stem).display().to_string();
    let files = crate::journal::list_dir(dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.name == want)
        .flat_map(|s| s.files);
    for path in files {
        match JournalReader::open(&path) {
            Ok(mut r) => r.for_each_event(&mut f, |bad| tracing::warn!("{bad}")),
            Err(e) => tracing::warn!("{e}"),
        }
    }
}

/// What the orders journal says was sent.
#[derive(Debug, Default)]
struct JournalIds {
    /// Acknowledged, or reported with a venue id: placed for sure.
    placed: HashSet<String>,
    /// A `pending_new` or `unknown` with no venue word after it: the run died or lost the
    /// answer between the send and its outcome. (symbol, client order id, ts_ns)
    unresolved: Vec<(String, String, i64)>,
}

/// Client order ids of earlier runs, from the orders journal: a restarted broker never sends
/// an intent again, even one whose venue order is closed (Binance only refuses duplicate ids
/// of open orders), and asks the venue about the ones it sent without an answer.
fn journal_ids(journal_dir: &Path) -> JournalIds {
    let mut placed = HashSet::new();
    let mut open: BTreeMap<String, (String, i64)> = BTreeMap::new();
    read_journal(journal_dir, ORDERS_JOURNAL, |ev| match ev {
        Event::Ack(a) => {
            open.remove(a.client_order_id.as_ref());
            placed.insert(a.client_order_id.into_owned());
        }
        Event::OrderUpdate(u) if !u.exchange_order_id.is_empty() => {
            open.remove(u.client_order_id.as_ref());
            placed.insert(u.client_order_id.into_owned());
        }
        Event::OrderUpdate(u) => match u.status {
            OrderStatus::PendingNew | OrderStatus::Unknown => {
                if !placed.contains(u.client_order_id.as_ref()) {
                    open.insert(
                        u.client_order_id.into_owned(),
                        (u.symbol.into_owned(), u.ts_ns),
                    );
                }
            }
            _ => {
                open.remove(u.client_order_id.as_ref());
            }
        },
        _ => {}
    });
    JournalIds {
        placed,
        unresolved: open.into_iter().map(|(c, (s, t))| (s, c, t)).collect(),
    }
}

/// One order the armed journal says the broker still enforces.
struct Enforced {
    order: Order<'static>,
    /// Held until its trigger, rather than a group member the venue holds.
    armed: bool,
    /// A trailing stop's best price so far.
    best: Option<Decimal>,
}

/// What the armed journal says the broker still enforces, oldest first: each order with no
/// closing record. Records: an `order` (a member, or armed), an `order_update` `new` (armed;
/// a trailing stop's carries its best price so far in `avg_price`), any other
/// `order_update` (it left: sent on its trigger, cancelled, or its group resolved).
fn armed_journal(journal_dir: &Path) -> Vec<Enforced> {
    let mut open: Vec<Enforced> = Vec::new();
    read_journal(journal_dir, ARMED_JOURNAL, |ev| match ev {
        Event::Order(o) => {
            open.retain(|x| x.order.intent_id != o.intent_id);
            open.push(Enforced {
                order: o.to_static(),
                armed: false,
                best: None,
            });
        }
        Event::OrderUpdate(u) => {
            let cid = u.client_order_id.as_ref();
            let mine = |x: &Enforced| client_order_id(&x.order.intent_id) == cid;
            if u.status == OrderStatus::New {
                if let Some(entry) = open.iter_mut().find(|x| mine(x)) {
                    entry.armed = true;
                    if !u.avg_price.is_zero() {
                        entry.best = Some(u.avg_price);
                    }
                }
            } else {
                open.retain(|x| !mine(x));
            }
        }
        _ => {}
    });
    open
}

/// Whether an order could be a leg of a venue OCO list: a resting limit or a stop-limit of
/// a one-cancels-other group, with no trail.
fn oco_leg(o: &Order<'_>) -> bool {
    let resting = !matches!(o.time_in_force, Some(TimeInForce::Ioc | TimeInForce::Fok));
    o.oco.is_some()
        && o.trail.is_none()
        && match o.order_type {
            OrderType::Limit => resting,
            OrderType::StopLimit => true,
            _ => false,
        }
}

/// Two legs that make one venue OCO list, limit first: same group, side and size, one a
/// limit and the other a stop-limit. The venue checks the prices (a sell's limit above the
/// market, its stop below).
fn oco_pair(a: &Order<'_>, b: &Order<'_>) -> Option<(Order<'static>, Order<'static>)> {
    let same = oco_leg(a)
        && oco_leg(b)
        && a.oco_group() == b.oco_group()
        && a.side == b.side
        && a.qty == b.qty;
    match (a.order_type, b.order_type) {
        (OrderType::Limit, OrderType::StopLimit) if same => Some((a.to_static(), b.to_static())),
        (OrderType::StopLimit, OrderType::Limit) if same => Some((b.to_static(), a.to_static())),
        _ => None,
    }
}

impl BrokerStage<BinanceUs, SystemClock> {
    /// The broker on Binance.US and the system clock; see [`BrokerStage::start`]. Live, the
    /// secrets file must be private.
    pub fn new(loaded: &Loaded, opts: &Options) -> Result<Self, Error> {
        let cfg = &loaded.config;
        Self::start(cfg, opts, SystemClock::default(), |purpose| {
            let read_only = match purpose {
                Purpose::Validate => true,
                Purpose::Trade => {
                    loaded
                        .check_secrets_private()
                        .map_err(|e| Error::Usage(e.to_string()))?;
                    cfg.broker.read_only
                }
            };
            BinanceUs::from_config(cfg, read_only).map_err(|e| match e {
                BrokerError::NoKeys => Error::Usage(e.to_string()),
                e => Error::Failed(e.to_string()),
            })
        })
    }
}

impl<V: Venue, C: Clock> BrokerStage<V, C> {
    /// Builds the broker: dry-run unless live is enabled by both flags (DESIGN §9.1). `open`
    /// is called only when a venue is needed, for `--validate` or for live.
    pub fn start(
        cfg: &Config,
        opts: &Options,
        clock: C,
        open: impl FnOnce(Purpose) -> Result<V, Error>,
    ) -> Result<Self, Error> {
        let live = guard::live_enabled(cfg.app.env, opts.enable_live.as_deref());
        let mut stage = BrokerStage {
            venue_name: cfg.exchange.venue.clone(),
            journals: Journals::from_config(&cfg.journal).audited(),
            last_price: HashMap::new(),
            validator: None,
            live: None,
            book: FillBook::default(),
            pnl_redis: None,
            next_pnl: Duration::ZERO,
        };
        if !live {
            tracing::info!(
                env = ?cfg.app.env,
                "dry-run: orders are echoed, no order endpoint is called (live needs app.env: live and NJORD_ENABLE_LIVE=1)"
            );
            if opts.validate {
                stage.validator = Some(VenueRuntime::new(open(Purpose::Validate)?)?);
            }
            return Ok(stage);
        }
        let io = VenueRuntime::new(open(Purpose::Trade)?)?;
        stage.live = Some(Box::new(Live::start(io, clock, cfg, opts)?));
        stage.book = book_of_journal(&cfg.journal.dir);
        Ok(stage)
    }

    /// Live, keeps the day's realized PnL of the venue fills on this Redis (`njord:pnl:day`).
    pub fn publish_pnl_to(&mut self, redis: RedisBus) {
        self.pnl_redis = Some(redis);
    }

    /// Whether orders go to the venue.
    pub fn is_live(&self) -> bool {
        self.live.is_some()
    }

    fn journal(&mut self, stem: &str, ev: &Event<'_>) -> Result<(), StageError> {
        Ok(self.journals.append_event(stem, ev)?)
    }

    fn echo(&mut self, o: &Order<'_>, out: &mut Out) -> Result<(), StageError> {
        let cid = client_order_id(&o.intent_id);
        if let Some(v) = &self.validator {
            let req = request_of(o, cid.clone());
            match v.rt.block_on(v.venue.validate(&req)) {
                Ok(()) => {
                    tracing::info!(client_order_id = %cid, "order/test: the venue accepts this order")
                }
                Err(e) => tracing::warn!(client_order_id = %cid, "order/test: {e}"),
            }
        }
        let ev = Event::Echo(Echo {
            intent_id: Cow::Owned(o.intent_id.to_string()),
            client_order_id: Cow::Owned(cid),
            strategy_id: o.strategy_id.as_ref().map(|s| Cow::Owned(s.to_string())),
            venue: Cow::Owned(if o.venue.is_empty() {
                self.venue_name.clone()
            } else {
                o.venue.to_string()
            }),
            symbol: Cow::Owned(o.symbol.to_string()),
            side: o.side,
            order_type: o.order_type,
            qty: o.qty,
            limit_price: o.limit_price,
            ts_ns: o.ts_accepted_ns,
        });
        self.journal(ORDERS_JOURNAL, &ev)?;
        out.push(ev);
        Ok(())
    }

    /// Refuses, in dry-run and live alike, an order this broker cannot place as asked, so
    /// that nothing reaches the venue in another shape than the one risk allowed.
    fn refuse_unplaceable(&mut self, o: &Order<'_>, out: &mut Out) -> Result<(), StageError> {
        let why = unplaceable(o).unwrap_or_default();
        tracing::error!(intent_id = %o.intent_id, reason = Reason::InvalidOrder.as_str(), "order {} not sent: {why}", o.intent_id);
        let req = request_of(o, client_order_id(&o.intent_id));
        let ts = self
            .live
            .as_ref()
            .map_or(o.ts_accepted_ns, |l| l.clock.now_ns());
        self.emit(rejected(&req, Some(Reason::InvalidOrder), ts), out)
    }

    fn emit(&mut self, ev: Event<'static>, out: &mut Out) -> Result<(), StageError> {
        let stem = match ev.kind() {
            Kind::Fill => FILLS_JOURNAL,
            Kind::Balance => BALANCES_JOURNAL,
            _ => ORDERS_JOURNAL,
        };
        self.journal(stem, &ev)?;
        let position = match &ev {
            Event::Fill(f) => Some(Event::Position(book_fill(&mut self.book, f))),
            _ => None,
        };
        out.push(ev);
        if let Some(p) = position {
            self.journal(POSITIONS_JOURNAL, &p)?;
            out.push(p);
        }
        Ok(())
    }

    /// Writes (and puts on disk) the armed-journal records the live side produced.
    fn flush_armed_log(&mut self) -> Result<(), StageError> {
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        let records = std::mem::take(&mut live.armed_log);
        if records.is_empty() {
            return Ok(());
        }
        for r in &records {
            self.journal(ARMED_JOURNAL, r)?;
        }
        Ok(self.journals.sync(ARMED_JOURNAL)?)
    }

    /// Emits what the live side produced outside an input event (venue news, groups it
    /// resolved), after writing its armed-journal records. New fills are put on disk before
    /// the watermark that stops them being fetched again moves past them: a crash between
    /// the two can book a fill twice, but never loses one (the journaled fill carries no
    /// venue trade id to tell a repeat by).
    fn drain_live(&mut self, out: &mut Out) -> Result<(), StageError> {
        self.flush_armed_log()?;
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        let evs = std::mem::take(&mut live.pending);
        let filled = evs.iter().any(|e| matches!(e, Event::Fill(_)));
        evs.into_iter().try_for_each(|e| self.emit(e, out))?;
        if filled {
            self.journals.sync(FILLS_JOURNAL)?;
            self.publish_pnl();
        }
        if let Some(live) = self.live.as_mut() {
            live.persist_watermark();
        }
        Ok(())
    }

    /// Writes today's realized PnL of the venue fills to `njord:pnl:day`: after each fill, and
    /// every [`PNL_REFRESH`] so that a restarted broker or Redis shows the day's loss again
    /// before the next fill.
    fn publish_pnl(&mut self) {
        let (Some(redis), Some(live)) = (self.pnl_redis.as_mut(), self.live.as_ref()) else {
            return;
        };
        let now = live.clock.now_ns();
        crate::risk::publish_pnl_day(redis, self.book.pnl_day_usd(now), now);
        self.next_pnl = live.clock.monotonic() + PNL_REFRESH;
    }

    /// A live order. The partner of a waiting OCO leg goes out with it as one venue list; a
    /// leg that could make one waits for its partner (the next order, within
    /// [`OCO_PAIR_WAIT`]); every other order is placed, or armed when the venue cannot hold it.
    fn route_live(&mut self, o: &Order<'_>, out: &mut Out) -> Result<(), StageError> {
        if o.strategy_id.is_some() {
            self.journal(GIVEN_JOURNAL, &Event::Order(o.clone()))?;
        }
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        if let Some((held, _)) = live.held.take() {
            if let Some((limit, stop)) = oco_pair(&held, o) {
                return self.live_oco(&limit, &stop, out);
            }
            self.place_or_arm(&held, out)?;
        }
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        if oco_leg(o) && live.io.venue.supports(&o.symbol, "OCO") {
            live.held = Some((o.to_static(), live.clock.monotonic()));
            return Ok(());
        }
        self.place_or_arm(o, out)
    }

    /// Records a member of a one-cancels-other group, on disk before it is sent or armed.
    fn record_member(&mut self, o: &Order<'_>) -> Result<(), StageError> {
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        let Some(g) = o.oco_group() else {
            return Ok(());
        };
        live.join_group(g, o);
        self.journal(ARMED_JOURNAL, &Event::Order(o.clone()))?;
        Ok(self.journals.sync(ARMED_JOURNAL)?)
    }

    /// Places an order natively, or arms it: a stop-market, a trailing stop, a stop whose
    /// type the symbol's `orderTypes` lack, or one the input's last trade has already
    /// reached (the venue would refuse it: it is sent at once as what it becomes) is held
    /// here until a trade of the input reaches it. A one-cancels-other member is recorded so
    /// that the broker enforces its group.
    fn place_or_arm(&mut self, o: &Order<'_>, out: &mut Out) -> Result<(), StageError> {
        let last = self.last_price.get(o.symbol.as_ref()).map(|(p, _)| *p);
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        let cid = client_order_id(&o.intent_id);
        let venue_type = request_of(o, cid.clone()).venue_type();
        let passed = match (o.stop_price, last) {
            (Some(stop), Some(p)) => o.order_type.triggers(o.side, stop, p),
            _ => false,
        };
        let native = !o.order_type.is_triggered()
            || (o.trail.is_none() && !passed && live.io.venue.supports(&o.symbol, venue_type));
        if native {
            self.record_member(o)?;
            return self.live_order(o, out);
        }
        let now = live.clock.now_ns();
        if live.sent.contains(&cid) || live.armed.contains(&o.intent_id) {
            tracing::warn!(intent_id = %o.intent_id, "intent already armed or sent; not arming it again");
            return Ok(());
        }
        if let Err(d) = live.kill.check() {
            tracing::warn!(intent_id = %o.intent_id, reason = d.reason.as_str(), "not armed: the kill switch is on");
            return self.emit(denial(&o.intent_id, d, now), out);
        }
        live.armed.arm(o.to_static(), None);
        tracing::info!(intent_id = %o.intent_id, stop = ?o.stop_price, trail = ?o.trail, "armed: the venue cannot hold this {venue_type}{}; the broker sends it when a trade reaches it", if o.trail.is_some() { " that trails" } else { "" });
        if let Some(g) = o.oco_group() {
            live.join_group(g, o);
        }
        let armed = own_update(&o.symbol, &cid, OrderStatus::New, None, now);
        self.journal(ARMED_JOURNAL, &Event::Order(o.clone()))?;
        self.journal(ARMED_JOURNAL, &armed)?;
        self.journals.sync(ARMED_JOURNAL)?;
        self.emit(armed, out)?;
        match last {
            Some(p) if passed => self.fire_armed(&o.symbol, p, out),
            _ => Ok(()),
        }
    }

    /// Sends the armed orders a trade reaches, as what they become. Each passes the checks
    /// of any live order first; only then are the other members of its group cancelled (a
    /// refused one stays armed, its group intact, and is tried again at a trade a second or
    /// more later). A reached order whose group another one resolved is cancelled, never
    /// sent: one exit per group.
    fn fire_armed(
        &mut self,
        symbol: &str,
        price: Decimal,
        out: &mut Out,
    ) -> Result<(), StageError> {
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        if live.armed.is_empty() {
            return Ok(());
        }
        let outcome = live.armed.on_trade(symbol, price);
        let now = live.clock.now_ns();
        for (intent, best) in outcome.trailed {
            let cid = client_order_id(&intent);
            let mut record = own_update(symbol, &cid, OrderStatus::New, None, now);
            if let Event::OrderUpdate(u) = &mut record {
                u.avg_price = best;
            }
            self.journal(ARMED_JOURNAL, &record)?;
        }
        let input = self.last_price.get(symbol).copied();
        for f in outcome.fired {
            let Some(live) = self.live.as_mut() else {
                return Ok(());
            };
            let o = f.order;
            let cid = client_order_id(&o.intent_id);
            let now = live.clock.now_ns();
            if o.oco_group().is_some_and(|g| !live.groups.contains_key(&g)) {
                tracing::info!(intent_id = %o.intent_id, "reached, but another order of its group acted first: cancelled, not sent");
                let closed = own_update(&o.symbol, &cid, OrderStatus::Canceled, None, now);
                live.armed_log.push(closed.clone());
                live.pending.push(closed);
                self.drain_live(out)?;
                continue;
            }
            let mono = live.clock.monotonic();
            if live
                .refused_until
                .get(o.intent_id.as_ref())
                .is_some_and(|t| mono < *t)
            {
                live.armed.arm(o, f.best);
                continue;
            }
            let checked = live.check(&triggered(&o), input);
            if let Err(events) = &checked
                && !events.is_empty()
            {
                tracing::warn!(intent_id = %o.intent_id, "armed order reached but refused: it stays armed");
                live.refused_until
                    .insert(o.intent_id.to_string(), mono + ARMED_RETRY);
                live.armed.arm(o, f.best);
                let events = checked.err().unwrap_or_default();
                events.into_iter().try_for_each(|e| self.emit(e, out))?;
                continue;
            }
            // It leaves the armed book for good: sent now, or sent already (this run, the
            // journal or the venue's own orders: never again).
            live.refused_until.remove(o.intent_id.as_ref());
            let left = own_update(&o.symbol, &cid, OrderStatus::PendingNew, None, now);
            live.armed_log.push(left);
            match checked {
                Ok(req) => {
                    tracing::warn!(intent_id = %o.intent_id, %price, "armed order triggered: sending it");
                    live.resolve_group(&o.intent_id);
                    self.drain_live(out)?;
                    let strategy_id = o.strategy_id.as_ref().map(|s| s.to_string());
                    self.send_checked(req, strategy_id, out)?;
                }
                Err(_) => self.flush_armed_log()?,
            }
        }
        Ok(())
    }

    /// Places the two legs of a one-cancels-other group as one venue OCO list: the limit as
    /// LIMIT_MAKER, the stop-limit as STOP_LOSS_LIMIT. Each leg passes the checks of any live
    /// order; when one is refused, neither is placed. When one was sent already (a
    /// redelivery after a restart), each goes its own way.
    fn live_oco(
        &mut self,
        limit: &Order<'_>,
        stop: &Order<'_>,
        out: &mut Out,
    ) -> Result<(), StageError> {
        let input = self.last_price.get(limit.symbol.as_ref()).copied();
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        if live.known(&limit.intent_id) || live.known(&stop.intent_id) {
            self.place_or_arm(limit, out)?;
            return self.place_or_arm(stop, out);
        }
        let mut maker = limit.to_static();
        maker.post_only = true;
        let checked = (live.check(&maker, input), live.check(stop, input));
        let now = live.clock.now_ns();
        let (lreq, sreq) = match checked {
            (Ok(l), Ok(s)) => (l, s),
            (l, s) => {
                tracing::error!(intent_id = %limit.intent_id, "OCO list not placed: a leg was refused, so neither goes");
                for r in [l, s] {
                    let evs = match r {
                        Ok(req) => vec![rejected(&req, None, now)],
                        Err(evs) => evs,
                    };
                    evs.into_iter().try_for_each(|e| self.emit(e, out))?;
                }
                return Ok(());
            }
        };
        // Members of their group too: a third member's trigger cancels the list, and a
        // leg's fill disarms it.
        self.record_member(limit)?;
        self.record_member(stop)?;
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        let pendings = [live.pending_new(&lreq), live.pending_new(&sreq)];
        for pending in pendings {
            self.journal(ORDERS_JOURNAL, &pending)?;
            out.push(pending);
        }
        self.journals.sync(ORDERS_JOURNAL)?;
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        let strategy_id = limit.strategy_id.as_ref().map(|s| s.to_string());
        for ev in live.send_oco(lreq, sreq, strategy_id) {
            self.emit(ev, out)?;
        }
        Ok(())
    }

    /// Checks a live order, then sends it.
    fn live_order(&mut self, o: &Order<'_>, out: &mut Out) -> Result<(), StageError> {
        let input = self.last_price.get(o.symbol.as_ref()).copied();
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        let checked = if o.venue.is_empty() || o.venue == self.venue_name {
            live.check(o, input)
        } else {
            // An order meant for another venue must never reach this one.
            tracing::error!(intent_id = %o.intent_id, venue = %o.venue, "order for venue `{}`, this broker trades `{}`; not sent", o.venue, self.venue_name);
            Err(vec![rejected(
                &request_of(o, client_order_id(&o.intent_id)),
                None,
                live.clock.now_ns(),
            )])
        };
        match checked {
            Ok(req) => {
                let strategy_id = o.strategy_id.as_ref().map(|s| s.to_string());
                self.send_checked(req, strategy_id, out)
            }
            Err(events) => events.into_iter().try_for_each(|e| self.emit(e, out)),
        }
    }

    /// Journals a checked order's `pending_new` to disk, then sends it.
    fn send_checked(
        &mut self,
        req: BrokerOrderReq,
        strategy_id: Option<String>,
        out: &mut Out,
    ) -> Result<(), StageError> {
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        // Write-ahead: on disk before the request leaves, whatever `journal.fsync` says.
        let pending = live.pending_new(&req);
        self.journal(ORDERS_JOURNAL, &pending)?;
        self.journals.sync(ORDERS_JOURNAL)?;
        out.push(pending);
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        for ev in live.send(req, strategy_id) {
            self.emit(ev, out)?;
        }
        Ok(())
    }
}

/// Why the broker cannot place an order as asked: an execution-algorithm parent is
/// sliced by njord-exec, never sent whole.
fn unplaceable(o: &Order<'_>) -> Option<String> {
    o.exec.as_ref().map(|_| {
        "the broker does not place execution-algorithm parents (exec); njord-exec slices them"
            .to_string()
    })
}

fn request_of(o: &Order<'_>, cid: String) -> BrokerOrderReq {
    BrokerOrderReq {
        intent_id: o.intent_id.to_string(),
        client_order_id: cid,
        symbol: o.symbol.to_string(),
        side: o.side,
        order_type: o.order_type,
        qty: o.qty,
        limit_price: o.limit_price,
        stop_price: o.stop_price,
        time_in_force: o.time_in_force.unwrap_or_default(),
        post_only: o.post_only,
        iceberg_qty: o.iceberg_qty,
    }
}

/// The price an order meets at the venue now: the ask for a buy, the bid for a sell.
fn touch(side: Side, q: &Quote) -> Decimal {
    match side {
        Side::Buy => q.ask,
        Side::Sell => q.bid,
    }
}

fn denial(intent_id: &str, d: Denial, ts_ns: i64) -> Event<'static> {
    Event::Decision(Decision {
        intent_id: Cow::Owned(intent_id.to_string()),
        allowed: false,
        reason: Some(d.reason),
        caps: d.caps,
        ts_ns,
    })
}

/// An order update, not yet or never known to the venue (no exchange order id).
fn own_update(
    symbol: &str,
    client_order_id: &str,
    status: OrderStatus,
    reason: Option<Reason>,
    ts_ns: i64,
) -> Event<'static> {
    Event::OrderUpdate(OrderUpdate {
        symbol: Cow::Owned(symbol.to_string()),
        exchange_order_id: Cow::Borrowed(""),
        client_order_id: Cow::Owned(client_order_id.to_string()),
        status,
        reason,
        filled_qty: Decimal::ZERO,
        avg_price: Decimal::ZERO,
        ts_ns,
    })
}

fn update_event(u: &BrokerOrderUpdate) -> Event<'static> {
    Event::OrderUpdate(OrderUpdate {
        symbol: Cow::Owned(u.symbol.clone()),
        exchange_order_id: Cow::Owned(u.exchange_order_id.clone()),
        client_order_id: Cow::Owned(u.client_order_id.clone()),
        status: u.status,
        reason: None,
        filled_qty: u.filled_qty,
        avg_price: u.avg_price(),
        ts_ns: u.ts_ns,
    })
}

/// An order that never reached the venue's book, reported so nobody waits for it.
fn rejected(req: &BrokerOrderReq, reason: Option<Reason>, ts_ns: i64) -> Event<'static> {
    own_update(
        &req.symbol,
        &req.client_order_id,
        OrderStatus::Rejected,
        reason,
        ts_ns,
    )
}

/// The intent and strategy of every venue order of earlier runs, by exchange order id: the
/// given-orders journal names each intent's strategy, the orders journal its venue id.
fn given_orders(journal_dir: &Path) -> HashMap<String, (String, String)> {
    let mut by_client: HashMap<String, (String, String)> = HashMap::new();
    read_journal(journal_dir, GIVEN_JOURNAL, |ev| {
        if let Event::Order(o) = ev
            && let Some(s) = o.strategy_id
        {
            let cid = client_order_id(&o.intent_id);
            by_client.insert(cid, (o.intent_id.to_string(), s.to_string()));
        }
    });
    let mut by_exchange = HashMap::new();
    read_journal(journal_dir, ORDERS_JOURNAL, |ev| {
        let (cid, xid) = match &ev {
            Event::Ack(a) => (a.client_order_id.as_ref(), a.exchange_order_id.as_ref()),
            Event::OrderUpdate(u) => (u.client_order_id.as_ref(), u.exchange_order_id.as_ref()),
            _ => return,
        };
        if let Some(owner) = by_client.get(cid)
            && !xid.is_empty()
        {
            by_exchange.insert(xid.to_string(), owner.clone());
        }
    });
    by_exchange
}

/// Books a venue fill and returns its position. A fee in an asset with no known price is
/// left out of the PnL, and said so.
fn book_fill(book: &mut FillBook, f: &Fill<'_>) -> Position<'static> {
    let fee = book.fee_in_quote(f).unwrap_or_else(|| {
        tracing::warn!(
            order_id = %f.order_id,
            "fee {} {} has no price in {}'s quote yet: not counted in the day's PnL",
            f.fee,
            f.fee_asset,
            f.symbol
        );
        Decimal::ZERO
    });
    book.book(f, fee)
}

/// The positions of every fill in the fills journal (all runs): what the broker booked before
/// a restart still counts toward the day's PnL.
fn book_of_journal(journal_dir: &Path) -> FillBook {
    let mut book = FillBook::default();
    read_journal(journal_dir, FILLS_JOURNAL, |ev| {
        if let Event::Fill(f) = ev {
            book_fill(&mut book, &f);
        }
    });
    if !book.is_empty() {
        tracing::info!(
            positions = book.len(),
            "positions rebuilt from {FILLS_JOURNAL}"
        );
    }
    book
}

fn fill_event(f: AttributedFill) -> Event<'static> {
    let AttributedFill {
        fill,
        intent_id,
        strategy_id,
    } = f;
    let VenueFill {
        symbol,
        exchange_order_id,
        side,
        qty,
        price,
        fee,
        fee_asset,
        maker,
        ts_ns,
        ..
    } = fill;
    Event::Fill(Fill {
        order_id: Cow::Owned(exchange_order_id),
        intent_id: Cow::Owned(intent_id),
        strategy_id: strategy_id.map(Cow::Owned),
        symbol: Cow::Owned(symbol),
        side,
        qty,
        price,
        fee,
        fee_asset: Cow::Owned(fee_asset),
        liquidity: if maker {
            Liquidity::Maker
        } else {
            Liquidity::Taker
        },
        ts_fill_ns: ts_ns,
    })
}

impl<V: Venue, C: Clock> Live<V, C> {
    fn start(io: VenueRuntime<V>, clock: C, cfg: &Config, opts: &Options) -> Result<Self, Error> {
        let b = &cfg.broker;
        let venue = &io.venue;
        let symbols = cfg.exchange.symbols.clone();
        let watermark_path = cfg.journal.dir.join(WATERMARK_FILE);
        let watermark = read_watermark(&watermark_path)?;
        let mut rec = Reconciler::new(watermark);
        let ven =
            |e: BrokerError| Error::Failed(format!("venue at {}: {e}", cfg.exchange.rest_url));
        let since_ms = clock.now_ns() / 1_000_000
            - i64::try_from(b.startup_lookback_ms).unwrap_or(i64::MAX / 2);
        let (open, recent) = io
            .rt
            .block_on(async {
                venue.connect().await?;
                let (mut open, mut recent) = (Vec::new(), Vec::new());
                for s in &symbols {
                    if rec.watermark_of(s).is_none() {
                        // First run on this symbol: earlier account trades are not ours to report.
                        let last = venue.fetch_fills(s, None).await?.last().map(|f| f.trade_id);
                        rec.baseline(s, last.unwrap_or(0));
                    }
                    open.extend(venue.fetch_open_orders(Some(s)).await?);
                    recent.extend(venue.fetch_recent_orders(s, since_ms).await?);
                }
                Ok::<_, BrokerError>((open, recent))
            })
            .map_err(ven)?;
        let mut pending = Vec::new();
        for u in &open {
            if let Outcome::Changed(u) = rec.apply(u) {
                pending.push(update_event(&u));
            }
        }
        // Every client order id the venue has seen lately, whoever sent it: an empty or
        // wiped journal, or a second host, then cannot send an intent twice.
        let journal = journal_ids(&cfg.journal.dir);
        let mut sent = journal.placed;
        sent.extend(recent.into_iter().map(|u| u.client_order_id));
        tracing::info!(
            known_client_ids = sent.len(),
            lookback_ms = b.startup_lookback_ms,
            "client order ids already used (journal and the venue's recent orders)"
        );
        let mut armed = ArmedBook::default();
        let mut groups: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for e in armed_journal(&cfg.journal.dir) {
            if let Some(g) = e.order.oco_group() {
                let member = (e.order.intent_id.to_string(), e.order.symbol.to_string());
                groups.entry(g).or_default().push(member);
            }
            if e.armed && !sent.contains(&client_order_id(&e.order.intent_id)) {
                armed.arm(e.order, e.best);
            }
        }
        if !armed.is_empty() || !groups.is_empty() {
            tracing::info!(armed = ?armed.intents(), groups = groups.len(), "armed orders and one-cancels-other groups of an earlier run, from the armed journal");
        }
        let stream = io.rt.block_on(venue.open_user_stream());
        let now = clock.monotonic();
        tracing::warn!(
            read_only = b.read_only,
            cap_usd = %guard::effective_cap(b.live_max_notional_usd),
            "LIVE: orders go to {}",
            cfg.exchange.rest_url
        );
        let mut live = Live {
            io,
            clock,
            retry: b.retry(),
            rec,
            cap: b.live_max_notional_usd,
            rules: PriceRules {
                max_age_ns: i64::try_from(b.max_ref_age_ms)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(1_000_000),
                max_deviation_bps: b.max_deviation_bps,
                slippage_bps: b.slippage_bps,
            },
            market_as_ioc: b.market_as_limit_ioc,
            kill: KillSwitch::new(
                cfg.risk.kill_switch_file.clone(),
                opts.redis_url.clone(),
                cfg.risk.kill_switch_key.clone(),
            ),
            cancel_open: cfg.kill.cancel_open,
            halted: false,
            window: resend_window(Duration::from_millis(b.recv_window_ms.min(60_000))),
            unresolved: Vec::new(),
            next_settle: now,
            stream,
            symbols,
            poll_every: Duration::from_millis(b.poll_interval_ms.max(100)),
            next_poll: now + Duration::from_millis(b.poll_interval_ms.max(100)),
            balance_every: Duration::from_millis(b.balance_interval_ms.max(100)),
            next_balance: now,
            clock_every: Duration::from_millis(b.clock_sync_interval_ms.max(1000)),
            next_clock: now + Duration::from_millis(b.clock_sync_interval_ms.max(1000)),
            grace: Duration::from_millis(b.shutdown_grace_ms),
            watermark_path,
            sent,
            balances: BTreeMap::new(),
            pending,
            given: given_orders(&cfg.journal.dir),
            armed,
            groups,
            held: None,
            filled: Vec::new(),
            armed_log: Vec::new(),
            refused_until: HashMap::new(),
        };
        live.settle_journal(journal.unresolved);
        live.persist_watermark();
        Ok(live)
    }

    /// Orders an earlier run sent without learning the outcome (killed mid-send, or the
    /// answer lost) and that the venue's recent orders do not show: once the window since
    /// the send has passed, the venue's word by client id decides. Found: followed. Absent:
    /// never placed, reported `rejected`, and the intent may be sent again.
    fn settle_journal(&mut self, unresolved: Vec<(String, String, i64)>) {
        for (symbol, cid, ts_ns) in unresolved {
            if self.sent.contains(&cid) {
                continue;
            }
            let wait = (ts_ns + self.window.as_nanos() as i64).saturating_sub(self.clock.now_ns());
            if wait > 0 {
                tracing::info!(client_order_id = %cid, wait_ms = wait / 1_000_000, "an earlier run sent this order without an answer; waiting out the window before asking the venue");
                self.io
                    .rt
                    .block_on(self.clock.sleep(Duration::from_nanos(wait as u64)));
            }
            match self.io.rt.block_on(self.io.venue.lookup(&symbol, &cid)) {
                Ok(Some(u)) => {
                    self.sent.insert(cid);
                    self.apply_update(&u);
                }
                Ok(None) => {
                    tracing::warn!(client_order_id = %cid, "sent by an earlier run, never placed at the venue");
                    let now = self.clock.now_ns();
                    let update = own_update(&symbol, &cid, OrderStatus::Rejected, None, now);
                    self.pending.push(update);
                }
                Err(e) => {
                    // Unknown stays unknown: never sent again by this run.
                    tracing::error!(client_order_id = %cid, "cannot ask the venue about an order an earlier run sent: {e}; it is not sent again");
                    self.sent.insert(cid);
                }
            }
        }
    }

    /// Guards a live order and prepares it for the venue: not sent before, kill switch,
    /// the venue's quote against the input's reference price, market as limit IOC, the
    /// symbol's filters, and the cap at the worst price it can execute at. Refusals come
    /// back as the events that report them.
    fn check(
        &mut self,
        o: &Order<'_>,
        input: Option<(Decimal, i64)>,
    ) -> Result<BrokerOrderReq, Vec<Event<'static>>> {
        let cid = client_order_id(&o.intent_id);
        let mut req = request_of(o, cid.clone());
        if self.sent.contains(&cid) || self.rec.get(&cid).is_some() {
            tracing::warn!(intent_id = %o.intent_id, client_order_id = %cid, "intent already sent (this run, the journal or the venue's own orders); not sending it again");
            return Err(Vec::new());
        }
        let deny = |d: Denial, now: i64| {
            tracing::warn!(intent_id = %o.intent_id, reason = d.reason.as_str(), caps = ?d.caps, "order refused");
            Err(vec![denial(&o.intent_id, d, now)])
        };
        if let Err(d) = self.kill.check() {
            return deny(d, self.clock.now_ns());
        }
        let venue = self
            .io
            .rt
            .block_on(self.io.venue.fetch_quote(&req.symbol))
            .map_err(|e| e.to_string());
        let now = self.clock.now_ns();
        let quote = match guard::check_reference(input, venue, now, &self.rules) {
            Ok(q) => q,
            Err(d) => return deny(d, now),
        };
        let slippage = self.rules.slippage_bps;
        if req.order_type == OrderType::Market && self.market_as_ioc {
            req.order_type = OrderType::Limit;
            req.limit_price = Some(guard::ioc_limit(req.side, &quote, slippage));
            req.time_in_force = TimeInForce::Ioc;
        }
        let req = match self.io.venue.prepare(&req, Some(touch(req.side, &quote))) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(intent_id = %o.intent_id, "{e}");
                return Err(vec![rejected(&req, None, now)]);
            }
        };
        let worst = guard::worst_price(req.side, req.limit_price, &quote, slippage);
        if let Err(d) = guard::notional_cap(req.qty, worst, self.cap) {
            return deny(d, now);
        }
        Ok(req)
    }

    /// The write-ahead record of an order about to be sent.
    fn pending_new(&self, req: &BrokerOrderReq) -> Event<'static> {
        let now = self.clock.now_ns();
        own_update(
            &req.symbol,
            &req.client_order_id,
            OrderStatus::PendingNew,
            None,
            now,
        )
    }

    /// Sends a checked order; returns the events its outcome caused. The kill switch is read
    /// again before every attempt and during every rate-limit wait.
    fn send(&mut self, req: BrokerOrderReq, strategy_id: Option<String>) -> Vec<Event<'static>> {
        let cid = req.client_order_id.clone();
        self.rec.track(&req, strategy_id, self.clock.now_ns());
        self.sent.insert(cid.clone());
        let kill = &mut self.kill;
        let mut allowed = || kill.check();
        let placed = place_once(&self.io.venue, &self.clock, self.retry, &req, &mut allowed);
        match self.io.rt.block_on(placed) {
            Ok(ack) => {
                self.rec.acked(&cid, &ack.exchange_order_id);
                tracing::info!(client_order_id = %cid, exchange_order_id = %ack.exchange_order_id, status = ack.status.as_str(), "order placed");
                vec![Event::Ack(Ack {
                    intent_id: Some(Cow::Owned(req.intent_id.clone())),
                    client_order_id: Cow::Owned(cid),
                    exchange_order_id: Cow::Owned(ack.exchange_order_id),
                    ts_ns: ack.ts_ns,
                })]
            }
            Err(e @ BrokerError::Unknown { .. }) => {
                tracing::error!(intent_id = %req.intent_id, "{e}");
                self.lost(req, 1)
            }
            Err(e) => self.not_placed(&req, e),
        }
    }

    /// An order whose answer was lost: reported `unknown` and settled on later ticks by the
    /// venue's word. `sends` at the retry limit means it is looked up, never sent again.
    fn lost(&mut self, req: BrokerOrderReq, sends: u32) -> Vec<Event<'static>> {
        let unknown = BrokerOrderUpdate {
            symbol: req.symbol.clone(),
            exchange_order_id: String::new(),
            client_order_id: req.client_order_id.clone(),
            side: req.side,
            status: OrderStatus::Unknown,
            orig_qty: req.qty,
            filled_qty: Decimal::ZERO,
            cum_quote: Decimal::ZERO,
            ts_ns: self.clock.now_ns(),
        };
        let reported = match self.rec.apply(&unknown) {
            Outcome::Changed(u) => vec![update_event(&u)],
            _ => Vec::new(),
        };
        self.unresolved.push(Unresolved {
            req,
            sends,
            sent_at: self.clock.monotonic(),
        });
        reported
    }

    /// Sends two checked legs as one venue OCO list. A lost answer leaves both legs to be
    /// looked up, never resent one by one.
    fn send_oco(
        &mut self,
        limit: BrokerOrderReq,
        stop: BrokerOrderReq,
        strategy_id: Option<String>,
    ) -> Vec<Event<'static>> {
        let now = self.clock.now_ns();
        for r in [&limit, &stop] {
            self.rec.track(r, strategy_id.clone(), now);
            self.sent.insert(r.client_order_id.clone());
        }
        let kill = &mut self.kill;
        let mut allowed = || kill.check();
        let placed = place_oco_once(
            &self.io.venue,
            &self.clock,
            self.retry,
            &limit,
            &stop,
            &mut allowed,
        );
        match self.io.rt.block_on(placed) {
            Ok(acks) => {
                let mut out = Vec::new();
                for ack in acks {
                    let Some(req) = [&limit, &stop]
                        .into_iter()
                        .find(|r| r.client_order_id == ack.client_order_id)
                    else {
                        tracing::warn!(client_order_id = %ack.client_order_id, "OCO answer names an order this broker did not send");
                        continue;
                    };
                    self.rec.acked(&ack.client_order_id, &ack.exchange_order_id);
                    tracing::info!(client_order_id = %ack.client_order_id, exchange_order_id = %ack.exchange_order_id, "OCO leg placed");
                    out.push(Event::Ack(Ack {
                        intent_id: Some(Cow::Owned(req.intent_id.clone())),
                        client_order_id: Cow::Owned(ack.client_order_id),
                        exchange_order_id: Cow::Owned(ack.exchange_order_id),
                        ts_ns: ack.ts_ns,
                    }));
                }
                out
            }
            Err(e @ BrokerError::Unknown { .. }) => {
                tracing::error!(intent_id = %limit.intent_id, "OCO list: {e}");
                let mut out = self.lost(limit, self.retry.max_attempts);
                out.extend(self.lost(stop, self.retry.max_attempts));
                out
            }
            Err(e) => {
                let mut out = self.not_placed(&limit, e.clone());
                out.extend(self.not_placed(&stop, e));
                out
            }
        }
    }

    /// Whether the venue has, or may have, this intent's order.
    fn known(&self, intent_id: &str) -> bool {
        let cid = client_order_id(intent_id);
        self.sent.contains(&cid) || self.rec.get(&cid).is_some()
    }

    /// A member that ended unfilled (cancelled, expired, rejected) leaves its group: the
    /// others still stand, and its record is closed.
    fn leave_group(&mut self, u: &BrokerOrderUpdate) {
        let Some(intent) = self
            .rec
            .get(&u.client_order_id)
            .map(|t| t.intent_id.clone())
        else {
            return;
        };
        for members in self.groups.values_mut() {
            if let Some(i) = members.iter().position(|(m, _)| *m == intent) {
                members.remove(i);
                let closed = own_update(&u.symbol, &u.client_order_id, u.status, None, u.ts_ns);
                self.armed_log.push(closed);
                break;
            }
        }
        self.groups.retain(|_, m| !m.is_empty());
    }

    /// Records a member of a one-cancels-other group the broker enforces.
    fn join_group(&mut self, group: String, o: &Order<'_>) {
        let members = self.groups.entry(group).or_default();
        if !members.iter().any(|(i, _)| i == o.intent_id.as_ref()) {
            members.push((o.intent_id.to_string(), o.symbol.to_string()));
        }
    }

    /// A member of a group filled or triggered: every other member is cancelled (disarmed,
    /// or cancelled at the venue) and the group is forgotten.
    fn resolve_group(&mut self, intent_id: &str) {
        let Some(key) = self
            .groups
            .iter()
            .find(|(_, m)| m.iter().any(|(i, _)| i == intent_id))
            .map(|(k, _)| k.clone())
        else {
            return;
        };
        let members = self.groups.remove(&key).unwrap_or_default();
        let now = self.clock.now_ns();
        for (intent, symbol) in members {
            let cid = client_order_id(&intent);
            let closed = own_update(&symbol, &cid, OrderStatus::Canceled, None, now);
            self.armed_log.push(closed.clone());
            if intent == intent_id {
                continue;
            }
            tracing::info!(intent_id = %intent, "cancelling: another order of its one-cancels-other group filled or triggered");
            if self.armed.disarm(&intent).is_some() {
                self.refused_until.remove(&intent);
                self.pending.push(closed);
            } else {
                let c = Cancel {
                    intent_id: Cow::Owned(intent),
                    ts_ns: now,
                };
                let evs = self.cancel(&c);
                self.pending.extend(evs);
            }
        }
    }

    /// Disarms an armed order: reported cancelled (with `reason`), its record closed.
    fn disarm(&mut self, intent_id: &str, reason: Option<Reason>) -> Option<Event<'static>> {
        let o = self.armed.disarm(intent_id)?;
        self.refused_until.remove(intent_id);
        let cid = client_order_id(intent_id);
        let closed = own_update(
            &o.symbol,
            &cid,
            OrderStatus::Canceled,
            reason,
            self.clock.now_ns(),
        );
        self.armed_log.push(closed.clone());
        Some(closed)
    }

    /// Reports an order the venue never took, and forgets it: its intent may come again.
    fn not_placed(&mut self, req: &BrokerOrderReq, e: BrokerError) -> Vec<Event<'static>> {
        let cid = &req.client_order_id;
        self.rec.untrack(cid);
        self.sent.remove(cid);
        let now = self.clock.now_ns();
        match e {
            BrokerError::Halted(d) => {
                tracing::warn!(intent_id = %req.intent_id, client_order_id = %cid, "kill switch tripped before the send: dropped (halted)");
                vec![
                    denial(&req.intent_id, d, now),
                    rejected(req, Some(Reason::Halted), now),
                ]
            }
            e => {
                tracing::error!(intent_id = %req.intent_id, "order not placed: {e}");
                vec![rejected(req, None, now)]
            }
        }
    }

    /// One step of every unresolved order: the venue's word by client id, or a resend once
    /// the window proved the last send dead (the kill switch read first).
    fn settle_unresolved(&mut self) {
        let now = self.clock.monotonic();
        if self.unresolved.is_empty() || now < self.next_settle {
            return;
        }
        self.next_settle = now + Duration::from_millis(500);
        for mut u in std::mem::take(&mut self.unresolved) {
            let kill = &mut self.kill;
            let mut allowed = || kill.check();
            let step = settle(
                &self.io.venue,
                &self.clock,
                self.retry,
                self.window,
                &mut u,
                &mut allowed,
            );
            match self.io.rt.block_on(step) {
                Settled::Found(found) => {
                    tracing::info!(client_order_id = %found.client_order_id, status = found.status.as_str(), "unknown order found at the venue");
                    self.apply_update(&found);
                }
                Settled::Placed(ack) => {
                    self.rec.acked(&ack.client_order_id, &ack.exchange_order_id);
                    self.pending.push(Event::Ack(Ack {
                        intent_id: Some(Cow::Owned(u.req.intent_id.clone())),
                        client_order_id: Cow::Owned(ack.client_order_id),
                        exchange_order_id: Cow::Owned(ack.exchange_order_id),
                        ts_ns: ack.ts_ns,
                    }));
                }
                Settled::Pending => self.unresolved.push(u),
                Settled::Halted(d) => {
                    let evs = self.not_placed(&u.req, BrokerError::Halted(d));
                    self.pending.extend(evs);
                }
                Settled::NotPlaced(e) => {
                    let evs = self.not_placed(&u.req, e);
                    self.pending.extend(evs);
                }
            }
        }
    }

    /// With `kill.cancel_open`, cancels every open order of this broker when the switch
    /// is seen to trip.
    fn cancel_on_trip(&mut self) {
        if !self.cancel_open {
            return;
        }
        let halted = self.kill.check().is_err();
        let tripped = halted && !self.halted;
        self.halted = halted;
        if !tripped {
            return;
        }
        let open = self.rec.in_flight();
        let armed = self.armed.intents();
        tracing::warn!(
            orders = open.len(),
            armed = armed.len(),
            "kill switch tripped: canceling open orders and disarming armed ones (kill.cancel_open)"
        );
        for intent in armed {
            let evs = self.disarm(&intent, Some(Reason::Halted));
            self.pending.extend(evs);
        }
        if let Some((held, _)) = self.held.take() {
            let cid = client_order_id(&held.intent_id);
            let now = self.clock.now_ns();
            let closed = own_update(
                &held.symbol,
                &cid,
                OrderStatus::Canceled,
                Some(Reason::Halted),
                now,
            );
            self.pending.push(closed);
        }
        for (symbol, cid) in open {
            let venue = &self.io.venue;
            let result = self.io.rt.block_on(async {
                venue.cancel(&symbol, &cid).await?;
                venue.lookup(&symbol, &cid).await
            });
            match result {
                Ok(Some(u)) => self.apply_update(&u),
                Ok(None) => {}
                Err(e) => tracing::error!(client_order_id = %cid, "cancel on trip failed: {e}"),
            }
        }
    }

    fn cancel(&mut self, c: &Cancel<'_>) -> Vec<Event<'static>> {
        if let Some(closed) = self.disarm(&c.intent_id, None) {
            tracing::info!(intent_id = %c.intent_id, "cancel: disarmed, nothing was at the venue");
            return vec![closed];
        }
        if self
            .held
            .as_ref()
            .is_some_and(|(h, _)| h.intent_id == c.intent_id)
            && let Some((h, _)) = self.held.take()
        {
            let cid = client_order_id(&h.intent_id);
            let now = self.clock.now_ns();
            return vec![own_update(
                &h.symbol,
                &cid,
                OrderStatus::Canceled,
                None,
                now,
            )];
        }
        let cid = client_order_id(&c.intent_id);
        let Some(t) = self.rec.get(&cid) else {
            tracing::warn!(intent_id = %c.intent_id, "cancel: no order of this intent is followed; nothing sent");
            return Vec::new();
        };
        if t.last.status.is_terminal() {
            tracing::info!(intent_id = %c.intent_id, status = t.last.status.as_str(), "cancel: the order is already final");
            return Vec::new();
        }
        let symbol = t.last.symbol.clone();
        let venue = &self.io.venue;
        let result = self.io.rt.block_on(async {
            let canceled = venue.cancel(&symbol, &cid).await?;
            // The venue's own final word: a cancel that lost the race to a fill is a fill.
            Ok::<_, BrokerError>((canceled, venue.lookup(&symbol, &cid).await?))
        });
        match result {
            Ok((canceled, found)) => {
                tracing::info!(client_order_id = %cid, canceled, "cancel sent");
                found
                    .and_then(|u| match self.rec.apply(&u) {
                        Outcome::Changed(u) => Some(update_event(&u)),
                        _ => None,
                    })
                    .into_iter()
                    .collect()
            }
            Err(e) => {
                tracing::error!(intent_id = %c.intent_id, "cancel failed: {e}");
                Vec::new()
            }
        }
    }

    fn apply_update(&mut self, u: &BrokerOrderUpdate) {
        match self.rec.apply(u) {
            Outcome::Changed(u) => {
                let ended_unfilled = u.status.is_terminal() && u.status != OrderStatus::Filled;
                if ended_unfilled && !self.groups.is_empty() {
                    self.leave_group(&u);
                }
                self.pending.push(update_event(&u));
            }
            Outcome::Same => {}
            Outcome::Invalid { from, to } => tracing::warn!(
                client_order_id = %u.client_order_id,
                "ignored impossible transition {} -> {}",
                from.as_str(),
                to.as_str()
            ),
        }
    }

    fn apply_fill(&mut self, f: VenueFill) {
        if let Some(mut a) = self.rec.on_fill(f) {
            if a.strategy_id.is_none()
                && let Some((intent, strategy)) = self.given.get(&a.fill.exchange_order_id)
            {
                a.intent_id.clone_from(intent);
                a.strategy_id = Some(strategy.clone());
            }
            if !self.groups.is_empty() {
                self.filled.push(a.intent_id.clone());
            }
            self.pending.push(fill_event(a));
        }
    }

    fn apply_balances(&mut self, snap: &BalanceSnapshot) {
        let ts = if snap.ts_ns > 0 {
            snap.ts_ns
        } else {
            self.clock.now_ns()
        };
        for b in &snap.balances {
            let now = (b.free, b.locked);
            let known = self.balances.get(&b.asset);
            // Zero balances are news only when they were not zero before.
            let unchanged =
                known == Some(&now) || (known.is_none() && b.free.is_zero() && b.locked.is_zero());
            if unchanged {
                continue;
            }
            self.balances.insert(b.asset.clone(), now);
            self.pending.push(Event::Balance(Balance {
                asset: Cow::Owned(b.asset.clone()),
                free: b.free,
                locked: b.locked,
                ts_ns: ts,
            }));
        }
    }

    /// REST reconciliation: open orders, vanished orders' real status, fills above the
    /// watermark. Everything goes through the reconciler, so only differences come out.
    fn poll(&mut self) {
        let venue = &self.io.venue;
        let symbols = self.symbols.clone();
        let marks: Vec<Option<u64>> = symbols.iter().map(|s| self.rec.watermark_of(s)).collect();
        let in_flight = self.rec.in_flight();
        let got = self.io.rt.block_on(async {
            let mut open = Vec::new();
            for s in &symbols {
                open.extend(venue.fetch_open_orders(Some(s)).await?);
            }
            let mut fills = Vec::new();
            for (s, m) in symbols.iter().zip(&marks) {
                fills.extend(venue.fetch_fills(s, m.map(|m| m + 1)).await?);
            }
            Ok::<_, BrokerError>((open, fills))
        });
        let (open, fills) = match got {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("REST poll failed: {e}");
                return;
            }
        };
        for u in &open {
            self.apply_update(u);
        }
        let vanished: Vec<_> = self
            .rec
            .vanished(&symbols, &open)
            .into_iter()
            .filter(|v| in_flight.contains(v))
            .filter(|(_, cid)| {
                !self
                    .unresolved
                    .iter()
                    .any(|u| &u.req.client_order_id == cid)
            })
            .collect();
        for (s, cid) in vanished {
            match self.io.rt.block_on(self.io.venue.lookup(&s, &cid)) {
                Ok(Some(u)) => self.apply_update(&u),
                Ok(None) => {
                    tracing::warn!(client_order_id = %cid, "followed order unknown to the venue")
                }
                Err(e) => tracing::warn!(client_order_id = %cid, "lookup failed: {e}"),
            }
        }
        for f in fills {
            self.apply_fill(f);
        }
    }

    fn refresh_balances(&mut self) {
        match self.io.rt.block_on(self.io.venue.fetch_balances()) {
            Ok(snap) => {
                let snap = BalanceSnapshot {
                    ts_ns: self.clock.now_ns(),
                    ..snap
                };
                self.apply_balances(&snap);
            }
            Err(e) => tracing::warn!("balances: {e}"),
        }
    }

    /// Takes in everything the user stream sent since the last call.
    fn drain_stream(&mut self) {
        while let Some(msg) = self.stream.try_next() {
            match msg {
                StreamMsg::Order(u) => self.apply_update(&u),
                StreamMsg::Fill(f) => self.apply_fill(f),
                StreamMsg::Balances(b) => self.apply_balances(&b),
                StreamMsg::Connected { reconnect } => {
                    if reconnect {
                        tracing::info!("user stream back; reconciling over REST");
                        self.poll();
                        self.refresh_balances();
                    }
                }
                StreamMsg::Down(reason) => {
                    tracing::warn!("user stream down: {reason}; reconnecting")
                }
            }
        }
    }

    fn persist_watermark(&mut self) {
        let Some(w) = self.rec.take_dirty_watermark() else {
            return;
        };
        let text = serde_json::to_string(w).unwrap_or_default();
        if let Err(e) = crate::journal::write_atomic(&self.watermark_path, &text) {
            tracing::error!("cannot write {}: {e}", self.watermark_path.display());
        }
    }

    fn tick(&mut self) {
        self.cancel_on_trip();
        self.drain_stream();
        for intent in std::mem::take(&mut self.filled) {
            self.resolve_group(&intent);
        }
        self.settle_unresolved();
        let now = self.clock.monotonic();
        if now >= self.next_poll {
            self.next_poll = now + self.poll_every;
            self.poll();
        }
        if now >= self.next_balance {
            self.next_balance = now + self.balance_every;
            self.refresh_balances();
        }
        if now >= self.next_clock {
            self.next_clock = now + self.clock_every;
            if let Err(e) = self.io.rt.block_on(self.io.venue.sync_clock()) {
                tracing::warn!("clock offset not measured: {e}");
            }
        }
    }

    /// Follows in-flight orders to a final status for up to the grace period.
    fn wind_down(&mut self) {
        let deadline = self.clock.monotonic() + self.grace;
        while !(self.rec.in_flight().is_empty() && self.unresolved.is_empty())
            && self.clock.monotonic() < deadline
        {
            self.io
                .rt
                .block_on(self.clock.sleep(Duration::from_millis(100)));
            self.tick();
        }
        self.poll();
        self.drain_stream();
        let left = self.rec.in_flight();
        if !left.is_empty() {
            tracing::warn!(orders = ?left, "shutting down with orders still open at the venue");
        }
        self.stream.close();
    }
}

impl<V: Venue, C: Clock> Stage for BrokerStage<V, C> {
    fn reads_kill_switch(&self) -> bool {
        true
    }

    fn inputs(&self, topics: &crate::config::Topics) -> Vec<String> {
        vec![
            topics.orders.clone(),
            topics.cancels.clone(),
            topics.pattern(Kind::Trade),
        ]
    }

    fn on_event(&mut self, ev: &Event<'_>, out: &mut Out) -> Result<(), StageError> {
        match ev {
            Event::Order(o) if unplaceable(o).is_some() => self.refuse_unplaceable(o, out),
            Event::Order(o) if self.live.is_some() => self.route_live(o, out),
            Event::Order(o) => self.echo(o, out),
            Event::Cancel(c) => {
                let evs = match self.live.as_mut() {
                    Some(l) => l.cancel(c),
                    None => {
                        tracing::info!(intent_id = %c.intent_id, "dry-run: cancel not sent");
                        Vec::new()
                    }
                };
                // A disarmed order's record is closed on disk before the cancel is reported.
                self.flush_armed_log()?;
                evs.into_iter().try_for_each(|e| self.emit(e, out))
            }
            Event::Trade(t) => {
                self.last_price
                    .insert(t.symbol.to_string(), (t.price, t.ts_ns));
                self.book.on_trade(&t.symbol, t.price, t.ts_ns);
                self.fire_armed(&t.symbol, t.price, out)
            }
            Event::Ticker(t) => {
                if let Some(p) = t.last {
                    self.last_price.insert(t.symbol.to_string(), (p, t.ts_ns));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn on_tick(&mut self, _now_ns: i64, out: &mut Out) -> Result<(), StageError> {
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        let waited = live
            .held
            .as_ref()
            .is_some_and(|(_, since)| live.clock.monotonic() >= *since + OCO_PAIR_WAIT);
        if waited && let Some((held, _)) = live.held.take() {
            tracing::info!(intent_id = %held.intent_id, "no OCO partner came: placing the leg alone");
            self.place_or_arm(&held, out)?;
        }
        if let Some(live) = self.live.as_mut() {
            live.tick();
        }
        self.drain_live(out)?;
        if self
            .live
            .as_ref()
            .is_some_and(|l| l.clock.monotonic() >= self.next_pnl)
        {
            self.publish_pnl();
        }
        Ok(())
    }

    fn on_end(&mut self, out: &mut Out) -> Result<(), StageError> {
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        if let Some((held, _)) = live.held.take() {
            self.place_or_arm(&held, out)?;
        }
        if let Some(live) = self.live.as_mut() {
            if !live.armed.is_empty() {
                tracing::warn!(armed = ?live.armed.intents(), "stopping with armed orders: they stay in the armed journal and are armed again at the next start");
            }
            live.wind_down();
        }
        self.drain_live(out)
    }

    fn flush(&mut self) -> Result<(), StageError> {
        Ok(self.journals.flush()?)
    }
}

#[cfg(test)]
mod tests;
