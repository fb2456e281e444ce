//! Venue adapters. Each venue lives in its own folder so a second one is a sibling.

pub mod binanceus;
