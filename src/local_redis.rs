//! A throwaway `redis-server` on a free loopback port, for the benchmark and the tests.
//! It persists nothing and is killed when dropped.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct LocalRedis {
    child: Child,
    port: u16,
}

#[derive(Debug, thiserror::Error)]
pub enum LocalRedisError {
    #[error("cannot start redis-server (is it installed and on PATH?): {0}")]
    Spawn(std::io::Error),
    #[error("redis-server on port {0} did not answer within 10 s")]
    NotReady(u16),
}

impl LocalRedis {
    /// Starts `redis-server` on a free port and waits until it answers.
    pub fn start() -> Result<LocalRedis, LocalRedisError> {
        Self::start_with(&[])
    }

    /// Starts `redis-server` with extra arguments (e.g. `--cluster-enabled yes`).
    pub fn start_with(extra: &[&str]) -> Result<LocalRedis, LocalRedisError> {
        let port = free_port().map_err(LocalRedisError::Spawn)?;
        let child = Command::new("redis-server")
            .args([
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
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(LocalRedisError::Spawn)?;
        let server = LocalRedis { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if server.answers() {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(LocalRedisError::NotReady(port))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
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
    }
}

/// A port that was free a moment ago.
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
