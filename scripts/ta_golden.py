#!/usr/bin/env python3
"""Generate the TA-Lib goldens that tests/strat.rs and src/indicators.rs are checked against.

    python3 -m venv /tmp/talib && /tmp/talib/bin/pip install ta-lib numpy
    /tmp/talib/bin/python scripts/ta_golden.py
    NJORD_BLESS=1 cargo test --test strat golden   # re-record the intents after the tape

Writes, under tests/golden/:
- indicators_a.csv, indicators_b.csv: a generated price series and TA-Lib's SMA, EMA (TA-Lib
  seeding: SMA of the first n), RSI, TEMA, BBANDS (SMA, population stdev), LINEARREG,
  LINEARREG_SLOPE, LINEARREG_INTERCEPT and TSF for the periods in the first (comment) line.
  Empty cells are TA-Lib's NaN (not ready yet).
- features_talib_a.csv, features_talib_b.csv: a generated OHLCV bar series with a second
  (market) series, and TA-Lib's ATR, MACD (macd, signal, hist), STOCH (slowk, slowd; SMAs),
  ADX, PLUS_DI, MINUS_DI, OBV, CORREL (close, market), BETA (market, close: the slope of the
  close's returns on the market's) and ROCP (close, 1), for the periods in the first line; the
  checks of src/features/talib.rs. Series a has default periods, b short ones.
- trendline_break.jsonl: the tape of the trendline_break golden (the seed's scenarios, one per
  symbol, interleaved; 1m and 5m bars), and its expected signals from numpy.polyfit, printed.
- ema_cross.jsonl + ema_cross_expected.csv: a tape and the signals of the issue's ema_cross
  rule (EMAs seeded with the first price, ready after `slow` prices, long_only), written
  here independently (the same recursion as pandas' `ewm(adjust=False)`).
- rsi_tema_bb.jsonl: the tape (trades) of the rsi_tema_bb golden. The test appends the
  intents njord-strat emits when blessed; it then checks them against
- rsi_tema_bb_talib.csv: the signals TA-Lib's indicators give on that tape (ts_ns, side and
  the triggering values) with the golden's params (tema_period 3, the rest default: with the
  defaults' TEMA 9 the buy condition practically never holds, see the test).

Prices are written with 4 decimals and read back from that text, so both sides see the very
same doubles. Values are written with repr(), which round-trips exactly.
"""

import os

import numpy as np
import talib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden")
T0 = 1_700_000_000_000_000_000


def series(seed, n, vol):
    rng = np.random.default_rng(seed)
    walk = 10.0 * np.cumprod(1.0 + vol * rng.standard_normal(n))
    text = [f"{p:.4f}" for p in walk]
    return text, np.array([float(t) for t in text])


def cell(v):
    return "" if np.isnan(v) else repr(float(v))


def indicators(name, text, x, sma, ema, rsi, tema, bb, bb_k, lr):
    cols = {
        "sma": talib.SMA(x, sma),
        "ema": talib.EMA(x, ema),
        "rsi": talib.RSI(x, rsi),
        "tema": talib.TEMA(x, tema),
    }
    up, mid, low = talib.BBANDS(x, bb, bb_k, bb_k, 0)
    cols.update(bb_lower=low, bb_middle=mid, bb_upper=up)
    cols.update(
        linreg=talib.LINEARREG(x, lr),
        linreg_slope=talib.LINEARREG_SLOPE(x, lr),
        linreg_intercept=talib.LINEARREG_INTERCEPT(x, lr),
        tsf=talib.TSF(x, lr),
    )
    with open(os.path.join(ROOT, name), "w") as f:
        f.write(f"# sma={sma} ema={ema} rsi={rsi} tema={tema} bb={bb} bb_k={bb_k} linreg={lr}\n")
        f.write("price," + ",".join(cols) + "\n")
        for i, t in enumerate(text):
            f.write(t + "," + ",".join(cell(c[i]) for c in cols.values()) + "\n")


def ohlcv(seed, n, vol):
    """Bars of a walk around 10 (opens at the previous close, high and low beyond both), a
    positive volume, and a market series around 20 that the closes partly follow; all written
    with 4 decimals and read back."""
    rng = np.random.default_rng(seed)
    market_r = vol * rng.standard_normal(n)
    r = 0.7 * market_r + 0.7 * vol * rng.standard_normal(n)
    close = 10.0 * np.cumprod(1.0 + r)
    open_ = np.concatenate(([10.0], close[:-1]))
    high = np.maximum(open_, close) * (1.0 + 0.5 * vol * np.abs(rng.standard_normal(n)))
    low = np.minimum(open_, close) * (1.0 - 0.5 * vol * np.abs(rng.standard_normal(n)))
    volume = 1000.0 * rng.lognormal(0.0, 0.5, n)
    market = 20.0 * np.cumprod(1.0 + market_r)
    return [[f"{v:.4f}" for v in col] for col in (open_, high, low, close, volume, market)]


def features(name, text, atr, macd, stoch, adx, correl, beta):
    o, h, l, c, v, m = (np.array([float(t) for t in col]) for col in text)
    cols = {"atr": talib.ATR(h, l, c, atr)}
    cols["macd"], cols["macd_signal"], cols["macd_hist"] = talib.MACD(c, *macd)
    cols["slowk"], cols["slowd"] = talib.STOCH(h, l, c, stoch[0], stoch[1], 0, stoch[2], 0)
    cols.update(
        adx=talib.ADX(h, l, c, adx),
        plus_di=talib.PLUS_DI(h, l, c, adx),
        minus_di=talib.MINUS_DI(h, l, c, adx),
        obv=talib.OBV(c, v),
        correl=talib.CORREL(c, m, correl),
        beta=talib.BETA(m, c, beta),
        rocp=talib.ROCP(c, 1),
    )
    with open(os.path.join(ROOT, name), "w") as f:
        f.write(
            f"# atr={atr} macd_fast={macd[0]} macd_slow={macd[1]} macd_signal={macd[2]} "
            f"stoch_k={stoch[0]} stoch_slowk={stoch[1]} stoch_slowd={stoch[2]} adx={adx} "
            f"correl={correl} beta={beta}\n"
        )
        f.write("open,high,low,close,volume,market," + ",".join(cols) + "\n")
        for i in range(len(c)):
            f.write(",".join(t[i] for t in text) + "," + ",".join(cell(x[i]) for x in cols.values()) + "\n")


def rsi_tema_bb_tape():
    text, x = series(72, 600, 0.006)
    rsi = talib.RSI(x, 14)
    tema = talib.TEMA(x, 3)
    up, _, low = talib.BBANDS(x, 20, 2.0, 2.0, 0)
    with open(os.path.join(ROOT, "rsi_tema_bb.jsonl"), "w") as f:
        for i, t in enumerate(text):
            f.write(
                '{"kind":"trade","venue":"binanceus","symbol":"ATOM/USDT","trade_id":"%d",'
                '"price":%s,"qty":1,"side":"buy","ts_ns":%d}\n' % (i, t, T0 + i * 1_000_000_000)
            )
    with open(os.path.join(ROOT, "rsi_tema_bb_talib.csv"), "w") as f:
        f.write("ts_ns,side,rsi,tema,bb_lower,bb_upper\n")
        for i in range(1, len(x)):
            if np.isnan(rsi[i]) or np.isnan(tema[i - 1]) or np.isnan(low[i]):
                continue
            side = None
            if rsi[i] < 30 and x[i] < low[i] and tema[i] > tema[i - 1]:
                side = "buy"
            elif rsi[i] > 70 and x[i] > up[i] and tema[i] < tema[i - 1]:
                side = "sell"
            if side:
                f.write(
                    f"{T0 + i * 1_000_000_000},{side},{float(rsi[i])!r},{float(tema[i])!r},{float(low[i])!r},{float(up[i])!r}\n"
                )


def trade(symbol, i, price):
    return (
        '{"kind":"trade","venue":"binanceus","symbol":"%s","trade_id":"%d","price":%s,'
        '"qty":1,"side":"buy","ts_ns":%d}\n' % (symbol, i, price, T0 + i * 1_000_000_000)
    )


def bar(symbol, tf, i, close):
    ts = T0 + i * 1_000_000_000
    return (
        '{"kind":"bar","symbol":"%s","timeframe":"%s","ts_open_ns":%d,"ts_close_ns":%d,'
        '"open":%s,"high":%s,"low":%s,"close":%s,"volume":1,"trades":1}\n'
        % (symbol, tf, ts - 60_000_000_000, ts, close, close, close, close)
    )


def trendline_signals(prices, n=20, thr=0.02):
    """The rule of trendline_break, written independently with numpy.polyfit."""
    out, armed = [], True
    for i, p in enumerate(prices):
        w = prices[max(0, i - n):i]
        if len(w) < 3:
            continue
        slope, icpt = np.polyfit(np.arange(len(w)), w, 1)
        proj = icpt + slope * len(w)
        if proj <= 0:
            continue
        r = (p - proj) / proj
        if abs(r) <= thr:
            armed = True
        elif armed:
            armed = False
            out.append((i, "buy" if r > 0 else "sell"))
    return out


def trendline_tape():
    flat = ["10.0"] * 20
    tapes = {
        # The seed's scenarios, then a fall back to the line (re-armed) and a second break.
        "ATOM/USDT": flat + ["10.22", "10.25", "10.2", "10.1", "10.05", "10.0", "9.6", "9.5"],
        "BTC/USDT": flat + ["9.78", "9.7"],
        # 1.9% above the line is no breakout.
        "ETH/USDT": flat + ["10.19", "10.0"],
    }
    lines, i, expected = [], 0, []
    for k in range(max(len(t) for t in tapes.values())):
        for sym, tape in tapes.items():
            if k < len(tape):
                lines.append(trade(sym, i, tape[k]))
                i += 1
    for sym, tape in tapes.items():
        for idx, side in trendline_signals([float(p) for p in tape]):
            expected.append((sym, idx, side))
    # Bars: only the 1m ones feed the bar strategy; the 5m bar would break the line too.
    closes = ["20.0"] * 6 + ["20.5"]
    for k, c in enumerate(closes):
        lines.append(bar("SOL/USDT", "1m", i, c))
        i += 1
        if k == 5:
            lines.append(bar("SOL/USDT", "5m", i, "30"))
            i += 1
    for idx, side in trendline_signals([float(c) for c in closes]):
        expected.append(("SOL/USDT 1m", idx, side))
    with open(os.path.join(ROOT, "trendline_break.jsonl"), "w") as f:
        f.writelines(lines)
    print("trendline_break signals (symbol, index in its own series, side):")
    for e in expected:
        print("  ", e)


def ema_cross_signals(prices, fast, slow, long_only):
    """The issue's ema_cross rule, written independently of the Rust code."""
    def ewm(xs, n):
        a, out = 2.0 / (n + 1.0), []
        for x in xs:
            out.append(x if not out else out[-1] + (x - out[-1]) * a)
        return out
    f, s = ewm(prices, fast), ewm(prices, slow)
    out, above, long = [], None, False
    for i in range(len(prices)):
        if i + 1 < slow:
            continue
        now = f[i] > s[i]
        if above is not None and now != above:
            side = "buy" if now else "sell"
            if not (side == "sell" and long_only and not long):
                long = side == "buy"
                out.append((i, side, f[i], s[i]))
        above = now
    return out


def ema_cross_tape():
    text, x = series(5, 1500, 0.004)
    with open(os.path.join(ROOT, "ema_cross.jsonl"), "w") as f:
        for i, t in enumerate(text):
            f.write(trade("ATOM/USDT", i, t))
    with open(os.path.join(ROOT, "ema_cross_expected.csv"), "w") as f:
        f.write("ts_ns,side,fast,slow\n")
        for i, side, fa, sl in ema_cross_signals([float(v) for v in x], 20, 50, True):
            f.write(f"{T0 + i * 1_000_000_000},{side},{fa!r},{sl!r}\n")


def main():
    os.makedirs(ROOT, exist_ok=True)
    # A walk around 10 with a flat stretch (zero deviation, RSI with no change).
    text, x = series(11, 400, 0.01)
    text = text[:250] + [text[249]] * 30 + text[250:]
    x = np.array([float(t) for t in text])
    indicators("indicators_a.csv", text, x, 20, 10, 14, 9, 20, 2.0, 14)
    indicators("indicators_b.csv", text, x, 3, 2, 2, 2, 5, 1.5, 3)
    # Bars with a flat stretch: no range (STOCH reads 0), no change (OBV holds, ROCP 0), and
    # windows where CORREL and BETA are undefined (TA-Lib writes 0 there).
    cols = ohlcv(21, 400, 0.01)
    cols = [col[:250] + [cols[3][249]] * 30 + col[250:] for col in cols[:4]] + [
        col[:250] + [col[249]] * 30 + col[250:] for col in cols[4:]
    ]
    features("features_talib_a.csv", cols, 14, (12, 26, 9), (5, 3, 3), 14, 30, 5)
    features("features_talib_b.csv", cols, 3, (3, 5, 2), (3, 2, 2), 3, 4, 3)
    rsi_tema_bb_tape()
    trendline_tape()
    ema_cross_tape()


if __name__ == "__main__":
    main()
