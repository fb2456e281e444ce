//! The committed man pages and completions must match the clap definitions.
//! `make docs` (NJORD_UPDATE_DOCS=1) rewrites them.

use std::path::Path;

#[test]
fn man_pages_and_completions_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let stale = njord::docs::stale_or_update(root, njord::docs::generated());
    assert!(
        stale.is_empty(),
        "stale generated docs (run `make docs`): {stale:?}"
    );
}

#[test]
fn every_binary_has_docs_and_an_example() {
    let bins: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bin"))
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_string()
            })
            .collect();
    let cmds = njord::cli::commands();
    for b in &bins {
        let cmd = cmds
            .iter()
            .find(|c| c.get_name() == b)
            .unwrap_or_else(|| panic!("{b} missing from cli::commands()"));
        assert_eq!(njord::docs::missing_example(cmd), None);
    }
}

#[test]
fn readme_table_of_reason_codes_is_the_enum() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("## Reason codes")
        .nth(1)
        .expect("README has a Reason codes section");
    let codes: Vec<&str> = section
        .lines()
        .skip_while(|l| !l.starts_with("| code"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.split('`').nth(1).expect("a code in backticks"))
        .collect();
    let enum_codes: Vec<&str> = njord::reason::Reason::ALL
        .iter()
        .map(|r| r.as_str())
        .collect();
    assert_eq!(codes, enum_codes);
}

#[test]
fn readme_quotes_the_portfolio_formulas_as_the_binary_prints_them() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(
        readme.contains(njord::cli::portfolio::FORMULAS),
        "README's portfolio formulas differ from njord::cli::portfolio::FORMULAS: copy them again"
    );
}
