#!/usr/bin/env bash
# The cost of an execution algorithm in a backtest (issue 17, target: adding a TWAP to an
# ema_cross backtest costs under 20 % of its trades/s): scripts/bench-strategies.yaml's
# ema_cross with and without `exec: {algo: twap, duration: 1m, slices: 4}`, on the same
# generated 1,000,000-trade tape, one core, best of five by CPU time (a run takes a third of a
# second and the timer ticks at 10 ms). One `name: value unit`
# line per figure. The exec core alone: `cargo bench -p njord-core --bench exec`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
n=${N:-1000000}
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet --bin njord-backtest
bin=$PWD/target/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$root/scripts/gen-trades.sh" "$n" > tape.ndjson
cp "$root/scripts/bench-strategies.yaml" plain.yaml
{ cat plain.yaml; echo "    exec: {algo: twap, duration: 1m, slices: 4}"; } > twap.yaml
cat > base.yaml <<YAML
journal:
  dir: $work/j
logging:
  json_file: false
risk:
  kill_switch_file: $work/halt
paper:
  initial_balances: {USDT: 10000}
YAML
export NJORD_CONFIG=$work/base.yaml
pin=""; command -v taskset > /dev/null && pin="taskset -c 0"
# Best CPU seconds (user + system) of five runs.
cpu() {
  local best=""
  for _ in 1 2 3 4 5; do
    local t
    t=$( { /usr/bin/time -f "%U %S" $pin "$bin/njord-backtest" -q --tape tape.ndjson --strategies "$1" --out "out-$1" > /dev/null; } 2>&1 | tail -1 | awk '{ print $1 + $2 }')
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$t; fi
  done
  echo "$best"
}
plain=$(cpu plain.yaml)
twap=$(cpu twap.yaml)
children=$(grep -o '"children": *[0-9]*' out-twap.yaml/metrics.json | grep -o '[0-9]*$' || echo 0)
echo "backtest_ema_cross: $(awk -v n="$n" -v s="$plain" 'BEGIN { printf "%.0f", n / s }') trades/s"
echo "backtest_ema_cross_twap: $(awk -v n="$n" -v s="$twap" 'BEGIN { printf "%.0f", n / s }') trades/s"
echo "twap_children: $children orders"
# The issue's measure: the share of the plain run's trades/s that the TWAP takes away.
echo "twap_cost: $(awk -v a="$twap" -v b="$plain" 'BEGIN { printf "%.1f", (1 - b / a) * 100 }') % of its trades/s"
echo "twap_cpu: $(awk -v a="$twap" -v b="$plain" 'BEGIN { printf "%.1f", (a / b - 1) * 100 }') % more CPU time"
