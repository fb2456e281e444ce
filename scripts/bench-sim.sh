#!/usr/bin/env bash
# njord-sim throughput on loopback, one `name: value unit` line per figure:
# signed REST requests/s (target 20000), WebSocket trade frames/s (target 200000), gen trades/s.
# Runs the criterion bench `crates/njord-sim/benches/sim.rs` (bench profile) and extracts its mean throughput,
# with the ratio to the issue's target where it sets one.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -q -p njord-sim --bench sim -- --noplot 2>/dev/null | awk '
  /^sim\// { name = $1; sub("sim/", "", name) }
  /thrpt:/ {
    # thrpt:  [low unit mean unit high unit]
    v = $4; u = $5
    if (u == "Kelem/s") v *= 1e3; else if (u == "Melem/s") v *= 1e6; else if (u == "Gelem/s") v *= 1e9
    printf "sim_%s: %.0f per second\n", name, v
    target = (name == "signed_rest_requests") ? 20000 : (name == "ws_trade_frames") ? 200000 : 0
    if (target > 0) printf "sim_%s_vs_target: %.2f x\n", name, v / target
  }'
