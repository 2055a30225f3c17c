//! `txscore run` as a child process, for the tests that kill it (SIGKILL: no shutdown code
//! runs) and start it again: its config file, its environment, and waiting for it.

use super::Broker;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_txscore");

/// A directory holding a config file that names `broker`'s topics, a rules file, and the
/// service's log; removed when dropped.
pub struct ServiceFiles {
    pub directory: PathBuf,
    pub config: PathBuf,
}

impl ServiceFiles {
    /// `top` is TOML placed before the first table: top-level keys, or dotted ones such as
    /// `kafka.exactly_once = true`.
    pub fn write(name: &str, broker: &Broker, rules: &str, top: &str) -> ServiceFiles {
        let directory = std::env::temp_dir().join(format!(
            "txscore-{name}-{}-{}",
            std::process::id(),
            broker.group
        ));
        std::fs::create_dir_all(&directory).expect("service directory");
        let rules_path = directory.join("rules.toml");
        std::fs::write(&rules_path, rules).expect("rules file");
        let config = directory.join("txscore.toml");
        std::fs::write(
            &config,
            format!(
                "rules = {:?}\n{top}\n{}[pipeline]\nmax_batch = 40\nretry_budget_secs = 60\n",
                rules_path.display().to_string(),
                super::topics_table(&broker.topics),
            ),
        )
        .expect("config file");
        ServiceFiles { directory, config }
    }
}

impl Drop for ServiceFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// One `txscore run` process.
pub struct Service {
    child: Child,
    pub metrics_addr: String,
}

impl Service {
    /// Starts `txscore run` on `files` against `broker` and `redis_url`, with `env` on top.
    pub fn start(
        files: &ServiceFiles,
        broker: &Broker,
        redis_url: &str,
        env: &[(&str, &str)],
    ) -> Service {
        let metrics_addr = free_addr();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(files.directory.join("txscore.log"))
            .expect("service log");
        let child = Command::new(BINARY)
            .args(["run", "--config"])
            .arg(&files.config)
            .env("TXSCORE_BROKERS", &broker.brokers)
            .env("TXSCORE_GROUP_ID", &broker.group)
            .env("TXSCORE_REDIS_URL", redis_url)
            .env("TXSCORE_METRICS_ADDR", &metrics_addr)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("txscore run starts");
        Service {
            child,
            metrics_addr,
        }
    }

    /// Kills the process with SIGKILL and reaps it.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// Sends SIGTERM and waits (bounded) for the exit status.
    pub fn terminate(mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "txscore did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (bounded) for the process to end by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "txscore still running after {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process's exit status if it has already exited (it should not have).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `txscore <args> --config <files' config>` to its end, with the environment a
/// [`Service`] gets, and returns what it printed.
pub fn command(
    files: &ServiceFiles,
    broker: &Broker,
    redis_url: &str,
    args: &[&str],
) -> std::process::Output {
    Command::new(BINARY)
        .args(args)
        .arg("--config")
        .arg(&files.config)
        .env("TXSCORE_BROKERS", &broker.brokers)
        .env("TXSCORE_GROUP_ID", &broker.group)
        .env("TXSCORE_REDIS_URL", redis_url)
        .output()
        .expect("txscore runs")
}

/// The service's log so far, for failure messages.
pub fn log_of(files: &ServiceFiles) -> String {
    std::fs::read_to_string(files.directory.join("txscore.log")).unwrap_or_default()
}

fn free_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("free port");
    listener.local_addr().expect("address").to_string()
}

/// A seeded xorshift64: enough randomness to choose kill points, and repeatable.
pub struct Random {
    seed: u64,
    state: u64,
}

impl Random {
    /// Seeded from TXSCORE_TEST_SEED, else the clock.
    pub fn from_env() -> Random {
        let seed = std::env::var("TXSCORE_TEST_SEED")
            .ok()
            .and_then(|seed| seed.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|elapsed| elapsed.as_nanos() as u64)
                    .unwrap_or(1)
            })
            | 1;
        Random { seed, state: seed }
    }

    /// How to repeat this run, for failure messages.
    pub fn context(&self) -> String {
        format!("TXSCORE_TEST_SEED={}", self.seed)
    }

    pub fn below(&mut self, bound: u64) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state % bound
    }
}

/// Messages the service has finished, from its /metrics; `None` while it cannot answer.
fn messages_done(service: &Service) -> Option<u64> {
    let (_, body) = super::http_get(&service.metrics_addr, "/metrics", &[])?;
    let total = body
        .lines()
        .filter(|line| line.starts_with("txscore_messages_total{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>();
    Some(total as u64)
}

/// Starts `txscore run` `kills` times, killing each run with SIGKILL once it has finished a
/// random number of messages: mid-batch, between the store write and the publish, between the
/// acknowledgements and the offset commit.
pub fn kill_repeatedly(
    files: &ServiceFiles,
    broker: &Broker,
    redis_url: &str,
    env: &[(&str, &str)],
    kills: usize,
    random: &mut Random,
    context: &str,
) {
    for _ in 0..kills {
        let service = Service::start(files, broker, redis_url, env);
        let target = 20 + random.below(600);
        let deadline = Instant::now() + Duration::from_secs(90);
        while messages_done(&service).is_none_or(|done| done < target) {
            assert!(
                Instant::now() < deadline,
                "{context}: no progress to {target} messages; log:\n{}",
                log_of(files)
            );
            std::thread::sleep(Duration::from_millis(1 + random.below(20)));
        }
        service.kill();
    }
}

/// [`kill_repeatedly`], then one more run that works the input topic off: it must still be up
/// once the group has consumed everything, and stop cleanly on SIGTERM.
pub fn kill_repeatedly_then_finish(
    files: &ServiceFiles,
    broker: &Broker,
    redis_url: &str,
    env: &[(&str, &str)],
    kills: usize,
    random: &mut Random,
    context: &str,
) {
    kill_repeatedly(files, broker, redis_url, env, kills, random, context);
    let mut service = Service::start(files, broker, redis_url, env);
    broker.wait_consumed(&broker.topics.transactions);
    assert!(
        service.exited().is_none(),
        "{context}: the last run is still up; log:\n{}",
        log_of(files)
    );
    let status = service.terminate();
    assert!(status.success(), "{context}: clean exit, got {status}");
}
