//! One Redis server: reads are one pipelined HMGET per key, and write groups go to the
//! compare-and-set script up to [`GROUPS_PER_CALL`] in a call, everything in a call pipelined
//! into one round trip.

use super::cas::{self, CAS_SCRIPT};
use super::{GroupOutcome, ScanCursor, StoreError, Versioned, WriteGroup};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, ServerErrorKind};
use std::time::Duration;

/// Write groups per script call: enough to spread the call's fixed cost, few enough that one
/// call holds the server for well under a millisecond.
pub const GROUPS_PER_CALL: usize = 32;

/// A store on one server over one auto-reconnecting multiplexed connection.
#[derive(Clone)]
pub struct NodeStore {
    connection: ConnectionManager,
    script: redis::Script,
}

impl NodeStore {
    /// Connects to `url` (`redis://` or `rediss://`, credentials in the URL) and loads the
    /// compare-and-set script.
    pub async fn connect(url: &str, response_timeout: Duration) -> Result<NodeStore, StoreError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(response_timeout))
            .set_connection_timeout(Some(response_timeout))
            .set_number_of_retries(2);
        let connection = ConnectionManager::new_with_config(client, config).await?;
        let store = NodeStore {
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
        for chunk in groups.chunks(GROUPS_PER_CALL) {
            let (keys, args) = cas::script_call(chunk);
            pipeline
                .cmd("EVALSHA")
                .arg(self.script.get_hash())
                .arg(keys.len())
                .arg(keys)
                .arg(args);
        }
        for (key, value) in groups.iter().flat_map(|group| &group.index) {
            pipeline.cmd("SET").arg(key).arg(value).ignore();
        }
        pipeline
    }

    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Versioned>>, StoreError> {
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

    pub async fn apply(&self, groups: &[WriteGroup]) -> Result<Vec<GroupOutcome>, StoreError> {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let pipeline = self.cas_pipeline(groups);
        let mut connection = self.connection.clone();
        let answers: Vec<Vec<usize>> = match pipeline.query_async(&mut connection).await {
            Err(error) if error.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                // The server lost its scripts (restart, failover, SCRIPT FLUSH). Nothing was
                // written by a call that failed this way, so load and send again.
                self.load_script().await?;
                pipeline.query_async(&mut connection).await?
            }
            other => other?,
        };
        cas::outcomes(&answers.concat(), groups)
    }

    pub async fn scan(
        &self,
        pattern: &str,
        cursor: ScanCursor,
    ) -> Result<(Vec<String>, Option<ScanCursor>), StoreError> {
        let (next, keys) = scan_page(&mut self.connection(), pattern, cursor.position).await?;
        Ok((
            keys,
            (next != 0).then_some(ScanCursor {
                node: 0,
                position: next,
            }),
        ))
    }

    /// A handle on the connection, for single-key commands.
    pub fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }
}

/// Keys per SCAN call: large enough to keep round trips few, small enough not to stall Redis.
pub const SCAN_PAGE: usize = 1000;

/// One SCAN call: the next position (0 when done) and the keys found.
pub async fn scan_page(
    connection: &mut impl redis::aio::ConnectionLike,
    pattern: &str,
    position: u64,
) -> Result<(u64, Vec<String>), StoreError> {
    Ok(redis::cmd("SCAN")
        .arg(position)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(SCAN_PAGE)
        .query_async(connection)
        .await?)
}
