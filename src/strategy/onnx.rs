//! `class: onnx_model`: a model trained elsewhere (scikit-learn, exported with skl2onnx)
//! scores the features of each bar, and thresholds on its score make the intents.
//!
//! ```yaml
//!   - id: gbm
//!     class: onnx_model
//!     symbols: ["ATOM/USDT"]
//!     events: ["md.ohlcv.1m.*"]
//!     params:
//!       model: models/gbm.onnx   # read once, from the directory Njord runs in
//!       sha256: "3f5c…"          # the file's SHA-256, quoted: any other file is refused
//!       features:                # the same list `njord-strat features` trains from
//!         - {name: ret_1, feature: returns}
//!         - {name: z20, feature: zscore, window: 20}
//!       buy_above: 0.001
//!       sell_below: -0.001
//!       qty: 1
//! ```
//!
//! Reading the file is I/O, so the class lives in the shell; the model ([`njord_model`]) and
//! the features ([`FeatureSet`]) are pure. The model is loaded when the file is, so a missing
//! file, a hash other than the pinned one or a feature count the model does not take refuses
//! the strategies file (njord-strat does not start); each load is logged and recorded in the
//! audit trail (`model_loaded`, with the path and the hash).

use super::registry::{Class, ParamError, ParamKind, ParamSpec, ParamValue, Params, QTY, Scope};
use super::{Context, Strategy, StrategyError};
use njord_core::event::{Event, Intent, Map};
use njord_core::features::set::{FeatureSet, Ohlcv};
use njord_core::num::nearest_f64;
use njord_model::Model;
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

const ANY: ParamKind = ParamKind::Float {
    min: f64::MIN,
    max: f64::MAX,
};

pub const CLASS: Class = Class {
    name: "onnx_model",
    about: "Scores an ONNX model on features of each bar: buys at a score >= buy_above, sells \
            at <= sell_below (params model, sha256 and features are required; see \
            docs/models.md)",
    params: &[
        ParamSpec {
            name: "buy_above",
            kind: ANY,
            default: None,
            help: "score at or above which it buys",
        },
        ParamSpec {
            name: "sell_below",
            kind: ANY,
            default: None,
            help: "score at or below which it sells (at most buy_above)",
        },
        QTY,
        ParamSpec {
            name: "long_only",
            kind: ParamKind::Bool,
            default: Some(ParamValue::Bool(true)),
            help: "a sell closes a long instead of going short",
        },
    ],
    build,
    scope: Scope::PerSymbol,
    open: true,
};

/// Models by (path, pinned hash).
type Loaded = Mutex<HashMap<(String, String), Arc<Model>>>;

/// The models loaded, once per process: every symbol's instance and every reload share one.
fn models() -> &'static Loaded {
    static MODELS: OnceLock<Loaded> = OnceLock::new();
    MODELS.get_or_init(Default::default)
}

fn text<'a>(p: &'a Params, key: &'static str, what: &str) -> Result<&'a str, ParamError> {
    match p.extra().get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(v) => {
            // YAML reads an unquoted hash of digits (or one like 1e5…) as a number.
            let hint = if v.is_number() { "; quote it" } else { "" };
            Err(ParamError {
                key,
                msg: format!("expected {what}, found `{v}`{hint}"),
            })
        }
        None => Err(ParamError {
            key,
            msg: format!("required: {what}"),
        }),
    }
}

/// The model at `path`, which must hash to `sha256`.
fn load(path: &str, sha256: &str) -> Result<Arc<Model>, ParamError> {
    let key = (path.to_owned(), sha256.to_ascii_lowercase());
    let mut cache = models().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(m) = cache.get(&key) {
        return Ok(m.clone());
    }
    let bytes = std::fs::read(path).map_err(|e| ParamError {
        key: "model",
        msg: format!("cannot read {path}: {e}"),
    })?;
    let model = Model::from_bytes(&bytes, Some(sha256)).map_err(|e| ParamError {
        key: if matches!(e, njord_model::ModelError::HashMismatch { .. }) {
            "sha256"
        } else {
            "model"
        },
        msg: format!("{path}: {e}"),
    })?;
    tracing::info!(
        "model {path} loaded: sha256 {}, {} features",
        model.sha256(),
        model.inputs()
    );
    let fields = crate::audit::fields(serde_json::json!({
        "path": path,
        "sha256": model.sha256(),
        "inputs": model.inputs(),
    }));
    crate::audit::record(crate::stage::wall_clock_ns(), "model_loaded", fields).map_err(|e| {
        ParamError {
            key: "model",
            msg: format!("cannot record its load in the audit trail: {e}"),
        }
    })?;
    let model = Arc::new(model);
    cache.insert(key, model.clone());
    Ok(model)
}

fn build(p: &Params) -> Result<Box<dyn Strategy>, ParamError> {
    if let Some(k) = p
        .extra()
        .keys()
        .find(|k| !matches!(k.as_str(), "model" | "sha256" | "features"))
    {
        return Err(ParamError {
            key: "",
            msg: format!("unknown parameter `{k}` for class `onnx_model`"),
        });
    }
    let path = text(p, "model", "the path of an .onnx file")?;
    let sha256 = text(
        p,
        "sha256",
        "the model file's SHA-256 (sha256sum model.onnx)",
    )?;
    let features = FeatureSet::parse(p.extra().get("features").unwrap_or(&Value::Null)).map_err(
        |(key, msg)| ParamError {
            key: "features",
            msg: format!("{key}: {msg}"),
        },
    )?;
    let (buy_above, sell_below) = (p.float("buy_above")?, p.float("sell_below")?);
    if sell_below > buy_above {
        return Err(ParamError {
            key: "sell_below",
            msg: format!("must not be above buy_above ({sell_below} > {buy_above})"),
        });
    }
    let model = load(path, sha256)?;
    let width = features.names().len();
    if width != model.inputs() {
        return Err(ParamError {
            key: "features",
            msg: format!(
                "the model takes {} features, the list gives {width}",
                model.inputs()
            ),
        });
    }
    Ok(Box::new(OnnxModel {
        model,
        features,
        row: Vec::with_capacity(width),
        buy_above,
        sell_below,
        qty: p.decimal("qty")?,
        long_only: p.bool("long_only")?,
        position: 0,
    }))
}

struct OnnxModel {
    model: Arc<Model>,
    features: FeatureSet,
    /// The row as the model takes it.
    row: Vec<f32>,
    buy_above: f64,
    sell_below: f64,
    qty: Decimal,
    long_only: bool,
    /// −1, 0 or +1.
    position: i8,
}

impl Strategy for OnnxModel {
    fn on_event(
        &mut self,
        ev: &Event<'_>,
        ctx: &Context<'_>,
        out: &mut Vec<Intent<'static>>,
    ) -> Result<(), StrategyError> {
        let bar = match ev {
            Event::Bar(b) => Ohlcv::of_bar(b),
            Event::Trade(t) => Ohlcv::of_price(ctx.price_f64(), nearest_f64(t.qty)),
            _ => return Ok(()),
        };
        let Some(values) = self.features.update(&bar) else {
            return Ok(());
        };
        self.row.clear();
        // The model's inputs are float32, as skl2onnx exports them.
        self.row.extend(values.iter().map(|&v| v as f32));
        let score = f64::from(
            self.model
                .predict(&self.row)
                .map_err(|e| StrategyError(format!("the model cannot score the row: {e}")))?,
        );
        let target = if score >= self.buy_above {
            1
        } else if score <= self.sell_below {
            if self.long_only { 0 } else { -1 }
        } else {
            return Ok(());
        };
        let Some((side, qty)) = super::toward(self.position, target, self.qty) else {
            return Ok(());
        };
        self.position = target;
        let (names, values) = (self.features.names(), &self.row);
        out.push(ctx.intent(side, qty, || {
            let mut meta: Map = names
                .iter()
                .zip(values)
                .map(|(n, v)| (n.clone(), Value::from(f64::from(*v))))
                .collect();
            meta.insert("score".into(), Value::from(score));
            meta
        }));
        Ok(())
    }
}
