//! The workspace's own rules: the core crate stays free of I/O crates (DESIGN §2).

use std::process::Command;

/// Crates that do I/O (or exist to serve it); none may reach njord-core, directly or not.
const IO_CRATES: &[&str] = &[
    "axum",
    "h2",
    "hyper",
    "mio",
    "redis",
    "reqwest",
    "rustls",
    "signal-hook",
    "socket2",
    "tokio",
    "tokio-tungstenite",
    "tungstenite",
];

#[test]
fn core_has_no_io_dependency() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-p",
            "njord-core",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        names.contains(&"rust_decimal"),
        "unexpected cargo tree output:\n{tree}"
    );
    let io: Vec<&&str> = names.iter().filter(|n| IO_CRATES.contains(n)).collect();
    assert!(
        io.is_empty(),
        "njord-core depends on I/O crates {io:?}:\n{tree}"
    );
}
