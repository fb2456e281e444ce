# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_njord_ctl_global_optspecs
    string join \n config= print-config v/verbose q/quiet log-level= session= h/help V/version
end

function __fish_njord_ctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_njord_ctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_njord_ctl_using_subcommand
    set -l cmd (__fish_njord_ctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c njord-ctl -n "__fish_njord_ctl_needs_command" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_needs_command" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-ctl -n "__fish_njord_ctl_needs_command" -l session -d 'The session file' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_needs_command" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-ctl -n "__fish_njord_ctl_needs_command" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-ctl -n "__fish_njord_ctl_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-ctl -n "__fish_njord_ctl_needs_command" -s h -l help -d 'Print help'
complete -c njord-ctl -n "__fish_njord_ctl_needs_command" -s V -l version -d 'Print version'
complete -c njord-ctl -n "__fish_njord_ctl_needs_command" -f -a "plan" -d 'Check the session\'s wiring and print its process graph; exit 2 on a mismatch'
complete -c njord-ctl -n "__fish_njord_ctl_needs_command" -f -a "up" -d 'Start the session and supervise it in the foreground until down, SIGTERM or SIGINT'
complete -c njord-ctl -n "__fish_njord_ctl_needs_command" -f -a "preflight" -d 'The live checklist: live mode, kill switch, secrets file, live cap, API key, clock, balances and open orders; exit 2 naming a failed check'
complete -c njord-ctl -n "__fish_njord_ctl_needs_command" -f -a "down" -d 'Stop a running session, the last started first'
complete -c njord-ctl -n "__fish_njord_ctl_needs_command" -f -a "status" -d 'Each process: pid, state, uptime, restarts, readiness, trading state, version'
complete -c njord-ctl -n "__fish_njord_ctl_needs_command" -f -a "restart" -d 'Stop and start one stage of a running session'
complete -c njord-ctl -n "__fish_njord_ctl_needs_command" -f -a "logs" -d 'Every process\'s log merged by time, each line under its process\'s name'
complete -c njord-ctl -n "__fish_njord_ctl_needs_command" -f -a "stop" -d 'Stop one stage of a running session and leave it stopped (until restart)'
complete -c njord-ctl -n "__fish_njord_ctl_needs_command" -f -a "top" -d 'A terminal dashboard of the running session; keys trip or clear the kill switch and restart or stop a stage, after a confirmation'
complete -c njord-ctl -n "__fish_njord_ctl_needs_command" -f -a "reload" -d 'Re-read every stage\'s configuration; if all load, SIGHUP each (it applies what it can while running: risk caps, strategies) and print the keys that need a restart'
complete -c njord-ctl -n "__fish_njord_ctl_needs_command" -f -a "serve" -d 'The control API of a running session: HTTP JSON with bearer tokens of api_keys.ctl'
complete -c njord-ctl -n "__fish_njord_ctl_needs_command" -f -a "kill" -d 'The kill switch of the session (file and its Redis key), as njord-kill does it'
complete -c njord-ctl -n "__fish_njord_ctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand plan" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand plan" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand plan" -l session -d 'The session file' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand plan" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand plan" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand plan" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand plan" -s h -l help -d 'Print help'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand up" -l confirm -d 'The session\'s name: required to start a session with a live stage' -r
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand up" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand up" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand up" -l session -d 'The session file' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand up" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand up" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand up" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand up" -s h -l help -d 'Print help'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand preflight" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand preflight" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand preflight" -l session -d 'The session file' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand preflight" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand preflight" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand preflight" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand preflight" -s h -l help -d 'Print help'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand down" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand down" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand down" -l session -d 'The session file' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand down" -l cancel-all -d 'First cancel every resting order of exchange.symbols at the venue (and again once the stages have stopped)'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand down" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand down" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand down" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand down" -s h -l help -d 'Print help'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand status" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand status" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand status" -l session -d 'The session file' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand status" -l json -d 'One JSON object instead of a table'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand status" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand status" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand status" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand status" -s h -l help -d 'Print help'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand restart" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand restart" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand restart" -l session -d 'The session file' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand restart" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand restart" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand restart" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand restart" -s h -l help -d 'Print help'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand logs" -l stage -d 'Only this process (repeatable)' -r
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand logs" -l level -d 'Only lines at this level or above: trace, debug, info, warn, error' -r
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand logs" -l grep -d 'Only lines matching this regular expression' -r
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand logs" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand logs" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand logs" -l session -d 'The session file' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand logs" -s f -l follow -d 'Keep printing what is logged'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand logs" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand logs" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand logs" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand logs" -s h -l help -d 'Print help'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand stop" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand stop" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand stop" -l session -d 'The session file' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand stop" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand stop" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand stop" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand stop" -s h -l help -d 'Print help'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand top" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand top" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand top" -l session -d 'The session file' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand top" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand top" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand top" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand top" -s h -l help -d 'Print help'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand reload" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand reload" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand reload" -l session -d 'The session file' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand reload" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand reload" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand reload" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand reload" -s h -l help -d 'Print help'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand serve" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand serve" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand serve" -l session -d 'The session file' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand serve" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand serve" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand serve" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand serve" -s h -l help -d 'Print help'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and not __fish_seen_subcommand_from trip clear status help" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and not __fish_seen_subcommand_from trip clear status help" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and not __fish_seen_subcommand_from trip clear status help" -l session -d 'The session file' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and not __fish_seen_subcommand_from trip clear status help" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and not __fish_seen_subcommand_from trip clear status help" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and not __fish_seen_subcommand_from trip clear status help" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and not __fish_seen_subcommand_from trip clear status help" -s h -l help -d 'Print help'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and not __fish_seen_subcommand_from trip clear status help" -f -a "trip" -d 'Halt trading'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and not __fish_seen_subcommand_from trip clear status help" -f -a "clear" -d 'Allow trading again'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and not __fish_seen_subcommand_from trip clear status help" -f -a "status" -d 'Exit 0 allowed, 1 tripped, 2 unreadable'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and not __fish_seen_subcommand_from trip clear status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from trip" -l reason -d 'Why; kept in the kill file' -r
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from trip" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from trip" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from trip" -l session -d 'The session file' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from trip" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from trip" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from trip" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from trip" -s h -l help -d 'Print help'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from clear" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from clear" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from clear" -l session -d 'The session file' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from clear" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from clear" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from clear" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from clear" -s h -l help -d 'Print help'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from status" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from status" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from status" -l session -d 'The session file' -r -F
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from status" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from status" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from help" -f -a "trip" -d 'Halt trading'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from help" -f -a "clear" -d 'Allow trading again'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from help" -f -a "status" -d 'Exit 0 allowed, 1 tripped, 2 unreadable'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand kill; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand help; and not __fish_seen_subcommand_from plan up preflight down status restart logs stop top reload serve kill help" -f -a "plan" -d 'Check the session\'s wiring and print its process graph; exit 2 on a mismatch'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand help; and not __fish_seen_subcommand_from plan up preflight down status restart logs stop top reload serve kill help" -f -a "up" -d 'Start the session and supervise it in the foreground until down, SIGTERM or SIGINT'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand help; and not __fish_seen_subcommand_from plan up preflight down status restart logs stop top reload serve kill help" -f -a "preflight" -d 'The live checklist: live mode, kill switch, secrets file, live cap, API key, clock, balances and open orders; exit 2 naming a failed check'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand help; and not __fish_seen_subcommand_from plan up preflight down status restart logs stop top reload serve kill help" -f -a "down" -d 'Stop a running session, the last started first'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand help; and not __fish_seen_subcommand_from plan up preflight down status restart logs stop top reload serve kill help" -f -a "status" -d 'Each process: pid, state, uptime, restarts, readiness, trading state, version'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand help; and not __fish_seen_subcommand_from plan up preflight down status restart logs stop top reload serve kill help" -f -a "restart" -d 'Stop and start one stage of a running session'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand help; and not __fish_seen_subcommand_from plan up preflight down status restart logs stop top reload serve kill help" -f -a "logs" -d 'Every process\'s log merged by time, each line under its process\'s name'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand help; and not __fish_seen_subcommand_from plan up preflight down status restart logs stop top reload serve kill help" -f -a "stop" -d 'Stop one stage of a running session and leave it stopped (until restart)'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand help; and not __fish_seen_subcommand_from plan up preflight down status restart logs stop top reload serve kill help" -f -a "top" -d 'A terminal dashboard of the running session; keys trip or clear the kill switch and restart or stop a stage, after a confirmation'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand help; and not __fish_seen_subcommand_from plan up preflight down status restart logs stop top reload serve kill help" -f -a "reload" -d 'Re-read every stage\'s configuration; if all load, SIGHUP each (it applies what it can while running: risk caps, strategies) and print the keys that need a restart'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand help; and not __fish_seen_subcommand_from plan up preflight down status restart logs stop top reload serve kill help" -f -a "serve" -d 'The control API of a running session: HTTP JSON with bearer tokens of api_keys.ctl'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand help; and not __fish_seen_subcommand_from plan up preflight down status restart logs stop top reload serve kill help" -f -a "kill" -d 'The kill switch of the session (file and its Redis key), as njord-kill does it'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand help; and not __fish_seen_subcommand_from plan up preflight down status restart logs stop top reload serve kill help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand help; and __fish_seen_subcommand_from kill" -f -a "trip" -d 'Halt trading'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand help; and __fish_seen_subcommand_from kill" -f -a "clear" -d 'Allow trading again'
complete -c njord-ctl -n "__fish_njord_ctl_using_subcommand help; and __fish_seen_subcommand_from kill" -f -a "status" -d 'Exit 0 allowed, 1 tripped, 2 unreadable'
