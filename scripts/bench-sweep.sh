#!/usr/bin/env bash
# Sweep scaling over worker processes: `njord-backtest sweep` of ema_cross over one year of
# 1-minute trades (525,600, `njord-sim gen --model gbm`), 32 trials (fast × slow), run by one
# worker process and by two `--shard I/2` processes at once plus the `--merge`, each with one
# thread (RAYON_NUM_THREADS=1), REPS times interleaved. For reference, the same for plain
# backtests (one process running two after another, against two at once): how well this
# machine runs two processes at all. Prints `name: value unit` lines (DESIGN §10), medians.
#
#   scripts/bench-sweep.sh [TRADES] [REPS]    # builds the binaries in the bench profile first
set -euo pipefail
cd "$(dirname "$0")/.."
trades=${1:-525600}
reps=${2:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --quiet --profile bench -p njord --bin njord-backtest
cargo build --quiet --profile bench -p njord-sim
bin=${CARGO_TARGET_DIR:-target}/release
export NJORD__LOGGING__JSON_FILE=false RAYON_NUM_THREADS=1
"$bin/njord-sim" gen --symbol ATOM/USDT --count "$trades" --model gbm --sigma 0.6 \
  --interval 1m --seed 1 -q > "$work/tape.ndjson"
printf 'strategies:\n  - {id: ema, class: ema_cross, symbols: [ATOM/USDT], events: [trade], params: {fast: 20, slow: 60, qty: 10}}\n' \
  > "$work/s.yaml"
printf 'params:\n  fast: [3, 5, 8, 13, 21, 34, 40, 45]\n  slow: [55, 89, 144, 233]\n' > "$work/grid.yaml"
sweep() {
  "$bin/njord-backtest" sweep --tape "$work/tape.ndjson" --strategies "$work/s.yaml" \
    --grid "$work/grid.yaml" --allow-short --progress none -q --no-summary "$@"
}
backtest() {
  "$bin/njord-backtest" --tape "$work/tape.ndjson" --strategies "$work/s.yaml" --out "$work/$1" \
    --allow-short --progress none -q --no-summary
}
now() { date +%s.%N; }
for r in $(seq "$reps"); do
  rm -rf "$work/one" "$work/two"
  s=$(now); sweep --out "$work/one"; m=$(now)
  sweep --out "$work/two" --shard 0/2 & a=$!
  sweep --out "$work/two" --shard 1/2 & b=$!
  wait "$a" "$b"
  sweep --out "$work/two" --merge
  e=$(now)
  cmp "$work/one/sweep.csv" "$work/two/sweep.csv"
  echo "sweep $m $s $e" >> "$work/times"
  s=$(now); backtest b1; backtest b1; m=$(now)
  backtest b2 & a=$!; backtest b3 & b=$!; wait "$a" "$b"; e=$(now)
  echo "plain $m $s $e" >> "$work/times"
done
awk -v n="$trades" -v cores="$(nproc)" '
  { one[$1] = one[$1] " " ($2 - $3); two[$1] = two[$1] " " ($4 - $2) }
  function median(list,   a, k, i, j, t) {
    k = split(list, a, " ")
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
  }
  END {
    t1 = median(one["sweep"]); t2 = median(two["sweep"])
    p1 = median(one["plain"]); p2 = median(two["plain"])
    printf "sweep_trades: %d trades\nsweep_trials: 32 trials\nsweep_cores: %d cores\n", n, cores
    printf "sweep_1_process: %.2f s\nsweep_2_processes: %.2f s\n", t1, t2
    printf "sweep_trial_cost: %.3f s\nsweep_process_efficiency: %.0f %%\n", t1 / 32, 100 * t1 / (2 * t2)
    printf "plain_backtest_process_efficiency: %.0f %%\n", 100 * p1 / (2 * p2)
  }' "$work/times"
