# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_njord_journal_global_optspecs
    string join \n config= print-config v/verbose q/quiet log-level= h/help V/version
end

function __fish_njord_journal_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_njord_journal_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_njord_journal_using_subcommand
    set -l cmd (__fish_njord_journal_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c njord-journal -n "__fish_njord_journal_needs_command" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-journal -n "__fish_njord_journal_needs_command" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-journal -n "__fish_njord_journal_needs_command" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-journal -n "__fish_njord_journal_needs_command" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-journal -n "__fish_njord_journal_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-journal -n "__fish_njord_journal_needs_command" -s h -l help -d 'Print help'
complete -c njord-journal -n "__fish_njord_journal_needs_command" -s V -l version -d 'Print version'
complete -c njord-journal -n "__fish_njord_journal_needs_command" -f -a "compress" -d 'Gzip closed journals (rotated files, and open files whose writer has exited); a file a writer holds open is never touched'
complete -c njord-journal -n "__fish_njord_journal_needs_command" -f -a "verify" -d 'Check every line of journals (JSON events, torn lines, gzip integrity); exit 1 on any problem'
complete -c njord-journal -n "__fish_njord_journal_needs_command" -f -a "validate" -d 'Check what valid lines can still get wrong about the market: trade ids that skip, repeat or go back, time going back, crossed books, bars that disagree with the trades inside them, fills outside the range traded within 60 s; each as `file:line: reason`, exit 1 if any'
complete -c njord-journal -n "__fish_njord_journal_needs_command" -f -a "cat" -d 'Print journals line by line, each rotated series in order, gzip decompressed'
complete -c njord-journal -n "__fish_njord_journal_needs_command" -f -a "export" -d 'Export journals to Parquet (zstd) or Arrow IPC for pandas, polars and DuckDB: exact decimal128 money, timestamp[ns, UTC] times, rows in event-time order; every reader of journals (cat, verify, validate, njord-replay, njord-backtest) reads the files back as the NDJSON lines they came from'
complete -c njord-journal -n "__fish_njord_journal_needs_command" -f -a "import" -d 'Convert downloaded history into Njord events (stdout, or a journal with --journal)'
complete -c njord-journal -n "__fish_njord_journal_needs_command" -f -a "download" -d 'Download history from the venue\'s REST API into a journal, within its request weight; run again to resume after the journal\'s last event'
complete -c njord-journal -n "__fish_njord_journal_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand compress" -l older-than -d 'Only files last modified longer ago than this (90s, 30m, 24h, 7d)' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand compress" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-journal -n "__fish_njord_journal_using_subcommand compress" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand compress" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand compress" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand compress" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand compress" -s h -l help -d 'Print help'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand verify" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-journal -n "__fish_njord_journal_using_subcommand verify" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand verify" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand verify" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand verify" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand verify" -s h -l help -d 'Print help'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand validate" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-journal -n "__fish_njord_journal_using_subcommand validate" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand validate" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand validate" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand validate" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand validate" -s h -l help -d 'Print help'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand cat" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-journal -n "__fish_njord_journal_using_subcommand cat" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand cat" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand cat" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand cat" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand cat" -s h -l help -d 'Print help'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand export" -s o -l out -d 'Output: a directory (Hive partitions kind=/symbol=/date=), one file (every kind, with a `kind` column), or `-` for an Arrow IPC stream on stdout' -r -F
complete -c njord-journal -n "__fish_njord_journal_using_subcommand export" -l format -d 'File format (a file\'s extension, .parquet or .arrow, decides it when given)' -r -f -a "parquet\t''
arrow\t''"
complete -c njord-journal -n "__fish_njord_journal_using_subcommand export" -l kind -d 'Only events of this kind (trade, fill, equity, …)' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand export" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-journal -n "__fish_njord_journal_using_subcommand export" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand export" -l single-file -d 'Write one file even when --out has no extension'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand export" -l float64 -d 'Add a float64 companion `<col>_f64` after every decimal column, for fast pandas work'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand export" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand export" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand export" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand export" -s h -l help -d 'Print help'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and not __fish_seen_subcommand_from binance-trades binance-aggtrades binance-klines freqtrade csv ndjson help" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and not __fish_seen_subcommand_from binance-trades binance-aggtrades binance-klines freqtrade csv ndjson help" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and not __fish_seen_subcommand_from binance-trades binance-aggtrades binance-klines freqtrade csv ndjson help" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and not __fish_seen_subcommand_from binance-trades binance-aggtrades binance-klines freqtrade csv ndjson help" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and not __fish_seen_subcommand_from binance-trades binance-aggtrades binance-klines freqtrade csv ndjson help" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and not __fish_seen_subcommand_from binance-trades binance-aggtrades binance-klines freqtrade csv ndjson help" -s h -l help -d 'Print help'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and not __fish_seen_subcommand_from binance-trades binance-aggtrades binance-klines freqtrade csv ndjson help" -f -a "binance-trades" -d 'Binance public trade dumps (id, price, qty, quote_qty, time, is_buyer_maker[, is_best_match]; ms or µs times) to `trade` events'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and not __fish_seen_subcommand_from binance-trades binance-aggtrades binance-klines freqtrade csv ndjson help" -f -a "binance-aggtrades" -d 'Binance public aggTrades dumps (agg_trade_id, price, quantity, first_trade_id, last_trade_id, transact_time, is_buyer_maker[, is_best_match]) to `trade` events'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and not __fish_seen_subcommand_from binance-trades binance-aggtrades binance-klines freqtrade csv ndjson help" -f -a "binance-klines" -d 'Binance public kline dumps (open_time, open, high, low, close, volume, close_time, quote_volume, count, taker_buy_base, taker_buy_quote, ignore; ms or µs) to `bar` events'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and not __fish_seen_subcommand_from binance-trades binance-aggtrades binance-klines freqtrade csv ndjson help" -f -a "freqtrade" -d 'freqtrade candle JSON ([[ts_ms, open, high, low, close, volume], …], plain or .gz) to `bar` events'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and not __fish_seen_subcommand_from binance-trades binance-aggtrades binance-klines freqtrade csv ndjson help" -f -a "csv" -d 'Any CSV with a header row, through a column mapping, to `trade` or `bar` events (bars when the mapping has `open`)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and not __fish_seen_subcommand_from binance-trades binance-aggtrades binance-klines freqtrade csv ndjson help" -f -a "ndjson" -d 'NDJSON trades or bars without `kind` (e.g. {"symbol","price","qty","side","ts_ns", "trade_id"}; a line with ts_open_ns is a bar) to canonical events'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and not __fish_seen_subcommand_from binance-trades binance-aggtrades binance-klines freqtrade csv ndjson help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-trades" -l symbol -d 'Symbol written in the events, as BASE/QUOTE' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-trades" -l venue -d 'Venue written in the events' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-trades" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-trades" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-trades" -l journal -d 'Append to the journals {journal.dir}/md.trades.{SYMBOL} (trades) or ohlcv.{tf}.{SYMBOL} (bars), rotated by UTC day and gzipped, instead of stdout'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-trades" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-trades" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-trades" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-trades" -s h -l help -d 'Print help'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-aggtrades" -l symbol -d 'Symbol written in the events, as BASE/QUOTE' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-aggtrades" -l venue -d 'Venue written in the events' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-aggtrades" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-aggtrades" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-aggtrades" -l journal -d 'Append to the journals {journal.dir}/md.trades.{SYMBOL} (trades) or ohlcv.{tf}.{SYMBOL} (bars), rotated by UTC day and gzipped, instead of stdout'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-aggtrades" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-aggtrades" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-aggtrades" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-aggtrades" -s h -l help -d 'Print help'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-klines" -l symbol -d 'Symbol written in the events, as BASE/QUOTE' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-klines" -l interval -d 'The bars\' timeframe (default: inferred from close_time - open_time + 1)' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-klines" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-klines" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-klines" -l journal -d 'Append to the journals {journal.dir}/md.trades.{SYMBOL} (trades) or ohlcv.{tf}.{SYMBOL} (bars), rotated by UTC day and gzipped, instead of stdout'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-klines" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-klines" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-klines" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-klines" -s h -l help -d 'Print help'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from freqtrade" -l symbol -d 'Symbol written in the events, as BASE/QUOTE' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from freqtrade" -l timeframe -d 'The candles\' timeframe (freqtrade keeps it in the file name, not the file)' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from freqtrade" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from freqtrade" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from freqtrade" -l journal -d 'Append to the journals {journal.dir}/md.trades.{SYMBOL} (trades) or ohlcv.{tf}.{SYMBOL} (bars), rotated by UTC day and gzipped, instead of stdout'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from freqtrade" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from freqtrade" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from freqtrade" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from freqtrade" -s h -l help -d 'Print help'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from csv" -l columns -d 'FIELD=COLUMN pairs. Trades: ts, price, qty, side or buyer_maker, [id], [symbol]. Bars: ts (open time), open, high, low, close, volume, [trades], [symbol]' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from csv" -l ts-unit -d 'Unit of numeric times (dates such as 2024-01-02 03:04:05 are read as UTC)' -r -f -a "auto\t'By size: seconds below 1e11, milliseconds below 1e14, microseconds below 1e17'
s\t''
ms\t''
us\t''
ns\t''"
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from csv" -l timeframe -d 'The bars\' timeframe (required for bars)' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from csv" -l symbol -d 'Symbol written in the events, as BASE/QUOTE (unless a column gives it)' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from csv" -l venue -d 'Venue written in trade events' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from csv" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from csv" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from csv" -l journal -d 'Append to the journals {journal.dir}/md.trades.{SYMBOL} (trades) or ohlcv.{tf}.{SYMBOL} (bars), rotated by UTC day and gzipped, instead of stdout'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from csv" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from csv" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from csv" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from csv" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from ndjson" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from ndjson" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from ndjson" -l journal -d 'Append to the journals {journal.dir}/md.trades.{SYMBOL} (trades) or ohlcv.{tf}.{SYMBOL} (bars), rotated by UTC day and gzipped, instead of stdout'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from ndjson" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from ndjson" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from ndjson" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from ndjson" -s h -l help -d 'Print help'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "binance-trades" -d 'Binance public trade dumps (id, price, qty, quote_qty, time, is_buyer_maker[, is_best_match]; ms or µs times) to `trade` events'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "binance-aggtrades" -d 'Binance public aggTrades dumps (agg_trade_id, price, quantity, first_trade_id, last_trade_id, transact_time, is_buyer_maker[, is_best_match]) to `trade` events'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "binance-klines" -d 'Binance public kline dumps (open_time, open, high, low, close, volume, close_time, quote_volume, count, taker_buy_base, taker_buy_quote, ignore; ms or µs) to `bar` events'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "freqtrade" -d 'freqtrade candle JSON ([[ts_ms, open, high, low, close, volume], …], plain or .gz) to `bar` events'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "csv" -d 'Any CSV with a header row, through a column mapping, to `trade` or `bar` events (bars when the mapping has `open`)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "ndjson" -d 'NDJSON trades or bars without `kind` (e.g. {"symbol","price","qty","side","ts_ns", "trade_id"}; a line with ts_open_ns is a bar) to canonical events'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and not __fish_seen_subcommand_from binance-klines binance-aggtrades help" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and not __fish_seen_subcommand_from binance-klines binance-aggtrades help" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and not __fish_seen_subcommand_from binance-klines binance-aggtrades help" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and not __fish_seen_subcommand_from binance-klines binance-aggtrades help" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and not __fish_seen_subcommand_from binance-klines binance-aggtrades help" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and not __fish_seen_subcommand_from binance-klines binance-aggtrades help" -s h -l help -d 'Print help'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and not __fish_seen_subcommand_from binance-klines binance-aggtrades help" -f -a "binance-klines" -d 'Klines (`/api/v3/klines`) to `bar` events in {journal.dir}/ohlcv.{tf}.{SYMBOL}'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and not __fish_seen_subcommand_from binance-klines binance-aggtrades help" -f -a "binance-aggtrades" -d 'Aggregate trades (`/api/v3/aggTrades`) to `trade` events in {journal.dir}/md.trades.{SYMBOL}'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and not __fish_seen_subcommand_from binance-klines binance-aggtrades help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-klines" -l symbol -d 'Symbol, as BASE/QUOTE' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-klines" -l from -d 'Start (inclusive): 2026-01-01 (UTC midnight), an RFC 3339 time or ns' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-klines" -l to -d 'End (exclusive), as --from' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-klines" -l rest-url -d 'REST base URL (default: exchange.rest_url from the config)' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-klines" -l max-weight -d 'Request weight per minute to stay under (default: 90% of the venue\'s limit)' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-klines" -l interval -d 'The bars\' timeframe' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-klines" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-klines" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-klines" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-klines" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-klines" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-klines" -s h -l help -d 'Print help'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-aggtrades" -l symbol -d 'Symbol, as BASE/QUOTE' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-aggtrades" -l from -d 'Start (inclusive): 2026-01-01 (UTC midnight), an RFC 3339 time or ns' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-aggtrades" -l to -d 'End (exclusive), as --from' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-aggtrades" -l rest-url -d 'REST base URL (default: exchange.rest_url from the config)' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-aggtrades" -l max-weight -d 'Request weight per minute to stay under (default: 90% of the venue\'s limit)' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-aggtrades" -l venue -d 'Venue written in the events' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-aggtrades" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-aggtrades" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-aggtrades" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-aggtrades" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-aggtrades" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from binance-aggtrades" -s h -l help -d 'Print help'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from help" -f -a "binance-klines" -d 'Klines (`/api/v3/klines`) to `bar` events in {journal.dir}/ohlcv.{tf}.{SYMBOL}'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from help" -f -a "binance-aggtrades" -d 'Aggregate trades (`/api/v3/aggTrades`) to `trade` events in {journal.dir}/md.trades.{SYMBOL}'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand download; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and not __fish_seen_subcommand_from compress verify validate cat export import download help" -f -a "compress" -d 'Gzip closed journals (rotated files, and open files whose writer has exited); a file a writer holds open is never touched'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and not __fish_seen_subcommand_from compress verify validate cat export import download help" -f -a "verify" -d 'Check every line of journals (JSON events, torn lines, gzip integrity); exit 1 on any problem'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and not __fish_seen_subcommand_from compress verify validate cat export import download help" -f -a "validate" -d 'Check what valid lines can still get wrong about the market: trade ids that skip, repeat or go back, time going back, crossed books, bars that disagree with the trades inside them, fills outside the range traded within 60 s; each as `file:line: reason`, exit 1 if any'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and not __fish_seen_subcommand_from compress verify validate cat export import download help" -f -a "cat" -d 'Print journals line by line, each rotated series in order, gzip decompressed'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and not __fish_seen_subcommand_from compress verify validate cat export import download help" -f -a "export" -d 'Export journals to Parquet (zstd) or Arrow IPC for pandas, polars and DuckDB: exact decimal128 money, timestamp[ns, UTC] times, rows in event-time order; every reader of journals (cat, verify, validate, njord-replay, njord-backtest) reads the files back as the NDJSON lines they came from'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and not __fish_seen_subcommand_from compress verify validate cat export import download help" -f -a "import" -d 'Convert downloaded history into Njord events (stdout, or a journal with --journal)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and not __fish_seen_subcommand_from compress verify validate cat export import download help" -f -a "download" -d 'Download history from the venue\'s REST API into a journal, within its request weight; run again to resume after the journal\'s last event'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and not __fish_seen_subcommand_from compress verify validate cat export import download help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and __fish_seen_subcommand_from import" -f -a "binance-trades" -d 'Binance public trade dumps (id, price, qty, quote_qty, time, is_buyer_maker[, is_best_match]; ms or µs times) to `trade` events'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and __fish_seen_subcommand_from import" -f -a "binance-aggtrades" -d 'Binance public aggTrades dumps (agg_trade_id, price, quantity, first_trade_id, last_trade_id, transact_time, is_buyer_maker[, is_best_match]) to `trade` events'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and __fish_seen_subcommand_from import" -f -a "binance-klines" -d 'Binance public kline dumps (open_time, open, high, low, close, volume, close_time, quote_volume, count, taker_buy_base, taker_buy_quote, ignore; ms or µs) to `bar` events'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and __fish_seen_subcommand_from import" -f -a "freqtrade" -d 'freqtrade candle JSON ([[ts_ms, open, high, low, close, volume], …], plain or .gz) to `bar` events'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and __fish_seen_subcommand_from import" -f -a "csv" -d 'Any CSV with a header row, through a column mapping, to `trade` or `bar` events (bars when the mapping has `open`)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and __fish_seen_subcommand_from import" -f -a "ndjson" -d 'NDJSON trades or bars without `kind` (e.g. {"symbol","price","qty","side","ts_ns", "trade_id"}; a line with ts_open_ns is a bar) to canonical events'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and __fish_seen_subcommand_from download" -f -a "binance-klines" -d 'Klines (`/api/v3/klines`) to `bar` events in {journal.dir}/ohlcv.{tf}.{SYMBOL}'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and __fish_seen_subcommand_from download" -f -a "binance-aggtrades" -d 'Aggregate trades (`/api/v3/aggTrades`) to `trade` events in {journal.dir}/md.trades.{SYMBOL}'
