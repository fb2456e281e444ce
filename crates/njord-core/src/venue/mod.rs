//! The pure parts of venue adapters: rules a venue states that Njord applies without I/O.

pub mod binanceus;
