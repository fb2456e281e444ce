complete -c njord-replay -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-replay -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-replay -l from -d 'Only events at or after this time (2023-01-10 = UTC midnight, RFC 3339, or ns since the epoch)' -r
complete -c njord-replay -l to -d 'Only events before this time (2023-01-10 = UTC midnight, RFC 3339, or ns since the epoch)' -r
complete -c njord-replay -l symbol -d 'Only events of these symbols (ATOM/USDT; repeat or separate with commas)' -r
complete -c njord-replay -l kind -d 'Only events of these kinds (trade,bar,…)' -r
complete -c njord-replay -l speed -d 'max (never sleeps), or Nx: event-time gaps divided by N (1x real time, 10x, 0.5x)' -r
complete -c njord-replay -l bus -d 'Publish to the canonical topics on this Redis (redis://HOST:PORT/DB) instead of stdout' -r
complete -c njord-replay -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-replay -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-replay -s q -l quiet -d 'Only errors on stderr'
complete -c njord-replay -l no-progress -d 'No progress bar, even when stderr is a terminal'
complete -c njord-replay -s h -l help -d 'Print help'
complete -c njord-replay -s V -l version -d 'Print version'
