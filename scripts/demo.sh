#!/usr/bin/env bash
# `make demo`: Njord on bundled synthetic data, no Redis and no network needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${NJORD_BIN:-target/debug}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export NJORD__LOGGING__JSON_FILE=false NJORD__JOURNAL__DIR="$work/journal"
export NJORD__RISK__KILL_SWITCH_FILE="$work/halt"
tape=examples/data/atom_trades.ndjson
scripted=examples/demo_intents.ndjson

echo "== 1. validate the bundled tape: njord-bus check $tape"
"$bin/njord-bus" -q check --quiet-ok "$tape" 2>&1 | tail -1

echo
echo "== 2. 1-minute bars: njord-bars --timeframes 1m --emit-only < $tape"
"$bin/njord-bars" -q --timeframes 1m --emit-only < "$tape"

echo
echo "== 3. scripted intents through the risk engine and the paper trader:"
echo "      njord-risk < $scripted | njord-paper --summary"
"$bin/njord-risk" -q < "$scripted" | "$bin/njord-paper" -q --summary > "$work/out.ndjson"
echo "decisions: $(grep -c '"kind":"decision"' "$work/out.ndjson")," \
  "orders: $(grep -c '"kind":"order"' "$work/out.ndjson")," \
  "fills: $(grep -c '"kind":"fill"' "$work/out.ndjson")"
echo "denied:"
grep '"kind":"decision"' "$work/out.ndjson" | grep '"allowed":false' | sed 's/.*"intent_id":"\([^"]*\)".*"reason":"\([^"]*\)".*/  \1: \2/'
echo "last position:"
grep '"kind":"position"' "$work/out.ndjson" | tail -1

echo
echo "== 4. the kill switch: trip, then the next intent is denied 'halted'"
"$bin/njord-kill" -q trip --reason "demo"
"$bin/njord-kill" -q status || echo "(status exited $?: trading halted)"
grep -m1 '"kind":"trade"' "$scripted" > "$work/one.ndjson"
grep -m1 '"kind":"intent"' "$scripted" | sed 's/demo-1/demo-after-trip/' >> "$work/one.ndjson"
"$bin/njord-risk" -q --emit-only < "$work/one.ndjson" | grep decision
"$bin/njord-kill" -q clear
"$bin/njord-kill" -q status && echo "(status exited 0: trading allowed)"
