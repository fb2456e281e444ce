//! Shared fixtures of the integration tests: a real `redis-server` on a free loopback port, a
//! real `njord-sim` on loopback, canonical lines.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` spawned for one test, killed on drop. A missing `redis-server` fails the
/// test: `make test` installs it.
pub struct RedisServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        Self::start_on(free_port())
    }

    /// Starts a server on a given port (to restart one after [`RedisServer::kill`]).
    pub fn start_on(port: u16) -> RedisServer {
        Self::start_with(port, &[])
    }

    /// A replica of the server on `primary`.
    pub fn replica_of(primary: u16) -> RedisServer {
        Self::start_with(
            free_port(),
            &["--replicaof", "127.0.0.1", &primary.to_string()],
        )
    }

    /// A Sentinel (`redis-server --sentinel`) watching the primary on `primary` as `mymaster`,
    /// with a quorum of 2, quick to call it down (500 ms) and to fail it over.
    pub fn sentinel(primary: u16) -> RedisServer {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndir {}\nsentinel monitor mymaster 127.0.0.1 {primary} 2\n\
                 sentinel down-after-milliseconds mymaster 500\nsentinel failover-timeout mymaster 3000\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let mut cmd = Command::new("redis-server");
        cmd.arg(&conf).arg("--sentinel");
        Self::spawn(cmd, port, dir)
    }

    fn start_with(port: u16, extra: &[&str]) -> RedisServer {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("redis-server");
        cmd.args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(extra)
        .arg("--dir")
        .arg(dir.path());
        Self::spawn(cmd, port, dir)
    }

    fn spawn(mut cmd: Command, port: u16, dir: tempfile::TempDir) -> RedisServer {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (make test installs it)");
        let server = RedisServer {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let pong = redis::Client::open(server.url())
                .and_then(|c| c.get_connection())
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if pong.is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not answer on port {port}");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }

    /// Stops the server (to test what happens when Redis goes away).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A loopback port nobody listens on right now, below the ephemeral range that outgoing
/// connections draw from (see [`njord::net::free_port`]).
pub fn free_port() -> u16 {
    njord::net::free_port().unwrap()
}

/// Kills the process on drop, so a failing test leaves nothing behind.
pub struct Reaper(pub Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An HTML file as a browser sees it: headless Chromium (installed by `make test`) loads it
/// and dumps its DOM. Returns (DOM, Chromium's stderr, where console messages show).
pub fn chromium_dom(path: &std::path::Path) -> (String, String) {
    let url = format!("file://{}", path.display());
    let o = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            &url,
        ])
        .output()
        .expect("chromium must be installed (make test installs it)");
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{stderr}");
    (String::from_utf8(o.stdout).unwrap(), stderr)
}

/// The names of the files in `dir`, sorted.
pub fn file_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A canonical trade line.
pub fn trade_line(symbol: &str, id: u64, price: &str, ts_ns: i64) -> String {
    format!(
        r#"{{"kind":"trade","venue":"binanceus","symbol":"{symbol}","trade_id":"{id}","price":{price},"qty":1.5,"side":"buy","ts_ns":{ts_ns}}}"#
    )
}

/// The `njord-sim` binary of this build. It is its own workspace crate, so no
/// `CARGO_BIN_EXE_` variable names it here; `cargo test` at the root builds it beside ours.
pub fn sim_bin() -> PathBuf {
    // The test binary is target/<profile>/deps/it-<hash>; the binaries are in target/<profile>.
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("njord-sim");
    assert!(
        bin.exists(),
        "{} is missing: run the tests from the workspace root (`make test`)",
        bin.display()
    );
    bin
}

/// A synthetic trade tape of `njord-sim gen` (same seed, same bytes).
pub fn generated_tape(symbol: &str, count: u32, seed: u64) -> Vec<u8> {
    let out = sim_command()
        .args(["gen", "--symbol", symbol, "--count", &count.to_string()])
        .args(["--seed", &seed.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `njord-sim` with logging kept off disk.
pub fn sim_command() -> Command {
    let mut c = Command::new(sim_bin());
    c.env("NJORD__LOGGING__JSON_FILE", "false");
    c
}

/// A running `njord-sim serve`, killed on drop.
pub struct SimServer {
    pub child: Child,
    pub rest: String,
    pub ws: String,
}

impl SimServer {
    /// Spawns `cmd` (a `njord-sim serve …`) and waits for its `sim_ready` line.
    pub fn spawn(mut cmd: Command) -> SimServer {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let ready: serde_json::Value = serde_json::from_str(&first).expect("sim_ready line");
        assert_eq!(ready["kind"], "sim_ready", "{first}");
        SimServer {
            child,
            rest: ready["rest_url"].as_str().unwrap().to_string(),
            ws: ready["ws_url"].as_str().unwrap().to_string(),
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
