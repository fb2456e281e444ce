#!/usr/bin/env bash
# Storage throughput (issue 8): njord-bars and njord-replay on a synthetic 1M-trade tape,
# each against a baseline measured in the same run (cat of the same file, zcat of the gzip).
# Prints one `name: value unit` line per figure. Usage: scripts/bench-storage.sh [TRADES]
# SKIP_BUILD=1 measures the release binaries already built.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
if [ -z "${SKIP_BUILD:-}" ]; then
  cargo build --release --quiet --bin njord-bars --bin njord-replay --bin njord-bus
fi
bin=target/release
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Synthetic only: the project's deterministic random-walk generator.
scripts/gen-trades.sh "$n" > "$work/tape.ndjson"
gzip -6 -c "$work/tape.ndjson" > "$work/tape.ndjson.gz"

export NJORD__LOGGING__JSON_FILE=false NJORD__JOURNAL__DIR="$work/j"
# Best of three runs: "wall_ns cpu_ns" (each the minimum). CPU time (user + sys of the command
# and its threads) is what the work costs whatever else the machine runs; wall time is what a
# user waits. On a loaded machine the two differ a lot, so both are printed.
best() {
  local TIMEFORMAT='%R %U %S' bw="" bc=""
  for _ in 1 2 3; do
    local t w c
    t=$( { time "$@" > /dev/null 2>&1; } 2>&1 )
    w=$(awk -v t="$t" 'BEGIN { split(t, a, " "); printf "%.0f", a[1] * 1e9 }')
    c=$(awk -v t="$t" 'BEGIN { split(t, a, " "); printf "%.0f", (a[2] + a[3]) * 1e9 }')
    if [ -z "$bw" ] || [ "$w" -lt "$bw" ]; then bw=$w; fi
    if [ -z "$bc" ] || [ "$c" -lt "$bc" ]; then bc=$c; fi
  done
  echo "$bw $bc"
}
wall() { echo "${1% *}"; }
cpu() { echo "${1#* }"; }
rate() { awk -v n="$n" -v ns="$1" 'BEGIN { printf "%.0f", n / (ns / 1e9) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

cat_t=$(best cat "$work/tape.ndjson")
zcat_t=$(best zcat "$work/tape.ndjson.gz")
# References: njord-bus check validates (decodes) every line, in parallel blocks; njord-bars
# with one daily timeframe does almost no aggregation, so it is the stage runner alone.
check_t=$(best "$bin/njord-bus" -q check "$work/tape.ndjson")
bars_1d_t=$(best sh -c "$bin/njord-bars -q --timeframes 1d --emit-only --no-journal < '$work/tape.ndjson'")
bars_t=$(best sh -c "$bin/njord-bars -q --timeframes 1m,5m,1h < '$work/tape.ndjson'")
bars_emit_t=$(best sh -c "$bin/njord-bars -q --timeframes 1m,5m,1h --emit-only --no-journal < '$work/tape.ndjson'")
replay_gz_t=$(best "$bin/njord-replay" -q "$work/tape.ndjson.gz")
replay_plain_t=$(best "$bin/njord-replay" -q "$work/tape.ndjson")
replay_filter_t=$(best "$bin/njord-replay" -q --kind trade --symbol ATOM/USDT --from 2026-01-01T01:00:00Z "$work/tape.ndjson.gz")

echo "tape_trades: $n trades"
echo "tape_bytes: $(wc -c < "$work/tape.ndjson") bytes"
echo "tape_gz_bytes: $(wc -c < "$work/tape.ndjson.gz") bytes"
echo "load_average_1m: $(cut -d' ' -f1 /proc/loadavg) runnable"
echo "cpu_cores: $(nproc) cores"
figure() { # name, times, unit
  echo "$1: $(rate "$(wall "$2")") $3/s"
  echo "${1}_per_cpu_second: $(rate "$(cpu "$2")") $3/cpu-s"
}
figure cat_lines "$cat_t" lines
figure zcat_lines "$zcat_t" lines
figure njord_bus_check_lines "$check_t" lines
figure bars_1d_runner_bound_trades "$bars_1d_t" trades
figure bars_trades "$bars_t" trades
figure bars_emit_only_trades "$bars_emit_t" trades
echo "bars_time_vs_cat: $(ratio "$(wall "$bars_t")" "$(wall "$cat_t")") x"
figure replay_gz_events "$replay_gz_t" events
echo "replay_gz_time_vs_zcat: $(ratio "$(wall "$replay_gz_t")" "$(wall "$zcat_t")") x"
figure replay_plain_events "$replay_plain_t" events
echo "replay_plain_time_vs_cat: $(ratio "$(wall "$replay_plain_t")" "$(wall "$cat_t")") x"
figure replay_gz_filtered_lines "$replay_filter_t" lines
