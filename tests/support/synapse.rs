//! A real Matrix homeserver for the chat-room tests: Synapse (PyPI `matrix-synapse`, pinned
//! in its own venv by `scripts/rig install`) on 127.0.0.1 with SQLite, one per
//! [`Synapse::start`], run by tests/support/synapse_rig.py, which also registers the users,
//! creates the room and reads it back over the client-server API — never Tidings' code.
//! Lifetime: the server stops when this value is dropped, and by itself when the test
//! process dies (the wrapper watches its stdin). Missing Synapse: [`Synapse::start`] panics,
//! saying how to install it; it never skips.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PY: &str = "/var/cache/tidings-rig/synapse/bin/python";

fn script() -> String {
    format!(
        "{}/tests/support/synapse_rig.py",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A running homeserver.
pub struct Synapse {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    _dir: tempfile::TempDir,
}

/// The bot's and a reader's access tokens and the room the bot made (the reader joined).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Room {
    pub bot_token: String,
    pub reader_token: String,
    pub room_id: String,
}

impl Synapse {
    pub fn start() -> Synapse {
        assert!(
            std::path::Path::new(PY).exists(),
            "{PY} is missing: Synapse is installed by `scripts/rig install` (run by scripts/test as root)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(PY)
            .arg(script())
            .arg("serve")
            .arg(dir.path())
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("synapse starts");
        let s = Synapse {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                use std::io::{Read, Write};
                let _ = c.write_all(b"GET /_matrix/client/versions HTTP/1.0\r\n\r\n");
                let mut out = String::new();
                let _ = c.read_to_string(&mut out);
                if out.starts_with("HTTP/1.1 200") || out.starts_with("HTTP/1.0 200") {
                    return s;
                }
            }
            assert!(
                Instant::now() < deadline,
                "Synapse did not answer on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(PY)
            .arg(script())
            .args(args)
            .output()
            .expect("synapse_rig.py runs");
        assert!(
            out.status.success(),
            "synapse_rig.py {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// Registers a bot (`@tidingsN`) and a reader (`@readerN`), new ones each call, and a room
    /// of the bot's the reader has joined.
    pub fn room(&self) -> Room {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
        let n = N
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            .to_string();
        serde_json::from_str(&self.run(&["setup", &self.base, &n])).expect("setup's JSON")
    }

    /// The room's messages as `token`'s user reads them, oldest first.
    pub fn messages(&self, token: &str, room: &str) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.run(&["read", &self.base, token, room])).expect("read's JSON")
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        // Closing stdin makes the wrapper kill Synapse and remove its directory.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}
