# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_njord_strat_global_optspecs
    string join \n config= print-config v/verbose q/quiet log-level= bus= emit-only strict metrics-addr= metrics-file= strategies= list h/help V/version
end

function __fish_njord_strat_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_njord_strat_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_njord_strat_using_subcommand
    set -l cmd (__fish_njord_strat_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c njord-strat -n "__fish_njord_strat_needs_command" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-strat -n "__fish_njord_strat_needs_command" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-strat -n "__fish_njord_strat_needs_command" -l bus -d 'Run as a daemon on a Redis bus (redis://HOST:PORT/DB, or redis+sentinel://HOST:PORT,…/MASTER/DB to follow a Sentinel failover) instead of stdin/stdout' -r
complete -c njord-strat -n "__fish_njord_strat_needs_command" -l metrics-addr -d 'Serve GET /metrics, /livez and /readyz here: HOST:PORT, a port (on 127.0.0.1), or off (default for daemons: telemetry.addr; on stdio: none)' -r
complete -c njord-strat -n "__fish_njord_strat_needs_command" -l metrics-file -d 'Rewrite the metrics to this file periodically and at exit, in the Prometheus text format of node_exporter\'s textfile collector' -r -F
complete -c njord-strat -n "__fish_njord_strat_needs_command" -l strategies -d 'Strategies file (schema: id, class, enabled, symbols, events, params)' -r -F
complete -c njord-strat -n "__fish_njord_strat_needs_command" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-strat -n "__fish_njord_strat_needs_command" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-strat -n "__fish_njord_strat_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-strat -n "__fish_njord_strat_needs_command" -l emit-only -d 'On stdio, write only the events this stage causes, not the forwarded input'
complete -c njord-strat -n "__fish_njord_strat_needs_command" -l strict -d 'Exit non-zero at the first malformed input line instead of skipping it'
complete -c njord-strat -n "__fish_njord_strat_needs_command" -l list -d 'Print the built-in strategy classes with their parameters and defaults, and exit'
complete -c njord-strat -n "__fish_njord_strat_needs_command" -s h -l help -d 'Print help'
complete -c njord-strat -n "__fish_njord_strat_needs_command" -s V -l version -d 'Print version'
complete -c njord-strat -n "__fish_njord_strat_needs_command" -f -a "features" -d 'Write feature rows with forward labels to Parquet, for training: one row per bar once every feature is ready, labelled with what happens over the next --horizon bars (the last rows, which have no label yet, are dropped); refused when a label column equals a feature column'
complete -c njord-strat -n "__fish_njord_strat_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-strat -n "__fish_njord_strat_using_subcommand features" -l tape -d 'Tapes: journal files (gzip too), directories, stems, or Parquet and Arrow exports' -r -F
complete -c njord-strat -n "__fish_njord_strat_using_subcommand features" -l symbol -d 'The symbol, as events write it (ATOM/USDT)' -r
complete -c njord-strat -n "__fish_njord_strat_using_subcommand features" -l timeframe -d 'The bars\' timeframe (1m, 5m, 1h, 1d, …)' -r
complete -c njord-strat -n "__fish_njord_strat_using_subcommand features" -l features -d 'Features file: `features:` a list of {name, feature, window}' -r -F
complete -c njord-strat -n "__fish_njord_strat_using_subcommand features" -l horizon -d 'Bars between a row and the close its labels look at' -r
complete -c njord-strat -n "__fish_njord_strat_using_subcommand features" -l label -d 'Labels, comma-separated: forward_return, forward_log_return, forward_direction' -r
complete -c njord-strat -n "__fish_njord_strat_using_subcommand features" -l out -d 'The Parquet file to write (replaced whole: written beside, then renamed)' -r -F
complete -c njord-strat -n "__fish_njord_strat_using_subcommand features" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-strat -n "__fish_njord_strat_using_subcommand features" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-strat -n "__fish_njord_strat_using_subcommand features" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-strat -n "__fish_njord_strat_using_subcommand features" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-strat -n "__fish_njord_strat_using_subcommand features" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-strat -n "__fish_njord_strat_using_subcommand features" -s h -l help -d 'Print help'
complete -c njord-strat -n "__fish_njord_strat_using_subcommand help; and not __fish_seen_subcommand_from features help" -f -a "features" -d 'Write feature rows with forward labels to Parquet, for training: one row per bar once every feature is ready, labelled with what happens over the next --horizon bars (the last rows, which have no label yet, are dropped); refused when a label column equals a feature column'
complete -c njord-strat -n "__fish_njord_strat_using_subcommand help; and not __fish_seen_subcommand_from features help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
