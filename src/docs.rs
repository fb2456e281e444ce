//! Man pages and shell completions, generated from the clap definitions in [`crate::cli`].

use clap_complete::Shell;
use std::path::PathBuf;

/// Every generated file: its path relative to the repository root, and its contents.
pub fn generated() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for cmd in crate::cli::commands() {
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
            files.push((PathBuf::from(format!("completions/{file}")), out));
        }
    }
    files
}
