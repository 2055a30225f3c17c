//! Rule versions over event time. A rules path is one file or a directory of `*.toml` files,
//! each a complete rule set; a transaction is scored by the version whose `effective_from` is
//! the latest at or before its event time, so replays and every instance agree whatever the
//! wall clock says.

use super::{invalid, RuleSet, RulesError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::watch;

/// The rules the pipeline reads: replaced whole when the rules path changes.
pub type RulesFeed = watch::Receiver<Arc<RuleBook>>;

/// Every loaded rules version, ordered by effective time.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleBook {
    /// Never empty; a version without `effective_from` can only be the first.
    versions: Vec<RuleSet>,
}

impl RuleBook {
    /// Orders `versions` by effective time and checks they can be told apart.
    pub fn new(mut versions: Vec<RuleSet>) -> Result<RuleBook, RulesError> {
        if versions.is_empty() {
            return Err(invalid("version", "no rules files found"));
        }
        versions.sort_by_key(|rules| rules.effective_from);
        for pair in versions.windows(2) {
            if pair[0].effective_from == pair[1].effective_from {
                return Err(invalid(
                    "effective_from",
                    format!(
                        "versions {} and {} take effect at the same time",
                        pair[0].version, pair[1].version
                    ),
                ));
            }
        }
        let mut names: Vec<&str> = versions
            .iter()
            .map(|rules| rules.version.as_str())
            .collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(invalid(
                "version",
                format!("`{}` is used by two rules files", pair[0]),
            ));
        }
        Ok(RuleBook { versions })
    }

    /// Loads a rules file, or every `*.toml` file of a directory.
    pub fn load(path: &Path) -> Result<RuleBook, RulesError> {
        RuleBook::parse(&read_sources(path)?)
    }

    /// Parses and validates rules files already read, given as (path, text).
    pub fn parse(sources: &[(PathBuf, String)]) -> Result<RuleBook, RulesError> {
        RuleBook::new(
            sources
                .iter()
                .map(|(path, text)| {
                    RuleSet::from_toml(text).map_err(|source| RulesError::InFile {
                        path: path.display().to_string(),
                        source: Box::new(source),
                    })
                })
                .collect::<Result<_, _>>()?,
        )
    }

    /// The version in force at event time `at`: the latest that took effect at or before it,
    /// or the earliest when `at` precedes them all.
    pub fn in_force_at(&self, at: OffsetDateTime) -> &RuleSet {
        let later = self
            .versions
            .partition_point(|rules| rules.effective_from.is_none_or(|from| from <= at));
        &self.versions[later.saturating_sub(1)]
    }

    /// The version with the latest effective time.
    pub fn latest(&self) -> &RuleSet {
        self.versions.last().expect("a rule book is never empty")
    }

    /// Every version, earliest first.
    pub fn versions(&self) -> &[RuleSet] {
        &self.versions
    }

    /// A feed that never changes, for replays, demos and tests.
    pub fn fixed(self) -> RulesFeed {
        watch::channel(Arc::new(self)).1
    }
}

impl From<RuleSet> for RuleBook {
    fn from(rules: RuleSet) -> Self {
        RuleBook {
            versions: vec![rules],
        }
    }
}

/// The rules files `path` names (itself, or the `*.toml` files in it, sorted by name) with
/// their text.
pub(super) fn read_sources(path: &Path) -> Result<Vec<(PathBuf, String)>, RulesError> {
    let read_error = |path: &Path| {
        let path = path.display().to_string();
        move |source| RulesError::Read { path, source }
    };
    let mut files = Vec::new();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).map_err(read_error(path))? {
            let file = entry.map_err(read_error(path))?.path();
            if file.extension().is_some_and(|ext| ext == "toml") && file.is_file() {
                files.push(file);
            }
        }
        files.sort();
    } else {
        files.push(path.to_owned());
    }
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).map_err(read_error(&file))?;
            Ok((file, text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn version(name: &str, from: Option<OffsetDateTime>) -> RuleSet {
        RuleSet {
            version: name.into(),
            effective_from: from,
            ..RuleSet::embedded_default()
        }
    }

    #[test]
    fn the_version_in_force_follows_event_time() {
        let book = RuleBook::new(vec![
            version("v3", Some(datetime!(2026-12-01 0:00 UTC))),
            version("v1", None),
            version("v2", Some(datetime!(2026-11-01 0:00 UTC))),
        ])
        .unwrap();
        let at = |t| book.in_force_at(t).version.as_str();
        assert_eq!(at(datetime!(2026-10-31 23:59:59 UTC)), "v1");
        assert_eq!(at(datetime!(2026-11-01 0:00 UTC)), "v2");
        assert_eq!(at(datetime!(2026-11-30 23:59:59.999 UTC)), "v2");
        assert_eq!(at(datetime!(2027-01-01 0:00 UTC)), "v3");
        assert_eq!(book.latest().version, "v3");
    }

    #[test]
    fn before_every_effective_time_the_earliest_version_scores() {
        let book =
            RuleBook::new(vec![version("v2", Some(datetime!(2026-11-01 0:00 UTC)))]).unwrap();
        assert_eq!(
            book.in_force_at(datetime!(2020-01-01 0:00 UTC)).version,
            "v2"
        );
    }

    #[test]
    fn versions_must_be_distinguishable() {
        let same_time = RuleBook::new(vec![version("a", None), version("b", None)]);
        assert!(same_time
            .unwrap_err()
            .to_string()
            .contains("effective_from"));
        let same_name = RuleBook::new(vec![
            version("a", None),
            version("a", Some(datetime!(2026-11-01 0:00 UTC))),
        ]);
        assert!(same_name.unwrap_err().to_string().contains("`a`"));
    }
}
