//! The cloud node-pool API: create, delete and scale pools per cluster, with
//! latencies, a mutating-call rate limit per cloud account and optional
//! delete locks (guard G6: deleting a locked pool answers 409).
//!
//! A call returns at once with a [`CloudReply`]; an accepted operation
//! completes later, at the time the reply names, when the driver calls
//! [`CloudApi::complete`]. Each pool carries an operation token so that a
//! completion superseded by a newer operation is ignored.

use crate::protocol::{ClusterId, PoolName};
use crate::protocol::{PoolState, POOLS};
use crate::types::{check_at_least, check_positive, check_ratio};
use cascade_sim::{SimDuration, SimTime, Stream};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Cloud API parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CloudConfig {
    /// Median time to create a node pool. [A: spec 8 min]
    pub create_latency_median_s: f64,
    /// 99th percentile of pool creation. \[A]
    pub create_latency_p99_s: f64,
    /// Median time to delete a node pool. [A: spec 4 min]
    pub delete_latency_median_s: f64,
    /// 99th percentile of pool deletion. \[A]
    pub delete_latency_p99_s: f64,
    /// Median time to scale a pool (to zero or back). \[A]
    pub scale_latency_median_s: f64,
    /// Mutating calls per second per cloud account (token bucket, burst = 1 s). [A: spec 10/s]
    pub mutating_calls_per_account_per_s: f64,
    /// Share of accepted creates that fail when they complete. [A: 0 historically; chaos raises it]
    pub create_failure_ratio: f64,
}

impl Default for CloudConfig {
    fn default() -> Self {
        CloudConfig {
            create_latency_median_s: 480.0,
            create_latency_p99_s: 1_200.0,
            delete_latency_median_s: 240.0,
            delete_latency_p99_s: 600.0,
            scale_latency_median_s: 60.0,
            mutating_calls_per_account_per_s: 10.0,
            create_failure_ratio: 0.0,
        }
    }
}

impl CloudConfig {
    pub fn validate(&self) -> Result<(), String> {
        for (name, median, p99) in [
            (
                "create_latency",
                self.create_latency_median_s,
                self.create_latency_p99_s,
            ),
            (
                "delete_latency",
                self.delete_latency_median_s,
                self.delete_latency_p99_s,
            ),
        ] {
            let median_name = format!("{name}_median_s");
            check_positive(&median_name, median)?;
            check_at_least(
                &format!("{name}_p99_s"),
                p99,
                (median_name.as_str(), median),
            )?;
        }
        check_positive("scale_latency_median_s", self.scale_latency_median_s)?;
        check_positive(
            "mutating_calls_per_account_per_s",
            self.mutating_calls_per_account_per_s,
        )?;
        check_ratio("create_failure_ratio", self.create_failure_ratio)
    }
}

/// A mutating call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloudCall {
    Create { nodes: u16 },
    Delete,
    ScaleToZero,
}

/// The immediate answer to a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloudReply {
    /// Accepted; call `complete(cluster, pool, op)` at `done_at`.
    Accepted { done_at: SimTime, op: u32 },
    /// 429: the account's mutating-call budget is spent; retry after `retry_at`.
    RateLimited { retry_at: SimTime },
    /// 409: the pool carries a delete lock (G6).
    Locked,
    /// 409: another operation on the pool is in flight, or the call makes no
    /// sense in the pool's state (create of a present pool).
    Conflict,
}

/// What a completion did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    Created,
    CreateFailed,
    Deleted,
    Scaled,
    /// Superseded by a later operation: nothing happened.
    Stale,
}

#[derive(Clone, Copy, Debug)]
struct TokenBucket {
    tokens: f64,
    at: SimTime,
}

#[derive(Clone, Copy, Debug, Default)]
struct PendingOp {
    op: u32,
    call: Option<CloudCall>,
}

/// The cloud's view of every cluster's pools.
pub struct CloudApi {
    cfg: CloudConfig,
    pools: Vec<[PoolState; POOLS]>,
    pending: Vec<[PendingOp; POOLS]>,
    account_of: Vec<u32>,
    buckets: Vec<TokenBucket>,
    locks: bool,
    latency_factor: f64,
    next_op: u32,
    rng: Stream,
    /// Calls refused for the rate limit (report figure).
    pub rate_limited_calls: u64,
    /// Deletes refused by locks (report figure).
    pub locked_deletes: u64,
}

impl CloudApi {
    /// `account_of[cluster]` names each cluster's cloud account.
    pub fn new(cfg: CloudConfig, account_of: Vec<u32>, accounts: u32, rng: Stream) -> Self {
        let n = account_of.len();
        let burst = cfg.mutating_calls_per_account_per_s;
        CloudApi {
            cfg,
            pools: vec![[PoolState::Absent; POOLS]; n],
            pending: vec![[PendingOp::default(); POOLS]; n],
            account_of,
            buckets: vec![
                TokenBucket {
                    tokens: burst,
                    at: SimTime::ZERO,
                };
                accounts as usize
            ],
            locks: false,
            latency_factor: 1.0,
            next_op: 1,
            rng,
            rate_limited_calls: 0,
            locked_deletes: 0,
        }
    }

    /// Puts a pool in place without a call (the world's initial state).
    pub fn provision(&mut self, cluster: ClusterId, pool: PoolName, nodes: u16) {
        self.pools[cluster as usize][pool.index()] = PoolState::Present { nodes };
    }

    /// Turns delete locks on `system` and `airflow` on or off (G6).
    pub fn set_delete_locks(&mut self, on: bool) {
        self.locks = on;
    }

    /// Scales every pool operation's latency (chaos: latency spikes).
    pub fn set_latency_factor(&mut self, factor: f64) {
        self.latency_factor = factor.max(0.0);
    }

    /// Sets the mutating-call budget per account (chaos: rate-limit errors).
    pub fn set_calls_per_s(&mut self, rate: f64) {
        self.cfg.mutating_calls_per_account_per_s = rate.max(0.001);
    }

    pub fn delete_locks(&self) -> bool {
        self.locks
    }

    pub fn set_create_failure_ratio(&mut self, ratio: f64) {
        self.cfg.create_failure_ratio = ratio.clamp(0.0, 1.0);
    }

    pub fn pools(&self, cluster: ClusterId) -> &[PoolState; POOLS] {
        &self.pools[cluster as usize]
    }

    fn take_token(&mut self, now: SimTime, account: u32) -> Result<(), SimTime> {
        let rate = self.cfg.mutating_calls_per_account_per_s;
        let b = &mut self.buckets[account as usize];
        let elapsed = now.saturating_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(rate);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(now + SimDuration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }

    /// Makes a mutating call at `now`.
    pub fn call(
        &mut self,
        now: SimTime,
        cluster: ClusterId,
        pool: PoolName,
        call: CloudCall,
    ) -> CloudReply {
        let (c, i) = (cluster as usize, pool.index());
        let state = self.pools[c][i];
        let busy = matches!(state, PoolState::Creating | PoolState::Deleting);
        if busy {
            return CloudReply::Conflict;
        }
        match call {
            CloudCall::Delete | CloudCall::ScaleToZero if state == PoolState::Absent => {
                return CloudReply::Conflict
            }
            CloudCall::Delete if self.locks && pool.is_protected() => {
                self.locked_deletes += 1;
                return CloudReply::Locked;
            }
            CloudCall::Create { nodes } => match state {
                PoolState::Present { nodes: n } if n == nodes => return CloudReply::Conflict,
                _ => {}
            },
            _ => {}
        }
        if let Err(retry_at) = self.take_token(now, self.account_of[c]) {
            self.rate_limited_calls += 1;
            return CloudReply::RateLimited { retry_at };
        }
        let latency_s = match (call, state) {
            (CloudCall::Create { .. }, PoolState::Absent) => self.rng.lognormal(
                self.cfg.create_latency_median_s,
                self.cfg.create_latency_p99_s,
            ),
            (CloudCall::Delete, _) => self.rng.lognormal(
                self.cfg.delete_latency_median_s,
                self.cfg.delete_latency_p99_s,
            ),
            // Scaling an existing pool (to zero, or back up).
            _ => self.rng.lognormal(
                self.cfg.scale_latency_median_s,
                3.0 * self.cfg.scale_latency_median_s,
            ),
        };
        let latency_s = latency_s * self.latency_factor;
        let op = self.next_op;
        self.next_op = self.next_op.wrapping_add(1);
        self.pending[c][i] = PendingOp {
            op,
            call: Some(call),
        };
        self.pools[c][i] = match (call, state) {
            (CloudCall::Create { .. }, PoolState::Absent) => PoolState::Creating,
            (CloudCall::Delete, _) => PoolState::Deleting,
            (_, s) => s,
        };
        CloudReply::Accepted {
            done_at: now + SimDuration::from_secs_f64(latency_s),
            op,
        }
    }

    /// An accepted operation reaches its completion time.
    pub fn complete(&mut self, cluster: ClusterId, pool: PoolName, op: u32) -> Completion {
        let (c, i) = (cluster as usize, pool.index());
        let p = self.pending[c][i];
        if p.op != op {
            return Completion::Stale;
        }
        self.pending[c][i] = PendingOp::default();
        match p.call {
            Some(CloudCall::Create { nodes }) => {
                if self.pools[c][i] == PoolState::Creating
                    && self.rng.bernoulli(self.cfg.create_failure_ratio)
                {
                    self.pools[c][i] = PoolState::Absent;
                    return Completion::CreateFailed;
                }
                self.pools[c][i] = PoolState::Present { nodes };
                Completion::Created
            }
            Some(CloudCall::Delete) => {
                self.pools[c][i] = PoolState::Absent;
                Completion::Deleted
            }
            Some(CloudCall::ScaleToZero) => {
                self.pools[c][i] = PoolState::Present { nodes: 0 };
                Completion::Scaled
            }
            None => Completion::Stale,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cascade_sim::Seed;

    fn api(rate: f64) -> CloudApi {
        let cfg = CloudConfig {
            mutating_calls_per_account_per_s: rate,
            ..CloudConfig::default()
        };
        CloudApi::new(cfg, vec![0; 100], 1, Seed(1).fork("cloud", 0))
    }

    #[test]
    fn create_then_complete() {
        let mut cloud = api(10.0);
        let r = cloud.call(
            SimTime::ZERO,
            0,
            PoolName::System,
            CloudCall::Create { nodes: 3 },
        );
        let CloudReply::Accepted { done_at, op } = r else {
            panic!("{r:?}")
        };
        assert!(done_at > SimTime::from_secs(30));
        assert_eq!(cloud.pools(0)[0], PoolState::Creating);
        assert_eq!(
            cloud.call(SimTime::ZERO, 0, PoolName::System, CloudCall::Delete),
            CloudReply::Conflict
        );
        assert_eq!(cloud.complete(0, PoolName::System, op), Completion::Created);
        assert_eq!(cloud.pools(0)[0], PoolState::Present { nodes: 3 });
        assert_eq!(cloud.complete(0, PoolName::System, op), Completion::Stale);
    }

    #[test]
    fn account_rate_limit_answers_429_past_its_budget() {
        let mut cloud = api(10.0);
        let mut accepted = 0;
        let mut limited = 0;
        for c in 0..30 {
            match cloud.call(
                SimTime::ZERO,
                c,
                PoolName::Airflow,
                CloudCall::Create { nodes: 3 },
            ) {
                CloudReply::Accepted { .. } => accepted += 1,
                CloudReply::RateLimited { retry_at } => {
                    assert!(retry_at > SimTime::ZERO);
                    limited += 1
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!((accepted, limited), (10, 20));
        assert_eq!(cloud.rate_limited_calls, 20);
        // One second later the bucket is full again.
        let r = cloud.call(
            SimTime::from_secs(1),
            50,
            PoolName::Airflow,
            CloudCall::Create { nodes: 3 },
        );
        assert!(matches!(r, CloudReply::Accepted { .. }));
    }

    #[test]
    fn delete_locks_protect_system_and_airflow() {
        let mut cloud = api(100.0);
        for p in [PoolName::System, PoolName::Airflow, PoolName::WorkerDefault] {
            cloud.provision(0, p, 3);
        }
        cloud.set_delete_locks(true);
        assert_eq!(
            cloud.call(SimTime::ZERO, 0, PoolName::System, CloudCall::Delete),
            CloudReply::Locked
        );
        assert_eq!(
            cloud.call(SimTime::ZERO, 0, PoolName::Airflow, CloudCall::Delete),
            CloudReply::Locked
        );
        assert!(matches!(
            cloud.call(SimTime::ZERO, 0, PoolName::WorkerDefault, CloudCall::Delete),
            CloudReply::Accepted { .. }
        ));
        assert_eq!(cloud.locked_deletes, 2);
    }
}
