#!/usr/bin/env bash
# Writes N synthetic trades of one symbol, 100 ms apart, with one intent after every EVERY
# trades (market and limit, alternating sides), to stdout: the tape of the risk, paper and
# audit benchmarks.
#   scripts/gen-intents.sh N EVERY
set -euo pipefail
n=${1:-1000000}
every=${2:-100}
awk -v n="$n" -v every="$every" 'BEGIN {
  t0 = 1767571200; k = 0
  for (i = 1; i <= n; i++) {
    s = t0 + int(i / 10); f = (i % 10) * 100000000
    px = sprintf("%.3f", 10 + ((i * 7919) % 1000) / 1000)
    printf "{\"kind\":\"trade\",\"venue\":\"bench\",\"symbol\":\"ATOM/USDT\",\"trade_id\":\"%d\",\"price\":%s,\"qty\":%s,\"side\":\"%s\",\"ts_ns\":%d%09d}\n", i, px, sprintf("%.2f", 1 + (i % 13) / 4), (i % 2 ? "buy" : "sell"), s, f
    if (i % every == 0) {
      k++
      side = (k % 2) ? "buy" : "sell"
      if (k % 4 == 0) {
        lim = sprintf("%.3f", px - 0.2 + (side == "sell") * 0.4)
        printf "{\"kind\":\"intent\",\"id\":\"b-%d\",\"ts_ns\":%d%09d,\"strategy_id\":\"bench\",\"symbol\":\"ATOM/USDT\",\"side\":\"%s\",\"type\":\"limit\",\"qty\":1,\"limit_price\":%s,\"meta\":{}}\n", k, s, f + 1, side, lim
      } else {
        printf "{\"kind\":\"intent\",\"id\":\"b-%d\",\"ts_ns\":%d%09d,\"strategy_id\":\"bench\",\"symbol\":\"ATOM/USDT\",\"side\":\"%s\",\"type\":\"market\",\"qty\":1,\"limit_price\":null,\"meta\":{}}\n", k, s, f + 1, side
      }
    }
  }
}'
