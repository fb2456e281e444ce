complete -c njord-paper -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-paper -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-paper -l bus -d 'Run as a daemon on a Redis bus (redis://HOST:PORT/DB, or redis+sentinel://HOST:PORT,…/MASTER/DB to follow a Sentinel failover) instead of stdin/stdout' -r
complete -c njord-paper -l metrics-addr -d 'Serve GET /metrics, /livez and /readyz here: HOST:PORT, a port (on 127.0.0.1), or off (default for daemons: telemetry.addr; on stdio: none)' -r
complete -c njord-paper -l metrics-file -d 'Rewrite the metrics to this file periodically and at exit, in the Prometheus text format of node_exporter\'s textfile collector' -r -F
complete -c njord-paper -l redis -d 'Keep njord:pnl:day on this Redis on stdio too (default: the --bus URL)' -r
complete -c njord-paper -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-paper -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-paper -s q -l quiet -d 'Only errors on stderr'
complete -c njord-paper -l emit-only -d 'On stdio, write only the events this stage causes, not the forwarded input'
complete -c njord-paper -l strict -d 'Exit non-zero at the first malformed input line instead of skipping it'
complete -c njord-paper -l partial-fills -d 'Cap each resting (maker) fill at the quantity of the trade that crosses it'
complete -c njord-paper -l summary -d 'Print positions, realized PnL, fees, fills and orders resting on stderr at exit'
complete -c njord-paper -l resume -d 'Rebuild positions and open orders from the journals before reading input'
complete -c njord-paper -s h -l help -d 'Print help'
complete -c njord-paper -s V -l version -d 'Print version'
