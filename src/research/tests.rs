//! Shared fixtures of the research tests.

/// One canonical line of every kind (`tests/golden/every_kind.ndjson`).
pub fn every_kind_lines() -> Vec<String> {
    include_str!("../../tests/golden/every_kind.ndjson")
        .lines()
        .map(str::to_owned)
        .collect()
}
