# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_njord_exec_global_optspecs
    string join \n config= print-config v/verbose q/quiet log-level= bus= emit-only strict metrics-addr= metrics-file= kill-file= resume h/help V/version
end

function __fish_njord_exec_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_njord_exec_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_njord_exec_using_subcommand
    set -l cmd (__fish_njord_exec_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c njord-exec -n "__fish_njord_exec_needs_command" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-exec -n "__fish_njord_exec_needs_command" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-exec -n "__fish_njord_exec_needs_command" -l bus -d 'Run as a daemon on a Redis bus (redis://HOST:PORT/DB, or redis+sentinel://HOST:PORT,…/MASTER/DB to follow a Sentinel failover) instead of stdin/stdout' -r
complete -c njord-exec -n "__fish_njord_exec_needs_command" -l metrics-addr -d 'Serve GET /metrics, /livez and /readyz here: HOST:PORT, a port (on 127.0.0.1), or off (default for daemons: telemetry.addr; on stdio: none)' -r
complete -c njord-exec -n "__fish_njord_exec_needs_command" -l metrics-file -d 'Rewrite the metrics to this file periodically and at exit, in the Prometheus text format of node_exporter\'s textfile collector' -r -F
complete -c njord-exec -n "__fish_njord_exec_needs_command" -l kill-file -d 'Kill file (default: risk.kill_switch_file from the config)' -r -F
complete -c njord-exec -n "__fish_njord_exec_needs_command" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-exec -n "__fish_njord_exec_needs_command" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-exec -n "__fish_njord_exec_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-exec -n "__fish_njord_exec_needs_command" -l emit-only -d 'On stdio, write only the events this stage causes, not the forwarded input'
complete -c njord-exec -n "__fish_njord_exec_needs_command" -l strict -d 'Exit non-zero at the first malformed input line instead of skipping it'
complete -c njord-exec -n "__fish_njord_exec_needs_command" -l resume -d 'Work the parents still open in the journal again before reading input'
complete -c njord-exec -n "__fish_njord_exec_needs_command" -s h -l help -d 'Print help'
complete -c njord-exec -n "__fish_njord_exec_needs_command" -s V -l version -d 'Print version'
complete -c njord-exec -n "__fish_njord_exec_needs_command" -f -a "report" -d 'Transaction-cost analysis of the parents in FILEs (merged by event time): implementation shortfall split into delay, impact, fees and opportunity cost, in bps of each parent\'s decision notional, by algorithm, strategy and symbol'
complete -c njord-exec -n "__fish_njord_exec_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-exec -n "__fish_njord_exec_using_subcommand report" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-exec -n "__fish_njord_exec_using_subcommand report" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-exec -n "__fish_njord_exec_using_subcommand report" -l json -d 'Every parent and the totals as JSON instead of the table'
complete -c njord-exec -n "__fish_njord_exec_using_subcommand report" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-exec -n "__fish_njord_exec_using_subcommand report" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-exec -n "__fish_njord_exec_using_subcommand report" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-exec -n "__fish_njord_exec_using_subcommand report" -s h -l help -d 'Print help'
complete -c njord-exec -n "__fish_njord_exec_using_subcommand help; and not __fish_seen_subcommand_from report help" -f -a "report" -d 'Transaction-cost analysis of the parents in FILEs (merged by event time): implementation shortfall split into delay, impact, fees and opportunity cost, in bps of each parent\'s decision notional, by algorithm, strategy and symbol'
complete -c njord-exec -n "__fish_njord_exec_using_subcommand help; and not __fish_seen_subcommand_from report help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
