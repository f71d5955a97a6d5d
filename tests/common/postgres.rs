//! A throwaway PostgreSQL cluster for the state store's tests: `initdb` and
//! `pg_ctl` (as `nobody` when the tests run as root, which PostgreSQL
//! refuses), listening on a loopback port with password authentication and
//! on a Unix socket in its own directory; stopped and removed when dropped.

use std::path::PathBuf;
use std::process::Command;

/// The newest installed server's programs (Debian's layout; 15 here).
fn bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .expect("PostgreSQL's server is needed: scripts/test.sh installs it")
}

/// The superuser's password of every test cluster.
pub const PASSWORD: &str = "pg-test-secret-31337";

/// A running cluster.
pub struct Postgres {
    dir: PathBuf,
    /// Its loopback port.
    pub port: u16,
}

fn as_owner(program: &str) -> Command {
    let root = uid() == 0;
    let mut c = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "nobody", "--"]).arg(bin().join(program));
        c
    } else {
        Command::new(bin().join(program))
    };
    c.env("LC_ALL", "C");
    c
}

fn uid() -> u32 {
    // The uid of this process, from /proc (no libc in the tests).
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(String::from))
        })
        .and_then(|u| u.parse().ok())
        .unwrap_or(0)
}

fn run(mut c: Command, what: &str) {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Postgres {
    /// Make and start a cluster with a database `drover`.
    pub fn start(name: &str) -> Postgres {
        let dir = std::env::temp_dir().join(format!("drover-pg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("pw"), PASSWORD).unwrap();
        if uid() == 0 {
            run(
                {
                    let mut c = Command::new("chown");
                    c.args(["-R", "nobody:nogroup"]).arg(&dir);
                    c
                },
                "chown",
            );
        }
        let mut init = as_owner("initdb");
        init.arg("-D")
            .arg(dir.join("data"))
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ])
            .arg(format!("--pwfile={}", dir.join("pw").display()));
        run(init, "initdb");
        let port = super::free_port();
        let pg = Postgres { dir, port };
        pg.ctl("start");
        pg.query("postgres", "CREATE DATABASE drover");
        pg
    }

    /// `pg_ctl start` or `stop` (fast); the store goes away and comes back.
    pub fn ctl(&self, action: &str) {
        let mut c = as_owner("pg_ctl");
        c.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-w", "-m", "fast"]);
        if action == "start" {
            c.arg("-o")
                .arg(format!(
                    "-p {} -k {} -c listen_addresses=127.0.0.1",
                    self.port,
                    self.dir.display()
                ))
                .arg("-l")
                .arg(self.dir.join("log"));
        }
        c.arg(action);
        run(c, &format!("pg_ctl {action}"));
    }

    /// One SQL statement's result (`psql -tA`) in database `db`, over the
    /// Unix socket.
    pub fn query(&self, db: &str, sql: &str) -> String {
        let out = Command::new(bin().join("psql"))
            .arg("-h")
            .arg(&self.dir)
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                db,
                "-tAc",
                sql,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The store URL of database `drover` over TCP with the password.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres:{PASSWORD}@127.0.0.1:{}/drover",
            self.port
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let mut c = as_owner("pg_ctl");
        c.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"]);
        let _ = c.output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
