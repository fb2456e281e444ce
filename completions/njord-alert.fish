complete -c njord-alert -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-alert -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-alert -l bus -d 'Run as a daemon on a Redis bus (redis://HOST:PORT/DB, or redis+sentinel://HOST:PORT,…/MASTER/DB to follow a Sentinel failover) instead of stdin/stdout' -r
complete -c njord-alert -l metrics-addr -d 'Serve GET /metrics, /livez and /readyz here: HOST:PORT, a port (on 127.0.0.1), or off (default for daemons: telemetry.addr; on stdio: none)' -r
complete -c njord-alert -l metrics-file -d 'Rewrite the metrics to this file periodically and at exit, in the Prometheus text format of node_exporter\'s textfile collector' -r -F
complete -c njord-alert -l alerts -d 'Rules and channels' -r -F
complete -c njord-alert -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-alert -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-alert -s q -l quiet -d 'Only errors on stderr'
complete -c njord-alert -l emit-only -d 'On stdio, write only the events this stage causes, not the forwarded input'
complete -c njord-alert -l strict -d 'Exit non-zero at the first malformed input line instead of skipping it'
complete -c njord-alert -s h -l help -d 'Print help'
complete -c njord-alert -s V -l version -d 'Print version'
