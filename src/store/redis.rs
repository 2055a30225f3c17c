//! The Redis store: documents are hashes (`version`, `data`), reads are one pipelined HMGET per
//! key, and each write group is one call of a compare-and-set Lua script, all groups pipelined.
//! `redis-cli HGETALL <key>` shows a document's version and its JSON.

use super::{GroupOutcome, StateStore, StoreError, Versioned, WriteGroup};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, ServerErrorKind};
use std::time::Duration;

const CAS_SCRIPT: &str = include_str!("cas.lua");

/// A Redis-backed store over one auto-reconnecting multiplexed connection.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    script: redis::Script,
}

impl RedisStore {
    /// Connects to `url` (`redis://` or `rediss://`, credentials in the URL) and loads the
    /// compare-and-set script.
    pub async fn connect(url: &str, response_timeout: Duration) -> Result<RedisStore, StoreError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(response_timeout))
            .set_connection_timeout(Some(response_timeout))
            .set_number_of_retries(2);
        let connection = ConnectionManager::new_with_config(client, config).await?;
        let store = RedisStore {
            connection,
            script: redis::Script::new(CAS_SCRIPT),
        };
        store.load_script().await?;
        Ok(store)
    }

    async fn load_script(&self) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        let hash: String = redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(CAS_SCRIPT)
            .query_async(&mut connection)
            .await?;
        if hash != self.script.get_hash() {
            return Err(StoreError::Protocol(format!(
                "SCRIPT LOAD returned {hash}, expected {}",
                self.script.get_hash()
            )));
        }
        Ok(())
    }

    fn cas_pipeline(&self, groups: &[WriteGroup]) -> redis::Pipeline {
        let mut pipeline = redis::pipe();
        for group in groups {
            let command = pipeline
                .cmd("EVALSHA")
                .arg(self.script.get_hash())
                .arg(group.writes.len() + group.appends.len());
            for write in &group.writes {
                command.arg(&write.key);
            }
            for append in &group.appends {
                command.arg(&append.key);
            }
            command.arg(group.writes.len());
            for write in &group.writes {
                let ttl_ms = write.ttl.map_or(0, |ttl| ttl.as_millis());
                command
                    .arg(write.expected_version)
                    .arg(&write.data)
                    .arg(ttl_ms.to_string());
            }
            for append in &group.appends {
                command
                    .arg(append.entries.len())
                    .arg(append.keep)
                    .arg(&append.entries);
            }
            for (key, value) in &group.index {
                pipeline.cmd("SET").arg(key).arg(value).ignore();
            }
        }
        pipeline
    }
}

impl StateStore for RedisStore {
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Versioned>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipeline = redis::pipe();
        for key in keys {
            pipeline.cmd("HMGET").arg(key).arg("version").arg("data");
        }
        let mut connection = self.connection.clone();
        let rows: Vec<(Option<u64>, Option<String>)> =
            pipeline.query_async(&mut connection).await?;
        Ok(rows
            .into_iter()
            .map(|row| match row {
                (Some(version), Some(data)) => Some(Versioned { version, data }),
                _ => None,
            })
            .collect())
    }

    async fn apply(&self, groups: &[WriteGroup]) -> Result<Vec<GroupOutcome>, StoreError> {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let pipeline = self.cas_pipeline(groups);
        let mut connection = self.connection.clone();
        let answers: Vec<usize> = match pipeline.query_async(&mut connection).await {
            Err(error) if error.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                // The server lost its scripts (restart, failover, SCRIPT FLUSH). Nothing was
                // written by a call that failed this way, so load and send again.
                self.load_script().await?;
                pipeline.query_async(&mut connection).await?
            }
            other => other?,
        };
        answers
            .into_iter()
            .zip(groups)
            .map(|(answer, group)| match answer {
                0 => Ok(GroupOutcome::Applied),
                index => group
                    .writes
                    .get(index - 1)
                    .map(|write| GroupOutcome::Conflict {
                        key: write.key.clone(),
                    })
                    .ok_or_else(|| {
                        StoreError::Protocol(format!("script returned key index {index}"))
                    }),
            })
            .collect()
    }

    async fn get_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut connection = self.connection.clone();
        Ok(redis::cmd("GET")
            .arg(key)
            .query_async(&mut connection)
            .await?)
    }

    async fn list_head(&self, key: &str, count: usize) -> Result<Vec<String>, StoreError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let mut connection = self.connection.clone();
        Ok(redis::cmd("LRANGE")
            .arg(key)
            .arg(0)
            .arg(count - 1)
            .query_async(&mut connection)
            .await?)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await?;
        Ok(())
    }
}
