//! A message-level network model between numbered nodes.
//!
//! Routes are one-way `(from, to)` pairs, each with a latency distribution
//! (lognormal from median and p99, or constant), a loss probability and a
//! state. States express the faults the model needs: one-way partitions and
//! blackholes drop messages; `DefaultBackend` delivers them to "whatever
//! answers when routing is wrong", which the domain model turns into an HTTP
//! 404. Every setting can be changed at any simulated time; the caller decides
//! when (usually from the fault schedule).
//!
//! The kernel knows nothing of HTTP: [`Delivery::DefaultBackend`] is only a
//! hook.

use crate::rng::Stream;
use crate::time::{SimDuration, SimTime};
use std::collections::BTreeMap;

pub type NodeId = u32;

/// How long a message takes on a route.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Latency {
    Constant(SimDuration),
    /// Lognormal given by its median and 99th percentile, in microseconds.
    LogNormal {
        median_us: f64,
        p99_us: f64,
    },
}

impl Latency {
    fn sample(&self, rng: &mut Stream) -> SimDuration {
        match *self {
            Latency::Constant(d) => d,
            Latency::LogNormal { median_us, p99_us } => {
                SimDuration::from_micros(rng.lognormal(median_us, p99_us).round() as u64)
            }
        }
    }
}

/// The state of a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteState {
    Up,
    /// Messages vanish without an answer (the sender sees a timeout).
    Blackholed,
    /// Like a blackhole but set by a partition: kept apart so `repair`
    /// of a partition does not lift an unrelated blackhole and vice versa.
    Partitioned,
    /// Messages reach a default backend instead of their destination.
    DefaultBackend,
}

#[derive(Clone, Debug)]
struct Route {
    latency: Latency,
    loss: f64,
    state: RouteState,
}

/// What happened to one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Arrives at the destination at `at`.
    Deliver { at: SimTime },
    /// Never arrives (loss, blackhole or partition).
    Dropped,
    /// Arrives at the default backend at `at` (the caller answers for it).
    DefaultBackend { at: SimTime },
}

/// The network: routes with their latency, loss and state.
#[derive(Clone, Debug)]
pub struct Network {
    default_latency: Latency,
    routes: BTreeMap<(NodeId, NodeId), Route>,
}

impl Network {
    /// A network where unknown routes are up, lossless, with `default_latency`.
    pub fn new(default_latency: Latency) -> Self {
        Network {
            default_latency,
            routes: BTreeMap::new(),
        }
    }

    fn route_mut(&mut self, from: NodeId, to: NodeId) -> &mut Route {
        let latency = self.default_latency;
        self.routes.entry((from, to)).or_insert(Route {
            latency,
            loss: 0.0,
            state: RouteState::Up,
        })
    }

    /// Sets the latency of the one-way route `from -> to`.
    pub fn set_latency(&mut self, from: NodeId, to: NodeId, latency: Latency) -> &mut Self {
        self.route_mut(from, to).latency = latency;
        self
    }

    /// Sets the loss probability (0..=1) of `from -> to`.
    pub fn set_loss(&mut self, from: NodeId, to: NodeId, loss: f64) -> &mut Self {
        assert!(
            (0.0..=1.0).contains(&loss),
            "loss must be within 0..=1, got {loss}"
        );
        self.route_mut(from, to).loss = loss;
        self
    }

    /// Drops everything `from -> to` until `unblackhole`.
    pub fn blackhole(&mut self, from: NodeId, to: NodeId) -> &mut Self {
        self.route_mut(from, to).state = RouteState::Blackholed;
        self
    }

    /// Lifts a blackhole on `from -> to` (a partition stays).
    pub fn unblackhole(&mut self, from: NodeId, to: NodeId) -> &mut Self {
        let r = self.route_mut(from, to);
        if r.state == RouteState::Blackholed {
            r.state = RouteState::Up;
        }
        self
    }

    /// One-way partition: `from` can no longer reach `to`; `to -> from` is untouched.
    pub fn partition_one_way(&mut self, from: NodeId, to: NodeId) -> &mut Self {
        self.route_mut(from, to).state = RouteState::Partitioned;
        self
    }

    /// Partition in both directions.
    pub fn partition(&mut self, a: NodeId, b: NodeId) -> &mut Self {
        self.partition_one_way(a, b).partition_one_way(b, a)
    }

    /// Heals a partition between `a` and `b` in both directions.
    pub fn repair(&mut self, a: NodeId, b: NodeId) -> &mut Self {
        for (x, y) in [(a, b), (b, a)] {
            let r = self.route_mut(x, y);
            if r.state == RouteState::Partitioned {
                r.state = RouteState::Up;
            }
        }
        self
    }

    /// Sends `from -> to` traffic to the default backend (`true`) or back to its destination.
    pub fn set_default_backend(&mut self, from: NodeId, to: NodeId, on: bool) -> &mut Self {
        let r = self.route_mut(from, to);
        if on {
            r.state = RouteState::DefaultBackend;
        } else if r.state == RouteState::DefaultBackend {
            r.state = RouteState::Up;
        }
        self
    }

    pub fn state(&self, from: NodeId, to: NodeId) -> RouteState {
        self.routes
            .get(&(from, to))
            .map_or(RouteState::Up, |r| r.state)
    }

    /// Decides the fate of one message sent at `now`, drawing from `rng`.
    pub fn send(&self, now: SimTime, from: NodeId, to: NodeId, rng: &mut Stream) -> Delivery {
        let (latency, loss, state) = match self.routes.get(&(from, to)) {
            Some(r) => (r.latency, r.loss, r.state),
            None => (self.default_latency, 0.0, RouteState::Up),
        };
        match state {
            RouteState::Blackholed | RouteState::Partitioned => Delivery::Dropped,
            RouteState::DefaultBackend => Delivery::DefaultBackend {
                at: now + latency.sample(rng),
            },
            RouteState::Up => {
                if rng.bernoulli(loss) {
                    Delivery::Dropped
                } else {
                    Delivery::Deliver {
                        at: now + latency.sample(rng),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Seed;

    #[test]
    fn faults_change_delivery_and_heal() {
        let mut rng = Seed(1).fork("net-test", 0);
        let mut net = Network::new(Latency::Constant(SimDuration::from_millis(5)));
        let t = SimTime::from_secs(10);
        assert_eq!(
            net.send(t, 1, 2, &mut rng),
            Delivery::Deliver {
                at: t + SimDuration::from_millis(5)
            }
        );
        net.partition_one_way(1, 2);
        assert_eq!(net.send(t, 1, 2, &mut rng), Delivery::Dropped);
        assert!(matches!(
            net.send(t, 2, 1, &mut rng),
            Delivery::Deliver { .. }
        ));
        net.repair(1, 2);
        assert!(matches!(
            net.send(t, 1, 2, &mut rng),
            Delivery::Deliver { .. }
        ));
        net.blackhole(1, 2);
        net.repair(1, 2); // a repair does not lift a blackhole
        assert_eq!(net.send(t, 1, 2, &mut rng), Delivery::Dropped);
        net.unblackhole(1, 2);
        net.set_default_backend(1, 2, true);
        assert!(matches!(
            net.send(t, 1, 2, &mut rng),
            Delivery::DefaultBackend { .. }
        ));
        net.set_default_backend(1, 2, false);
        assert_eq!(net.state(1, 2), RouteState::Up);
    }

    #[test]
    fn loss_rate_and_latency_distribution() {
        let mut rng = Seed(2).fork("net-test", 1);
        let mut net = Network::new(Latency::LogNormal {
            median_us: 120_000.0,
            p99_us: 600_000.0,
        });
        net.set_loss(1, 2, 0.25);
        let n = 100_000;
        let mut delays = Vec::with_capacity(n);
        let mut dropped = 0;
        for _ in 0..n {
            match net.send(SimTime::ZERO, 1, 2, &mut rng) {
                Delivery::Deliver { at } => delays.push(at.as_micros()),
                Delivery::Dropped => dropped += 1,
                Delivery::DefaultBackend { .. } => unreachable!(),
            }
        }
        let loss = dropped as f64 / n as f64;
        assert!((loss - 0.25).abs() < 0.01, "loss {loss}");
        delays.sort_unstable();
        let median = delays[delays.len() / 2] as f64;
        assert!((median / 120_000.0 - 1.0).abs() < 0.03, "median {median}");
    }
}
