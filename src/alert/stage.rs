//! The alert stage: events (stdin or every bus topic), the polls of the daemons and a
//! wall-clock tick into the rules; each notice goes, once per channel of its rule, into the
//! outbox (synced) and then to the delivery thread. It emits no event: on stdio it forwards
//! its input unchanged.

use super::deliver::Delivery;
use super::outbox::{Item, Outbox};
use super::{Alerts, Engine, Notice, Probe};
use crate::config::Topics;
use crate::event::Event;
use crate::stage::{Out, Stage, StageError, wall_clock_ns};
use crossbeam_channel::Receiver;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long the end of a run waits for deliveries in flight.
const FINISH_GRACE: Duration = Duration::from_secs(5);

pub struct AlertStage {
    engine: Engine,
    routes: BTreeMap<String, Vec<String>>,
    outbox: Arc<Mutex<Outbox>>,
    delivery: Option<Delivery>,
    notices: Vec<Notice>,
    /// What the polls of the daemons found, when the rules file lists daemons.
    probes: Option<Receiver<(String, Probe)>>,
}

impl AlertStage {
    /// Opens the outbox at `outbox`, starts delivering what an earlier run left in it, and
    /// starts polling the daemons (with `token`, the metrics endpoints' bearer token).
    pub fn open(
        alerts: Alerts,
        outbox: &Path,
        token: Option<SecretString>,
    ) -> Result<AlertStage, String> {
        let (ob, pending) = Outbox::open(outbox)?;
        if !pending.is_empty() {
            tracing::info!(
                pending = pending.len(),
                "alerts an earlier run did not deliver are sent first"
            );
        }
        let m = crate::telemetry::alerts();
        for c in alerts.channels.keys() {
            m.channel(c);
        }
        let outbox = Arc::new(Mutex::new(ob));
        let delivery = Delivery::start(alerts.channels, outbox.clone(), pending)?;
        let probes = if alerts.daemons.urls.is_empty() {
            None
        } else {
            Some(super::poll::start(alerts.daemons, token)?)
        };
        Ok(AlertStage {
            engine: Engine::new(alerts.rules),
            routes: alerts.routes,
            outbox,
            delivery: Some(delivery),
            notices: Vec::new(),
            probes,
        })
    }

    /// Queues the notices of the rules: durably first, then for delivery.
    fn dispatch(&mut self) -> Result<(), StageError> {
        for n in self.notices.drain(..) {
            tracing::info!(rule = %n.rule, key = %n.key, state = ?n.state, "{}", n.summary);
            for channel in self.routes.get(&n.rule).into_iter().flatten() {
                let item = Item {
                    id: format!("{}@{channel}", n.id),
                    channel: channel.clone(),
                    notice: n.clone(),
                    folded: Vec::new(),
                };
                self.outbox
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .queue(&item)
                    .map_err(StageError::Fatal)?;
                if let Some(d) = &self.delivery {
                    d.send(item);
                }
            }
        }
        Ok(())
    }
}

impl Stage for AlertStage {
    /// Every topic: rules may watch any event, and the heartbeat any at all.
    fn inputs(&self, _topics: &Topics) -> Vec<String> {
        vec!["*".into()]
    }

    fn on_event(&mut self, ev: &Event<'_>, _out: &mut Out) -> Result<(), StageError> {
        self.engine.on_event(ev, wall_clock_ns(), &mut self.notices);
        self.dispatch()
    }

    fn on_tick(&mut self, now_ns: i64, _out: &mut Out) -> Result<(), StageError> {
        for (daemon, probe) in self.probes.iter().flat_map(Receiver::try_iter) {
            self.engine
                .on_probe(&daemon, probe, now_ns, &mut self.notices);
        }
        self.engine.on_tick(now_ns, &mut self.notices);
        self.dispatch()
    }

    fn on_end(&mut self, _out: &mut Out) -> Result<(), StageError> {
        if let Some(d) = self.delivery.take() {
            d.finish(FINISH_GRACE);
        }
        Ok(())
    }
}
