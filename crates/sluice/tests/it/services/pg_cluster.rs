//! A private PostgreSQL 15 cluster for logical decoding tests: `initdb` and `pg_ctl` from
//! the machine's PostgreSQL 15 binaries, run as the `postgres` OS user (the tests run as
//! root), in a temporary directory, on a free port, with `wal_level=logical`. Stopped (and
//! its directory removed) on drop. It can be restarted, or stopped and started again.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::harness::{free_port, wait_for};

/// Where the PostgreSQL 15 server binaries are.
pub fn pg_bin() -> PathBuf {
    let dir = std::env::var("SLUICE_PG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("/usr/lib/postgresql/15/bin"));
    assert!(
        dir.join("initdb").exists() && dir.join("pg_ctl").exists(),
        "PostgreSQL 15 server binaries not found in {} (set SLUICE_PG_BIN, or install postgresql-15)",
        dir.display()
    );
    dir
}

fn run(what: &str, cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: could not run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a server binary as the `postgres` OS user when we are root (the server refuses
/// to run as root).
fn as_postgres(bin: &Path, args: &[&str]) -> Command {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if is_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin).args(args);
        c
    } else {
        let mut c = Command::new(bin);
        c.args(args);
        c
    }
}

/// A running private cluster.
pub struct PgCluster {
    pub port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
    options: String,
}

impl PgCluster {
    /// `initdb` and start with `wal_level=logical`.
    pub fn start() -> PgCluster {
        Self::start_with(&[])
    }

    /// Like [`start`](Self::start) with extra `-c name=value` server settings.
    pub fn start_with(settings: &[(&str, &str)]) -> PgCluster {
        let bin = pg_bin();
        let dir = tempfile::Builder::new()
            .prefix("sluice-pg-")
            .tempdir()
            .expect("temp dir");
        // The postgres user must own the data directory and reach the temp dir.
        run(
            "chown",
            Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path()),
        );
        let data = dir.path().join("data");
        let data_s = data.to_string_lossy().to_string();
        run(
            "initdb",
            &mut as_postgres(
                &bin.join("initdb"),
                &[
                    "-D",
                    &data_s,
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
            ),
        );
        let port = free_port();
        let mut options = format!(
            "-c wal_level=logical -c max_replication_slots=10 -c max_wal_senders=10 -p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            dir.path().display()
        );
        for (k, v) in settings {
            options.push_str(&format!(" -c {k}={v}"));
        }
        let cluster = PgCluster {
            port,
            dir,
            bin,
            options,
        };
        cluster.start_server();
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_string_lossy().to_string()
    }

    fn log(&self) -> String {
        self.dir
            .path()
            .join("server.log")
            .to_string_lossy()
            .to_string()
    }

    /// Starts the server (after [`stop`](Self::stop)).
    pub fn start_server(&self) {
        run(
            "pg_ctl start",
            &mut as_postgres(
                &self.bin.join("pg_ctl"),
                &[
                    "-D",
                    &self.data(),
                    "-o",
                    &self.options,
                    "-l",
                    &self.log(),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            ),
        );
        wait_for(
            "PostgreSQL to accept connections",
            Duration::from_secs(30),
            || self.try_sql("postgres", "SELECT 1").is_ok(),
        );
    }

    /// Stops the server (fast shutdown: sessions are disconnected).
    pub fn stop(&self) {
        run(
            "pg_ctl stop",
            &mut as_postgres(
                &self.bin.join("pg_ctl"),
                &["-D", &self.data(), "-m", "fast", "-w", "-t", "60", "stop"],
            ),
        );
    }

    /// Stops and starts the server.
    pub fn restart(&self) {
        self.stop();
        self.start_server();
    }

    /// The server log, for failure messages.
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }

    /// Runs SQL with psql as `postgres`; returns unaligned, tuples-only output.
    pub fn try_sql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
            ])
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-d")
            .arg(db)
            .arg("-c")
            .arg(sql)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).to_string())
        }
    }

    /// Runs SQL; panics with the server's message on failure.
    pub fn sql(&self, db: &str, sql: &str) -> String {
        self.try_sql(db, sql)
            .unwrap_or_else(|e| panic!("SQL failed on {db}: {sql}\n{e}"))
    }

    /// Runs a SQL script file with psql (one session), waiting for it.
    pub fn sql_file(&self, db: &str, file: &Path) {
        run(
            "psql -f",
            Command::new(self.bin.join("psql"))
                .args([
                    "-X",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                ])
                .arg("-p")
                .arg(self.port.to_string())
                .arg("-d")
                .arg(db)
                .arg("-f")
                .arg(file),
        );
    }

    /// Creates a database and returns its name.
    pub fn create_db(&self, name: &str) -> String {
        self.sql("postgres", &format!("CREATE DATABASE \"{name}\""));
        name.to_string()
    }

    /// The slot's confirmed flush LSN as a number, if the slot exists and has one.
    pub fn confirmed_flush(&self, slot: &str) -> Option<u64> {
        let v = self
            .try_sql(
                "postgres",
                &format!("SELECT confirmed_flush_lsn - '0/0'::pg_lsn FROM pg_replication_slots WHERE slot_name = '{slot}'"),
            )
            .ok()?;
        v.trim().parse::<f64>().ok().map(|f| f as u64)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = as_postgres(
            &self.bin.join("pg_ctl"),
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        )
        .output();
    }
}
