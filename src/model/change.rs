//! Change management: the staging and prod environments, the prod change
//! freeze and the environment-isolation switch.
//!
//! Why it is modelled: E9 of the March 2025 chain was "a change meant for
//! staging applied to prod through a change-management gap" during the freeze
//! that followed E8 \[fact]. The gap, as modelled here \[A]: the freeze is
//! judged on the change's *target* environment, while the change is applied
//! with whatever credentials the engineer holds (`applied_via`). Without
//! isolation, an engineer holding prod credentials who targets staging
//! applies to prod, and the freeze never looks at it. With isolation on, a
//! change whose target differs from its credential scope is rejected: prod
//! needs a prod-scoped credential.
//!
//! The manager is sans-IO: it decides, it never applies. An applied change
//! hands its caller-defined payload `P` back, and the caller enacts it.
//!
//! Architecture invariant: with isolation on, no applied change is ever
//! leaked (applied to an environment other than its target); every applied
//! change lands in the log (or in `log_dropped` past `log_max`), so a report
//! can check "only emergency changes during a freeze, except the leak" (R5).

pub use super::bugs::ChangeBug;
use crate::sim::SimTime;
use crate::types::{check_range, Env};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt;

/// Settings of change management; every figure is an assumption of the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ChangeConfig {
    /// \[A] Prod needs a prod-scoped credential; off is the historical gap that let E9 through \[fact].
    pub isolation: bool,
    /// \[A] Prod starts the run frozen; the canonical chain freezes at E8 instead.
    pub freeze_prod: bool,
    /// \[A] Held changes kept during a freeze; a long freeze must not grow memory without bound.
    pub pending_max: usize,
    /// \[A] Applied changes kept for the report; later ones are counted in `log_dropped`.
    pub log_max: usize,
    /// A bug planted on purpose to measure the checks (none by default;
    /// the catalogue: `cascade::model::bugs`).
    pub seeded_bug: Option<ChangeBug>,
}

impl Default for ChangeConfig {
    fn default() -> Self {
        ChangeConfig {
            isolation: false,
            freeze_prod: false,
            pending_max: 64,
            log_max: 4_096,
            seeded_bug: None,
        }
    }
}

impl ChangeConfig {
    /// Checks every field; the error names the field and what was expected.
    pub fn validate(&self) -> Result<(), String> {
        check_range("pending_max", self.pending_max, 1, 100_000)?;
        check_range("log_max", self.log_max, 1, 1_000_000)
    }
}

/// A routing change, one value from the timeline to the edge: its route
/// rule misses the desired-state path in `defect_cells` edge cells (the
/// run's seed and the change's name pick which), and/or misroutes
/// `misroute_ratio` of the clusters (`misroute_salt` picks which).
#[derive(Clone, Debug, PartialEq)]
pub struct RouteChange {
    /// The change's name: what the edge records as the version's setter.
    pub name: String,
    pub misroute_ratio: f64,
    pub misroute_salt: u64,
    pub defect_cells: u32,
    /// It reaches the cells through the edge configuration pipeline, not
    /// at once.
    pub via_pipeline: bool,
}

/// What this system's changes do once applied to prod (the payload `P`
/// that the harness gives [`ChangeManager`]).
#[derive(Clone, Debug, PartialEq)]
pub enum ChangePayload {
    /// A routing change.
    Edge(RouteChange),
    /// Revert the routing to correct.
    EdgeFix,
    /// Roll the agent fix out (emergency: 5-minute bakes).
    AgentFix,
}

/// A change to submit through change management.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeRequest {
    /// The change's name in logs and reports (`R1-network-reconfig`).
    pub name: String,
    pub target: Env,
    pub applied_via: Env,
    pub emergency: bool,
    pub payload: ChangePayload,
}

/// A change someone submits. `P` is the caller's effect (e.g. a routing-table edit).
#[derive(Clone, Debug, PartialEq)]
pub struct Change<P> {
    pub id: u32,
    pub description: String,
    /// Where the author means it to go.
    pub target: Env,
    /// The environment whose credentials the applier holds, i.e. where it really lands
    /// unless isolation stops it.
    pub applied_via: Env,
    /// Emergency changes pass a freeze.
    pub emergency: bool,
    pub payload: P,
}

/// Why a change was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Isolation is on and the credential's scope differs from the target.
    CredentialScope { target: Env, applied_via: Env },
    /// The freeze's pending list is full.
    PendingFull { pending_max: usize },
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::CredentialScope {
                target,
                applied_via,
            } => write!(
                f,
                "targets {} but was applied with {} credentials; isolation requires a {}-scoped credential",
                target.name(),
                applied_via.name(),
                target.name()
            ),
            Rejection::PendingFull { pending_max } => {
                write!(f, "{pending_max} changes already wait for the freeze to lift")
            }
        }
    }
}

/// A change that took effect: the caller enacts `payload` on `env`.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied<P> {
    pub id: u32,
    /// Where it really landed (`applied_via`).
    pub env: Env,
    pub at: SimTime,
    /// Landed somewhere other than its target (the E9 leak).
    pub leaked: bool,
    pub emergency: bool,
    pub payload: P,
}

/// The outcome of submitting (or releasing) a change.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision<P> {
    Applied(Applied<P>),
    /// Ordinary change to prod during the freeze: waits for `lift_freeze`.
    /// `position` is its 0-based place among held changes.
    Held {
        id: u32,
        position: usize,
    },
    Rejected {
        id: u32,
        reason: Rejection,
    },
}

/// One line of the applied-changes log, for the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedRecord {
    pub id: u32,
    pub description: String,
    pub target: Env,
    pub env: Env,
    pub emergency: bool,
    pub submitted: SimTime,
    pub at: SimTime,
    pub leaked: bool,
    /// The prod freeze was on when it was applied.
    pub during_freeze: bool,
}

/// A held change with the time it was submitted, so the log can show the wait.
#[derive(Clone, Debug)]
struct Held<P> {
    change: Change<P>,
    submitted: SimTime,
}

/// Decides where changes go: freeze, isolation and the held-change queue.
#[derive(Clone, Debug)]
pub struct ChangeManager<P> {
    config: ChangeConfig,
    freeze_prod: bool,
    isolation: bool,
    pending: VecDeque<Held<P>>,
    log: Vec<AppliedRecord>,
    log_dropped: u64,
}

impl<P> ChangeManager<P> {
    pub fn new(config: ChangeConfig) -> Result<Self, String> {
        config.validate()?;
        Ok(ChangeManager {
            freeze_prod: config.freeze_prod,
            isolation: config.isolation,
            pending: VecDeque::with_capacity(config.pending_max),
            log: Vec::new(),
            log_dropped: 0,
            config,
        })
    }

    pub fn freeze_prod(&self) -> bool {
        self.freeze_prod
    }
    pub fn isolation(&self) -> bool {
        self.isolation
    }
    /// Turns environment isolation on or off from now on (a scenario's remediation).
    pub fn set_isolation(&mut self, on: bool) {
        self.isolation = on;
    }
    /// Held changes in submission order.
    pub fn pending(&self) -> impl Iterator<Item = &Change<P>> {
        self.pending.iter().map(|h| &h.change)
    }
    /// Applied changes in order, for the report.
    pub fn log(&self) -> &[AppliedRecord] {
        &self.log
    }
    /// Applied changes beyond `log_max` that were counted but not stored.
    pub fn log_dropped(&self) -> u64 {
        self.log_dropped
    }
    /// Ordinary (non-emergency) changes that reached prod while it was frozen:
    /// with isolation off this is exactly the E9 leak, with it on it must be empty.
    pub fn freeze_violations(&self) -> impl Iterator<Item = &AppliedRecord> {
        self.log
            .iter()
            .filter(|r| r.during_freeze && r.env == Env::Prod && !r.emergency)
    }

    /// Freezes prod: from now on ordinary changes targeting prod are held.
    /// Time is passed in as to every handler; the freeze does not depend on
    /// it (when a freeze began is in the key events, not kept here).
    pub fn freeze(&mut self, _now: SimTime) {
        self.freeze_prod = true;
    }

    /// Submits a change and decides it now.
    pub fn submit(&mut self, now: SimTime, change: Change<P>) -> Decision<P> {
        if let Err(reason) = self.check_scope(&change) {
            return Decision::Rejected {
                id: change.id,
                reason,
            };
        }
        // The freeze looks at the target only: this is the modelled gap that
        // lets a staging-targeted change applied with prod credentials through.
        if self.freeze_prod && change.target == Env::Prod && !change.emergency {
            if self.pending.len() >= self.config.pending_max {
                return Decision::Rejected {
                    id: change.id,
                    reason: Rejection::PendingFull {
                        pending_max: self.config.pending_max,
                    },
                };
            }
            let id = change.id;
            self.pending.push_back(Held {
                change,
                submitted: now,
            });
            return Decision::Held {
                id,
                position: self.pending.len() - 1,
            };
        }
        Decision::Applied(self.apply(now, now, change))
    }

    /// Lifts the freeze and releases held changes in submission order into
    /// `out`. Each is judged again on isolation, which may have been turned on
    /// while it waited.
    pub fn lift_freeze(&mut self, now: SimTime, out: &mut Vec<Decision<P>>) {
        self.freeze_prod = false;
        while let Some(held) = self.pending.pop_front() {
            let decision = match self.check_scope(&held.change) {
                Err(reason) => Decision::Rejected {
                    id: held.change.id,
                    reason,
                },
                Ok(()) => Decision::Applied(self.apply(now, held.submitted, held.change)),
            };
            out.push(decision);
        }
    }

    fn check_scope(&self, change: &Change<P>) -> Result<(), Rejection> {
        if !self.isolation || change.target == change.applied_via {
            return Ok(());
        }
        match self.config.seeded_bug {
            // The leak goes through: the world's I5 sees it applied.
            Some(ChangeBug::IsolationNeverRejects) => Ok(()),
            Some(ChangeBug::IsolationAssertsInsteadOfRejecting) => panic!(
                "change {} leaked from {} to {} with isolation on",
                change.id,
                change.target.name(),
                change.applied_via.name()
            ),
            None => Err(Rejection::CredentialScope {
                target: change.target,
                applied_via: change.applied_via,
            }),
        }
    }

    fn apply(&mut self, now: SimTime, submitted: SimTime, change: Change<P>) -> Applied<P> {
        // The change runs with the applier's credentials, whatever it targets.
        let env = change.applied_via;
        // A leak with isolation on is not asserted against here: it is
        // judged by the world's I5, which a seeded bug must be able to fail.
        let leaked = env != change.target;
        let during_freeze = self.freeze_prod;
        if self.log.len() < self.config.log_max {
            self.log.push(AppliedRecord {
                id: change.id,
                description: change.description,
                target: change.target,
                env,
                emergency: change.emergency,
                submitted,
                at: now,
                leaked,
                during_freeze,
            });
        } else {
            self.log_dropped += 1;
        }
        Applied {
            id: change.id,
            env,
            at: now,
            leaked,
            emergency: change.emergency,
            payload: change.payload,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimDuration;

    fn change(id: u32, target: Env, applied_via: Env, emergency: bool) -> Change<&'static str> {
        Change {
            id,
            description: format!("change {id}"),
            target,
            applied_via,
            emergency,
            payload: "edit",
        }
    }

    fn manager(isolation: bool) -> ChangeManager<&'static str> {
        ChangeManager::new(ChangeConfig {
            isolation,
            ..ChangeConfig::default()
        })
        .unwrap()
    }

    fn t(mins: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_mins(mins)
    }

    #[test]
    fn freeze_holds_ordinary_prod_changes_and_admits_emergency_ones() {
        let mut cm = manager(true);
        cm.freeze(t(0));
        let ordinary = cm.submit(t(1), change(1, Env::Prod, Env::Prod, false));
        assert_eq!(ordinary, Decision::Held { id: 1, position: 0 });
        let emergency = cm.submit(t(2), change(2, Env::Prod, Env::Prod, true));
        let Decision::Applied(a) = emergency else {
            panic!("emergency change not applied: {emergency:?}");
        };
        assert_eq!((a.id, a.env, a.at, a.leaked), (2, Env::Prod, t(2), false));
        // Staging is not frozen.
        let staging = cm.submit(t(3), change(3, Env::Staging, Env::Staging, false));
        assert!(matches!(
            staging,
            Decision::Applied(Applied {
                env: Env::Staging,
                ..
            })
        ));
        assert_eq!(cm.pending().map(|c| c.id).collect::<Vec<_>>(), vec![1]);
        assert_eq!(cm.freeze_violations().count(), 0);
    }

    #[test]
    fn lifting_the_freeze_releases_held_changes_in_order() {
        let mut cm = manager(true);
        cm.freeze(t(0));
        for id in [5, 3, 9] {
            assert!(matches!(
                cm.submit(t(id as u64), change(id, Env::Prod, Env::Prod, false)),
                Decision::Held { .. }
            ));
        }
        let mut out = Vec::new();
        cm.lift_freeze(t(60), &mut out);
        let ids: Vec<u32> = out
            .iter()
            .map(|d| match d {
                Decision::Applied(a) => {
                    assert_eq!((a.env, a.at), (Env::Prod, t(60)));
                    a.id
                }
                other => panic!("expected applied, got {other:?}"),
            })
            .collect();
        assert_eq!(ids, vec![5, 3, 9]);
        assert!(!cm.freeze_prod());
        // The log keeps the wait: submitted at 5 min, applied at 60.
        assert_eq!((cm.log()[0].submitted, cm.log()[0].at), (t(5), t(60)));
        assert!(!cm.log()[0].during_freeze);
    }

    #[test]
    fn isolation_rejects_staging_change_applied_with_prod_credentials() {
        let mut cm = manager(true);
        cm.freeze(t(0));
        let d = cm.submit(t(1), change(7, Env::Staging, Env::Prod, false));
        assert_eq!(
            d,
            Decision::Rejected {
                id: 7,
                reason: Rejection::CredentialScope {
                    target: Env::Staging,
                    applied_via: Env::Prod
                }
            }
        );
        assert!(cm.log().is_empty());
        // And without a freeze too: isolation does not depend on the freeze.
        let mut out = Vec::new();
        cm.lift_freeze(t(2), &mut out);
        assert!(matches!(
            cm.submit(t(3), change(8, Env::Staging, Env::Prod, false)),
            Decision::Rejected { id: 8, .. }
        ));
    }

    #[test]
    fn without_isolation_staging_change_leaks_to_prod_through_the_freeze() {
        let mut cm = manager(false);
        cm.freeze(t(0));
        let d = cm.submit(t(10), change(9, Env::Staging, Env::Prod, false));
        let Decision::Applied(a) = d else {
            panic!("E9 leak not reproduced: {d:?}");
        };
        assert_eq!((a.env, a.leaked, a.at), (Env::Prod, true, t(10)));
        let leaks: Vec<&AppliedRecord> = cm.freeze_violations().collect();
        assert_eq!(leaks.len(), 1);
        assert_eq!(
            (leaks[0].id, leaks[0].target, leaks[0].env, leaks[0].leaked),
            (9, Env::Staging, Env::Prod, true)
        );
        assert!(leaks[0].during_freeze);
        // An ordinary prod-targeted change is still held: the freeze works for
        // what it looks at.
        assert!(matches!(
            cm.submit(t(11), change(10, Env::Prod, Env::Prod, false)),
            Decision::Held { id: 10, .. }
        ));
    }

    #[test]
    fn pending_list_is_bounded() {
        let mut cm: ChangeManager<&'static str> = ChangeManager::new(ChangeConfig {
            pending_max: 2,
            freeze_prod: true,
            ..ChangeConfig::default()
        })
        .unwrap();
        assert!(cm.freeze_prod());
        for id in 0..2 {
            assert!(matches!(
                cm.submit(t(1), change(id, Env::Prod, Env::Prod, false)),
                Decision::Held { .. }
            ));
        }
        assert_eq!(
            cm.submit(t(1), change(2, Env::Prod, Env::Prod, false)),
            Decision::Rejected {
                id: 2,
                reason: Rejection::PendingFull { pending_max: 2 }
            }
        );
    }

    #[test]
    fn applied_log_is_bounded_and_counts_what_it_drops() {
        // No scenario reaches the log's bound: this is the one check that
        // it holds and that what it drops is counted.
        let mut cm: ChangeManager<&'static str> = ChangeManager::new(ChangeConfig {
            log_max: 2,
            ..ChangeConfig::default()
        })
        .unwrap();
        for id in 0..5 {
            assert!(matches!(
                cm.submit(t(id as u64), change(id, Env::Prod, Env::Prod, false)),
                Decision::Applied(_)
            ));
        }
        assert_eq!(cm.log().iter().map(|r| r.id).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(cm.log_dropped(), 3);
    }

    #[test]
    fn isolation_switched_on_during_freeze_rejects_held_leaks_on_release() {
        let mut cm = manager(false);
        cm.freeze(t(0));
        // Target prod, applied with staging credentials: held (target is prod).
        assert!(matches!(
            cm.submit(t(1), change(1, Env::Prod, Env::Staging, false)),
            Decision::Held { .. }
        ));
        cm.set_isolation(true);
        let mut out = Vec::new();
        cm.lift_freeze(t(2), &mut out);
        assert!(matches!(
            out.as_slice(),
            [Decision::Rejected {
                id: 1,
                reason: Rejection::CredentialScope { .. }
            }]
        ));
    }

    #[test]
    fn config_validation_names_the_field() {
        let bad = ChangeConfig {
            pending_max: 0,
            ..ChangeConfig::default()
        };
        assert_eq!(
            bad.validate().unwrap_err(),
            "pending_max: expected 1 to 100,000, found 0"
        );
        let parsed: ChangeConfig = serde_json::from_str(r#"{"isolation": true}"#).unwrap();
        assert_eq!(parsed.pending_max, 64);
        assert!(parsed.isolation);
        assert!(serde_json::from_str::<ChangeConfig>(r#"{"isolatoin": true}"#).is_err());
    }
}
