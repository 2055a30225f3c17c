//! What each message of a bench run cost the machine: CPU of this process, and of that the
//! share of the Kafka client's own threads and of the embedded broker's thread when that is the
//! broker in use (infrastructure, like Redis, not txscore's own work), CPU of Redis, and what
//! Redis did for it (commands, counting those a script runs, and bytes received). Throughput on
//! a shared machine moves from run to run; these move much less, so they show where a change
//! saved work even when the rate cannot.

use redis::aio::ConnectionLike;
use std::time::Duration;

/// Counters read before and after a run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counters {
    /// CPU time of this process, all threads.
    pub process_cpu: Option<Duration>,
    /// CPU time of the Kafka client's threads (network, delivery reports).
    pub client_cpu: Option<Duration>,
    /// CPU time of the threads of this process that serve the embedded broker.
    pub broker_cpu: Option<Duration>,
    /// CPU time of the Redis server.
    pub redis_cpu: Option<Duration>,
    /// Commands Redis has run, those called from scripts included.
    pub redis_commands: Option<u64>,
    /// Bytes Redis has received from its clients.
    pub redis_bytes_in: Option<u64>,
}

/// Reads the counters now. One that cannot be read is left out, not guessed.
pub async fn read(redis: &mut impl ConnectionLike) -> Counters {
    let info = |section: &'static str| redis::cmd("INFO").arg(section).to_owned();
    let cpu: Option<String> = info("cpu").query_async(redis).await.ok();
    let commands: Option<String> = info("commandstats").query_async(redis).await.ok();
    let stats: Option<String> = info("stats").query_async(redis).await.ok();
    Counters {
        process_cpu: process_cpu(),
        client_cpu: threads_cpu(KAFKA_CLIENT_THREADS),
        broker_cpu: threads_cpu(&[EMBEDDED_BROKER_THREAD]),
        redis_cpu: cpu.as_deref().and_then(redis_cpu),
        redis_commands: commands.as_deref().map(redis_commands),
        redis_bytes_in: stats
            .as_deref()
            .and_then(|stats| info_field(stats, "total_net_input_bytes")?.parse().ok()),
    }
}

/// The `cost` line: each counter's growth from `before` to `after`, per message.
pub fn line(before: &Counters, after: &Counters, messages: usize) -> String {
    let messages = messages.max(1) as f64;
    let grown = |from: Option<f64>, to: Option<f64>| Some((to? - from?) / messages);
    let seconds = |cpu: Option<Duration>| cpu.map(|cpu| cpu.as_secs_f64());
    let count = |count: Option<u64>| count.map(|count| count as f64);
    let micros = |value: Option<f64>| value.map_or("n/a".into(), |v| format!("{:.1} µs", v * 1e6));
    let part = |from: Option<Duration>, to: Option<Duration>, what: &str| {
        grown(seconds(from), seconds(to))
            .filter(|part| *part > 0.0)
            .map(|part| format!("{} {what}", micros(Some(part))))
    };
    let parts: Vec<String> = [
        part(before.client_cpu, after.client_cpu, "Kafka client threads"),
        part(before.broker_cpu, after.broker_cpu, "the embedded broker"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let shares = if parts.is_empty() {
        String::new()
    } else {
        format!(" (of it {})", parts.join(", "))
    };
    format!(
        "per message: {} CPU of this process{shares}, {} CPU of Redis, {} Redis commands, {} sent \
         to Redis",
        micros(grown(
            seconds(before.process_cpu),
            seconds(after.process_cpu)
        )),
        micros(grown(seconds(before.redis_cpu), seconds(after.redis_cpu))),
        grown(count(before.redis_commands), count(after.redis_commands))
            .map_or("n/a".into(), |v| format!("{v:.1}")),
        grown(count(before.redis_bytes_in), count(after.redis_bytes_in))
            .map_or("n/a".into(), |v| format!("{v:.0} bytes")),
    )
}

/// This process's user and system time, from `/proc` (Linux; `None` elsewhere).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    process_cpu_of(&stat)
}

/// The name librdkafka gives the thread of a mock cluster, which is the embedded broker.
const EMBEDDED_BROKER_THREAD: &str = "rdk:mock";

/// How the Kafka client's threads are named: librdkafka's per-broker and main threads, and the
/// thread that serves the producer's delivery reports (its name cut to the kernel's 15 bytes).
const KAFKA_CLIENT_THREADS: &[&str] = &["rdk:broker", "rdk:main", "producer pollin"];

/// User and system time of this process's live threads whose name starts with one of
/// `prefixes`, from `/proc` (Linux; `None` elsewhere). A thread that has exited is no longer
/// counted, so this suits threads that outlive what is measured: the pipeline's clients and
/// the embedded broker do.
fn threads_cpu(prefixes: &[&str]) -> Option<Duration> {
    let mut total = Duration::ZERO;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let path = task.path();
        let named = std::fs::read_to_string(path.join("comm"))
            .is_ok_and(|name| prefixes.iter().any(|prefix| name.starts_with(prefix)));
        if named {
            total += std::fs::read_to_string(path.join("stat"))
                .ok()
                .and_then(|stat| process_cpu_of(&stat))
                .unwrap_or_default();
        }
    }
    Some(total)
}

/// User plus system time from a `/proc/<pid>/stat` line, in the kernel's fixed 100 ticks a
/// second. The command name (second field) may hold spaces, so fields count from its `)`.
fn process_cpu_of(stat: &str) -> Option<Duration> {
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((user + system) * 10))
}

/// Redis's own CPU time from `INFO cpu`.
fn redis_cpu(info: &str) -> Option<Duration> {
    let seconds = |field| info_field(info, field)?.parse::<f64>().ok();
    let total = seconds("used_cpu_user")? + seconds("used_cpu_sys")?;
    Duration::try_from_secs_f64(total).ok()
}

/// Calls of every command from `INFO commandstats`.
fn redis_commands(info: &str) -> u64 {
    info.lines()
        .filter(|line| line.starts_with("cmdstat_"))
        .filter_map(|line| {
            let (_, stats) = line.split_once(':')?;
            let calls = stats
                .split(',')
                .find_map(|stat| stat.strip_prefix("calls="))?;
            calls.parse::<u64>().ok()
        })
        .sum()
}

/// The value of `field` in an `INFO` answer (`field:value` lines).
fn info_field<'a>(info: &'a str, field: &str) -> Option<&'a str> {
    info.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        (name == field).then_some(value.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_cpu_reads_user_and_system_ticks_after_a_name_with_spaces() {
        let stat = "4242 (tx score) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 9";
        assert_eq!(process_cpu_of(stat), Some(Duration::from_millis(3000)));
        assert_eq!(process_cpu_of("4242 (txscore) S 1 2"), None);
    }

    #[test]
    fn thread_cpu_counts_only_the_threads_named() {
        let enough = Duration::from_millis(100);
        let (done, stop) = std::sync::mpsc::channel::<()>();
        let (spun, spinning) = std::sync::mpsc::channel();
        let spinner = std::thread::Builder::new()
            .name("cost-spin".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                while started.elapsed() < Duration::from_secs(10)
                    && threads_cpu(&["cost-spin"]).is_some_and(|spent| spent < enough)
                {
                    std::hint::black_box((0..10_000u64).sum::<u64>());
                }
                spun.send(()).unwrap();
                stop.recv().unwrap();
            })
            .unwrap();
        spinning.recv().unwrap();
        let spin = threads_cpu(&["cost-spin"]).unwrap();
        let none = threads_cpu(&["no-such-thread", "cost-spin-not"]).unwrap();
        let process = process_cpu().unwrap();
        done.send(()).unwrap();
        spinner.join().unwrap();
        assert!(spin >= enough, "{spin:?}");
        assert!(spin <= process, "{spin:?} of {process:?}");
        assert_eq!(none, Duration::ZERO);
    }

    #[test]
    fn redis_answers_are_read_field_by_field() {
        let cpu = "# CPU\r\nused_cpu_sys:0.500000\r\nused_cpu_user:1.250000\r\n";
        assert_eq!(redis_cpu(cpu), Some(Duration::from_millis(1750)));
        let commands = "# Commandstats\r\ncmdstat_hget:calls=120,usec=90,usec_per_call=0.75\r\n\
                        cmdstat_evalsha:calls=3,usec=900,usec_per_call=300.00\r\n";
        assert_eq!(redis_commands(commands), 123);
        let stats = "total_net_input_bytes:9000\r\ntotal_net_output_bytes:12\r\n";
        assert_eq!(info_field(stats, "total_net_input_bytes"), Some("9000"));
        assert_eq!(info_field(stats, "total_net"), None);
    }

    #[test]
    fn the_line_divides_growth_by_messages_and_says_what_it_could_not_read() {
        let before = Counters {
            process_cpu: Some(Duration::from_secs(1)),
            client_cpu: Some(Duration::ZERO),
            broker_cpu: Some(Duration::ZERO),
            redis_cpu: None,
            redis_commands: Some(100),
            redis_bytes_in: Some(1_000),
        };
        let after = Counters {
            process_cpu: Some(Duration::from_secs(3)),
            client_cpu: Some(Duration::from_millis(700)),
            broker_cpu: Some(Duration::from_millis(500)),
            redis_cpu: Some(Duration::from_secs(1)),
            redis_commands: Some(1_100),
            redis_bytes_in: Some(251_000),
        };
        assert_eq!(
            line(&before, &after, 1_000),
            "per message: 2000.0 µs CPU of this process (of it 700.0 µs Kafka client threads, \
             500.0 µs the embedded broker), n/a CPU of Redis, 1.0 Redis commands, 250 bytes sent \
             to Redis"
        );
        let elsewhere = Counters {
            broker_cpu: Some(Duration::ZERO),
            ..after
        };
        assert!(
            line(&before, &elsewhere, 1_000).starts_with(
                "per message: 2000.0 µs CPU of this process (of it 700.0 µs Kafka client \
                 threads), n/a"
            ),
            "a broker outside the process is not mentioned"
        );
    }
}
