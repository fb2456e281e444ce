//! Strategy classes by name, with their parameters, types and defaults.
//!
//! Registration is at compile time ([`Registry::builtin`]); a library user can add a class of
//! their own with [`Registry::register`] before handing the registry to the manager.

use super::Strategy;
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

/// The type and admissible range of a parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamKind {
    /// An integer ≥ `min`.
    Int {
        min: i64,
    },
    /// A finite number in `[min, max]`; integers are accepted.
    Float {
        min: f64,
        max: f64,
    },
    /// An exact decimal > 0 (quantities), written as a number or a string.
    PositiveDecimal,
    Bool,
}

impl fmt::Display for ParamKind {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            ParamKind::Int { min } => write!(f, "integer >= {min}"),
            ParamKind::Float { min, max } if max == f64::INFINITY => {
                write!(f, "number >= {min}")
            }
            ParamKind::Float { min, max } => write!(f, "number in [{min}, {max}]"),
            ParamKind::PositiveDecimal => f.write_str("decimal > 0"),
            ParamKind::Bool => f.write_str("true or false"),
        }
    }
}

/// A parameter value after validation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamValue {
    Int(i64),
    Float(f64),
    Decimal(Decimal),
    Bool(bool),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Float(v) => write!(f, "{v}"),
            ParamValue::Decimal(v) => f.write_str(&crate::num::to_plain_string(v)),
            ParamValue::Bool(v) => write!(f, "{v}"),
        }
    }
}

/// One parameter of a class. `default: None` makes it required.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub kind: ParamKind,
    pub default: Option<ParamValue>,
    pub help: &'static str,
}

impl ParamSpec {
    /// Reads a YAML/JSON value as this parameter; the error says what was expected.
    pub fn read(&self, v: &Value) -> Result<ParamValue, String> {
        let found = || {
            let s = v.to_string();
            if s.len() > 40 {
                format!("{}…", s.chars().take(40).collect::<String>())
            } else {
                s
            }
        };
        let want = |what: &str| format!("expected {what}, found `{}`", found());
        match self.kind {
            ParamKind::Int { min } => {
                let i = v.as_i64().ok_or_else(|| want(&self.kind.to_string()))?;
                if i < min {
                    return Err(want(&self.kind.to_string()));
                }
                Ok(ParamValue::Int(i))
            }
            ParamKind::Float { min, max } => {
                let x = v
                    .as_f64()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| want(&self.kind.to_string()))?;
                if !(min..=max).contains(&x) {
                    return Err(want(&self.kind.to_string()));
                }
                Ok(ParamValue::Float(x))
            }
            ParamKind::PositiveDecimal => {
                let d: crate::num::Dec =
                    serde_json::from_value(v.clone()).map_err(|_| want("a decimal number > 0"))?;
                if d.0 <= Decimal::ZERO {
                    return Err(want("a decimal number > 0"));
                }
                Ok(ParamValue::Decimal(d.0))
            }
            ParamKind::Bool => v
                .as_bool()
                .map(ParamValue::Bool)
                .ok_or_else(|| want("true or false")),
        }
    }
}

/// A bad parameter: which one and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamError {
    pub key: &'static str,
    pub msg: String,
}

impl ParamError {
    /// Two parameters that must be in order (`fast` below `slow`); the error names the first.
    pub fn unless_below<T: PartialOrd + fmt::Display>(
        (lo_key, lo): (&'static str, T),
        (hi_key, hi): (&'static str, T),
    ) -> Result<(), ParamError> {
        if lo < hi {
            Ok(())
        } else {
            Err(ParamError {
                key: lo_key,
                msg: format!("must be less than {hi_key} ({lo} >= {hi})"),
            })
        }
    }
}

/// The `qty` every built-in class takes.
pub const QTY: ParamSpec = ParamSpec {
    name: "qty",
    kind: ParamKind::PositiveDecimal,
    default: None,
    help: "quantity of each intent",
};

/// The lot step of classes that size quantities themselves (`pairs`' x leg, `xs_momentum`).
pub const STEP: ParamSpec = ParamSpec {
    name: "step",
    kind: ParamKind::PositiveDecimal,
    default: Some(ParamValue::Decimal(Decimal::from_parts(1, 0, 0, false, 8))),
    help: "lot step quantities are rounded down to",
};

/// Validated parameters of one strategy: every parameter of its class, defaults filled in,
/// and, for a class with [`Class::open`] params, the keys it does not declare, as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Params {
    values: BTreeMap<&'static str, ParamValue>,
    extra: serde_json::Map<String, Value>,
}

impl Params {
    pub fn get(&self, name: &str) -> Option<ParamValue> {
        self.values.get(name).copied()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, ParamValue)> + '_ {
        self.values.iter().map(|(k, v)| (*k, *v))
    }
    /// The undeclared keys of an open class, in key order.
    pub fn extra(&self) -> &serde_json::Map<String, Value> {
        &self.extra
    }
    pub(crate) fn insert(&mut self, name: &'static str, v: ParamValue) {
        self.values.insert(name, v);
    }
    fn missing(name: &'static str) -> ParamError {
        ParamError {
            key: name,
            msg: "missing or of the wrong type".into(),
        }
    }
    pub fn int(&self, name: &'static str) -> Result<i64, ParamError> {
        match self.get(name) {
            Some(ParamValue::Int(v)) => Ok(v),
            _ => Err(Self::missing(name)),
        }
    }
    /// An integer parameter as a count (window length, period).
    pub fn usize(&self, name: &'static str) -> Result<usize, ParamError> {
        let v = self.int(name)?;
        usize::try_from(v).map_err(|_| ParamError {
            key: name,
            msg: format!("{v} is not a valid length"),
        })
    }
    pub fn float(&self, name: &'static str) -> Result<f64, ParamError> {
        match self.get(name) {
            Some(ParamValue::Float(v)) => Ok(v),
            _ => Err(Self::missing(name)),
        }
    }
    pub fn decimal(&self, name: &'static str) -> Result<Decimal, ParamError> {
        match self.get(name) {
            Some(ParamValue::Decimal(v)) => Ok(v),
            _ => Err(Self::missing(name)),
        }
    }
    pub fn bool(&self, name: &'static str) -> Result<bool, ParamError> {
        match self.get(name) {
            Some(ParamValue::Bool(v)) => Ok(v),
            _ => Err(Self::missing(name)),
        }
    }
}

/// Builds one instance (for one symbol) from validated params. Errors are semantic checks
/// across parameters (e.g. `fast` < `slow`).
pub type BuildFn = fn(&Params) -> Result<Box<dyn Strategy>, ParamError>;

/// How many instances of a class a strategy runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One per symbol: a symbol's prices never reach another's state.
    PerSymbol,
    /// One for all the strategy's symbols, for strategies that compare symbols (pairs, cross-
    /// sectional ranks) or run outside Njord (`exec`). Its intents may name any symbol it has
    /// seen; `exits` and `stake` are per position and not offered.
    Shared,
}

/// A strategy class.
#[derive(Debug, Clone, Copy)]
pub struct Class {
    pub name: &'static str,
    pub about: &'static str,
    pub params: &'static [ParamSpec],
    pub build: BuildFn,
    pub scope: Scope,
    /// Whether keys beyond `params` are accepted (kept in [`Params::extra`] for the class to
    /// check in `build`), for classes whose parameters belong to someone else.
    pub open: bool,
}

impl Class {
    /// Validates raw params (a YAML mapping) against the class: every key known and of the
    /// right type, required ones present, then the class's own cross-checks.
    pub fn params(&self, raw: &serde_json::Map<String, Value>) -> Result<Params, ParamError> {
        let declared = |k: &String| self.params.iter().any(|p| p.name == k.as_str());
        if let Some(k) = raw.keys().find(|k| !self.open && !declared(k)) {
            let known: Vec<_> = self.params.iter().map(|p| p.name).collect();
            return Err(ParamError {
                key: "",
                msg: format!(
                    "unknown parameter `{k}` for class `{}` (known: {})",
                    self.name,
                    known.join(", ")
                ),
            });
        }
        let mut params = Params::default();
        for spec in self.params {
            let v = match (raw.get(spec.name), spec.default) {
                (Some(v), _) => spec.read(v).map_err(|msg| ParamError {
                    key: spec.name,
                    msg,
                })?,
                (None, Some(d)) => d,
                (None, None) => {
                    return Err(ParamError {
                        key: spec.name,
                        msg: format!("required ({})", spec.kind),
                    });
                }
            };
            params.insert(spec.name, v);
        }
        params.extra = raw
            .iter()
            .filter(|(k, _)| !declared(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // Building once runs the class's cross-parameter checks.
        (self.build)(&params)?;
        Ok(params)
    }
}

/// Strategy classes by name.
#[derive(Debug, Clone)]
pub struct Registry {
    classes: Vec<Class>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Registry {
    /// The classes Njord ships.
    pub fn builtin() -> Self {
        Registry {
            classes: vec![
                super::trendline_break::CLASS,
                super::rsi_tema_bb::CLASS,
                super::ema_cross::CLASS,
                super::pairs::CLASS,
                super::xs_momentum::CLASS,
                super::ensemble::CLASS,
            ],
        }
    }

    /// Adds a class; a name already taken is refused.
    pub fn register(&mut self, class: Class) -> Result<(), String> {
        if self.get(class.name).is_some() {
            return Err(format!(
                "strategy class `{}` is already registered",
                class.name
            ));
        }
        self.classes.push(class);
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&Class> {
        self.classes.iter().find(|c| c.name == name)
    }

    pub fn classes(&self) -> &[Class] {
        &self.classes
    }

    /// The `--list` text: every class with its parameters, types and defaults.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for (i, c) in self.classes.iter().enumerate() {
            if i > 0 {
                s.push('\n');
            }
            let _ = writeln!(s, "{}\n  {}", c.name, c.about);
            for p in c.params {
                let default = p
                    .default
                    .map(|d| format!("default {d}"))
                    .unwrap_or_else(|| "required".into());
                let _ = writeln!(
                    s,
                    "  {:<20} {:<22} {:<14} {}",
                    p.name,
                    p.kind.to_string(),
                    default,
                    p.help
                );
            }
        }
        s
    }
}
