//! PostgreSQL clusters of a test's own, on loopback ports: a primary made with
//! `initdb` and streaming replicas made from it with `pg_basebackup`, for the
//! tests of read replicas (and of a database that goes away). Each cluster
//! lives in a temporary directory and is stopped and removed when dropped.
//!
//! The server binaries are found with `pg_config --bindir`, else under
//! `/usr/lib/postgresql/<version>/bin`. PostgreSQL refuses to run as root: as
//! root, every command runs as the `postgres` user (`runuser`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A running PostgreSQL cluster of the test's own.
#[derive(Debug)]
pub struct PgCluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    running: bool,
}

impl PgCluster {
    /// Where the server binaries are, if they are installed.
    pub fn binaries() -> Option<PathBuf> {
        let configured = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        let found = configured
            .filter(|bin| bin.join("initdb").exists())
            .or_else(|| {
                let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
                    .ok()?
                    .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                    .filter(|bin| bin.join("initdb").exists())
                    .collect();
                versions.sort();
                versions.pop()
            });
        found.filter(|bin| bin.join("pg_basebackup").exists())
    }

    /// A new primary: `initdb` (trust authentication, replication allowed from
    /// loopback, as initdb writes it), started on a free loopback port.
    pub fn primary() -> Result<PgCluster, String> {
        let bin = Self::binaries().ok_or("the PostgreSQL server binaries are not installed")?;
        let mut cluster = PgCluster {
            dir: temp_dir()?,
            bin,
            port: free_port()?,
            running: false,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
        )?;
        cluster.start()?;
        Ok(cluster)
    }

    /// A streaming replica of this cluster, started on a port of its own.
    pub fn replica(&self) -> Result<PgCluster, String> {
        let mut replica = PgCluster {
            dir: temp_dir()?,
            bin: self.bin.clone(),
            port: free_port()?,
            running: false,
        };
        let data = replica.data();
        replica.run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-D",
                &data,
                "-X",
                "stream",
                "-R",
                "--checkpoint=fast",
                "--no-sync",
            ],
        )?;
        replica.start()?;
        Ok(replica)
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Runs one SQL command with `psql` on `database`, returning its output.
    pub fn sql(&self, database: &str, sql: &str) -> Result<String, String> {
        let out = self.run(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                database,
                "-Atqc",
                sql,
            ],
        )?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&mut self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        )?;
        self.running = true;
        Ok(())
    }

    /// Stops the server at once (`-m immediate`, as a crash would).
    pub fn stop(&mut self) -> Result<(), String> {
        if self.running {
            self.running = false;
            self.run(
                "pg_ctl",
                &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
            )?;
        }
        Ok(())
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// Runs one of the server's programs, as `postgres` when this process is root.
    fn run(&self, program: &str, args: &[&str]) -> Result<Output, String> {
        let path = self.bin.join(program);
        let output = as_server_user(&path, args)
            .output()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if output.status.success() {
            Ok(output)
        } else {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            Err(format!(
                "{program} {}: {}\n{}\n{}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr),
                log.lines().rev().take(20).collect::<Vec<_>>().join("\n")
            ))
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether this process runs as root (its real user id, from `/proc`).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1))
            == Some("0")
    })
}

fn as_server_user(program: &Path, args: &[&str]) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command
            .args(["-u", "postgres", "--"])
            .arg(program)
            .args(args);
        command
    } else {
        let mut command = Command::new(program);
        command.args(args);
        command
    }
}

/// A new directory the server's user owns.
fn temp_dir() -> Result<PathBuf, String> {
    let out = as_server_user(Path::new("mktemp"), &["-d", "-t", "hangar-pg-XXXXXX"])
        .output()
        .map_err(|e| format!("mktemp: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "mktemp as the PostgreSQL user: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}
