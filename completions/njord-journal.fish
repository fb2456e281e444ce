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
complete -c njord-journal -n "__fish_njord_journal_needs_command" -f -a "cat" -d 'Print journals line by line, each rotated series in order, gzip decompressed'
complete -c njord-journal -n "__fish_njord_journal_needs_command" -f -a "import" -d 'Convert downloaded history into Njord events (stdout, or a journal with --journal)'
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
complete -c njord-journal -n "__fish_njord_journal_using_subcommand cat" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-journal -n "__fish_njord_journal_using_subcommand cat" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand cat" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand cat" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand cat" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand cat" -s h -l help -d 'Print help'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and not __fish_seen_subcommand_from binance-trades help" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and not __fish_seen_subcommand_from binance-trades help" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and not __fish_seen_subcommand_from binance-trades help" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and not __fish_seen_subcommand_from binance-trades help" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and not __fish_seen_subcommand_from binance-trades help" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and not __fish_seen_subcommand_from binance-trades help" -s h -l help -d 'Print help'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and not __fish_seen_subcommand_from binance-trades help" -f -a "binance-trades" -d 'Binance public trade dumps (id, price, qty, quote_qty, time, is_buyer_maker[, is_best_match]; ms or µs times; plain or gzipped CSV) to `trade` events'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and not __fish_seen_subcommand_from binance-trades help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-trades" -l symbol -d 'Symbol written in the events, as BASE/QUOTE' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-trades" -l venue -d 'Venue written in the events' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-trades" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-trades" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-trades" -l journal -d 'Append to the trade journal {journal.dir}/md.trades.{SYMBOL} (rotated by UTC day and gzipped) instead of writing to stdout'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-trades" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-trades" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-trades" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from binance-trades" -s h -l help -d 'Print help'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "binance-trades" -d 'Binance public trade dumps (id, price, qty, quote_qty, time, is_buyer_maker[, is_best_match]; ms or µs times; plain or gzipped CSV) to `trade` events'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and not __fish_seen_subcommand_from compress verify cat import help" -f -a "compress" -d 'Gzip closed journals (rotated files, and open files whose writer has exited); a file a writer holds open is never touched'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and not __fish_seen_subcommand_from compress verify cat import help" -f -a "verify" -d 'Check every line of journals (JSON events, torn lines, gzip integrity); exit 1 on any problem'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and not __fish_seen_subcommand_from compress verify cat import help" -f -a "cat" -d 'Print journals line by line, each rotated series in order, gzip decompressed'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and not __fish_seen_subcommand_from compress verify cat import help" -f -a "import" -d 'Convert downloaded history into Njord events (stdout, or a journal with --journal)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and not __fish_seen_subcommand_from compress verify cat import help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-journal -n "__fish_njord_journal_using_subcommand help; and __fish_seen_subcommand_from import" -f -a "binance-trades" -d 'Binance public trade dumps (id, price, qty, quote_qty, time, is_buyer_maker[, is_best_match]; ms or µs times; plain or gzipped CSV) to `trade` events'
