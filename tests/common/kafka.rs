//! Apache Kafka for the integration suite: a single-node KRaft broker (the real broker and
//! controller, from Maven Central) on free loopback ports, started from `tests/kafka/pom.xml`'s
//! copy of its jars. One broker is shared by the tests of a test binary; a test that restarts
//! or kills its broker starts its own.
//!
//! A watchdog process kills a broker whose test process has gone and removes its directory,
//! so a run, aborted or not, leaves no JVM and no data behind.

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Where the broker's jars are copied (`mvn -f tests/kafka/pom.xml dependency:copy-dependencies`).
fn libs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kafka/target/libs")
}

/// The jars, fetched with Maven on first use (once per machine: later runs find them).
fn ensure_libs() -> PathBuf {
    static FETCHED: OnceLock<PathBuf> = OnceLock::new();
    FETCHED
        .get_or_init(|| {
            let libs = libs();
            if !libs.join(".complete").exists() {
                let pom = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kafka/pom.xml");
                let status = Command::new("mvn")
                    .args(["-q", "-B", "-f"])
                    .arg(&pom)
                    .arg("dependency:copy-dependencies")
                    .status()
                    .expect("Maven fetches Apache Kafka for the integration tests (install maven and a Java 17 JDK)");
                assert!(status.success(), "mvn could not fetch Apache Kafka: {status}");
                std::fs::write(libs.join(".complete"), b"").expect("mark the jars complete");
            }
            libs
        })
        .clone()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// One running (or stopped) Apache Kafka broker.
pub struct ApacheKafka {
    directory: PathBuf,
    port: u16,
    child: Option<Child>,
}

static STARTED: AtomicU32 = AtomicU32::new(0);

impl ApacheKafka {
    /// The broker shared by this test binary's tests (they use distinct topics).
    pub fn shared() -> &'static ApacheKafka {
        static SHARED: OnceLock<ApacheKafka> = OnceLock::new();
        SHARED.get_or_init(ApacheKafka::start)
    }

    /// A broker of one's own, formatted afresh and stopped when dropped.
    pub fn start() -> ApacheKafka {
        let directory = std::env::temp_dir().join(format!(
            "txscore-kafka-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).expect("broker directory");
        let (port, controller) = (free_port(), free_port());
        std::fs::write(
            directory.join("server.properties"),
            server_properties(&directory, port, controller),
        )
        .expect("server.properties");
        let formatted = java(&directory)
            .args(["kafka.tools.StorageTool", "format", "--standalone"])
            .args(["--cluster-id", "4Hh2CMe6Q2-1pUvXhw0N0A"])
            .arg("--config")
            .arg(directory.join("server.properties"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("java runs (install a Java 17 JDK)");
        assert!(formatted.success(), "kafka-storage format failed");
        let mut broker = ApacheKafka {
            directory,
            port,
            child: None,
        };
        broker.resume();
        broker
    }

    /// `host:port` for clients.
    pub fn bootstrap_servers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the broker (SIGKILL: no controlled shutdown) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker again on its old ports and data, and waits until it serves metadata.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "broker already running");
        let log = std::fs::File::create(self.directory.join("broker.log")).expect("broker log");
        let child = java(&self.directory)
            .arg("kafka.Kafka")
            .arg(self.directory.join("server.properties"))
            .stdout(log.try_clone().expect("broker log"))
            .stderr(log)
            .spawn()
            .expect("java runs (install a Java 17 JDK)");
        watch(child.id(), &self.directory);
        self.child = Some(child);
        self.wait_until_serving();
    }

    fn wait_until_serving(&self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        let client: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap_servers())
            .create()
            .expect("metadata client");
        loop {
            let serving = client
                .fetch_metadata(None, Duration::from_secs(2))
                .is_ok_and(|metadata| !metadata.brokers().is_empty());
            if serving {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Apache Kafka did not start within 90 s; see {}",
                self.directory.join("broker.log").display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for ApacheKafka {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// A JVM for Kafka's classes, small enough for several test binaries in a row on a laptop.
fn java(directory: &Path) -> Command {
    let mut command = Command::new("java");
    command
        .args(["-Xms128m", "-Xmx512m", "-XX:+UseSerialGC"])
        .arg(format!(
            "-Dkafka.logs.dir={}",
            directory.join("logs").display()
        ))
        .arg("-cp")
        .arg(format!("{}/*", ensure_libs().display()))
        .current_dir(directory);
    command
}

/// Kills `broker` and removes its `directory` once this test process has exited, however it
/// exited (the shared broker is never dropped). A broker that exits first (a kill or restart
/// test) ends the watch and keeps its directory.
fn watch(broker: u32, directory: &Path) {
    let script = "while kill -0 \"$1\" 2>/dev/null && kill -0 \"$2\" 2>/dev/null; do sleep 1; done; \
                  if ! kill -0 \"$1\" 2>/dev/null; then kill -9 \"$2\" 2>/dev/null; rm -rf \"$3\"; fi";
    let mut watchdog = Command::new("sh")
        .args(["-c", script, "watchdog"])
        .arg(std::process::id().to_string())
        .arg(broker.to_string())
        .arg(directory)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sh runs");
    // Reaped when the broker goes first (a restart test), so it leaves no zombie.
    std::thread::spawn(move || watchdog.wait());
}

/// A single node that is broker and controller, tuned for tests: no rebalance delay, small
/// internal topics (fast to create on two cores), every topic created explicitly.
fn server_properties(directory: &Path, port: u16, controller: u16) -> String {
    format!(
        "process.roles=broker,controller\n\
         node.id=1\n\
         controller.quorum.bootstrap.servers=127.0.0.1:{controller}\n\
         listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}\n\
         advertised.listeners=PLAINTEXT://127.0.0.1:{port}\n\
         controller.listener.names=CONTROLLER\n\
         listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n\
         inter.broker.listener.name=PLAINTEXT\n\
         log.dirs={}\n\
         auto.create.topics.enable=false\n\
         offsets.topic.replication.factor=1\n\
         offsets.topic.num.partitions=4\n\
         transaction.state.log.replication.factor=1\n\
         transaction.state.log.min.isr=1\n\
         transaction.state.log.num.partitions=4\n\
         group.initial.rebalance.delay.ms=0\n\
         num.network.threads=2\n\
         num.io.threads=4\n",
        directory.join("data").display()
    )
}
