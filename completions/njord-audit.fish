# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_njord_audit_global_optspecs
    string join \n config= print-config v/verbose q/quiet log-level= h/help V/version
end

function __fish_njord_audit_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_njord_audit_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_njord_audit_using_subcommand
    set -l cmd (__fish_njord_audit_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c njord-audit -n "__fish_njord_audit_needs_command" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-audit -n "__fish_njord_audit_needs_command" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-audit -n "__fish_njord_audit_needs_command" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-audit -n "__fish_njord_audit_needs_command" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-audit -n "__fish_njord_audit_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-audit -n "__fish_njord_audit_needs_command" -s h -l help -d 'Print help'
complete -c njord-audit -n "__fish_njord_audit_needs_command" -s V -l version -d 'Print version'
complete -c njord-audit -n "__fish_njord_audit_needs_command" -f -a "verify" -d 'Check every chain: hashes, links within and across files, checkpoint signatures, anchors; exit 0 intact, 1 broken, 2 usage'
complete -c njord-audit -n "__fish_njord_audit_needs_command" -f -a "anchor" -d 'Print each intact chain\'s head as one JSON line, for cron to keep elsewhere'
complete -c njord-audit -n "__fish_njord_audit_needs_command" -f -a "replay" -d 'Re-run the risk core over the njord-risk chain and compare every decision byte for byte; exit 1 on any difference'
complete -c njord-audit -n "__fish_njord_audit_needs_command" -f -a "trace" -d 'The life of one order (intent, decision, order, acks, updates, fills) with the time between steps'
complete -c njord-audit -n "__fish_njord_audit_needs_command" -f -a "report" -d 'Blotter, fills with fees, PnL per strategy, trading-state changes, denials by reason and reconciliation breaks of a period'
complete -c njord-audit -n "__fish_njord_audit_needs_command" -f -a "keygen" -d 'Write a new Ed25519 key (mode 0600) and print its public key for audit.public_key'
complete -c njord-audit -n "__fish_njord_audit_needs_command" -f -a "correct" -d 'Append a correction: a record that names the seq it corrects (nothing is rewritten)'
complete -c njord-audit -n "__fish_njord_audit_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand verify" -l public-key -d 'Ed25519 public key (hex) every checkpoint must be signed with (default: audit.public_key)' -r
complete -c njord-audit -n "__fish_njord_audit_using_subcommand verify" -l anchor -d 'Heads kept outside the trail: a file or directory of anchors, or a redis:// URL (keys audit.anchor_redis_prefix*); default: audit.anchor_dir when set' -r
complete -c njord-audit -n "__fish_njord_audit_using_subcommand verify" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-audit -n "__fish_njord_audit_using_subcommand verify" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-audit -n "__fish_njord_audit_using_subcommand verify" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand verify" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand verify" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand verify" -s h -l help -d 'Print help'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand anchor" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-audit -n "__fish_njord_audit_using_subcommand anchor" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-audit -n "__fish_njord_audit_using_subcommand anchor" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand anchor" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand anchor" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand anchor" -s h -l help -d 'Print help'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand replay" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-audit -n "__fish_njord_audit_using_subcommand replay" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-audit -n "__fish_njord_audit_using_subcommand replay" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand replay" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand replay" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand replay" -s h -l help -d 'Print help'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand trace" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-audit -n "__fish_njord_audit_using_subcommand trace" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-audit -n "__fish_njord_audit_using_subcommand trace" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand trace" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand trace" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand trace" -s h -l help -d 'Print help'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand report" -l from -d 'Start (date, RFC 3339 or ns; inclusive)' -r
complete -c njord-audit -n "__fish_njord_audit_using_subcommand report" -l to -d 'End (exclusive)' -r
complete -c njord-audit -n "__fish_njord_audit_using_subcommand report" -l format -r -f -a "csv\t''
json\t''
html\t''"
complete -c njord-audit -n "__fish_njord_audit_using_subcommand report" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-audit -n "__fish_njord_audit_using_subcommand report" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-audit -n "__fish_njord_audit_using_subcommand report" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand report" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand report" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand report" -s h -l help -d 'Print help'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand keygen" -l out -r -F
complete -c njord-audit -n "__fish_njord_audit_using_subcommand keygen" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-audit -n "__fish_njord_audit_using_subcommand keygen" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-audit -n "__fish_njord_audit_using_subcommand keygen" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand keygen" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand keygen" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand keygen" -s h -l help -d 'Print help'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand correct" -l chain -d 'The chain corrected (njord-risk, njord-paper, …)' -r
complete -c njord-audit -n "__fish_njord_audit_using_subcommand correct" -l seq -r
complete -c njord-audit -n "__fish_njord_audit_using_subcommand correct" -l text -d 'What was wrong and what is right' -r
complete -c njord-audit -n "__fish_njord_audit_using_subcommand correct" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-audit -n "__fish_njord_audit_using_subcommand correct" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-audit -n "__fish_njord_audit_using_subcommand correct" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand correct" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand correct" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand correct" -s h -l help -d 'Print help'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand help; and not __fish_seen_subcommand_from verify anchor replay trace report keygen correct help" -f -a "verify" -d 'Check every chain: hashes, links within and across files, checkpoint signatures, anchors; exit 0 intact, 1 broken, 2 usage'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand help; and not __fish_seen_subcommand_from verify anchor replay trace report keygen correct help" -f -a "anchor" -d 'Print each intact chain\'s head as one JSON line, for cron to keep elsewhere'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand help; and not __fish_seen_subcommand_from verify anchor replay trace report keygen correct help" -f -a "replay" -d 'Re-run the risk core over the njord-risk chain and compare every decision byte for byte; exit 1 on any difference'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand help; and not __fish_seen_subcommand_from verify anchor replay trace report keygen correct help" -f -a "trace" -d 'The life of one order (intent, decision, order, acks, updates, fills) with the time between steps'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand help; and not __fish_seen_subcommand_from verify anchor replay trace report keygen correct help" -f -a "report" -d 'Blotter, fills with fees, PnL per strategy, trading-state changes, denials by reason and reconciliation breaks of a period'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand help; and not __fish_seen_subcommand_from verify anchor replay trace report keygen correct help" -f -a "keygen" -d 'Write a new Ed25519 key (mode 0600) and print its public key for audit.public_key'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand help; and not __fish_seen_subcommand_from verify anchor replay trace report keygen correct help" -f -a "correct" -d 'Append a correction: a record that names the seq it corrects (nothing is rewritten)'
complete -c njord-audit -n "__fish_njord_audit_using_subcommand help; and not __fish_seen_subcommand_from verify anchor replay trace report keygen correct help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
