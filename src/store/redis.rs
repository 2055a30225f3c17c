//! The Redis store: documents are hashes (`version`, `data`) written by a compare-and-set Lua
//! script (`cas.lua`); `redis-cli HGETALL <key>` shows a document's version and its JSON. One
//! server ([`super::redis_node`]) or a Redis Cluster ([`super::redis_cluster`]), as configured.

use super::applied::{self, AppliedMark, Behind, APPLIED_SCRIPT};
use super::claims::{self, Claim, ClaimStep, CLAIMS_SCRIPT};
use super::redis_cluster::ClusterStore;
use super::redis_node::NodeStore;
use super::{GroupOutcome, ScanCursor, StateStore, StoreError, Versioned, WriteGroup};
use futures_util::future::try_join_all;
use std::sync::LazyLock;
use std::time::Duration;

/// The claims script, hashed once.
static CLAIMS: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(CLAIMS_SCRIPT));

/// The applied-positions script, hashed once.
static APPLIED: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(APPLIED_SCRIPT));

#[derive(Clone)]
pub enum RedisStore {
    Node(NodeStore),
    Cluster(ClusterStore),
}

impl RedisStore {
    /// Connects to one server at `url` (`redis://` or `rediss://`, credentials in the URL).
    pub async fn connect(url: &str, response_timeout: Duration) -> Result<RedisStore, StoreError> {
        Ok(RedisStore::Node(
            NodeStore::connect(url, response_timeout).await?,
        ))
    }

    /// Connects to a cluster through any of the comma-separated node URLs in `seeds`.
    pub async fn connect_cluster(
        seeds: &str,
        response_timeout: Duration,
    ) -> Result<RedisStore, StoreError> {
        let seeds: Vec<&str> = seeds.split(',').map(str::trim).collect();
        Ok(RedisStore::Cluster(
            ClusterStore::connect(&seeds, response_timeout).await?,
        ))
    }

    /// A cluster client when `cluster`, else a single-server one.
    pub async fn open(
        url: &str,
        cluster: bool,
        response_timeout: Duration,
    ) -> Result<RedisStore, StoreError> {
        if cluster {
            RedisStore::connect_cluster(url, response_timeout).await
        } else {
            RedisStore::connect(url, response_timeout).await
        }
    }
}

impl StateStore for RedisStore {
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Versioned>>, StoreError> {
        match self {
            RedisStore::Node(store) => store.get_many(keys).await,
            RedisStore::Cluster(store) => store.get_many(keys).await,
        }
    }

    async fn apply(&self, groups: &[WriteGroup]) -> Result<Vec<GroupOutcome>, StoreError> {
        match self {
            RedisStore::Node(store) => store.apply(groups).await,
            RedisStore::Cluster(store) => store.apply(groups).await,
        }
    }

    async fn get_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        let command = redis::cmd("GET").arg(key).to_owned();
        Ok(self.single(command).await?)
    }

    async fn list_head(&self, key: &str, count: usize) -> Result<Vec<String>, StoreError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let command = redis::cmd("LRANGE")
            .arg(key)
            .arg(0)
            .arg(count - 1)
            .to_owned();
        Ok(self.single(command).await?)
    }

    async fn scan(
        &self,
        pattern: &str,
        cursor: ScanCursor,
    ) -> Result<(Vec<String>, Option<ScanCursor>), StoreError> {
        match self {
            RedisStore::Node(store) => store.scan(pattern, cursor).await,
            RedisStore::Cluster(store) => store.scan(pattern, cursor).await,
        }
    }

    /// One script call per claim, sent together: a multiplexed connection pipelines them, and
    /// a cluster routes each to its counter's node.
    async fn claim(&self, claims: &[Claim], step: ClaimStep) -> Result<Vec<i64>, StoreError> {
        let calls = claims.iter().map(|claim| {
            let (keys, args) = claims::script_call(claim, step);
            let mut invocation = CLAIMS.prepare_invoke();
            invocation.key(&keys[..]).arg(&args[..]);
            async move {
                let amount: i64 = match self {
                    RedisStore::Node(store) => {
                        invocation.invoke_async(&mut store.connection()).await?
                    }
                    RedisStore::Cluster(store) => {
                        invocation.invoke_async(&mut store.connection()).await?
                    }
                };
                Ok::<_, StoreError>(amount)
            }
        });
        try_join_all(calls).await
    }

    async fn advance_applied(
        &self,
        key: &str,
        marks: &[AppliedMark],
    ) -> Result<Option<Behind>, StoreError> {
        if marks.is_empty() {
            return Ok(None);
        }
        let mut invocation = APPLIED.prepare_invoke();
        invocation.key(key).arg(applied::script_args(marks));
        let answer: Vec<String> = match self {
            RedisStore::Node(store) => invocation.invoke_async(&mut store.connection()).await?,
            RedisStore::Cluster(store) => invocation.invoke_async(&mut store.connection()).await?,
        };
        Ok(applied::behind(marks, answer))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.single::<String>(redis::cmd("PING")).await?;
        Ok(())
    }
}

impl RedisStore {
    /// Sends one command (routed by its key on a cluster).
    async fn single<T: redis::FromRedisValue>(&self, command: redis::Cmd) -> redis::RedisResult<T> {
        match self {
            RedisStore::Node(store) => command.query_async(&mut store.connection()).await,
            RedisStore::Cluster(store) => command.query_async(&mut store.connection()).await,
        }
    }
}
