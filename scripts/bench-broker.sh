#!/usr/bin/env bash
# Dry-run echo throughput of njord-broker on stdio (target ≥ 200,000 orders/s), one
# `name: value unit` line per figure, with the ratio to `cat` of the same file in the same run.
# Signing cost per order: `cargo bench --bench broker` (target ≤ 5 µs).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-1000000}
# The bench profile has the release settings and is shared with `cargo bench`: one build.
cargo build --profile bench --bin njord-broker -q
bin=target/release/njord-broker
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
orders=$work/orders.ndjson
awk -v n="$n" 'BEGIN {
  for (i = 0; i < n; i++)
    printf "{\"kind\":\"order\",\"intent_id\":\"ema-ATOMUSDT-%09d\",\"strategy_id\":\"ema\",\"venue\":\"binanceus\",\"symbol\":\"ATOM/USDT\",\"side\":\"%s\",\"type\":\"limit\",\"qty\":1.25,\"limit_price\":%d.%03d,\"ts_accepted_ns\":%d}\n", i, (i % 2 ? "sell" : "buy"), 9 + i % 3, i % 1000, 1700000000000000000 + i * 1000000
}' > "$orders"

best() {
  local best=""
  for _ in 1 2 3; do
    rm -rf "$work/var"
    local t0 t1
    t0=$(date +%s%N)
    "$@" < "$orders" > /dev/null
    t1=$(date +%s%N)
    local d=$(( t1 - t0 ))
    if [ -z "$best" ] || [ "$d" -lt "$best" ]; then best=$d; fi
  done
  echo "$best"
}
rate() { awk -v n="$1" -v ns="$2" 'BEGIN { printf "%.0f", n / (ns / 1e9) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

export NJORD__JOURNAL__DIR=$work/var/journal NJORD__LOGGING__LOG_DIR=$work/var/log
export NJORD__APP__ENV=dev
unset NJORD_ENABLE_LIVE
cat_ns=$(best cat)
echo_ns=$(best "$bin" -q)
echo_only_ns=$(best "$bin" -q --emit-only)
echo "orders: $n orders"
echo "cat: $(rate "$n" "$cat_ns") lines/s"
echo "broker_dry_run_echo: $(rate "$n" "$echo_ns") orders/s"
echo "broker_dry_run_echo_emit_only: $(rate "$n" "$echo_only_ns") orders/s"
echo "broker_dry_run_echo_vs_cat: $(ratio "$echo_ns" "$cat_ns") x slower"
