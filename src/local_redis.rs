//! Throwaway Redis for the benchmark and the tests: one `redis-server` on a free loopback port,
//! or a cluster of several. Each works in a directory of its own, persists nothing unless told
//! to, and is killed (its directory removed) when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub struct LocalRedis {
    child: Child,
    port: u16,
    /// Set for a server that only speaks TLS and requires this password.
    tls_password: Option<String>,
    /// Its working directory (and a TLS server's certificate), removed on drop.
    directory: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LocalRedisError {
    #[error("cannot start redis-server (is it installed and on PATH?): {0}")]
    Spawn(std::io::Error),
    #[error("redis-server on port {0} did not answer within 10 s")]
    NotReady(u16),
    #[error("cannot form a cluster: {0}")]
    Cluster(String),
    #[error("redis command failed: {0}")]
    Command(String),
    #[error("openssl could not make a self-signed certificate (is openssl installed?)")]
    Certificate,
}

impl LocalRedis {
    /// Starts `redis-server` on a free port and waits until it answers.
    pub fn start() -> Result<LocalRedis, LocalRedisError> {
        Self::start_with(&[])
    }

    /// Starts `redis-server` with extra arguments (e.g. `--cluster-enabled yes`).
    pub fn start_with(extra: &[&str]) -> Result<LocalRedis, LocalRedisError> {
        let port = free_port().map_err(LocalRedisError::Spawn)?;
        let directory = fresh_directory()?;
        Self::launch(port, &["--port", &port.to_string()], extra, None, directory)
    }

    /// Starts `redis-server` speaking only TLS (a fresh self-signed certificate made with
    /// `openssl`) and requiring `password`. Its [`url`](Self::url) is `rediss://` with the
    /// password and `#insecure`, as the certificate is signed by nobody a client trusts.
    pub fn start_tls(password: &str) -> Result<LocalRedis, LocalRedisError> {
        let directory = fresh_directory()?;
        let (cert, key) = (directory.join("cert.pem"), directory.join("key.pem"));
        let made = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(LocalRedisError::Spawn)?;
        if !made.success() {
            return Err(LocalRedisError::Certificate);
        }
        let port = free_port().map_err(LocalRedisError::Spawn)?;
        let (cert, key) = (cert.display().to_string(), key.display().to_string());
        let tls = [
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--tls-cert-file",
            &cert,
            "--tls-key-file",
            &key,
            "--tls-ca-cert-file",
            &cert,
            "--tls-auth-clients",
            "no",
            "--requirepass",
            password,
        ];
        Self::launch(port, &tls, &[], Some(password.to_owned()), directory)
    }

    fn launch(
        port: u16,
        listen: &[&str],
        extra: &[&str],
        tls_password: Option<String>,
        directory: PathBuf,
    ) -> Result<LocalRedis, LocalRedisError> {
        let child = Command::new("redis-server")
            .args(listen)
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&directory)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(LocalRedisError::Spawn)?;
        let server = LocalRedis {
            child,
            port,
            tls_password,
            directory,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if server.answers() {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(LocalRedisError::NotReady(port))
    }

    /// Writes the dataset as it is now to `file` (an RDB snapshot, as `SAVE` makes).
    pub fn snapshot(&self, file: &Path) -> Result<(), LocalRedisError> {
        let saved = redis::Client::open(self.url())
            .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(2)))
            .and_then(|mut connection| redis::cmd("SAVE").exec(&mut connection));
        saved.map_err(|error| LocalRedisError::Command(error.to_string()))?;
        std::fs::copy(self.directory.join("dump.rdb"), file).map_err(LocalRedisError::Spawn)?;
        Ok(())
    }

    /// Kills the server (SIGKILL, as a crash would) and starts another on the same port in a
    /// new directory, with an empty dataset or the one in `snapshot` (a file
    /// [`Self::snapshot`] wrote). Plain servers only, not TLS ones.
    pub fn restart(&mut self, snapshot: Option<&Path>) -> Result<(), LocalRedisError> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let directory = fresh_directory()?;
        if let Some(file) = snapshot {
            std::fs::copy(file, directory.join("dump.rdb")).map_err(LocalRedisError::Spawn)?;
        }
        let port = self.port.to_string();
        *self = Self::launch(self.port, &["--port", &port], &[], None, directory)?;
        Ok(())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        match &self.tls_password {
            None => format!("redis://127.0.0.1:{}/", self.port),
            Some(password) => format!("rediss://:{password}@127.0.0.1:{}/#insecure", self.port),
        }
    }

    fn answers(&self) -> bool {
        redis::Client::open(self.url())
            .and_then(|client| client.get_connection_with_timeout(Duration::from_millis(200)))
            .and_then(|mut connection| redis::cmd("PING").query::<String>(&mut connection))
            .is_ok()
    }
}

impl Drop for LocalRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// A Redis Cluster of masters only (no replicas), each a [`LocalRedis`], slots spread evenly.
pub struct LocalRedisCluster {
    nodes: Vec<LocalRedis>,
}

impl LocalRedisCluster {
    /// Starts `masters` cluster-enabled servers, joins them with `redis-cli --cluster create`
    /// and waits until every node reports the cluster healthy.
    pub fn start(masters: usize) -> Result<LocalRedisCluster, LocalRedisError> {
        let mut cluster = LocalRedisCluster { nodes: Vec::new() };
        for _ in 0..masters {
            // The bus port defaults to the client port + 10000, which may not exist.
            let bus = free_port().map_err(LocalRedisError::Spawn)?.to_string();
            cluster.nodes.push(LocalRedis::start_with(&[
                "--cluster-enabled",
                "yes",
                "--cluster-port",
                &bus,
            ])?);
        }
        let addresses: Vec<String> = cluster
            .nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect();
        let output = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .map_err(LocalRedisError::Spawn)?;
        if !output.status.success() {
            return Err(LocalRedisError::Cluster(
                String::from_utf8_lossy(&output.stdout).into_owned(),
            ));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while !cluster.nodes.iter().all(LocalRedis::cluster_ok) {
            if Instant::now() > deadline {
                return Err(LocalRedisError::Cluster(
                    "cluster_state did not become ok within 30 s".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(cluster)
    }

    /// Seed URLs of every node, comma-separated (the form `redis.url` takes with
    /// `redis.cluster = true`).
    pub fn url(&self) -> String {
        self.nodes
            .iter()
            .map(LocalRedis::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn nodes(&self) -> &[LocalRedis] {
        &self.nodes
    }
}

impl LocalRedis {
    fn cluster_ok(&self) -> bool {
        redis::Client::open(self.url())
            .and_then(|client| client.get_connection_with_timeout(Duration::from_millis(200)))
            .and_then(|mut connection| {
                redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query::<String>(&mut connection)
            })
            .is_ok_and(|info| info.contains("cluster_state:ok"))
    }
}

/// A port that was free a moment ago.
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A new empty directory for one server.
fn fresh_directory() -> Result<PathBuf, LocalRedisError> {
    static SERVERS: AtomicU32 = AtomicU32::new(0);
    let directory = std::env::temp_dir().join(format!(
        "txscore-redis-{}-{}",
        std::process::id(),
        SERVERS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&directory).map_err(LocalRedisError::Spawn)?;
    Ok(directory)
}
