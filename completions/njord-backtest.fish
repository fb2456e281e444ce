# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_njord_backtest_global_optspecs
    string join \n config= print-config v/verbose q/quiet log-level= tape= strategies= from= to= symbol= kind= capital= quote= equity-interval= risk-free= slippage-bps= allow-short partial-fills out= progress= no-progress json no-summary report= portfolio= h/help V/version
end

function __fish_njord_backtest_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_njord_backtest_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_njord_backtest_using_subcommand
    set -l cmd (__fish_njord_backtest_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l tape -d 'Tape files, directories or journal stems (repeatable; merged by event time)' -r -F
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l strategies -d 'Strategies file' -r -F
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l from -d 'Only events at or after this time (2023-01-10 = UTC midnight, RFC 3339, or ns since the epoch)' -r
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l to -d 'Only events before this time (2023-01-10 = UTC midnight, RFC 3339, or ns since the epoch)' -r
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l symbol -d 'Only events of these symbols (ATOM/USDT; repeat or separate with commas)' -r
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l kind -d 'Only events of these kinds (trade,bar,…)' -r
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l capital -d 'Starting capital: the spot balance of the quote asset' -r
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l quote -d 'Quote asset of the capital (default: the quote of the first exchange.symbols entry)' -r
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l equity-interval -d 'Equity sampling interval (30s, 15m, 1h, 1d, 1w)' -r
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l risk-free -d 'Annual risk-free rate for Sharpe and Sortino (0.04 = 4 %)' -r
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l slippage-bps -d 'Move taker fills this many basis points against the order (default: paper.slippage_bps)' -r
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l out -d 'Output directory of fills.ndjson, equity.ndjson, decisions.ndjson, metrics.json (sweep.csv, sweep.json, sweep.parquet, overfitting.json and sweep_returns.csv)' -r -F
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l progress -d 'Progress on stderr: auto (a bar with its ETA when stderr is a terminal), ndjson (one JSON line per update, for machines) or none' -r -f -a "auto\t'A bar with its ETA when stderr is a terminal, nothing otherwise'
ndjson\t'One JSON line per update on stderr, for scripts and schedulers'
none\t'Nothing'"
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l report -d 'Also write a self-contained HTML report (inline SVG charts, no network)' -r -F
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l portfolio -d 'Run the strategies as one portfolio (config/portfolio.yaml): they share its capital, each intent is sized by the allocator before risk, and the summary, metrics.json and report attribute the PnL to each strategy' -r -F
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l allow-short -d 'Allow selling more than is held (short selling)'
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l partial-fills -d 'Cap each resting (maker) fill at the quantity of the trade that crosses it'
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l no-progress -d 'No progress bar (as --progress none)'
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l json -d 'Write the metrics as JSON on stdout instead of the table'
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -l no-summary -d 'Write no summary table on stdout (--json still prints the metrics): the results are in --out (scripts, the Python module)'
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -s V -l version -d 'Print version'
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -f -a "sweep" -d 'Run every combination of parameters in parallel and rank them by one metric'
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -f -a "mc" -d 'Run the strategies over many resampled versions of the tape and report percentiles'
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -f -a "wfo" -d 'Walk-forward: optimise the parameters on each training window, run the best on the test window that follows, and stitch the out-of-sample results'
complete -c njord-backtest -n "__fish_njord_backtest_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l tape -d 'Tape files, directories or journal stems (repeatable; merged by event time)' -r -F
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l strategies -d 'Strategies file' -r -F
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l from -d 'Only events at or after this time (2023-01-10 = UTC midnight, RFC 3339, or ns since the epoch)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l to -d 'Only events before this time (2023-01-10 = UTC midnight, RFC 3339, or ns since the epoch)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l symbol -d 'Only events of these symbols (ATOM/USDT; repeat or separate with commas)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l kind -d 'Only events of these kinds (trade,bar,…)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l capital -d 'Starting capital: the spot balance of the quote asset' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l quote -d 'Quote asset of the capital (default: the quote of the first exchange.symbols entry)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l equity-interval -d 'Equity sampling interval (30s, 15m, 1h, 1d, 1w)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l risk-free -d 'Annual risk-free rate for Sharpe and Sortino (0.04 = 4 %)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l slippage-bps -d 'Move taker fills this many basis points against the order (default: paper.slippage_bps)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l out -d 'Output directory of fills.ndjson, equity.ndjson, decisions.ndjson, metrics.json (sweep.csv, sweep.json, sweep.parquet, overfitting.json and sweep_returns.csv)' -r -F
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l progress -d 'Progress on stderr: auto (a bar with its ETA when stderr is a terminal), ndjson (one JSON line per update, for machines) or none' -r -f -a "auto\t'A bar with its ETA when stderr is a terminal, nothing otherwise'
ndjson\t'One JSON line per update on stderr, for scripts and schedulers'
none\t'Nothing'"
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l param -d 'A parameter and its values: KEY=V1,V2,… or STRATEGY_ID.KEY=V1,… (repeatable)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l grid -d 'The parameters from a YAML file instead of --param: `params:` maps each name to a list of values or to {from, to, step}; the first varies slowest' -r -F
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l samples -d 'Run N combinations of the grid drawn at random (seeded by --seed) instead of all; the first N of a seed are the same whatever N' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l seed -d 'Seed of --samples' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l queue -d 'Take trials from a Redis Streams consumer group shared by every worker of this sweep (redis://HOST:PORT[/DB]); a dead worker\'s trials are taken over by the others. --out must be shared by the workers' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l queue-idle -d 'How long a queued trial may go without its worker\'s heartbeat before another worker takes it over' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l sort -d 'Metric to rank by (sharpe, sortino, calmar, total_return, cagr, annual_volatility, max_drawdown, …)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l blocks -d 'Blocks of the probability of backtest overfitting (CSCV): even, 2 to 24' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l shard -d 'Run only the trials k (from 0, in grid order) with k mod N = I, storing each in {out}/trials; the outputs are written once every trial is there (--merge)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l allow-short -d 'Allow selling more than is held (short selling)'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l partial-fills -d 'Cap each resting (maker) fill at the quantity of the trade that crosses it'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l no-progress -d 'No progress bar (as --progress none)'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l merge -d 'Run no trial: rank the trials the shards stored in {out}/trials and write the outputs'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -l no-summary -d 'Write no summary table on stdout (--json still prints the metrics): the results are in --out (scripts, the Python module)'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand sweep" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l tape -d 'Tape files, directories or journal stems (repeatable; merged by event time)' -r -F
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l strategies -d 'Strategies file' -r -F
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l from -d 'Only events at or after this time (2023-01-10 = UTC midnight, RFC 3339, or ns since the epoch)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l to -d 'Only events before this time (2023-01-10 = UTC midnight, RFC 3339, or ns since the epoch)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l symbol -d 'Only events of these symbols (ATOM/USDT; repeat or separate with commas)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l kind -d 'Only events of these kinds (trade,bar,…)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l capital -d 'Starting capital: the spot balance of the quote asset' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l quote -d 'Quote asset of the capital (default: the quote of the first exchange.symbols entry)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l equity-interval -d 'Equity sampling interval (30s, 15m, 1h, 1d, 1w)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l risk-free -d 'Annual risk-free rate for Sharpe and Sortino (0.04 = 4 %)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l slippage-bps -d 'Move taker fills this many basis points against the order (default: paper.slippage_bps)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l out -d 'Output directory of fills.ndjson, equity.ndjson, decisions.ndjson, metrics.json (sweep.csv, sweep.json, sweep.parquet, overfitting.json and sweep_returns.csv)' -r -F
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l progress -d 'Progress on stderr: auto (a bar with its ETA when stderr is a terminal), ndjson (one JSON line per update, for machines) or none' -r -f -a "auto\t'A bar with its ETA when stderr is a terminal, nothing otherwise'
ndjson\t'One JSON line per update on stderr, for scripts and schedulers'
none\t'Nothing'"
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l runs -d 'Number of resampled runs' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l method -d 'How a run\'s returns are drawn from the tape\'s: shuffle, block-bootstrap or synthetic (a gbm with the returns\' mean and standard deviation)' -r -f -a "shuffle\t''
block-bootstrap\t''
synthetic\t''"
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l block -d 'block-bootstrap: returns per block' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l seed -d 'Seed of the runs; run i is seeded from (seed, i)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l ruin -d 'Ruin: equity strictly below this share of the capital at any equity sample' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l allow-short -d 'Allow selling more than is held (short selling)'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l partial-fills -d 'Cap each resting (maker) fill at the quantity of the trade that crosses it'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l no-progress -d 'No progress bar (as --progress none)'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -l no-summary -d 'Write no summary table on stdout (--json still prints the metrics): the results are in --out (scripts, the Python module)'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand mc" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l tape -d 'Tape files, directories or journal stems (repeatable; merged by event time)' -r -F
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l strategies -d 'Strategies file' -r -F
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l from -d 'Only events at or after this time (2023-01-10 = UTC midnight, RFC 3339, or ns since the epoch)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l to -d 'Only events before this time (2023-01-10 = UTC midnight, RFC 3339, or ns since the epoch)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l symbol -d 'Only events of these symbols (ATOM/USDT; repeat or separate with commas)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l kind -d 'Only events of these kinds (trade,bar,…)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l capital -d 'Starting capital: the spot balance of the quote asset' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l quote -d 'Quote asset of the capital (default: the quote of the first exchange.symbols entry)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l equity-interval -d 'Equity sampling interval (30s, 15m, 1h, 1d, 1w)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l risk-free -d 'Annual risk-free rate for Sharpe and Sortino (0.04 = 4 %)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l slippage-bps -d 'Move taker fills this many basis points against the order (default: paper.slippage_bps)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l out -d 'Output directory of fills.ndjson, equity.ndjson, decisions.ndjson, metrics.json (sweep.csv, sweep.json, sweep.parquet, overfitting.json and sweep_returns.csv)' -r -F
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l progress -d 'Progress on stderr: auto (a bar with its ETA when stderr is a terminal), ndjson (one JSON line per update, for machines) or none' -r -f -a "auto\t'A bar with its ETA when stderr is a terminal, nothing otherwise'
ndjson\t'One JSON line per update on stderr, for scripts and schedulers'
none\t'Nothing'"
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l train -d 'Length of a training window (30s, 15m, 1h, 1d, 1w)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l test -d 'Length of a test window' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l step -d 'How far each fold moves on (default: --test)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l param -d 'A parameter and its values: KEY=V1,V2,… or STRATEGY_ID.KEY=V1,… (repeatable)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l grid -d 'The parameters from a YAML file instead of --param: `params:` maps each name to a list of values or to {from, to, step}; the first varies slowest' -r -F
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l objective -d 'Metric the training windows are ranked by (as sweep --sort)' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l min-trades -d 'Fewest round trips a trial must make in a training window to be chosen' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l config -d 'Configuration file (default: config/base.yaml; missing means built-in defaults)' -r -F
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l log-level -d 'Log level for stderr (error, warn, info, debug, trace); overrides -v/-q' -r
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l allow-short -d 'Allow selling more than is held (short selling)'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l partial-fills -d 'Cap each resting (maker) fill at the quantity of the trade that crosses it'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l no-progress -d 'No progress bar (as --progress none)'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l anchored -d 'Every training window starts at the tape\'s start and grows'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l print-config -d 'Print the effective configuration (secrets redacted) and exit'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -s q -l quiet -d 'Only errors on stderr'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -l no-summary -d 'Write no summary table on stdout (--json still prints the metrics): the results are in --out (scripts, the Python module)'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand wfo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand help; and not __fish_seen_subcommand_from sweep mc wfo help" -f -a "sweep" -d 'Run every combination of parameters in parallel and rank them by one metric'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand help; and not __fish_seen_subcommand_from sweep mc wfo help" -f -a "mc" -d 'Run the strategies over many resampled versions of the tape and report percentiles'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand help; and not __fish_seen_subcommand_from sweep mc wfo help" -f -a "wfo" -d 'Walk-forward: optimise the parameters on each training window, run the best on the test window that follows, and stitch the out-of-sample results'
complete -c njord-backtest -n "__fish_njord_backtest_using_subcommand help; and not __fish_seen_subcommand_from sweep mc wfo help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
