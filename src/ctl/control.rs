//! The controller's control socket (`{state_dir}/ctl.sock`, mode 0600): one JSON request a
//! connection, one JSON answer. `njord-ctl status`, `restart`, `stop`, `reload`, `down`,
//! `top` and the control API (`serve`) are its clients.

use super::supervise::Status;
use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::Duration;

/// How long a client waits for the controller (a `down` waits for every stage to stop).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);

/// What a client asks, on the wire.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "lowercase")]
pub enum Wire {
    Status,
    Restart {
        stage: String,
    },
    /// Stop one stage and leave it stopped (until `restart`).
    Stop {
        stage: String,
    },
    /// SIGHUP to every Njord stage: each re-reads what it can change while running.
    Reload,
    Down,
}

/// A request as the controller's loop gets it, with where to answer.
pub enum Request {
    Status(Sender<Reply>),
    Restart(String, Sender<Reply>),
    Stop(String, Sender<Reply>),
    Reload(Sender<Reply>),
    /// Stop the session; the second channel says when the answer has been written, so the
    /// controller does not exit before its client has it.
    Down(Sender<Reply>, Receiver<()>),
}

pub enum Reply {
    Status(Status),
    Done(Result<(), String>),
    /// What a reload did, stage by stage.
    Reloaded(Result<serde_json::Value, String>),
}

/// Listens on `path` (replacing a socket a dead controller left) and hands each request to
/// the returned channel.
pub fn serve(path: &Path) -> Result<Receiver<Request>, String> {
    let shown = path.display().to_string();
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path).map_err(|e| format!("{shown}: {e}"))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("{shown}: {e}"))?;
    let (tx, rx) = unbounded();
    std::thread::Builder::new()
        .name("ctl-socket".into())
        .spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let tx = tx.clone();
                std::thread::spawn(move || answer(conn, &tx));
            }
        })
        .map_err(|e| format!("control socket thread: {e}"))?;
    Ok(rx)
}

fn answer(conn: UnixStream, to_loop: &Sender<Request>) {
    let mut line = String::new();
    if BufReader::new(&conn).read_line(&mut line).is_err() {
        return;
    }
    let (tx, rx) = bounded(1);
    let (written, written_rx) = bounded(1);
    let req = match serde_json::from_str::<Wire>(&line) {
        Ok(Wire::Status) => Request::Status(tx),
        Ok(Wire::Restart { stage }) => Request::Restart(stage, tx),
        Ok(Wire::Stop { stage }) => Request::Stop(stage, tx),
        Ok(Wire::Reload) => Request::Reload(tx),
        Ok(Wire::Down) => Request::Down(tx, written_rx),
        Err(e) => return write(&conn, &serde_json::json!({"error": e.to_string()})),
    };
    if to_loop.send(req).is_err() {
        return;
    }
    let out = match rx.recv() {
        Ok(Reply::Status(s)) => serde_json::to_value(s).unwrap_or_default(),
        Ok(Reply::Done(Ok(()))) => serde_json::json!({"ok": true}),
        Ok(Reply::Reloaded(Ok(v))) => v,
        Ok(Reply::Reloaded(Err(e))) => serde_json::json!({"error": e}),
        Ok(Reply::Done(Err(e))) => serde_json::json!({"error": e}),
        Err(_) => serde_json::json!({"error": "the controller stopped"}),
    };
    write(&conn, &out);
    let _ = written.send(());
}

fn write(mut conn: &UnixStream, v: &serde_json::Value) {
    let _ = writeln!(conn, "{v}");
}

/// Sends `req` to the controller at `path` and returns its answer. `Err(None)`: no
/// controller answers there.
pub fn ask(path: &Path, req: &Wire) -> Result<serde_json::Value, Option<String>> {
    let conn = UnixStream::connect(path).map_err(|_| None)?;
    let _ = conn.set_read_timeout(Some(CLIENT_TIMEOUT));
    let mut text = serde_json::to_string(req).map_err(|e| Some(e.to_string()))?;
    text.push('\n');
    (&conn)
        .write_all(text.as_bytes())
        .map_err(|e| Some(e.to_string()))?;
    let mut line = String::new();
    BufReader::new(&conn)
        .read_line(&mut line)
        .map_err(|e| Some(format!("{}: {e}", path.display())))?;
    let v: serde_json::Value = serde_json::from_str(&line)
        .map_err(|e| Some(format!("{}: not an answer ({e})", path.display())))?;
    match v.get("error").and_then(|e| e.as_str()) {
        Some(e) => Err(Some(e.to_string())),
        None => Ok(v),
    }
}
