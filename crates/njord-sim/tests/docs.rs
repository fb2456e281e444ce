//! njord-sim's and njord-stress's committed man pages and completions (in the repository's `man/` and
//! `completions/`) must match its clap definition. `make docs` rewrites them.

use clap::CommandFactory;
use njord_sim::cli::Cli;
use njord_sim::stress::Cli as StressCli;
use std::path::Path;

#[test]
fn man_page_and_completions_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let stale = njord::docs::stale_or_update(
        &root,
        njord::docs::generated_for(vec![Cli::command(), StressCli::command()]),
    );
    assert!(
        stale.is_empty(),
        "stale generated docs (run `make docs`): {stale:?}"
    );
}

#[test]
fn help_has_a_worked_example() {
    assert_eq!(njord::docs::missing_example(&Cli::command()), None);
    assert_eq!(njord::docs::missing_example(&StressCli::command()), None);
}
