# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_njord_portfolio_global_optspecs
    string join \n config= print-config v/verbose q/quiet log-level= bus= emit-only strict metrics-addr= metrics-file= portfolio= summary assume-fills explain h/help V/version
end

function __fish_njord_portfolio_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_njord_portfolio_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_njord_portfolio_using_subcommand
    set -l cmd (__fish_njord_portfolio_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c njord-portfolio -n "__fish_njord_portfolio_needs_command" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-portfolio -n "__fish_njord_portfolio_needs_command" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-portfolio -n "__fish_njord_portfolio_needs_command" -l bus -d 'Run as a daemon on a Redis bus (redis://HOST:PORT/DB, or redis+sentinel://HOST:PORT,…/MASTER/DB to follow a Sentinel failover) instead of stdin/stdout' -r
complete -c njord-portfolio -n "__fish_njord_portfolio_needs_command" -l metrics-addr -d 'Serve GET /metrics, /livez and /readyz here: HOST:PORT, a port (on 127.0.0.1), or off (default for daemons: telemetry.addr; on stdio: none)' -r
complete -c njord-portfolio -n "__fish_njord_portfolio_needs_command" -l metrics-file -d 'Rewrite the metrics to this file periodically and at exit, in the Prometheus text format of node_exporter\'s textfile collector' -r -F
complete -c njord-portfolio -n "__fish_njord_portfolio_needs_command" -l portfolio -d 'Portfolio file' -r -F
complete -c njord-portfolio -n "__fish_njord_portfolio_needs_command" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-portfolio -n "__fish_njord_portfolio_needs_command" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-portfolio -n "__fish_njord_portfolio_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-portfolio -n "__fish_njord_portfolio_needs_command" -l emit-only -d 'On stdio, write only the events this stage causes, not the forwarded input'
complete -c njord-portfolio -n "__fish_njord_portfolio_needs_command" -l strict -d 'Exit non-zero at the first malformed input line instead of skipping it'
complete -c njord-portfolio -n "__fish_njord_portfolio_needs_command" -l summary -d 'Print the per-strategy table (weight, equity, PnL, fees) on stderr at exit'
complete -c njord-portfolio -n "__fish_njord_portfolio_needs_command" -l assume-fills -d 'Book each intent it emits as filled at its reference price: for a stdio pipeline, where no fill comes back (on a bus it reads fills.new; `njord-backtest --portfolio` books the paper fills)'
complete -c njord-portfolio -n "__fish_njord_portfolio_needs_command" -l explain -d 'Print the formulas and the configured method, bounds and groups, and exit'
complete -c njord-portfolio -n "__fish_njord_portfolio_needs_command" -s h -l help -d 'Print help'
complete -c njord-portfolio -n "__fish_njord_portfolio_needs_command" -s V -l version -d 'Print version'
complete -c njord-portfolio -n "__fish_njord_portfolio_needs_command" -f -a "clear" -d 'Lift the drawdown latches (reduce-only, strategies at weight 0) of the portfolio'
complete -c njord-portfolio -n "__fish_njord_portfolio_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-portfolio -n "__fish_njord_portfolio_using_subcommand clear" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-portfolio -n "__fish_njord_portfolio_using_subcommand clear" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-portfolio -n "__fish_njord_portfolio_using_subcommand clear" -l portfolio -d 'Portfolio file' -r -F
complete -c njord-portfolio -n "__fish_njord_portfolio_using_subcommand clear" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-portfolio -n "__fish_njord_portfolio_using_subcommand clear" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-portfolio -n "__fish_njord_portfolio_using_subcommand clear" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-portfolio -n "__fish_njord_portfolio_using_subcommand clear" -s h -l help -d 'Print help'
complete -c njord-portfolio -n "__fish_njord_portfolio_using_subcommand help; and not __fish_seen_subcommand_from clear help" -f -a "clear" -d 'Lift the drawdown latches (reduce-only, strategies at weight 0) of the portfolio'
complete -c njord-portfolio -n "__fish_njord_portfolio_using_subcommand help; and not __fish_seen_subcommand_from clear help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
