# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_njord_bus_global_optspecs
    string join \n config= print-config v/verbose q/quiet log-level= h/help V/version
end

function __fish_njord_bus_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_njord_bus_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_njord_bus_using_subcommand
    set -l cmd (__fish_njord_bus_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c njord-bus -n "__fish_njord_bus_needs_command" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-bus -n "__fish_njord_bus_needs_command" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-bus -n "__fish_njord_bus_needs_command" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-bus -n "__fish_njord_bus_needs_command" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-bus -n "__fish_njord_bus_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-bus -n "__fish_njord_bus_needs_command" -s h -l help -d 'Print help'
complete -c njord-bus -n "__fish_njord_bus_needs_command" -s V -l version -d 'Print version'
complete -c njord-bus -n "__fish_njord_bus_needs_command" -f -a "pub" -d 'Publish events read from stdin to their canonical topics (or --topic)'
complete -c njord-bus -n "__fish_njord_bus_needs_command" -f -a "sub" -d 'Print events published on Redis as NDJSON (patterns such as \'md.trades.*\' allowed)'
complete -c njord-bus -n "__fish_njord_bus_needs_command" -f -a "check" -d 'Validate an event stream or journal: report every bad line, forward the good ones, exit 1 if any was bad'
complete -c njord-bus -n "__fish_njord_bus_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-bus -n "__fish_njord_bus_using_subcommand pub" -l redis -d 'Redis URL (default: redis.url from the config)' -r
complete -c njord-bus -n "__fish_njord_bus_using_subcommand pub" -l topic -d 'Publish every event to this topic instead of its canonical one' -r
complete -c njord-bus -n "__fish_njord_bus_using_subcommand pub" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-bus -n "__fish_njord_bus_using_subcommand pub" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-bus -n "__fish_njord_bus_using_subcommand pub" -l strict -d 'Exit non-zero at the first malformed line instead of skipping it'
complete -c njord-bus -n "__fish_njord_bus_using_subcommand pub" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-bus -n "__fish_njord_bus_using_subcommand pub" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-bus -n "__fish_njord_bus_using_subcommand pub" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-bus -n "__fish_njord_bus_using_subcommand pub" -s h -l help -d 'Print help'
complete -c njord-bus -n "__fish_njord_bus_using_subcommand sub" -l redis -d 'Redis URL (default: redis.url from the config)' -r
complete -c njord-bus -n "__fish_njord_bus_using_subcommand sub" -l count -d 'Stop after this many events' -r
complete -c njord-bus -n "__fish_njord_bus_using_subcommand sub" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-bus -n "__fish_njord_bus_using_subcommand sub" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-bus -n "__fish_njord_bus_using_subcommand sub" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-bus -n "__fish_njord_bus_using_subcommand sub" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-bus -n "__fish_njord_bus_using_subcommand sub" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-bus -n "__fish_njord_bus_using_subcommand sub" -s h -l help -d 'Print help'
complete -c njord-bus -n "__fish_njord_bus_using_subcommand check" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-bus -n "__fish_njord_bus_using_subcommand check" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-bus -n "__fish_njord_bus_using_subcommand check" -l quiet-ok -d 'Do not forward the good lines'
complete -c njord-bus -n "__fish_njord_bus_using_subcommand check" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-bus -n "__fish_njord_bus_using_subcommand check" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-bus -n "__fish_njord_bus_using_subcommand check" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-bus -n "__fish_njord_bus_using_subcommand check" -s h -l help -d 'Print help'
complete -c njord-bus -n "__fish_njord_bus_using_subcommand help; and not __fish_seen_subcommand_from pub sub check help" -f -a "pub" -d 'Publish events read from stdin to their canonical topics (or --topic)'
complete -c njord-bus -n "__fish_njord_bus_using_subcommand help; and not __fish_seen_subcommand_from pub sub check help" -f -a "sub" -d 'Print events published on Redis as NDJSON (patterns such as \'md.trades.*\' allowed)'
complete -c njord-bus -n "__fish_njord_bus_using_subcommand help; and not __fish_seen_subcommand_from pub sub check help" -f -a "check" -d 'Validate an event stream or journal: report every bad line, forward the good ones, exit 1 if any was bad'
complete -c njord-bus -n "__fish_njord_bus_using_subcommand help; and not __fish_seen_subcommand_from pub sub check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
