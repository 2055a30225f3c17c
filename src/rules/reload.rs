//! Rules changed while running: the rules path is read again on SIGHUP and every poll
//! interval (a Kubernetes ConfigMap update arrives as changed files, with no signal). A new
//! book that validates replaces the old one for every batch that starts after it; a bad one is
//! logged with the field at fault and counted, and the old rules keep running.

use super::book::read_sources;
use super::{RuleBook, RulesError, RulesFeed};
use crate::telemetry::events;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// What a check of the rules path found.
#[derive(Debug, PartialEq, Eq)]
pub enum ReloadOutcome {
    Unchanged,
    /// The files changed and now hold this version.
    Applied {
        latest_version: String,
    },
}

/// Watches one rules path and publishes each valid new book.
pub struct Reloader {
    path: PathBuf,
    /// Whether these are the live rules, shown in `txscore_rules_info` (not a shadow version).
    live: bool,
    /// Hash of the files as last read, valid or not, so a bad file is reported once.
    fingerprint: u64,
    sender: watch::Sender<Arc<RuleBook>>,
}

impl Reloader {
    /// Loads `path` and returns the reloader with the feed the pipeline reads.
    pub fn start(path: &Path) -> Result<(Reloader, RulesFeed), RulesError> {
        let sources = read_sources(path)?;
        let book = RuleBook::parse(&sources)?;
        let (sender, feed) = watch::channel(Arc::new(book));
        let reloader = Reloader {
            path: path.to_owned(),
            live: true,
            fingerprint: fingerprint(&sources),
            sender,
        };
        Ok((reloader, feed))
    }

    /// Marks these as shadow rules: their versions stay out of `txscore_rules_info`.
    pub fn shadow(mut self) -> Self {
        self.live = false;
        self
    }

    /// Reads the path again; publishes the rules if they changed and validate.
    pub fn check(&mut self) -> Result<ReloadOutcome, RulesError> {
        let sources = read_sources(&self.path)?;
        let seen = fingerprint(&sources);
        if seen == self.fingerprint {
            return Ok(ReloadOutcome::Unchanged);
        }
        self.fingerprint = seen;
        let book = RuleBook::parse(&sources)?;
        let latest_version = book.latest().version.clone();
        let previous = self.sender.send_replace(Arc::new(book));
        if self.live {
            events::rules_in_force(&latest_version, Some(&previous.latest().version));
        }
        Ok(ReloadOutcome::Applied { latest_version })
    }

    /// Checks every `interval` and on SIGHUP until the feed has no readers left.
    pub async fn run(mut self, interval: Duration) {
        let mut hangup = hangup_signals();
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {},
                _ = hangup.recv() => tracing::info!("SIGHUP: reading the rules again"),
                _ = self.sender.closed() => return,
            }
            match self.check() {
                Ok(ReloadOutcome::Unchanged) => {}
                Ok(ReloadOutcome::Applied { latest_version }) => {
                    events::rules_reloaded(true);
                    tracing::info!(version = %latest_version, path = %self.path.display(), "rules reloaded");
                }
                Err(error) => {
                    events::rules_reloaded(false);
                    tracing::error!(%error, "new rules rejected; the previous rules stay in force");
                }
            }
        }
    }
}

fn fingerprint(sources: &[(PathBuf, String)]) -> u64 {
    let mut hasher = DefaultHasher::new();
    sources.hash(&mut hasher);
    hasher.finish()
}

/// SIGHUP as a stream of wake-ups (never on platforms without it).
fn hangup_signals() -> tokio::sync::mpsc::Receiver<()> {
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    #[cfg(unix)]
    if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        tokio::spawn(async move {
            while signal.recv().await.is_some() {
                if sender.send(()).await.is_err() {
                    return;
                }
            }
        });
    }
    #[cfg(not(unix))]
    drop(sender);
    receiver
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::DEFAULT_RULES;

    fn rules_with_version(version: &str) -> String {
        DEFAULT_RULES.replace(
            "version = \"2026.11-1\"",
            &format!("version = \"{version}\""),
        )
    }

    #[test]
    fn a_valid_change_is_published_and_a_bad_one_keeps_the_old_rules() {
        let dir = std::env::temp_dir().join(format!("txscore-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("rules.toml");
        std::fs::write(&file, rules_with_version("r1")).unwrap();
        let (mut reloader, feed) = Reloader::start(&file).unwrap();
        assert_eq!(reloader.check().unwrap(), ReloadOutcome::Unchanged);

        std::fs::write(&file, rules_with_version("r2")).unwrap();
        let outcome = reloader.check().unwrap();
        assert_eq!(
            outcome,
            ReloadOutcome::Applied {
                latest_version: "r2".into()
            }
        );
        assert_eq!(feed.borrow().latest().version, "r2");

        std::fs::write(
            &file,
            rules_with_version("r3").replace("max_count = 5", "max_count = -5"),
        )
        .unwrap();
        let error = reloader.check().unwrap_err().to_string();
        assert!(error.contains("max_count"), "{error}");
        assert_eq!(feed.borrow().latest().version, "r2");
        assert_eq!(reloader.check().unwrap(), ReloadOutcome::Unchanged);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
