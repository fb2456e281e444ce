//! `njord-sim`: parse arguments, build the simulator, run it (see the `njord_sim` library).

use clap::Parser;
use njord_sim::cli::{Cli, Cmd, GenArgs, ServeArgs};
use njord_sim::{self as sim, Settings, faults, journal::Journal, tape};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(code) = njord::app::start(&cli.common) {
        return code;
    }
    match cli.cmd {
        Cmd::Gen(g) => gen_tape(&g),
        Cmd::Serve(s) => serve(*s),
    }
}

fn gen_tape(g: &GenArgs) -> ExitCode {
    if !g.symbol.contains('/') {
        eprintln!(
            "njord-sim gen: symbol `{}` must be written BASE/QUOTE, e.g. ATOM/USDT",
            g.symbol
        );
        return ExitCode::from(2);
    }
    let start_ns = match tape::parse_iso(&g.start) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("njord-sim gen: --start: {e}");
            return ExitCode::from(2);
        }
    };
    let spec = tape::GenSpec {
        symbol: g.symbol.clone(),
        count: g.count,
        seed: g.seed,
        start_ns,
        price: g.price,
        tick: g.tick,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    match tape::generate(&spec, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        // `| head` closes stdout: end quietly.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("njord-sim gen: cannot write the tape: {e}");
            ExitCode::from(1)
        }
    }
}

fn settings(a: &ServeArgs) -> Settings {
    Settings {
        api_keys: vec![(
            a.api_key
                .clone()
                .unwrap_or_else(|| sim::DEFAULT_API_KEY.into()),
            a.api_secret
                .clone()
                .unwrap_or_else(|| sim::DEFAULT_API_SECRET.into()),
        )],
        check_timestamp: !a.no_timestamp_check,
        speed: a.speed,
        loop_tape: a.loop_tape,
        start_on_subscribe: a.start_on_subscribe,
        knobs: sim::matching::Knobs {
            maker_fee: a.maker_fee,
            taker_fee: a.taker_fee,
            book_levels: a.book_levels.clamp(1, 5000),
            book_qty: a.book_qty,
            fill_at_touch: a.fill_at_touch,
        },
        balances: a.balances.iter().cloned().collect(),
        limits: sim::limits::LimitConfig {
            weight_per_min: a.weight_limit,
            orders_per_10s: a.orders_per_10s,
            orders_per_day: a.orders_per_day,
            ban_after: a.ban_after,
            ban_ms: i64::from(a.ban_secs) * 1000,
        },
        ping_interval: Duration::from_millis(a.ping_interval_ms.max(1)),
        pong_timeout: Duration::from_millis(a.pong_timeout_ms.max(1)),
        ws_msgs_per_sec: a.ws_msg_limit,
        listen_key_ttl_ms: i64::from(a.listen_key_ttl_secs) * 1000,
        min_notional: a.min_notional,
        initial_skew_ms: a.clock_skew_ms,
    }
}

fn serve(a: ServeArgs) -> ExitCode {
    let tape = match tape::load(&a.tape, &a.symbols) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("njord-sim serve: {e}");
            return ExitCode::from(2);
        }
    };
    for bad in &tape.skipped {
        eprintln!("njord-sim serve: skipped {bad}");
    }
    let scenario = match &a.scenario {
        Some(p) => match faults::load_scenario(p) {
            Ok(s) => s.faults,
            Err(e) => {
                eprintln!("njord-sim serve: {e}");
                return ExitCode::from(2);
            }
        },
        None => Vec::new(),
    };
    let journal = match &a.journal {
        Some(p) => match Journal::create(p) {
            Ok(j) => Some(j),
            Err(e) => {
                eprintln!(
                    "njord-sim serve: cannot create journal {}: {e}",
                    p.display()
                );
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("njord-sim serve: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let (rest_port, ws_port) = (a.rest_port, a.ws_port);
    let sim = sim::build(settings(&a), &tape, journal);
    let result = rt.block_on(async move {
        for f in scenario {
            sim::rest::apply_fault(&sim, f).await;
        }
        let served = sim::serve(sim, tape, rest_port, ws_port, |b| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", b.ready_line());
            let _ = out.flush();
            tracing::info!(rest = %b.rest, ws = %b.ws, "njord-sim ready");
        });
        tokio::select! {
            r = served => r,
            _ = shutdown_signal() => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("njord-sim serve: {e} (is the port already in use? use 0 for any free port)");
            ExitCode::from(1)
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = term.recv() => {},
            _ = tokio::signal::ctrl_c() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
