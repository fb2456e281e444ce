#!/usr/bin/env bash
# Throughput of Njord's binaries on a generated 1,000,000-trade tape, one `name: value unit`
# line per figure, with the ratio to a baseline (`cat` of the same file) measured in the same run.
# Micro-benchmarks of the hot paths: `cargo bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-1000000}
cargo build --release --bins -q
bin=target/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tape=$work/tape.ndjson
scripts/gen-trades.sh "$n" > "$tape"

# Runs a command N times-ish and prints its best wall time in seconds.
best() {
  local best=""
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s%N)
    "$@" > /dev/null 2>&1
    t1=$(date +%s%N)
    local d=$(( t1 - t0 ))
    if [ -z "$best" ] || [ "$d" -lt "$best" ]; then best=$d; fi
  done
  echo "$best"
}
rate() { awk -v n="$1" -v ns="$2" 'BEGIN { printf "%.0f", n / (ns / 1e9) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

cat_ns=$(best cat "$tape")
check_ns=$(best "$bin/njord-bus" -q check "$tape")
echo "tape_lines: $n lines"
echo "cat: $(rate "$n" "$cat_ns") lines/s"
echo "njord_bus_check: $(rate "$n" "$check_ns") lines/s"
echo "njord_bus_check_vs_cat: $(ratio "$check_ns" "$cat_ns") x slower"

# njord-ingest frame-to-stdout latency at 10,000 trades/s from njord-sim, beside a bare pipe's.
cargo build --release --example ingest_latency -q
"$bin/examples/ingest_latency" --count 100000 --rate 10000

# Every other part's figures, each script printing `name: value unit` lines of its own.
for part in risk-paper audit storage strat backtest exec research sim broker; do
  script=scripts/bench-$part.sh
  if [ -x "$script" ]; then "$script"; fi
done
