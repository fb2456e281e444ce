//! The README's commands, run as written: every fenced `sh` block in order, in one bash
//! session (so an `export` carries on, as in a terminal), from a directory holding what a fresh
//! clone holds (`config/`, `examples/`), with this build's binaries first on `PATH`.
//!
//! - ```` ```sh ```` blocks run in the foreground under `set -euo pipefail`: any failing
//!   command fails the test;
//! - ```` ```sh background ```` blocks are servers and daemons: each line starts in the
//!   background, the run waits until every port the block names accepts connections, and each
//!   must still be running when the last block has finished;
//! - ```` ```sh skip ```` blocks may only hold `make` targets (`make demo`, `make test` and
//!   `make install` are tested by CI itself and would rebuild the project here).
//!
//! The README's fixed ports (Redis 6379, the simulator's 8081 and 8082, a metrics port 9467)
//! become free ones, so the run is safe beside other tests and a Redis the machine already runs.

use crate::support::{free_port, sim_bin};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The README's ports, replaced by free ones before the run.
const README_PORTS: [&str; 4] = ["6379", "8081", "8082", "9467"];
/// A bound for the whole run, so a hung command fails the test instead of CI.
const RUN_LIMIT: Duration = Duration::from_secs(300);

#[derive(Debug, PartialEq)]
enum Mode {
    Foreground,
    Background,
    Skip,
}

#[derive(Debug)]
struct Block {
    /// 1-based README line of the opening fence.
    line: usize,
    mode: Mode,
    body: String,
}

/// The fenced blocks whose info string starts with `sh`; any other code block that holds a
/// command is an error, so an example cannot escape the run by its formatting (```python
/// blocks run in python/tests/test_readme.py).
fn shell_blocks(readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String, String)> = None;
    let mut previous_blank = true;
    for (i, line) in readme.lines().enumerate() {
        let n = i + 1;
        match open.take() {
            Some((start, info, mut body)) => {
                if line.starts_with("```") {
                    let mode = match info.as_str() {
                        "sh" => Mode::Foreground,
                        "sh background" => Mode::Background,
                        "sh skip" => Mode::Skip,
                        // Python examples run in the Python tests (python/tests/test_readme.py).
                        "python" => continue,
                        other => {
                            assert!(
                                !body.contains("njord") && !body.contains("make "),
                                "README.md:{start}: a code block with commands must be ```sh, \
                                 ```sh background or ```sh skip, not ```{other}"
                            );
                            continue;
                        }
                    };
                    blocks.push(Block {
                        line: start,
                        mode,
                        body,
                    });
                } else {
                    body.push_str(line);
                    body.push('\n');
                    open = Some((start, info, body));
                }
            }
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    open = Some((n, info.trim().to_string(), String::new()));
                } else {
                    assert!(
                        !(previous_blank && line.starts_with("    ") && line.contains("njord")),
                        "README.md:{n}: an indented code block escapes the README test: \
                         make it a fenced ```sh block"
                    );
                }
            }
        }
        previous_blank = line.trim().is_empty();
    }
    assert!(open.is_none(), "README.md: a code block is never closed");
    blocks
}

/// The lines of a block that run: comments (where the live forms are) and blank lines do not.
fn commands(body: &str) -> impl Iterator<Item = &str> {
    body.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// The ports a background block listens on: the number after `--port`, `--rest-port` or
/// `--ws-port`.
fn listening_ports(body: &str) -> Vec<String> {
    let words: Vec<&str> = body.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| matches!(w[0], "--port" | "--rest-port" | "--ws-port"))
        .map(|w| w[1].to_string())
        .collect()
}

/// One bash script for the whole README, with its ports swapped for `ports`.
fn script(blocks: &[Block], ports: &[(String, String)]) -> String {
    let mut s = String::from(
        "set -euo pipefail\n\
         wait_port() {\n\
         \x20 for _ in $(seq 600); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done\n\
         \x20 echo \"nothing listens on port $1 after 30 s\" >&2; return 1\n\
         }\n\
         background=()\n",
    );
    let mut n_bg = 0;
    for b in blocks {
        let _ = writeln!(s, "echo '== README.md:{} ({:?})' >&2", b.line, b.mode);
        match b.mode {
            Mode::Skip => {}
            Mode::Foreground => {
                s.push_str("set -x\n");
                s.push_str(&b.body);
                s.push_str("{ set +x; } 2>/dev/null\n");
            }
            Mode::Background => {
                for cmd in commands(&b.body) {
                    n_bg += 1;
                    let _ = writeln!(
                        s,
                        "echo '+ {cmd} &' >&2\n{cmd} > background-{n_bg}.out 2> background-{n_bg}.err &\n\
                         background+=(\"$!:background-{n_bg}\")"
                    );
                }
                for p in listening_ports(&b.body) {
                    let _ = writeln!(s, "wait_port {p}");
                }
            }
        }
    }
    s.push_str(
        "for b in \"${background[@]}\"; do\n\
         \x20 kill -0 \"${b%%:*}\" 2>/dev/null || { echo \"a background command has exited: ${b#*:}.err:\" >&2; cat \"${b#*:}.err\" >&2; exit 1; }\n\
         done\n\
         echo README-DONE\n",
    );
    let mut out = s;
    for (from, to) in ports {
        out = replace_word(&out, from, to);
    }
    out
}

/// `text` with every `from` that is not part of a longer number replaced by `to`.
fn replace_word(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(from) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + from.len()..].chars().next();
        let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
        out.push_str(&rest[..i]);
        out.push_str(if digit(before) || digit(after) {
            from
        } else {
            to
        });
        rest = &rest[i + from.len()..];
    }
    out.push_str(rest);
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[test]
fn every_readme_command_works_in_order_on_a_fresh_clone() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let blocks = shell_blocks(&readme);
    assert!(blocks.iter().filter(|b| b.mode == Mode::Foreground).count() >= 5);
    for b in &blocks {
        for cmd in commands(&b.body) {
            if b.mode == Mode::Skip {
                assert!(
                    cmd.starts_with("make "),
                    "README.md:{}: only make targets may be skipped, not `{cmd}`",
                    b.line
                );
            }
            for venue in ["https://", "wss://", "binance.com", "binance.us"] {
                assert!(
                    !cmd.contains(venue),
                    "README.md:{}: `{cmd}` would contact a real venue: show the live form as a \
                     `# live:` comment",
                    b.line
                );
            }
        }
    }

    let ports: Vec<(String, String)> = README_PORTS
        .iter()
        .map(|p| (p.to_string(), free_port().to_string()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    for tracked in ["config", "examples", "scenarios"] {
        copy_dir(&root.join(tracked), &dir.path().join(tracked));
    }
    let script_path = dir.path().join("readme.sh");
    std::fs::write(&script_path, script(&blocks, &ports)).unwrap();

    let bin_dir = sim_bin().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let stdout_path = dir.path().join("readme.out");
    let stderr_path = dir.path().join("readme.err");
    let mut cmd = Command::new("bash");
    cmd.arg(&script_path)
        .current_dir(dir.path())
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap());
    for (key, _) in std::env::vars() {
        if key.starts_with("NJORD") {
            cmd.env_remove(key);
        }
    }
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().expect("bash runs");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > RUN_LIMIT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // The servers and daemons the README started are in the script's process group.
    let _ = Command::new("kill")
        .args(["-TERM", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.kill();
    let _ = child.wait();

    let out = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let ok = status.is_some_and(|s| s.success()) && out.trim_end().ends_with("README-DONE");
    assert!(
        ok,
        "the README's commands failed ({}); the last of stderr:\n{}",
        match status {
            Some(s) => format!("bash {s}"),
            None => format!("still running after {RUN_LIMIT:?}"),
        },
        tail(&stderr_path, 40)
    );
}

#[test]
fn ports_are_replaced_as_whole_numbers_only() {
    assert_eq!(
        replace_word("--port 6379 redis://h:6379/0 163790 63799", "6379", "5"),
        "--port 5 redis://h:5/0 163790 63799"
    );
}
