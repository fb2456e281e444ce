#!/usr/bin/env python3
"""Writes tests/golden/backtest_*.json: synthetic tapes of trades and scripted intents, with the
fills expected under the paper fill rules (written out by hand below) and the equity points and
metrics computed here, independently of the Rust code, straight from the formulas of issue 9.

Run from the repository root: python3 scripts/gen-backtest-goldens.py
"""
import json
import math
from decimal import Decimal as D

DAY = 86_400 * 10**9
HOUR = 3_600 * 10**9
T0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z
SYM = "ATOM/USDT"


def fmt(d):
    """Plain decimal text, without exponent or trailing zeros."""
    return format(d.normalize(), "f")


def trade(n, t, price):
    return {"kind": "trade", "venue": "binanceus", "symbol": SYM, "trade_id": str(n),
            "price": price, "qty": "100", "side": "buy", "ts_ns": t}


def intent(i, t, side, qty, limit=None):
    return {"kind": "intent", "id": i, "ts_ns": t, "strategy_id": "golden", "symbol": SYM,
            "side": side, "type": "limit" if limit else "market", "qty": qty,
            "limit_price": limit, "meta": {}}


def fill(i, side, qty, price, liq, t, bps):
    fee = fmt(D(qty) * D(price) * D(bps) / D(10000))
    return {"kind": "fill", "order_id": "paper-" + i, "intent_id": i, "strategy_id": "golden",
            "symbol": SYM, "side": side, "qty": qty, "price": price, "fee": fee,
            "fee_asset": "USDT", "liquidity": liq, "ts_fill_ns": t}


def reference(capital, interval, tape, fills):
    """Equity samples and metrics by the definitions (no code shared with the engine)."""
    capital = D(capital)
    events = [(e["ts_ns"], "price", D(e["price"])) for e in tape if e["kind"] == "trade"]
    events += [(f["ts_fill_ns"], "fill", f) for f in fills]
    # A fill happens right after the trade or intent that caused it at the same time.
    events.sort(key=lambda x: (x[0], x[1] == "fill"))
    cash, pos, last = capital, D(0), D(0)
    samples = []
    ts_all = [e["ts_ns"] for e in tape]
    first, end = min(ts_all), max(ts_all)

    def sample(t):
        pv = pos * last
        samples.append({"kind": "equity", "ts_ns": t, "equity": fmt(cash + pv),
                        "cash": fmt(cash), "position_value": fmt(pv),
                        "_exposed": pos != 0})

    sample(first)
    boundaries = list(range((first // interval + 1) * interval, end + 1, interval))
    bi = 0
    for t, what, x in events:
        while bi < len(boundaries) and boundaries[bi] <= t:
            sample(boundaries[bi])
            bi += 1
        if what == "price":
            last = x
        else:
            n = D(x["qty"]) * D(x["price"])
            if x["side"] == "buy":
                cash -= n + D(x["fee"])
                pos += D(x["qty"])
            else:
                cash += n - D(x["fee"])
                pos -= D(x["qty"])
    sample(end)
    eq = [float(D(s["equity"])) for s in samples]
    ts = [s["ts_ns"] for s in samples]
    P = 365 * DAY / interval
    r = [eq[i] / eq[i - 1] - 1 for i in range(1, len(eq))]
    mean = sum(r) / len(r)
    sd = math.sqrt(sum((x - mean) ** 2 for x in r) / (len(r) - 1))
    down = math.sqrt(sum(min(x, 0) ** 2 for x in r) / len(r))
    dur = ts[-1] - ts[0]
    growth = eq[-1] / float(capital)
    cagr = growth ** (365 * DAY / dur) - 1
    peak, peak_t, under, mdd, mdur = float(capital), ts[0], False, 0.0, 0
    for t, e in zip(ts, eq):
        if e >= peak:
            if under:
                mdur = max(mdur, t - peak_t)
            peak, peak_t, under = e, t, False
        else:
            under = True
            mdd = max(mdd, (peak - e) / peak)
    if under:
        mdur = max(mdur, ts[-1] - peak_t)
    # Round trips: FIFO lots, fees shared pro rata by quantity.
    lots, trips, long = [], [], True
    for f in fills:
        q, p, fee, buy = D(f["qty"]), D(f["price"]), D(f["fee"]), f["side"] == "buy"
        left, exit_fee = q, fee
        if lots and long != buy:
            while left > 0 and lots:
                lq, lp, lf = lots[0]
                m = min(left, lq)
                ef = lf if m == lq else lf * m / lq
                xf = exit_fee if m == left else exit_fee * m / left
                gross = m * (p - lp) if long else m * (lp - p)
                trips.append(gross - ef - xf)
                lots[0] = (lq - m, lp, lf - ef)
                left -= m
                exit_fee -= xf
                if lots[0][0] == 0:
                    lots.pop(0)
        if left > 0:
            long = buy
            lots.append((left, p, exit_fee))
    wins = [t for t in trips if t > 0]
    losses = [t for t in trips if t < 0]
    dec = lambda x: None if x is None else fmt(x)
    metrics = {
        "capital": str(capital), "final_equity": samples[-1]["equity"],
        "start_ts_ns": ts[0], "end_ts_ns": ts[-1], "duration_s": dur / 1e9,
        "samples": len(samples), "total_return": growth - 1,
        "cagr": cagr if dur > 0 and growth > 0 else None,
        # The goldens run with min_returns 1 (their days of daily samples are annualised).
        "annualised_note": None,
        "annual_volatility": sd * math.sqrt(P),
        "sharpe": mean / sd * math.sqrt(P) if sd > 0 else None,
        "sortino": mean / down * math.sqrt(P) if down > 0 else None,
        "max_drawdown": mdd, "max_drawdown_duration_s": mdur / 1e9,
        "calmar": cagr / mdd if mdd > 0 else None,
        "fills": len(fills), "round_trips": len(trips), "wins": len(wins),
        "losses": len(losses),
        "win_rate": len(wins) / len(trips) if trips else None,
        "profit_factor": float(sum(wins, D(0))) / abs(float(sum(losses, D(0)))) if losses else None,
        "avg_win": dec(sum(wins, D(0)) / len(wins)) if wins else None,
        "avg_loss": dec(sum(losses, D(0)) / len(losses)) if losses else None,
        "largest_win": dec(max(wins)) if wins else None,
        "largest_loss": dec(min(losses)) if losses else None,
        "exposure": sum(s["_exposed"] for s in samples) / len(samples),
        "fees_paid": fmt(sum((D(f["fee"]) for f in fills), D(0))),
        "turnover": float(sum(D(f["qty"]) * D(f["price"]) for f in fills)) / float(capital),
    }
    for s in samples:
        del s["_exposed"]
    return samples, metrics, trips


def write(name, about, settings, tape, fills, counts):
    samples, metrics, trips = reference(settings["capital"], DAY, tape, fills)
    doc = {"about": about, "settings": settings, "tape": tape,
           "expected": {"fills": fills, "equity": samples, "metrics": metrics,
                        "round_trip_pnl": [fmt(t) for t in trips],
                        "counts": counts}}
    with open(f"tests/golden/backtest_{name}.json", "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")


BASE = {"capital": "1000", "equity_interval": "1d", "maker_fee_bps": "5",
        "taker_fee_bps": "10", "slippage_bps": "0", "allow_short": False}

# Buy 50 at 10 and hold through 11, 9, 12 and 13.
tape = [trade(1, T0, "10"), intent("bh-1", T0, "buy", "50"),
        trade(2, T0 + DAY + 12 * HOUR, "11"), trade(3, T0 + 2 * DAY + 12 * HOUR, "9"),
        trade(4, T0 + 3 * DAY + 12 * HOUR, "12"), trade(5, T0 + 4 * DAY + 12 * HOUR, "13")]
write("buy_and_hold", "Buy 50 at 10 (taker, 10 bps) and hold: equity 1000, 999.5, 1049.5, 949.5, "
      "1099.5, 1149.5; no round trip", BASE, tape,
      [fill("bh-1", "buy", "50", "10", "taker", T0, 10)],
      {"intents": 1, "orders": 1, "fills": 1, "unfunded": 0})

# Two losing round trips.
tape = [trade(1, T0, "10"), intent("l-1", T0, "buy", "50"),
        trade(2, T0 + DAY + 3 * HOUR, "9"), intent("l-2", T0 + DAY + 3 * HOUR, "sell", "50"),
        trade(3, T0 + 2 * DAY + 3 * HOUR, "9.5"), intent("l-3", T0 + 2 * DAY + 3 * HOUR, "buy", "50"),
        trade(4, T0 + 3 * DAY + 3 * HOUR, "8"), intent("l-4", T0 + 3 * DAY + 3 * HOUR, "sell", "50"),
        trade(5, T0 + 4 * DAY, "8.2")]
write("losing", "Buy 10 → sell 9, buy 9.5 → sell 8, 50 each: round trips −50.95 and −75.875 net "
      "of fees; profit factor 0", BASE, tape,
      [fill("l-1", "buy", "50", "10", "taker", T0, 10),
       fill("l-2", "sell", "50", "9", "taker", T0 + DAY + 3 * HOUR, 10),
       fill("l-3", "buy", "50", "9.5", "taker", T0 + 2 * DAY + 3 * HOUR, 10),
       fill("l-4", "sell", "50", "8", "taker", T0 + 3 * DAY + 3 * HOUR, 10)],
      {"intents": 4, "orders": 4, "fills": 4, "unfunded": 0})

# Wins, a maker limit fill, a loss, an order the cash cannot pay for, a partial close.
tape = [trade(1, T0, "10"), intent("v-1", T0, "buy", "40"),
        trade(2, T0 + 6 * HOUR, "12"), intent("v-2", T0 + 6 * HOUR, "sell", "40"),
        trade(3, T0 + DAY + HOUR, "11"), intent("v-3", T0 + DAY + HOUR, "buy", "30", "10.5"),
        trade(4, T0 + DAY + 5 * HOUR, "10.4"),
        trade(5, T0 + 2 * DAY + 2 * HOUR, "9"), intent("v-4", T0 + 2 * DAY + 2 * HOUR, "sell", "30"),
        intent("v-5", T0 + 2 * DAY + 3 * HOUR, "buy", "200"),
        trade(6, T0 + 3 * DAY + HOUR, "9.5"), intent("v-6", T0 + 3 * DAY + HOUR, "buy", "100"),
        trade(7, T0 + 3 * DAY + 8 * HOUR, "11"),
        trade(8, T0 + 4 * DAY + 2 * HOUR, "10.8"), intent("v-7", T0 + 4 * DAY + 2 * HOUR, "sell", "60"),
        trade(9, T0 + 4 * DAY + 20 * HOUR, "10")]
write("volatile", "Round trips +79.12, −45.4275 (limit buy rested at 10.5, maker 5 bps), +76.782 "
      "(60 of a 100 lot); a 200-unit buy the cash cannot pay for is rejected", BASE, tape,
      [fill("v-1", "buy", "40", "10", "taker", T0, 10),
       fill("v-2", "sell", "40", "12", "taker", T0 + 6 * HOUR, 10),
       fill("v-3", "buy", "30", "10.5", "maker", T0 + DAY + 5 * HOUR, 5),
       fill("v-4", "sell", "30", "9", "taker", T0 + 2 * DAY + 2 * HOUR, 10),
       fill("v-6", "buy", "100", "9.5", "taker", T0 + 3 * DAY + HOUR, 10),
       fill("v-7", "sell", "60", "10.8", "taker", T0 + 4 * DAY + 2 * HOUR, 10)],
      {"intents": 7, "orders": 7, "fills": 6, "unfunded": 1})

# A short: sell 50 at 10, price 11 then 9, cover at 8.
tape = [trade(1, T0, "10"), intent("s-1", T0, "sell", "50"),
        trade(2, T0 + DAY + 2 * HOUR, "11"), trade(3, T0 + 2 * DAY + 2 * HOUR, "9"),
        trade(4, T0 + 3 * DAY + 2 * HOUR, "8"), intent("s-2", T0 + 3 * DAY + 2 * HOUR, "buy", "50"),
        trade(5, T0 + 3 * DAY + 6 * HOUR, "8.5")]
write("short", "Short 50 at 10 (--allow-short), cover at 8: round trip +99.1 net of fees",
      dict(BASE, allow_short=True), tape,
      [fill("s-1", "sell", "50", "10", "taker", T0, 10),
       fill("s-2", "buy", "50", "8", "taker", T0 + 3 * DAY + 2 * HOUR, 10)],
      {"intents": 2, "orders": 2, "fills": 2, "unfunded": 0})
