complete -c njord-risk -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-risk -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-risk -l bus -d 'Run as a daemon on a Redis bus (redis://HOST:PORT/DB, or redis+sentinel://HOST:PORT,…/MASTER/DB to follow a Sentinel failover) instead of stdin/stdout' -r
complete -c njord-risk -l metrics-addr -d 'Serve GET /metrics, /livez and /readyz here: HOST:PORT, a port (on 127.0.0.1), or off (default for daemons: telemetry.addr; on stdio: none)' -r
complete -c njord-risk -l metrics-file -d 'Rewrite the metrics to this file periodically and at exit, in the Prometheus text format of node_exporter\'s textfile collector' -r -F
complete -c njord-risk -l redis -d 'Read the kill key, njord:pnl:day and shared intent ids from this Redis on stdio too (default: the --bus URL)' -r
complete -c njord-risk -l kill-file -d 'Kill file (default: risk.kill_switch_file from the config)' -r -F
complete -c njord-risk -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-risk -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-risk -s q -l quiet -d 'Only errors on stderr'
complete -c njord-risk -l emit-only -d 'On stdio, write only the events this stage causes, not the forwarded input'
complete -c njord-risk -l strict -d 'Exit non-zero at the first malformed input line instead of skipping it'
complete -c njord-risk -l resume -d 'Remember the intent ids allowed in the decisions journal, to keep denying duplicates after a restart'
complete -c njord-risk -s h -l help -d 'Print help'
complete -c njord-risk -s V -l version -d 'Print version'
