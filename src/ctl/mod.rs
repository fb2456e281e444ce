//! `njord-ctl`'s shell: the session file ([`session`]), its wiring check ([`plan`]), the
//! controller that starts and supervises it ([`supervise`]), what it asks each daemon
//! ([`probe`]), its control socket ([`control`]) and the merged logs ([`logs`]).

pub mod control;
pub mod logs;
pub mod plan;
pub mod probe;
pub mod session;
pub mod supervise;
