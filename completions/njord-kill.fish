# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_njord_kill_global_optspecs
    string join \n config= print-config v/verbose q/quiet log-level= file= redis= source= h/help V/version
end

function __fish_njord_kill_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_njord_kill_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_njord_kill_using_subcommand
    set -l cmd (__fish_njord_kill_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c njord-kill -n "__fish_njord_kill_needs_command" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-kill -n "__fish_njord_kill_needs_command" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-kill -n "__fish_njord_kill_needs_command" -l file -d 'Kill file (default: risk.kill_switch_file from the config)' -r -F
complete -c njord-kill -n "__fish_njord_kill_needs_command" -l redis -d 'Also act on the Redis key risk.kill_switch_key at this URL (default: redis.url when set)' -r
complete -c njord-kill -n "__fish_njord_kill_needs_command" -l source -d 'Where the request came from, for the audit trail (njord-ctl names the control API token or the Telegram chat)' -r
complete -c njord-kill -n "__fish_njord_kill_needs_command" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-kill -n "__fish_njord_kill_needs_command" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-kill -n "__fish_njord_kill_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-kill -n "__fish_njord_kill_needs_command" -s h -l help -d 'Print help'
complete -c njord-kill -n "__fish_njord_kill_needs_command" -s V -l version -d 'Print version'
complete -c njord-kill -n "__fish_njord_kill_needs_command" -f -a "trip" -d 'Halt trading: write the kill file (who, when, why) and set the Redis key to "1"'
complete -c njord-kill -n "__fish_njord_kill_needs_command" -f -a "clear" -d 'Allow trading again: remove the kill file and set the Redis key to "0"'
complete -c njord-kill -n "__fish_njord_kill_needs_command" -f -a "status" -d 'Print one line per source; exit 0 allowed, 1 tripped, 2 unreadable'
complete -c njord-kill -n "__fish_njord_kill_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-kill -n "__fish_njord_kill_using_subcommand trip" -l reason -d 'Why trading is halted; kept in the kill file' -r
complete -c njord-kill -n "__fish_njord_kill_using_subcommand trip" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-kill -n "__fish_njord_kill_using_subcommand trip" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-kill -n "__fish_njord_kill_using_subcommand trip" -l file -d 'Kill file (default: risk.kill_switch_file from the config)' -r -F
complete -c njord-kill -n "__fish_njord_kill_using_subcommand trip" -l redis -d 'Also act on the Redis key risk.kill_switch_key at this URL (default: redis.url when set)' -r
complete -c njord-kill -n "__fish_njord_kill_using_subcommand trip" -l source -d 'Where the request came from, for the audit trail (njord-ctl names the control API token or the Telegram chat)' -r
complete -c njord-kill -n "__fish_njord_kill_using_subcommand trip" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-kill -n "__fish_njord_kill_using_subcommand trip" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-kill -n "__fish_njord_kill_using_subcommand trip" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-kill -n "__fish_njord_kill_using_subcommand trip" -s h -l help -d 'Print help'
complete -c njord-kill -n "__fish_njord_kill_using_subcommand clear" -l portfolio -d 'Also lift the drawdown latches of this portfolio (njord-portfolio clear)' -r -F
complete -c njord-kill -n "__fish_njord_kill_using_subcommand clear" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-kill -n "__fish_njord_kill_using_subcommand clear" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-kill -n "__fish_njord_kill_using_subcommand clear" -l file -d 'Kill file (default: risk.kill_switch_file from the config)' -r -F
complete -c njord-kill -n "__fish_njord_kill_using_subcommand clear" -l redis -d 'Also act on the Redis key risk.kill_switch_key at this URL (default: redis.url when set)' -r
complete -c njord-kill -n "__fish_njord_kill_using_subcommand clear" -l source -d 'Where the request came from, for the audit trail (njord-ctl names the control API token or the Telegram chat)' -r
complete -c njord-kill -n "__fish_njord_kill_using_subcommand clear" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-kill -n "__fish_njord_kill_using_subcommand clear" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-kill -n "__fish_njord_kill_using_subcommand clear" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-kill -n "__fish_njord_kill_using_subcommand clear" -s h -l help -d 'Print help'
complete -c njord-kill -n "__fish_njord_kill_using_subcommand status" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-kill -n "__fish_njord_kill_using_subcommand status" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-kill -n "__fish_njord_kill_using_subcommand status" -l file -d 'Kill file (default: risk.kill_switch_file from the config)' -r -F
complete -c njord-kill -n "__fish_njord_kill_using_subcommand status" -l redis -d 'Also act on the Redis key risk.kill_switch_key at this URL (default: redis.url when set)' -r
complete -c njord-kill -n "__fish_njord_kill_using_subcommand status" -l source -d 'Where the request came from, for the audit trail (njord-ctl names the control API token or the Telegram chat)' -r
complete -c njord-kill -n "__fish_njord_kill_using_subcommand status" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-kill -n "__fish_njord_kill_using_subcommand status" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-kill -n "__fish_njord_kill_using_subcommand status" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-kill -n "__fish_njord_kill_using_subcommand status" -s h -l help -d 'Print help'
complete -c njord-kill -n "__fish_njord_kill_using_subcommand help; and not __fish_seen_subcommand_from trip clear status help" -f -a "trip" -d 'Halt trading: write the kill file (who, when, why) and set the Redis key to "1"'
complete -c njord-kill -n "__fish_njord_kill_using_subcommand help; and not __fish_seen_subcommand_from trip clear status help" -f -a "clear" -d 'Allow trading again: remove the kill file and set the Redis key to "0"'
complete -c njord-kill -n "__fish_njord_kill_using_subcommand help; and not __fish_seen_subcommand_from trip clear status help" -f -a "status" -d 'Print one line per source; exit 0 allowed, 1 tripped, 2 unreadable'
complete -c njord-kill -n "__fish_njord_kill_using_subcommand help; and not __fish_seen_subcommand_from trip clear status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
