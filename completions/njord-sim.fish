# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_njord_sim_global_optspecs
    string join \n config= print-config v/verbose q/quiet log-level= h/help V/version
end

function __fish_njord_sim_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_njord_sim_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_njord_sim_using_subcommand
    set -l cmd (__fish_njord_sim_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c njord-sim -n "__fish_njord_sim_needs_command" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-sim -n "__fish_njord_sim_needs_command" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-sim -n "__fish_njord_sim_needs_command" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-sim -n "__fish_njord_sim_needs_command" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-sim -n "__fish_njord_sim_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-sim -n "__fish_njord_sim_needs_command" -s h -l help -d 'Print help'
complete -c njord-sim -n "__fish_njord_sim_needs_command" -s V -l version -d 'Print version'
complete -c njord-sim -n "__fish_njord_sim_needs_command" -f -a "serve" -d 'Serve the venue on 127.0.0.1 and print one `sim_ready` JSON line on stdout'
complete -c njord-sim -n "__fish_njord_sim_needs_command" -f -a "gen" -d 'Write a realistic trade tape (NDJSON `trade` events) to stdout; same seed, same bytes'
complete -c njord-sim -n "__fish_njord_sim_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l tape -d 'NDJSON trade tape (plain or gzip), e.g. from `njord-sim gen`' -r -F
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l symbols -d 'Symbols to list (default: every symbol on the tape)' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l speed -d 'Tape speed: max (as fast as subscribers read), 1x, 10x, 0.5x, or step (POST /control/step)' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l scenario -d 'Faults to switch on at start: {"faults":[{"fault":"stop_pings"},…]} (JSON or YAML)' -r -F
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l rest-port -d 'REST port on 127.0.0.1 (0: any free port)' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l metrics-addr -d 'Serve GET /metrics, /livez and /readyz here: HOST:PORT, a port (on 127.0.0.1), or off (default for daemons: telemetry.addr; on stdio: none)' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l metrics-file -d 'Rewrite the metrics to this file periodically and at exit, in the Prometheus text format of node_exporter\'s textfile collector' -r -F
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l ws-port -d 'WebSocket port on 127.0.0.1 (0: any free port)' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l journal -d 'Request journal: every request, response, signature verdict and WebSocket frame' -r -F
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l api-key -d 'Accepted API key (default: Binance\'s documentation example key)' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l api-secret -d 'Its secret; prefer the environment variable (default: the documentation example secret)' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l clock-skew-ms -d 'Start with the server clock this many ms ahead (negative: behind)' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l maker-fee -d 'Maker commission rate' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l taker-fee -d 'Taker commission rate' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l book-levels -d 'Levels per side of the synthetic book around the last price (at most 5000)' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l book-qty -d 'Quantity at each level of the synthetic book' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l balance -d 'Starting balance, repeatable (default: 10000 of each quote asset, 100 of each base)' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l min-notional -d 'NOTIONAL filter minimum of every symbol' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l weight-limit -d 'REQUEST_WEIGHT per minute' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l orders-per-10s -d 'ORDERS per 10 seconds' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l orders-per-day -d 'ORDERS per day' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l ban-after -d 'Requests answered 429 in one minute before the IP is banned (418)' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l ban-secs -d 'Length of a ban' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l ping-interval-ms -d 'Interval of server pings' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l pong-timeout-ms -d 'A connection that has not answered a ping within this time is dropped' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l ws-msg-limit -d 'Inbound WebSocket messages per second before a connection is dropped' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l listen-key-ttl-secs -d 'A listen key not kept alive expires after this long' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l no-timestamp-check -d 'Accept any `timestamp` (signatures are still checked)'
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l loop -d 'Restart the tape at its end (trade ids and times keep increasing)'
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l start-on-subscribe -d 'Hold the tape until the first market-data subscription'
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l fill-at-touch -d 'Resting limits also fill when the tape trades at (not only through) their price'
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-sim -n "__fish_njord_sim_using_subcommand serve" -s h -l help -d 'Print help'
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l symbol -d 'Symbol, BASE/QUOTE' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l count -d 'Number of trades' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l seed -d 'Random seed; the same seed gives the same bytes' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l start -d 'Time of the first trade, UTC (2024-01-01 or 2024-01-01T09:30:00Z)' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l price -d 'Starting price' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l tick -d 'Price grid' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l model -d 'Price model: `ticks` (a tick walk with bursts and quiet spells), or one trade every --interval from `gbm`, `jump` (Merton), `garch` (GARCH(1,1)), `regime` (two volatility states) or `bootstrap` (blocks of the returns of the --from tape)' -r -f -a "ticks\t''
gbm\t''
jump\t''
garch\t''
regime\t''
bootstrap\t''"
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l interval -d 'Time between trades of a model other than ticks (1s, 1m, 1h, …)' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l mu -d 'Annual drift of the log price (gbm, jump, garch, regime)' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l sigma -d 'Annual volatility (gbm, jump; regime: of the calm state)' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l sigma-high -d 'regime: annual volatility of the volatile state' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l switch -d 'regime: the probability per trade of leaving the calm state, and the volatile state' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l jump-rate -d 'jump: jumps per year' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l jump-mean -d 'jump: mean of a jump\'s log size' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l jump-sd -d 'jump: standard deviation of a jump\'s log size' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l omega -d 'garch: ω, the constant of the variance per trade' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l alpha -d 'garch: α, the weight of the last squared shock' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l beta -d 'garch: β, the weight of the last variance' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l from -d 'bootstrap: the tape whose --symbol trade-to-trade log returns are resampled' -r -F
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l block -d 'bootstrap: returns per block' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-sim -n "__fish_njord_sim_using_subcommand gen" -s h -l help -d 'Print help'
complete -c njord-sim -n "__fish_njord_sim_using_subcommand help; and not __fish_seen_subcommand_from serve gen help" -f -a "serve" -d 'Serve the venue on 127.0.0.1 and print one `sim_ready` JSON line on stdout'
complete -c njord-sim -n "__fish_njord_sim_using_subcommand help; and not __fish_seen_subcommand_from serve gen help" -f -a "gen" -d 'Write a realistic trade tape (NDJSON `trade` events) to stdout; same seed, same bytes'
complete -c njord-sim -n "__fish_njord_sim_using_subcommand help; and not __fish_seen_subcommand_from serve gen help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
