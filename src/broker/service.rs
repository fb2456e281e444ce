//! The njord-broker shell.
