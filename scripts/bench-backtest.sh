#!/usr/bin/env bash
# njord-backtest end to end (issue 9), one `name: value unit` line per figure:
# - trades/s from an NDJSON trade tape with ema_cross, pinned to one core, against `cat` of the
#   same file measured in the same run (target >= 5,000,000 trades/s), by wall time and by CPU
#   time (the fair figure when the machine is shared);
# - peak RSS for 1M and 10M trades (memory must not grow with the tape);
# - the in-process run against the stdio pipeline
#   `njord-replay | njord-strat | njord-risk | njord-paper` on the same tape (target >= 5x):
#   both pinned to one core (the same hardware, wall time), by CPU time, and with the
#   pipeline free to spread its four processes over every core.
# Tapes are synthetic (scripts/gen-trades.sh, a seeded random walk); never exchange data.
#   scripts/bench-backtest.sh                 # 1M and 10M trades
#   N=1000000 N_BIG=0 scripts/bench-backtest.sh     # no 10M run
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
n=${N:-1000000}
n_big=${N_BIG:-10000000}
# NO_BUILD=1 measures the release binaries already built.
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet --bin njord-backtest --bin njord-replay \
  --bin njord-strat --bin njord-risk --bin njord-paper
bin=$PWD/target/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

cp "$root/scripts/bench-strategies.yaml" strategies.yaml
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
# The in-process run, pinned to one core when taskset exists.
cat > one_core_bt <<SH
#!/bin/sh
pin=""; command -v taskset > /dev/null && pin="taskset -c 0"
exec \$pin '$bin/njord-backtest' -q --tape tape.ndjson --strategies strategies.yaml --out out
SH
chmod +x one_core_bt
cat > one_core_pipeline <<SH
#!/bin/sh
pin=""; command -v taskset > /dev/null && pin="taskset -c 0"
exec \$pin sh -c "'$bin/njord-replay' -q tape.ndjson | '$bin/njord-strat' -q --strategies strategies.yaml | '$bin/njord-risk' -q | '$bin/njord-paper' -q"
SH
chmod +x one_core_pipeline
export PATH=$work:$PATH

# Best of three runs: "wall_ns cpu_ns" (CPU = user + system of the command and its children,
# the fair figure on a shared machine; a pipeline's stages add up).
measure() {
  python3 -c 'import resource, subprocess, sys, time
best = None
for _ in range(3):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter_ns()
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter_ns() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = int(1e9 * ((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)))
    best = (wall, cpu) if best is None else (min(best[0], wall), min(best[1], cpu))
print(*best)' "$@"
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
pipeline="'$bin/njord-replay' -q tape.ndjson | '$bin/njord-strat' -q --strategies strategies.yaml | '$bin/njord-risk' -q | '$bin/njord-paper' -q"
read -r cat_wall cat_cpu < <(measure cat tape.ndjson)
read -r bt_wall bt_cpu < <(measure one_core_bt)
read -r replay_wall replay_cpu < <(measure "$bin/njord-replay" -q tape.ndjson)
read -r pipe_wall pipe_cpu < <(measure sh -c "$pipeline")
read -r pin_wall _ < <(measure one_core_pipeline)
cmp <(sh -c "$pipeline" | grep '"kind":"fill"') out/fills.ndjson > /dev/null \
  && parity=identical || parity=DIFFERENT
rss_small=$(rss "$bin/njord-backtest" -q --tape tape.ndjson --strategies strategies.yaml --out out)

echo "tape_trades: $n trades"
echo "fills: $(wc -l < out/fills.ndjson) fills"
echo "cat_lines_per_s: $(rate "$n" "$cat_wall") lines/s"
echo "backtest_trades_per_s: $(rate "$n" "$bt_wall") trades/s"
echo "backtest_trades_per_cpu_s: $(rate "$n" "$bt_cpu") trades/s"
echo "backtest_time_vs_cat: $(ratio "$bt_wall" "$cat_wall") x"
echo "replay_alone_trades_per_cpu_s: $(rate "$n" "$replay_cpu") trades/s"
echo "pipeline_trades_per_s: $(rate "$n" "$pipe_wall") trades/s"
echo "pipeline_trades_per_cpu_s: $(rate "$n" "$pipe_cpu") trades/s"
echo "pipeline_one_core_trades_per_s: $(rate "$n" "$pin_wall") trades/s"
echo "backtest_speedup_vs_pipeline_one_core: $(ratio "$pin_wall" "$bt_wall") x"
echo "backtest_speedup_vs_pipeline_cpu: $(ratio "$pipe_cpu" "$bt_cpu") x"
echo "backtest_speedup_vs_pipeline_all_cores_wall: $(ratio "$pipe_wall" "$bt_wall") x"
echo "fills_vs_pipeline: $parity"
echo "backtest_peak_rss_${n}: $rss_small KiB"

rm -f tape.ndjson
[ "$n_big" -gt 0 ] || exit 0
"$OLDPWD/scripts/gen-trades.sh" "$n_big" > big.ndjson
rss_big=$(rss "$bin/njord-backtest" -q --tape big.ndjson --strategies strategies.yaml --out out)
echo "backtest_peak_rss_${n_big}: $rss_big KiB"
