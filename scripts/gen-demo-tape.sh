#!/usr/bin/env bash
# Writes a small synthetic tape (no exchange data): ATOM/USDT trades every second with
# scripted intents in between, covering fills, a resting limit that fills later, a cancel and
# denials (invalid, duplicate, over the notional cap, no reference price).
#   scripts/gen-demo-tape.sh > examples/demo_intents.ndjson
set -euo pipefail
awk 'BEGIN {
  t0 = 1767571200                   # 2026-01-05T00:00:00Z, in seconds (awk integers are small)
  n = 0
  for (i = 1; i <= 150; i++) {
    ts = sprintf("%d000000000", t0 + i)
    px = sprintf("%.3f", 10 + 0.6 * sin(i / 12) + 0.05 * ((i * 7) % 5 - 2))
    side = (i % 3 == 0) ? "sell" : "buy"
    printf "{\"kind\":\"trade\",\"venue\":\"synthetic\",\"symbol\":\"ATOM/USDT\",\"trade_id\":\"%d\",\"price\":%s,\"qty\":%s,\"side\":\"%s\",\"ts_ns\":%s}\n", i, px, sprintf("%.2f", 1 + (i * 13) % 17 / 4), side, ts
    its = sprintf("%d500000000", t0 + i)
    if (i % 10 == 5) {
      n++
      s = (n % 2 == 1) ? "buy" : "sell"
      printf "{\"kind\":\"intent\",\"id\":\"demo-%d\",\"ts_ns\":%s,\"strategy_id\":\"demo\",\"symbol\":\"ATOM/USDT\",\"side\":\"%s\",\"type\":\"market\",\"qty\":%d,\"limit_price\":null,\"meta\":{}}\n", n, its, s, 1 + n % 3
    }
    if (i == 22) printf "{\"kind\":\"intent\",\"id\":\"demo-limit-1\",\"ts_ns\":%s,\"strategy_id\":\"demo\",\"symbol\":\"ATOM/USDT\",\"side\":\"buy\",\"type\":\"limit\",\"qty\":2,\"limit_price\":9.6,\"meta\":{}}\n", its
    if (i == 48) printf "{\"kind\":\"intent\",\"id\":\"demo-limit-2\",\"ts_ns\":%s,\"strategy_id\":\"demo\",\"symbol\":\"ATOM/USDT\",\"side\":\"sell\",\"type\":\"limit\",\"qty\":3,\"limit_price\":10.8,\"meta\":{}}\n", its
    if (i == 60) printf "{\"kind\":\"cancel\",\"intent_id\":\"demo-limit-2\",\"ts_ns\":%s}\n", its
    if (i == 70) printf "{\"kind\":\"intent\",\"id\":\"demo-bad-qty\",\"ts_ns\":%s,\"strategy_id\":\"demo\",\"symbol\":\"ATOM/USDT\",\"side\":\"buy\",\"type\":\"market\",\"qty\":0,\"limit_price\":null,\"meta\":{}}\n", its
    if (i == 80) printf "{\"kind\":\"intent\",\"id\":\"demo-1\",\"ts_ns\":%s,\"strategy_id\":\"demo\",\"symbol\":\"ATOM/USDT\",\"side\":\"buy\",\"type\":\"market\",\"qty\":1,\"limit_price\":null,\"meta\":{}}\n", its
    if (i == 90) printf "{\"kind\":\"intent\",\"id\":\"demo-big\",\"ts_ns\":%s,\"strategy_id\":\"demo\",\"symbol\":\"ATOM/USDT\",\"side\":\"buy\",\"type\":\"market\",\"qty\":100,\"limit_price\":null,\"meta\":{}}\n", its
    if (i == 100) printf "{\"kind\":\"intent\",\"id\":\"demo-eth\",\"ts_ns\":%s,\"strategy_id\":\"demo\",\"symbol\":\"ETH/BTC\",\"side\":\"buy\",\"type\":\"market\",\"qty\":1,\"limit_price\":null,\"meta\":{}}\n", its
    if (i == 85) printf "{\"kind\":\"intent\",\"id\":\"demo-limit-3\",\"ts_ns\":%s,\"strategy_id\":\"demo\",\"symbol\":\"ATOM/USDT\",\"side\":\"sell\",\"type\":\"limit\",\"qty\":1,\"limit_price\":10.5,\"meta\":{}}\n", its
  }
}'
