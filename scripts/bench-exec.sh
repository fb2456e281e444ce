#!/usr/bin/env bash
# The cost of an execution algorithm in a backtest (issue 17, target: adding a TWAP to an
# ema_cross backtest costs under 20 % of its trades/s): scripts/bench-strategies.yaml's
# ema_cross with and without `exec: {algo: twap, duration: 1m, slices: 4}`, on the same
# generated 1,000,000-trade tape, one core, best of nine (REPS) by CPU time, taking turns. One
# `name: value unit` line per figure. The exec core alone: `cargo bench -p njord-core --bench exec`.
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
# CPU seconds (user + system) of one run, to the microsecond (time(1) prints hundredths).
cpu() {
  python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{r.ru_utime + r.ru_stime:.6f}")' $pin "$bin/njord-backtest" -q --tape tape.ndjson --strategies "$1" --out "out-$1"
}
# The best of REPS runs each, plain and TWAP taking turns: this VM's speed drifts by tens of
# per cent over seconds, and runs of one kind in a row would each see a different machine.
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a < b) ? a : b }'; }
plain="" twap=""
for _ in $(seq "${REPS:-9}"); do
  plain=$(best "$(cpu plain.yaml)" "$plain")
  twap=$(best "$(cpu twap.yaml)" "$twap")
done
children=$(grep -o '"children": *[0-9]*' out-twap.yaml/metrics.json | grep -o '[0-9]*$' || echo 0)
echo "backtest_ema_cross: $(awk -v n="$n" -v s="$plain" 'BEGIN { printf "%.0f", n / s }') trades/s"
echo "backtest_ema_cross_twap: $(awk -v n="$n" -v s="$twap" 'BEGIN { printf "%.0f", n / s }') trades/s"
echo "twap_children: $children orders"
# The issue's measure: the share of the plain run's trades/s that the TWAP takes away.
echo "twap_cost: $(awk -v a="$twap" -v b="$plain" 'BEGIN { printf "%.1f", (1 - b / a) * 100 }') % of its trades/s"
echo "twap_cpu: $(awk -v a="$twap" -v b="$plain" 'BEGIN { printf "%.1f", (a / b - 1) * 100 }') % more CPU time"
