//! Strategies: the framework, built-in classes and manager (pure, from the core crate) and the
//! `njord-strat` shell ([`stage`]), which loads strategy files and reloads them on SIGHUP.

pub use njord_core::strategy::*;

pub mod stage;
