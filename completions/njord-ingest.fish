complete -c njord-ingest -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-ingest -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-ingest -l venue -d 'Venue to ingest from (default: exchange.venue; only binanceus is supported)' -r
complete -c njord-ingest -l symbol -d 'Symbol as BASE/QUOTE, repeatable (default: exchange.symbols)' -r
complete -c njord-ingest -l streams -d 'Streams to ingest, comma-separated: trades, ticker, book' -r
complete -c njord-ingest -l rest-url -d 'REST base URL (default: exchange.rest_url)' -r
complete -c njord-ingest -l ws-url -d 'WebSocket base URL (default: exchange.ws_url)' -r
complete -c njord-ingest -l bus -d 'Publish on Redis (redis://HOST:PORT/DB) to md.trades.{symbol}, md.ticker.{symbol} and md.book.{symbol} instead of writing stdout' -r
complete -c njord-ingest -l metrics-addr -d 'Serve GET /metrics, /livez and /readyz here: HOST:PORT, a port (on 127.0.0.1), or off (default for daemons: telemetry.addr; on stdio: none)' -r
complete -c njord-ingest -l metrics-file -d 'Rewrite the metrics to this file periodically and at exit, in the Prometheus text format of node_exporter\'s textfile collector' -r -F
complete -c njord-ingest -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-ingest -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-ingest -s q -l quiet -d 'Only errors on stderr'
complete -c njord-ingest -s h -l help -d 'Print help'
complete -c njord-ingest -s V -l version -d 'Print version'
