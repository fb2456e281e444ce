//! Man pages and shell completions, generated from the clap definitions in [`crate::cli`] (and,
//! for `njord-sim`, in its own crate).

use clap_complete::Shell;
use std::path::{Path, PathBuf};

/// Every generated file of this crate's binaries: its path relative to the repository root,
/// and its contents.
pub fn generated() -> Vec<(PathBuf, Vec<u8>)> {
    generated_for(crate::cli::commands())
}

/// The man page and completions of each command.
pub fn generated_for(cmds: Vec<clap::Command>) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for cmd in cmds {
        let name = cmd.get_name().to_string();
        let mut page = Vec::new();
        // Rendering into memory cannot fail.
        let _ = clap_mangen::Man::new(cmd.clone()).render(&mut page);
        files.push((PathBuf::from(format!("man/{name}.1")), page));
        for (shell, file) in [
            (Shell::Bash, format!("{name}.bash")),
            (Shell::Zsh, format!("_{name}")),
            (Shell::Fish, format!("{name}.fish")),
        ] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd.clone(), &name, &mut out);
            if shell == Shell::Bash {
                out = fix_bash_hyphenated_name(&name, &out);
            }
            files.push((PathBuf::from(format!("completions/{file}")), out));
        }
    }
    files
}

/// Works around clap_complete's bash script for a hyphenated binary name: the loop over the
/// words names a subcommand `njord__kill__subcmd__trip`, but the `case` that completes it is
/// labelled `njord__subcmd__kill__subcmd__trip`, so nothing is offered after a subcommand.
/// The labels are rewritten to the loop's spelling.
fn fix_bash_hyphenated_name(name: &str, script: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(script);
    let wrong = format!("{}__", name.replace('-', "__subcmd__"));
    let right = format!("{}__", name.replace('-', "__"));
    text.replace(&wrong, &right).into_bytes()
}

/// Compares generated files with the committed ones under `root`, or rewrites them when
/// `NJORD_UPDATE_DOCS` is set (`make docs`). Returns the stale ones.
pub fn stale_or_update(root: &Path, files: Vec<(PathBuf, Vec<u8>)>) -> Vec<String> {
    let update = std::env::var_os("NJORD_UPDATE_DOCS").is_some();
    let mut stale = Vec::new();
    for (rel, contents) in files {
        let path = root.join(&rel);
        if update {
            let written = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&path, &contents));
            if let Err(e) = written {
                stale.push(format!("{}: {e}", rel.display()));
            }
        } else if std::fs::read(&path).ok().as_deref() != Some(&contents[..]) {
            stale.push(rel.display().to_string());
        }
    }
    stale
}

/// The worked example every binary's `--help` must carry, if it lacks one.
pub fn missing_example(cmd: &clap::Command) -> Option<String> {
    let help = cmd
        .get_after_help()
        .map(|h| h.to_string())
        .unwrap_or_default();
    (!help.contains("Example")).then(|| format!("{} --help has no worked example", cmd.get_name()))
}
