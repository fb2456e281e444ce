#!/usr/bin/env bash
# njord-backtest end to end (issue 9), one `name: value unit` line per figure:
# - trades/s from an NDJSON trade tape with ema_cross, pinned to one core, against `cat` of the
#   same file measured in the same run (target >= 5,000,000 trades/s);
# - peak RSS for 1M and 10M trades (memory must not grow with the tape);
# - the in-process run against the stdio pipeline
#   `njord-replay | njord-strat | njord-risk | njord-paper` on the same tape (target >= 5x).
# Tapes are synthetic (scripts/gen-trades.sh, a seeded random walk); never exchange data.
#   scripts/bench-backtest.sh                 # 1M and 10M trades
#   N=1000000 N_BIG=2000000 scripts/bench-backtest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-1000000}
n_big=${N_BIG:-10000000}
cargo build --release --quiet --bin njord-backtest --bin njord-replay --bin njord-strat \
  --bin njord-risk --bin njord-paper
bin=$PWD/target/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

cat > strategies.yaml <<'YAML'
strategies:
  - id: ema
    class: ema_cross
    symbols: ["ATOM/USDT"]
    events: [trade]
    params: {fast: 20, slow: 50, qty: 1}
YAML
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

one_core() { if command -v taskset > /dev/null; then taskset -c 0 "$@"; else "$@"; fi; }
# Best of three wall times, in ns.
best() {
  local b=""
  for _ in 1 2 3; do
    local s e
    s=$(date +%s%N); "$@" > /dev/null; e=$(date +%s%N)
    if [ -z "$b" ] || [ $(( e - s )) -lt "$b" ]; then b=$(( e - s )); fi
  done
  echo "$b"
}
# Peak RSS of a command, in KiB.
rss() {
  python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}
rate() { awk -v n="$1" -v ns="$2" 'BEGIN { printf "%.0f", n / (ns / 1e9) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

"$OLDPWD/scripts/gen-trades.sh" "$n" > tape.ndjson
bt=(one_core "$bin/njord-backtest" -q --tape tape.ndjson --strategies strategies.yaml --out out)
cat_ns=$(best cat tape.ndjson)
bt_ns=$(best "${bt[@]}")
pipe_ns=$(best sh -c "'$bin/njord-replay' -q tape.ndjson | '$bin/njord-strat' -q --strategies strategies.yaml | '$bin/njord-risk' -q | '$bin/njord-paper' -q")
cmp <(grep '"kind":"fill"' <("$bin/njord-replay" -q tape.ndjson | "$bin/njord-strat" -q --strategies strategies.yaml | "$bin/njord-risk" -q | "$bin/njord-paper" -q)) out/fills.ndjson > /dev/null \
  && parity=identical || parity=DIFFERENT
rss_small=$(rss "$bin/njord-backtest" -q --tape tape.ndjson --strategies strategies.yaml --out out)

echo "tape_trades: $n trades"
echo "fills: $(wc -l < out/fills.ndjson) fills"
echo "cat_lines_per_s: $(rate "$n" "$cat_ns") lines/s"
echo "backtest_trades_per_s: $(rate "$n" "$bt_ns") trades/s"
echo "backtest_time_vs_cat: $(ratio "$bt_ns" "$cat_ns") x"
echo "pipeline_trades_per_s: $(rate "$n" "$pipe_ns") trades/s"
echo "backtest_speedup_vs_pipeline: $(ratio "$pipe_ns" "$bt_ns") x"
echo "fills_vs_pipeline: $parity"
echo "backtest_peak_rss_${n}: $rss_small KiB"

rm -f tape.ndjson
"$OLDPWD/scripts/gen-trades.sh" "$n_big" > big.ndjson
s=$(date +%s%N)
rss_big=$(rss "$bin/njord-backtest" -q --tape big.ndjson --strategies strategies.yaml --out out)
e=$(date +%s%N)
echo "backtest_peak_rss_${n_big}: $rss_big KiB"
echo "backtest_trades_per_s_${n_big}: $(rate "$n_big" $(( e - s ))) trades/s"
