//! The audit trail (docs/audit.md): the record format and chain check come from the core
//! ([`njord_core::audit`]); this shell writes the chains, signs checkpoints, anchors heads
//! outside the trail, and reads trails back for `njord-audit`.
//!
//! One chain per writing process: `{audit.dir}/audit.{writer}.ndjson`, rotated and gzipped as
//! journals are. A process opens its chain once ([`open`]); every recorder in it then writes
//! through [`record`] and friends, which do nothing while no trail is open, so a stage
//! without `audit.enabled` pays one relaxed load per record site.

mod check;
mod keys;
pub mod replay;
pub mod report;
mod trail;

pub use check::{Anchor, ChainReport, Problem, anchors_from, verify_paths};
pub use keys::{SigningKey, checkpoint_message, generate, verify_signature};
pub use njord_core::audit::{
    Break, Field, GENESIS, Head, canonical, check_line, hash_of, line_parts, push_string, seal,
    seal_fields, seal_line, verify,
};
pub use trail::{
    CHAIN_PREFIX, close, config_loaded, event, fields, flush, is_open, line_text, open, record,
    sync,
};
