//! A Redis Cluster: the cluster client routes each command to the master of its key's slot.
//! A pipeline may only hold commands for one slot, so reads and writes are pipelined per hash
//! tag (one owner each) and the pipelines sent concurrently; the client multiplexes them over
//! one connection per node, so a batch still costs about one round trip per node.

use super::cas::{self, CAS_SCRIPT};
use super::redis_node::SCAN_PAGE;
use super::{GroupOutcome, ScanCursor, StoreError, Versioned, WriteGroup};
use futures_util::future::try_join_all;
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Clone)]
pub struct ClusterStore {
    connection: ClusterConnection,
    script: redis::Script,
}

impl ClusterStore {
    /// Connects through any of the `seeds` (`redis://` or `rediss://` URLs of cluster nodes).
    pub async fn connect(seeds: &[&str], response_timeout: Duration) -> Result<Self, StoreError> {
        let client = ClusterClient::builder(seeds.iter().copied())
            .response_timeout(response_timeout)
            .connection_timeout(response_timeout)
            .retries(2)
            .build()?;
        Ok(ClusterStore {
            connection: client.get_async_connection().await?,
            script: redis::Script::new(CAS_SCRIPT),
        })
    }

    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Versioned>>, StoreError> {
        let by_tag = by_hash_tag(keys.iter().map(String::as_str));
        let reads = by_tag.values().map(|positions| {
            let mut pipeline = redis::pipe();
            for &position in positions {
                pipeline
                    .cmd("HMGET")
                    .arg(&keys[position])
                    .arg("version")
                    .arg("data");
            }
            let mut connection = self.connection.clone();
            async move {
                let rows: Vec<(Option<u64>, Option<String>)> =
                    pipeline.query_async(&mut connection).await?;
                Ok::<_, StoreError>(rows)
            }
        });
        let answers = try_join_all(reads).await?;
        let mut documents = vec![None; keys.len()];
        for (positions, rows) in by_tag.values().zip(answers) {
            for (&position, row) in positions.iter().zip(rows) {
                if let (Some(version), Some(data)) = row {
                    documents[position] = Some(Versioned { version, data });
                }
            }
        }
        Ok(documents)
    }

    /// One script call per group (each group is one hash tag), all sent concurrently. The
    /// script is loaded on a node the first time a call there finds it missing.
    pub async fn apply(&self, groups: &[WriteGroup]) -> Result<Vec<GroupOutcome>, StoreError> {
        let calls = groups.iter().map(|group| {
            let group = std::slice::from_ref(group);
            let (keys, args) = cas::script_call(group);
            let mut invocation = self.script.prepare_invoke();
            invocation.key(keys).arg(args);
            let mut connection = self.connection.clone();
            async move {
                let answers: Vec<usize> = invocation.invoke_async(&mut connection).await?;
                for (key, value) in &group[0].index {
                    redis::cmd("SET")
                        .arg(key)
                        .arg(value)
                        .exec_async(&mut connection)
                        .await?;
                }
                cas::outcomes(&answers, group)
            }
        });
        Ok(try_join_all(calls).await?.concat())
    }

    /// Scans each master in turn (the node index is a position in the sorted list of master
    /// addresses, read from `CLUSTER NODES` on every call).
    pub async fn scan(
        &self,
        pattern: &str,
        cursor: ScanCursor,
    ) -> Result<(Vec<String>, Option<ScanCursor>), StoreError> {
        let mut connection = self.connection();
        let masters = self.masters().await?;
        let Some((host, port)) = masters.get(cursor.node).cloned() else {
            return Ok((Vec::new(), None));
        };
        let mut scan = redis::cmd("SCAN");
        scan.arg(cursor.position)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(SCAN_PAGE);
        let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress { host, port });
        let answer = connection.route_command(scan, routing).await?;
        let (next, keys): (u64, Vec<String>) = redis::FromRedisValue::from_redis_value(answer)
            .map_err(|error| StoreError::Protocol(format!("SCAN answered: {error}")))?;
        let next = if next != 0 {
            Some(ScanCursor {
                node: cursor.node,
                position: next,
            })
        } else if cursor.node + 1 < masters.len() {
            Some(ScanCursor {
                node: cursor.node + 1,
                position: 0,
            })
        } else {
            None
        };
        Ok((keys, next))
    }

    /// Addresses of the masters, sorted.
    async fn masters(&self) -> Result<Vec<(String, u16)>, StoreError> {
        let nodes: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query_async(&mut self.connection())
            .await?;
        let mut masters: Vec<(String, u16)> = nodes
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let flags = fields.get(2)?;
                if !flags.split(',').any(|flag| flag == "master") || flags.contains("fail") {
                    return None;
                }
                let address = fields.get(1)?.split('@').next()?;
                let (host, port) = address.rsplit_once(':')?;
                Some((host.to_owned(), port.parse().ok()?))
            })
            .collect();
        masters.sort();
        Ok(masters)
    }

    /// A handle on the connection, for single-key commands.
    pub fn connection(&self) -> ClusterConnection {
        self.connection.clone()
    }
}

/// Positions of `keys` grouped by hash tag (the text between the first `{` and the next `}`,
/// or the whole key when it has none), in first-seen order within each group.
fn by_hash_tag<'a>(keys: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, Vec<usize>> {
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (position, key) in keys.enumerate() {
        groups.entry(hash_tag(key)).or_default().push(position);
    }
    groups
}

fn hash_tag(key: &str) -> &str {
    key.find('{')
        .and_then(|open| {
            let close = open + 1 + key[open + 1..].find('}')?;
            (close > open + 1).then(|| &key[open + 1..close])
        })
        .unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_group_by_their_hash_tag() {
        let keys = ["p:{m:1}:a", "p:{m:2}:a", "p:{m:1}:b", "plain", "p:{}:x"];
        let groups = by_hash_tag(keys.into_iter());
        assert_eq!(groups["m:1"], [0, 2]);
        assert_eq!(groups["m:2"], [1]);
        assert_eq!(groups["plain"], [3]);
        assert_eq!(groups["p:{}:x"], [4], "an empty tag hashes the whole key");
    }
}
