//! A throwaway PostgreSQL server: `initdb` into a temporary folder, listening on a free loopback
//! port only, run as a non-root user (PostgreSQL refuses root: as root the tests run it as the
//! `postgres` user, or `nobody`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A running server.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    user: Option<String>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Addresses it listens on besides 127.0.0.1.
    also_on: Vec<String>,
}

/// The server programs: `ZKROLLUP_PG_BIN`, or the newest `/usr/lib/postgresql/*/bin`, or PATH.
fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("ZKROLLUP_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, p): &(u32, PathBuf)| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p).unwrap_or_default()
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Postgres {
    /// Make a cluster and start it, on loopback only.
    pub fn start() -> Postgres {
        Postgres::start_also_on(&[], "")
    }

    /// Make a cluster and start it, listening on loopback and on `addresses` too, trusting
    /// clients from `clients` (a CIDR such as `10.1.2.0/24`): the test's own network only.
    pub fn start_also_on(addresses: &[&str], clients: &str) -> Postgres {
        let bin = bin_dir();
        assert!(
            bin.join("initdb").exists() || bin.as_os_str().is_empty(),
            "no PostgreSQL server programs in {}: set ZKROLLUP_PG_BIN",
            bin.display()
        );
        let user = is_root().then(|| {
            let known = |u: &str| Command::new("id").arg(u).output().map(|o| o.status.success()).unwrap_or(false);
            if known("postgres") { "postgres" } else { "nobody" }.to_string()
        });
        let dir = tempfile::tempdir().unwrap();
        if user.is_some() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let also_on = addresses.iter().map(|a| a.to_string()).collect();
        let pg = Postgres { dir, bin, user, port: free_port(), also_on };
        if let Some(u) = &pg.user {
            assert!(Command::new("chown").args([u.as_str(), data.to_str().unwrap()]).status().unwrap().success());
        }
        let out = pg.command("initdb").args(["-D", data.to_str().unwrap(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]).output().unwrap();
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        if !clients.is_empty() {
            use std::io::Write;
            let mut hba = std::fs::OpenOptions::new().append(true).open(data.join("pg_hba.conf")).unwrap();
            writeln!(hba, "host all all {clients} trust").unwrap();
        }
        pg.pg_ctl_start();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A server program, run as the non-root user when the tests run as root.
    fn command(&self, program: &str) -> Command {
        let path = if self.bin.as_os_str().is_empty() { PathBuf::from(program) } else { self.bin.join(program) };
        match &self.user {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn pg_ctl_start(&self) {
        let log = self.data().join("server.log");
        let listen = std::iter::once("127.0.0.1").chain(self.also_on.iter().map(String::as_str)).collect::<Vec<_>>().join(",");
        let options = format!("-p {} -c listen_addresses={listen} -c unix_socket_directories=''", self.port);
        let out = self
            .command("pg_ctl")
            .args(["start", "-D", self.data().to_str().unwrap(), "-l", log.to_str().unwrap(), "-o", &options])
            .output()
            .unwrap();
        assert!(out.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&out.stderr));
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(300), "PostgreSQL does not listen: {}", tail(&log));
            std::thread::sleep(Duration::from_millis(50));
        }
        // Listening comes a moment before accepting logins.
        while !Command::new(self.bin.join("pg_isready")).args(["-h", "127.0.0.1", "-p", &self.port.to_string()]).output().map(|o| o.status.success()).unwrap_or(true) {
            assert!(start.elapsed() < Duration::from_secs(300), "PostgreSQL does not accept connections: {}", tail(&log));
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stop it at once (`immediate`: as if killed; it recovers from its log on start).
    pub fn stop(&self) {
        let _ = self.command("pg_ctl").args(["stop", "-D", self.data().to_str().unwrap(), "-m", "immediate"]).output();
    }

    /// Stop it at once and start it again on the same port.
    pub fn restart(&self) {
        self.stop();
        self.pg_ctl_start();
    }

    /// Its connection URL.
    pub fn url(&self) -> String {
        self.url_at("127.0.0.1")
    }

    /// Its connection URL at one of its addresses.
    pub fn url_at(&self, address: &str) -> String {
        format!("postgres://postgres@{address}:{}/postgres", self.port)
    }
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}
