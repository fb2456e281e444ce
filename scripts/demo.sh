#!/usr/bin/env bash
# `make demo`: Njord's main job on bundled synthetic data (made by `njord-sim gen` and
# `njord-bars`), with no Redis and no network: a strategy pipeline on a tape, the same run in
# the backtester with identical fills, the risk engine's denials and the kill switch.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${NJORD_BIN:-target/debug}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export NJORD__LOGGING__JSON_FILE=false NJORD__JOURNAL__DIR="$work/journal"
export NJORD__RISK__KILL_SWITCH_FILE="$work/halt"
tape=examples/data/atom_demo.ndjson.gz          # 20,000 ATOM/USDT trades and their 1m bars
strategies=examples/demo_strategies.yaml         # ema_cross and trendline_break on 1m bars
scripted=examples/demo_intents.ndjson            # trades with hand-written intents

echo "== 1. validate the tape: njord-bus check $tape"
"$bin/njord-bus" -q check --quiet-ok "$tape" 2>&1 | tail -1

echo
echo "== 2. the trading pipeline on the tape:"
echo "   njord-replay $tape | njord-strat --strategies $strategies | njord-risk | njord-paper --summary"
"$bin/njord-replay" -q "$tape" | "$bin/njord-strat" -q --strategies "$strategies" \
  | "$bin/njord-risk" -q | "$bin/njord-paper" -q --summary > "$work/pipeline.ndjson"
for k in intent decision order fill; do
  printf '%s: %s  ' "${k}s" "$(grep -c "^{\"kind\":\"$k\"" "$work/pipeline.ndjson" || true)"
done
echo
echo "first intent, with the values that triggered it:"
grep -m1 '^{"kind":"intent"' "$work/pipeline.ndjson"

echo
echo "== 3. the same tape in the backtester (same cores, one process):"
echo "   njord-backtest --tape $tape --strategies $strategies --allow-short --equity-interval 15m"
report=var/demo/report.html                      # kept after the demo
mkdir -p "$(dirname "$report")"
"$bin/njord-backtest" -q --tape "$tape" --strategies "$strategies" --allow-short \
  --equity-interval 15m --out "$work/bt" --report "$report"
echo "report: $(pwd)/$report"
grep '^{"kind":"fill"' "$work/pipeline.ndjson" > "$work/pipeline-fills.ndjson"
if cmp -s "$work/pipeline-fills.ndjson" "$work/bt/fills.ndjson"; then
  echo "fills: the backtest's $(wc -l < "$work/bt/fills.ndjson") fills equal the pipeline's, byte for byte"
else
  echo "fills differ between backtest and pipeline" >&2
  exit 1
fi

echo
echo "== 4. scripted intents: the risk engine's denials, then the paper trader"
"$bin/njord-risk" -q < "$scripted" | "$bin/njord-paper" -q > "$work/scripted.ndjson"
grep '"allowed":false' "$work/scripted.ndjson" | sed 's/.*"intent_id":"\([^"]*\)".*"reason":"\([^"]*\)".*/  denied \1: \2/'
echo "  and $(grep -c '^{"kind":"fill"' "$work/scripted.ndjson") fills; the last position:"
grep '^{"kind":"position"' "$work/scripted.ndjson" | tail -1

echo
echo "== 5. the kill switch: trip it, and the next intent is denied 'halted'"
"$bin/njord-kill" -q trip --reason "demo"
grep -m1 '"kind":"trade"' "$scripted" > "$work/one.ndjson"
grep -m1 '"kind":"intent"' "$scripted" | sed 's/demo-1/demo-after-trip/' >> "$work/one.ndjson"
"$bin/njord-risk" -q --emit-only < "$work/one.ndjson" | grep decision
"$bin/njord-kill" -q clear
"$bin/njord-kill" -q status && echo "(cleared: trading allowed again)"
