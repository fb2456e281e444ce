//! `njord-ctl`'s shell: the session file ([`session`]), its wiring check ([`plan`]), the
//! controller that starts and supervises it ([`supervise`]) and reloads it ([`reload`]), the
//! terminal dashboard ([`top`]), what it asks each daemon
//! ([`probe`]), its control socket ([`control`]) and HTTP API ([`api`]), the merged logs ([`logs`]), the live
//! preflight ([`preflight`]) and `down --cancel-all` ([`orders`]).

pub mod api;
pub mod control;
pub mod logs;
pub mod orders;
pub mod plan;
pub mod preflight;
pub mod probe;
pub mod reload;
pub mod session;
pub mod supervise;
pub mod top;
