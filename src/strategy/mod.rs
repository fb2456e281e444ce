//! Strategies: the framework, built-in classes and manager (pure, from the core crate) and the
//! `njord-strat` shell ([`stage`]), which loads strategy files and reloads them on SIGHUP.

pub use njord_core::strategy::*;

pub mod exec;
pub mod onnx;
pub mod stage;

/// The classes the shells run: the built-in ones, `exec`, which starts programs, and
/// `onnx_model`, which reads a model file.
pub fn registry() -> Registry {
    let mut r = Registry::builtin();
    // Names the built-in classes do not use.
    for class in [exec::CLASS, onnx::CLASS] {
        let _ = r.register(class);
    }
    r
}

/// Logs what strategy `id` reports on `symbol` (`*`: all its symbols) at the end of a run,
/// such as an ensemble's attribution per member.
pub fn report_summary(id: &str, symbol: &str, summary: &njord_core::event::Map) {
    tracing::info!(
        strategy = id,
        symbol,
        "strategy `{id}` on {symbol}: {}",
        serde_json::Value::Object(summary.clone())
    );
}

/// Says at the end of a run that strategy `id` never saw an event: none of `symbols` was on
/// the input (a typo, or a tape of other symbols).
pub fn report_never_fed(id: &str, symbols: &[String]) {
    tracing::warn!(
        strategy = id,
        "strategy `{id}` never ran: none of its symbols ({}) appeared in its events on the input",
        symbols.join(", ")
    );
}
