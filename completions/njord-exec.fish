complete -c njord-exec -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-exec -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-exec -l bus -d 'Run as a daemon on a Redis bus (redis://HOST:PORT/DB) instead of stdin/stdout' -r
complete -c njord-exec -l kill-file -d 'Kill file (default: risk.kill_switch_file from the config)' -r -F
complete -c njord-exec -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-exec -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-exec -s q -l quiet -d 'Only errors on stderr'
complete -c njord-exec -l emit-only -d 'On stdio, write only the events this stage causes, not the forwarded input'
complete -c njord-exec -l strict -d 'Exit non-zero at the first malformed input line instead of skipping it'
complete -c njord-exec -l resume -d 'Work the parents still open in the journal again before reading input'
complete -c njord-exec -s h -l help -d 'Print help'
complete -c njord-exec -s V -l version -d 'Print version'
