# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_njord_stress_global_optspecs
    string join \n config= print-config v/verbose q/quiet log-level= h/help V/version
end

function __fish_njord_stress_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_njord_stress_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_njord_stress_using_subcommand
    set -l cmd (__fish_njord_stress_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c njord-stress -n "__fish_njord_stress_needs_command" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-stress -n "__fish_njord_stress_needs_command" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-stress -n "__fish_njord_stress_needs_command" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-stress -n "__fish_njord_stress_needs_command" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-stress -n "__fish_njord_stress_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-stress -n "__fish_njord_stress_needs_command" -s h -l help -d 'Print help'
complete -c njord-stress -n "__fish_njord_stress_needs_command" -s V -l version -d 'Print version'
complete -c njord-stress -n "__fish_njord_stress_needs_command" -f -a "tape" -d 'Write a scenario\'s tape (its trades after its transforms) to stdout or --output'
complete -c njord-stress -n "__fish_njord_stress_needs_command" -f -a "run" -d 'Run scenarios end to end: njord-sim, then the stack under njord-ctl, the tape stepped with timed faults, the assertions judged from the venue\'s side; a report.json and a report.html each. Exit 0 all passed, 1 an assertion failed, 2 a bad file or a stack that did not come up'
complete -c njord-stress -n "__fish_njord_stress_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-stress -n "__fish_njord_stress_using_subcommand tape" -s o -l output -d 'Write here instead of stdout' -r -F
complete -c njord-stress -n "__fish_njord_stress_using_subcommand tape" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-stress -n "__fish_njord_stress_using_subcommand tape" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-stress -n "__fish_njord_stress_using_subcommand tape" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-stress -n "__fish_njord_stress_using_subcommand tape" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-stress -n "__fish_njord_stress_using_subcommand tape" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-stress -n "__fish_njord_stress_using_subcommand tape" -s h -l help -d 'Print help'
complete -c njord-stress -n "__fish_njord_stress_using_subcommand run" -l out -d 'Where each scenario\'s directory (OUT/NAME, replaced if it exists) goes' -r -F
complete -c njord-stress -n "__fish_njord_stress_using_subcommand run" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-stress -n "__fish_njord_stress_using_subcommand run" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-stress -n "__fish_njord_stress_using_subcommand run" -l keep -d 'Keep the state, journals, logs and the venue journal of passed scenarios too (a failed one always keeps them)'
complete -c njord-stress -n "__fish_njord_stress_using_subcommand run" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-stress -n "__fish_njord_stress_using_subcommand run" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-stress -n "__fish_njord_stress_using_subcommand run" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-stress -n "__fish_njord_stress_using_subcommand run" -s h -l help -d 'Print help'
complete -c njord-stress -n "__fish_njord_stress_using_subcommand help; and not __fish_seen_subcommand_from tape run help" -f -a "tape" -d 'Write a scenario\'s tape (its trades after its transforms) to stdout or --output'
complete -c njord-stress -n "__fish_njord_stress_using_subcommand help; and not __fish_seen_subcommand_from tape run help" -f -a "run" -d 'Run scenarios end to end: njord-sim, then the stack under njord-ctl, the tape stepped with timed faults, the assertions judged from the venue\'s side; a report.json and a report.html each. Exit 0 all passed, 1 an assertion failed, 2 a bad file or a stack that did not come up'
complete -c njord-stress -n "__fish_njord_stress_using_subcommand help; and not __fish_seen_subcommand_from tape run help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
