#!/usr/bin/env bash
# Storage throughput (issue 8): njord-bars and njord-replay on a synthetic 1M-trade tape,
# each against a baseline measured in the same run (cat of the same file, zcat of the gzip).
# Prints one `name: value unit` line per figure. Usage: scripts/bench-storage.sh [TRADES]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
cargo build --release --quiet --bin njord-bars --bin njord-replay
bin=target/release
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Synthetic only: the project's deterministic random-walk generator.
scripts/gen-trades.sh "$n" > "$work/tape.ndjson"
gzip -6 -c "$work/tape.ndjson" > "$work/tape.ndjson.gz"

export NJORD__LOGGING__JSON_FILE=false NJORD__JOURNAL__DIR="$work/j"
# Best of three wall-clock runs, in seconds.
best() {
  local b=""
  for _ in 1 2 3; do
    local s e t
    s=$(date +%s%N); "$@" > /dev/null; e=$(date +%s%N)
    t=$(( e - s ))
    if [ -z "$b" ] || [ "$t" -lt "$b" ]; then b=$t; fi
  done
  echo "$b"
}
rate() { awk -v n="$n" -v ns="$1" 'BEGIN { printf "%.0f", n / (ns / 1e9) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

cat_ns=$(best cat "$work/tape.ndjson")
zcat_ns=$(best zcat "$work/tape.ndjson.gz")
bars_ns=$(best sh -c "$bin/njord-bars -q --timeframes 1m,5m,1h < '$work/tape.ndjson'")
bars_emit_ns=$(best sh -c "$bin/njord-bars -q --timeframes 1m,5m,1h --emit-only --no-journal < '$work/tape.ndjson'")
replay_gz_ns=$(best "$bin/njord-replay" -q "$work/tape.ndjson.gz")
replay_plain_ns=$(best "$bin/njord-replay" -q "$work/tape.ndjson")
replay_filter_ns=$(best "$bin/njord-replay" -q --kind trade --symbol ATOM/USDT --from 2026-01-01T01:00:00Z "$work/tape.ndjson.gz")

echo "tape_trades: $n trades"
echo "tape_bytes: $(wc -c < "$work/tape.ndjson") bytes"
echo "tape_gz_bytes: $(wc -c < "$work/tape.ndjson.gz") bytes"
echo "cat_lines_per_s: $(rate "$cat_ns") lines/s"
echo "zcat_lines_per_s: $(rate "$zcat_ns") lines/s"
echo "bars_trades_per_s: $(rate "$bars_ns") trades/s"
echo "bars_emit_only_trades_per_s: $(rate "$bars_emit_ns") trades/s"
echo "bars_time_vs_cat: $(ratio "$bars_ns" "$cat_ns") x"
echo "replay_gz_events_per_s: $(rate "$replay_gz_ns") events/s"
echo "replay_gz_time_vs_zcat: $(ratio "$replay_gz_ns" "$zcat_ns") x"
echo "replay_plain_events_per_s: $(rate "$replay_plain_ns") events/s"
echo "replay_plain_time_vs_cat: $(ratio "$replay_plain_ns" "$cat_ns") x"
echo "replay_gz_filtered_lines_per_s: $(rate "$replay_filter_ns") lines/s"
