#!/usr/bin/env bash
# Times njord-strat on stdio over a generated tape of N trades (default 1,000,000) on two
# symbols with both sample strategies, against `cat` of the same file as a baseline.
# Prints one `name: value unit` line per figure (DESIGN §10).
#
#   scripts/bench-strat.sh [N]        # builds njord-strat in the bench profile first
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --quiet --profile bench --bin njord-strat
bin=target/release/njord-strat
python3 - "$n" > "$work/tape.ndjson" <<'PY'
import math, sys
w = sys.stdout.write
for i in range(int(sys.argv[1])):
    sym = "ATOM/USDT" if i % 2 == 0 else "BTC/USDT"
    x = float(i)
    p = 10.0 + math.sin(x / 37) * 0.8 + math.sin(x / 5) * 0.15 + math.sin(x / 997) * 2
    w('{"kind":"trade","venue":"binanceus","symbol":"%s","trade_id":"%d","price":%.4f,'
      '"qty":1.25,"side":"buy","ts_ns":%d}\n' % (sym, i, p, 1700000000000000000 + i * 1000000))
PY
cat > "$work/strategies.yaml" <<'YAML'
strategies:
  - {id: tl, class: trendline_break, symbols: ['*/USDT'], events: [trade], params: {qty: 1}}
  - {id: rtb, class: rsi_tema_bb, symbols: ['*/USDT'], events: [trade], params: {qty: 1}}
YAML
secs() { local s e; s=$(date +%s.%N); "$@"; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
t_cat=$(secs sh -c "cat '$work/tape.ndjson' > /dev/null")
t_strat=$(secs sh -c "'$bin' -q --strategies '$work/strategies.yaml' < '$work/tape.ndjson' > '$work/out.ndjson'")
intents=$(grep -c '"kind":"intent"' "$work/out.ndjson")
printf 'strat_stdio_lines: %.0f lines/s\n' "$(echo "$n / $t_strat" | bc -l)"
printf 'strat_stdio_intents: %d intents\n' "$intents"
printf 'cat_baseline: %.0f lines/s\n' "$(echo "$n / $t_cat" | bc -l)"
printf 'strat_vs_cat: %.1f ratio\n' "$(echo "$t_strat / $t_cat" | bc -l)"
