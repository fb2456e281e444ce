complete -c njord-bars -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-bars -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-bars -l bus -d 'Run as a daemon on a Redis bus (redis://HOST:PORT/DB, or redis+sentinel://HOST:PORT,…/MASTER/DB to follow a Sentinel failover) instead of stdin/stdout' -r
complete -c njord-bars -l metrics-addr -d 'Serve GET /metrics, /livez and /readyz here: HOST:PORT, a port (on 127.0.0.1), or off (default for daemons: telemetry.addr; on stdio: none)' -r
complete -c njord-bars -l metrics-file -d 'Rewrite the metrics to this file periodically and at exit, in the Prometheus text format of node_exporter\'s textfile collector' -r -F
complete -c njord-bars -l timeframes -d 'Timeframes, comma-separated, from: 1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d' -r
complete -c njord-bars -l grace-ms -d 'With --bus: close a bar once event time is this many ms past its end (default: bars.grace_ms)' -r
complete -c njord-bars -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-bars -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-bars -s q -l quiet -d 'Only errors on stderr'
complete -c njord-bars -l emit-only -d 'On stdio, write only the events this stage causes, not the forwarded input'
complete -c njord-bars -l strict -d 'Exit non-zero at the first malformed input line instead of skipping it'
complete -c njord-bars -l fill-gaps -d 'Emit flat bars (previous close, zero volume, 0 trades) for empty buckets between bars'
complete -c njord-bars -l no-journal -d 'Do not journal the bars'
complete -c njord-bars -s h -l help -d 'Print help'
complete -c njord-bars -s V -l version -d 'Print version'
