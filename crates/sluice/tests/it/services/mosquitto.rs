//! A private Mosquitto per test (on a free port, persistence in a temp dir), so a test can
//! restart its broker without disturbing the machine's shared one; and the mosquitto_pub /
//! mosquitto_sub clients.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::harness::{free_port, wait_for};

pub struct Mosquitto {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Mosquitto {
    /// Starts a broker; fails the test loudly if it does not listen.
    pub fn start() -> Mosquitto {
        let dir = tempfile::tempdir().expect("tempdir");
        // Started as root, mosquitto drops to its own user (`user mosquitto` by default): the
        // directory must be writable for that user, or it cannot save its persistent sessions
        // on shutdown ("Error saving in-memory database ... Permission denied") and a restart
        // forgets every session, subscription and queued message.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod the mosquitto directory");
        let mut m = Mosquitto {
            port: free_port(),
            dir,
            child: None,
        };
        m.spawn();
        m
    }

    fn conf(&self) -> PathBuf {
        let p = self.dir.path().join("mosquitto.conf");
        std::fs::write(
            &p,
            format!(
                "listener {} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\nmax_queued_messages 100000\n",
                self.port,
                self.dir.path().display()
            ),
        )
        .expect("mosquitto.conf");
        p
    }

    fn spawn(&mut self) {
        let conf = self.conf();
        let log = std::fs::File::create(self.dir.path().join("mosquitto.log")).expect("log");
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(conf)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("mosquitto (/usr/sbin/mosquitto) is needed for this test");
        self.child = Some(child);
        let port = self.port;
        wait_for("mosquitto to listen", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    /// Stops the broker with SIGTERM (it saves its persistent sessions) and starts it again
    /// on the same port. Fails the test if the sessions were not saved.
    pub fn restart(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let _ = c.wait();
        }
        let log =
            std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default();
        assert!(
            !log.contains("Error saving in-memory database"),
            "mosquitto could not save its sessions:\n{log}"
        );
        self.spawn();
    }

    pub fn uri(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// Publishes each line of `lines` to `topic` with QoS 1 (mosquitto_pub -l), waiting until
    /// the client exits.
    pub fn publish_lines(&self, topic: &str, lines: &[String]) {
        let mut child = Command::new("mosquitto_pub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-t",
                topic,
                "-q",
                "1",
                "-l",
            ])
            .stdin(Stdio::piped())
            .spawn()
            .expect("mosquitto_pub");
        {
            let mut stdin = child.stdin.take().expect("stdin");
            for l in lines {
                writeln!(stdin, "{l}").expect("write to mosquitto_pub");
            }
        }
        let status = child.wait().expect("mosquitto_pub exits");
        assert!(status.success(), "mosquitto_pub failed: {status:?}");
    }

    /// A persistent-session QoS 1 subscriber of `topic` writing each payload as a line to
    /// `out`; killed on drop.
    pub fn subscribe(&self, topic: &str, client_id: &str, out: &std::path::Path) -> Child {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(out)
            .expect("subscriber output");
        let child = Command::new("mosquitto_sub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-t",
                topic,
                "-q",
                "1",
                "-c",
                "-i",
                client_id,
            ])
            .stdout(file)
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto_sub");
        child
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
