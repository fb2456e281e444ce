#!/usr/bin/env bash
# The cost of a strategy in another language (`class: exec`): njord-strat over a generated
# tape of N trades (default 100,000) with
#   - a Python program that answers every event with `done` at once (the protocol's round
#     trip: Njord writes the line, Python reads and parses it, answers, Njord reads it), and
#   - examples/strategies/sma_revert.py (a 30-price moving average per event),
# against the built-in ema_cross, per event. Prints `name: value unit` lines (DESIGN §10).
#
#   scripts/bench-exec-strategy.sh [N]    # builds njord-strat in the bench profile first
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --quiet --profile bench --bin njord-strat
bin=${CARGO_TARGET_DIR:-target}/release/njord-strat
python3 - "$n" > "$work/tape.ndjson" <<'PY'
import math, sys
w = sys.stdout.write
for i in range(int(sys.argv[1])):
    x = float(i)
    p = 10.0 + math.sin(x / 37) * 0.8 + math.sin(x / 5) * 0.15 + math.sin(x / 997) * 2
    w('{"kind":"trade","venue":"binanceus","symbol":"ATOM/USDT","trade_id":"%d","price":%.4f,'
      '"qty":1.25,"side":"buy","ts_ns":%d}\n' % (i, p, 1700000000000000000 + i * 1000000))
PY
cat > "$work/null.py" <<'PY'
import json, sys
start = json.loads(sys.stdin.readline())
print(json.dumps({"kind": "strategy_hello", "id": "null", "version": "0",
                  "params_hash": start["params_hash"]}), flush=True)
out = sys.stdout
for line in sys.stdin:
    json.loads(line)
    out.write('{"kind":"done"}\n')
    out.flush()
PY
entry() {
  printf 'strategies:\n  - {id: s, class: %s, symbols: [ATOM/USDT], events: [trade], params: %s}\n' "$1" "$2"
}
entry ema_cross '{fast: 20, slow: 50, qty: 1}' > "$work/native.yaml"
entry exec "{command: [python3, $work/null.py]}" > "$work/null.yaml"
entry exec "{command: [python3, $PWD/examples/strategies/sma_revert.py], window: 30, band: 0.0005}" > "$work/sma.yaml"
secs() { local s e; s=$(date +%s.%N); "$@"; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
run() { secs sh -c "'$bin' -q --emit-only --strategies '$work/$1.yaml' < '$work/tape.ndjson' > /dev/null"; }
t_native=$(run native)
t_null=$(run null)
t_sma=$(run sma)
per() { echo "($1 - $t_native) * 1000000 / $n" | bc -l; }
printf 'exec_round_trip: %.1f us/event\n' "$(per "$t_null")"
printf 'exec_sma_revert: %.1f us/event\n' "$(per "$t_sma")"
printf 'native_ema_cross: %.2f us/event\n' "$(echo "$t_native * 1000000 / $n" | bc -l)"
