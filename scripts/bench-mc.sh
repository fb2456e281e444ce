#!/usr/bin/env bash
# Monte Carlo throughput: `njord-backtest mc` with ema_cross over one year of 1-minute bars
# (525,600, aggregated by njord-bars from a `njord-sim gen --model gbm` tape), RUNS runs
# (default 1,000), block bootstrap, on every core. Prints `name: value unit` lines
# (DESIGN §10): the wall time, bars replayed per second over all runs, and peak memory.
#
#   scripts/bench-mc.sh [RUNS] [BARS]    # builds the binaries in the bench profile first
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000}
bars=${2:-525600}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --quiet --profile bench -p njord --bin njord-backtest --bin njord-bars
cargo build --quiet --profile bench -p njord-sim
bin=${CARGO_TARGET_DIR:-target}/release
export NJORD__LOGGING__JSON_FILE=false
"$bin/njord-sim" gen --symbol ATOM/USDT --count "$bars" --model gbm --sigma 0.6 \
  --interval 1m --seed 1 -q |
  "$bin/njord-bars" --timeframes 1m --emit-only --no-journal -q > "$work/bars.ndjson"
printf 'strategies:\n  - {id: ema, class: ema_cross, symbols: [ATOM/USDT], events: [bar], params: {fast: 20, slow: 60, qty: 10}}\n' \
  > "$work/s.yaml"
n=$(wc -l < "$work/bars.ndjson")
start=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$work/rss" "$bin/njord-backtest" mc --tape "$work/bars.ndjson" \
  --strategies "$work/s.yaml" --runs "$runs" --seed 1 --out "$work/mc" --no-progress -q \
  > /dev/null
end=$(date +%s.%N)
awk -v n="$n" -v r="$runs" -v s="$start" -v e="$end" -v rss="$(cat "$work/rss")" \
  -v cores="$(nproc)" 'BEGIN {
    w = e - s
    printf "mc_bars: %d bars\nmc_runs: %d runs\nmc_cores: %d cores\n", n, r, cores
    printf "mc_wall: %.1f s\nmc_bars_per_s: %.0f bars/s\nmc_peak_rss: %.0f MB\n", w, n * (r + 1) / w, rss / 1024
  }'
