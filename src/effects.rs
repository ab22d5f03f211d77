//! The timeline interpreter: what a scenario's timeline item does at its
//! begin and at its end, as a list of typed [`Effect`]s.
//!
//! Every driver reads the timeline through [`interpret`], in the order
//! [`Timeline::faults`](crate::timeline::Timeline::faults) gives (the
//! kernel's fault schedule: by time, ties in scheduling order), so an
//! action means the same thing in the fleet world and in the wire tier.
//! The fleet world carries out every effect; the wire tier carries out the
//! network-side ones and names the others as not modelled (see
//! `wire::plan`), instead of dropping them silently.
//!
//! An item with a duration is undone at its end: a vendor path heals, a
//! surge stops, a freeze lifts, a misrouting change is reverted, a fault
//! returns to the configured baseline (hence `&ModelConfig`).

use crate::config::ModelConfig;
use crate::model::auth::{MitigationConfig, VendorPath};
use crate::model::change::{ChangePayload, ChangeRequest, RouteChange};
use crate::model::responder::RestoreBy;
use crate::plant::control::RouteLanding;
use crate::timeline::{Action, PathState, TimelineItem};
use crate::types::Env;

/// One thing a timeline item makes happen.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// A line of the run's narrative (its key events).
    Narrate(String),
    /// Submit a change through change management.
    SubmitChange(ChangeRequest),
    /// Routing corrected (an `edge_fix`, or a misrouting change reverted).
    FixRouting { set_by: String },
    /// Prod change freeze on.
    Freeze,
    /// The freeze lifts; held changes are released.
    LiftFreeze,
    /// Environment isolation on or off.
    Isolation(bool),
    /// The node-pool-loss alert exists (or no longer does).
    PoolLossAlert(bool),
    /// The agent fix is built (it ships through a change of its own).
    FixAvailable,
    /// A rollout of the fix starts.
    StartRollout { emergency: bool },
    /// Engineers available for manual repair.
    Engineers(u32),
    /// How lost clusters are restored from now on.
    RestoreWith(RestoreBy),
    /// The desired-state service's 5xx, timeout and regression faults.
    ServiceFaults {
        server_error_ratio: f64,
        timeout_ratio: f64,
        generation_regression: u64,
    },
    /// Share of desired-state answers that leave a pool out.
    PartialDesiredState { ratio: f64 },
    /// Share of cloud pool creates that fail.
    CloudCreateFailureRatio(f64),
    /// Cloud pool operations take this many times longer.
    CloudLatencyFactor(f64),
    /// The cloud's mutating-call budget per account.
    CloudCallsPerS(f64),
    /// On-call acknowledges this many times slower.
    OperatorAckFactor(f64),
    /// A rollout alarm fires.
    RolloutAlarm,
    /// The auth component's path to its vendor.
    VendorPath(VendorPath),
    /// Automated auth traffic at this multiple of legitimate traffic.
    BotMultiplier(f64),
    /// Automated auth traffic shaped as a wave from now on (`None`: it stops).
    BotWave(Option<crate::model::auth::BotWave>),
    /// The auth mitigations in force.
    AuthMitigations(MitigationConfig),
    /// The vendor answers this many times slower.
    VendorSlowdown(f64),
    /// The vendor answers 429 to everything.
    Vendor429Storm(bool),
    /// Auth replicas crash.
    CrashReplicas(u32),
    /// The agents of the clusters chosen by `ratio` and `salt` go down
    /// (`down`) or start again.
    AgentCrash { ratio: f64, salt: u64, down: bool },
    /// The cloud listing agents see lags the truth by up to this many
    /// seconds (0: no lag).
    ListingLag(f64),
    /// Every fault has healed: start measuring the time to settle.
    WatchSettling,
    /// The next build a rollout ships has this defect.
    BadRelease(crate::model::agent::ReleaseDefect),
    /// The bad build is found: every cluster running it is rolled back,
    /// and builds shipped from now on are sound.
    BadReleaseFound,
}

impl Effect {
    /// A short stable name, for "not modelled by this tier" lists.
    pub fn name(&self) -> &'static str {
        match self {
            Effect::Narrate(_) => "narrate",
            Effect::SubmitChange(_) => "submit_change",
            Effect::FixRouting { .. } => "fix_routing",
            Effect::Freeze => "freeze",
            Effect::LiftFreeze => "lift_freeze",
            Effect::Isolation(_) => "isolation",
            Effect::PoolLossAlert(_) => "pool_loss_alert",
            Effect::FixAvailable => "fix_available",
            Effect::StartRollout { .. } => "start_rollout",
            Effect::Engineers(_) => "engineers",
            Effect::RestoreWith(_) => "restore_with",
            Effect::ServiceFaults { .. } => "service_faults",
            Effect::PartialDesiredState { .. } => "partial_desired_state",
            Effect::CloudCreateFailureRatio(_) => "cloud_create_failure_ratio",
            Effect::CloudLatencyFactor(_) => "cloud_latency_factor",
            Effect::CloudCallsPerS(_) => "cloud_calls_per_s",
            Effect::OperatorAckFactor(_) => "operator_ack_factor",
            Effect::RolloutAlarm => "rollout_alarm",
            Effect::VendorPath(_) => "vendor_path",
            Effect::BotMultiplier(_) => "bot_multiplier",
            Effect::BotWave(_) => "bot_wave",
            Effect::AuthMitigations(_) => "auth_mitigations",
            Effect::VendorSlowdown(_) => "vendor_slowdown",
            Effect::Vendor429Storm(_) => "vendor_429_storm",
            Effect::CrashReplicas(_) => "crash_replicas",
            Effect::AgentCrash { .. } => "agent_crash",
            Effect::ListingLag(_) => "listing_lag",
            Effect::WatchSettling => "watch_settling",
            Effect::BadRelease(_) => "bad_release",
            Effect::BadReleaseFound => "bad_release_found",
        }
    }
}

/// Appends to `out` what `item` does at its begin (`begin`) or its end.
pub fn interpret(item: &TimelineItem, begin: bool, cfg: &ModelConfig, out: &mut Vec<Effect>) {
    let label = || {
        if item.note.is_empty() {
            format!("{} {}", item.id, item.action.kind_name())
        } else {
            format!("{}: {}", item.id, item.note)
        }
    };
    // Faults that are set at the begin and undone at the end are narrated
    // at their begin only.
    let narrate_begin = |out: &mut Vec<Effect>| {
        if begin {
            out.push(Effect::Narrate(label()));
        }
    };
    match (&item.action, begin) {
        (
            Action::Change {
                change_id,
                target,
                applied_via,
                emergency,
                misroute_ratio,
                misroute_salt,
                route_defect_cells,
                via_pipeline,
            },
            true,
        ) => {
            out.push(Effect::Narrate(label()));
            out.push(Effect::SubmitChange(ChangeRequest {
                name: change_id.clone(),
                target: *target,
                applied_via: *applied_via,
                emergency: *emergency,
                payload: ChangePayload::Edge(RouteChange {
                    name: change_id.clone(),
                    misroute_ratio: *misroute_ratio,
                    misroute_salt: *misroute_salt,
                    defect_cells: *route_defect_cells,
                    via_pipeline: *via_pipeline,
                }),
            }));
        }
        (Action::Change { change_id, .. }, false) => {
            out.push(Effect::Narrate(format!(
                "{} ends: change {change_id} reverted",
                item.id
            )));
            out.push(Effect::FixRouting {
                set_by: format!("revert {change_id}"),
            });
        }
        (Action::EdgeFix, true) => {
            out.push(Effect::Narrate(label()));
            out.push(Effect::FixRouting {
                set_by: item.id.clone(),
            });
        }
        (Action::Freeze, true) => {
            out.push(Effect::Narrate(label()));
            out.push(Effect::Freeze);
        }
        (Action::Freeze, false) => {
            out.push(Effect::Narrate(format!(
                "{} ends: change freeze lifted",
                item.id
            )));
            out.push(Effect::LiftFreeze);
        }
        (Action::Isolation { on }, true) => {
            out.push(Effect::Narrate(label()));
            out.push(Effect::Isolation(*on));
        }
        (Action::PoolLossAlert { enabled }, true) => {
            out.push(Effect::Narrate(label()));
            out.push(Effect::PoolLossAlert(*enabled));
        }
        (Action::FixAvailable, true) => {
            out.push(Effect::Narrate(label()));
            out.push(Effect::FixAvailable);
            // The fix goes through change management like any prod change:
            // during a freeze it waits for the review to end.
            out.push(Effect::SubmitChange(ChangeRequest {
                name: "agent-fix".into(),
                target: Env::Prod,
                applied_via: Env::Prod,
                emergency: false,
                payload: ChangePayload::AgentFix,
            }));
        }
        (Action::Rollout { emergency }, true) => {
            out.push(Effect::Narrate(label()));
            out.push(Effect::StartRollout {
                emergency: *emergency,
            });
        }
        (Action::Engineers { count }, true) => {
            out.push(Effect::Narrate(label()));
            out.push(Effect::Engineers(*count));
        }
        (Action::RestoreWith { method }, true) => {
            out.push(Effect::Narrate(label()));
            out.push(Effect::RestoreWith(*method));
        }
        (
            Action::ServiceFaults {
                server_error_ratio,
                timeout_ratio,
                generation_regression,
            },
            b,
        ) => {
            narrate_begin(out);
            out.push(Effect::ServiceFaults {
                server_error_ratio: if b { *server_error_ratio } else { 0.0 },
                timeout_ratio: if b { *timeout_ratio } else { 0.0 },
                generation_regression: if b { *generation_regression } else { 0 },
            });
        }
        (Action::PartialDesiredState { ratio }, b) => {
            narrate_begin(out);
            out.push(Effect::PartialDesiredState {
                ratio: if b { *ratio } else { 0.0 },
            });
        }
        (
            Action::CloudFaults {
                create_failure_ratio,
            },
            b,
        ) => {
            narrate_begin(out);
            out.push(Effect::CloudCreateFailureRatio(if b {
                *create_failure_ratio
            } else {
                cfg.cloud.create_failure_ratio
            }));
        }
        (Action::CloudLatency { factor }, b) => {
            narrate_begin(out);
            out.push(Effect::CloudLatencyFactor(if b { *factor } else { 1.0 }));
        }
        (Action::CloudRateLimit { calls_per_s }, b) => {
            narrate_begin(out);
            out.push(Effect::CloudCallsPerS(if b {
                *calls_per_s
            } else {
                cfg.cloud.mutating_calls_per_account_per_s
            }));
        }
        (Action::OperatorDelay { factor }, b) => {
            narrate_begin(out);
            out.push(Effect::OperatorAckFactor(if b { *factor } else { 1.0 }));
        }
        (Action::RolloutAlarm, true) => {
            out.push(Effect::Narrate(label()));
            out.push(Effect::RolloutAlarm);
        }
        (Action::BadRelease { defect }, true) => {
            out.push(Effect::Narrate(format!(
                "{}: the next build rolled out is bad ({})",
                item.id,
                defect.name()
            )));
            out.push(Effect::BadRelease(*defect));
        }
        (Action::BadRelease { .. }, false) => {
            out.push(Effect::Narrate(format!(
                "{} ends: the bad build is found and rolled back",
                item.id
            )));
            out.push(Effect::BadReleaseFound);
        }
        (Action::ListingLag { lag_s }, b) => {
            narrate_begin(out);
            out.push(Effect::ListingLag(if b { *lag_s } else { 0.0 }));
        }
        (Action::AgentCrash { ratio, salt }, down) => {
            if down {
                out.push(Effect::Narrate(label()));
            } else {
                out.push(Effect::Narrate(format!(
                    "{} ends: the crashed agents start again",
                    item.id
                )));
            }
            out.push(Effect::AgentCrash {
                ratio: *ratio,
                salt: *salt,
                down,
            });
        }
        (Action::Note, true) => out.push(Effect::Narrate(label())),
        (Action::Healed, true) => {
            out.push(Effect::Narrate(label()));
            out.push(Effect::WatchSettling);
        }
        (Action::VendorPath { state, loss_ratio }, true) => {
            out.push(Effect::Narrate(label()));
            out.push(Effect::VendorPath(match state {
                PathState::Up => VendorPath::Up,
                PathState::Lossy => VendorPath::Lossy(*loss_ratio),
                PathState::Blackholed => VendorPath::Blackholed,
            }));
        }
        (Action::VendorPath { .. }, false) => {
            out.push(Effect::Narrate(format!(
                "{} ends: vendor path healthy again",
                item.id
            )));
            out.push(Effect::VendorPath(VendorPath::Up));
        }
        (Action::BotSurge { multiplier }, true) => {
            out.push(Effect::Narrate(label()));
            out.push(Effect::BotMultiplier(*multiplier));
        }
        (
            Action::BotWave {
                shape,
                multiplier,
                period_s,
                duty,
                salt,
            },
            true,
        ) => {
            out.push(Effect::Narrate(label()));
            out.push(Effect::BotWave(Some(crate::model::auth::BotWave {
                shape: *shape,
                peak: *multiplier,
                period_s: *period_s,
                duty: *duty,
                salt: *salt,
            })));
        }
        (Action::BotWave { .. }, false) => {
            out.push(Effect::Narrate(format!(
                "{} ends: the automated traffic's wave stops",
                item.id
            )));
            out.push(Effect::BotWave(None));
        }
        (Action::BotSurge { .. }, false) => {
            out.push(Effect::Narrate(format!(
                "{} ends: automated traffic stops",
                item.id
            )));
            out.push(Effect::BotMultiplier(0.0));
        }
        (
            Action::AuthMitigation {
                rate_limit,
                adaptive_throttling,
                circuit_breaker,
                caching,
            },
            b,
        ) => {
            let mut m: MitigationConfig = cfg.auth.mitigations.clone();
            if b {
                out.push(Effect::Narrate(label()));
                m.per_client_limit_enabled |= *rate_limit;
                m.global_cap_enabled |= *rate_limit;
                m.client_throttle_enabled |= *adaptive_throttling;
                m.breaker_enabled |= *circuit_breaker;
                m.caching_enabled |= *caching;
            } else {
                out.push(Effect::Narrate(format!(
                    "{} ends: auth mitigations back to baseline",
                    item.id
                )));
            }
            out.push(Effect::AuthMitigations(m));
        }
        (Action::VendorSlowdown { factor }, b) => {
            narrate_begin(out);
            out.push(Effect::VendorSlowdown(if b { *factor } else { 1.0 }));
        }
        (Action::Vendor429Storm, b) => {
            narrate_begin(out);
            out.push(Effect::Vendor429Storm(b));
        }
        (Action::ReplicaCrash { count }, true) => {
            out.push(Effect::Narrate(label()));
            out.push(Effect::CrashReplicas(*count));
        }
        // Actions without an end effect: their state stays until another
        // action changes it.
        (
            Action::EdgeFix
            | Action::Isolation { .. }
            | Action::PoolLossAlert { .. }
            | Action::FixAvailable
            | Action::Rollout { .. }
            | Action::Engineers { .. }
            | Action::RestoreWith { .. }
            | Action::RolloutAlarm
            | Action::Note
            | Action::Healed
            | Action::ReplicaCrash { .. },
            false,
        ) => {}
    }
}

/// Where and when `change`, applied to prod at `applied_at`, lands on the
/// edge: the cells its route defect hits (the seed and the change's name
/// choose them) and the time it reaches them (at once, or through the
/// edge configuration pipeline). Both tiers call it, so they misroute the
/// same clusters at the same instant.
pub fn land_route_change(
    network: &crate::config::NetworkConfig,
    seed: cascade_sim::Seed,
    epoch: cascade_sim::Epoch,
    change: RouteChange,
    applied_at: cascade_sim::SimTime,
) -> RouteLanding {
    let cells_mask = if change.defect_cells > 0 {
        crate::plant::defect_cells(network.edge_cells, seed, &change.name, change.defect_cells)
    } else {
        0
    };
    let at = if change.via_pipeline {
        crate::plant::control::pipeline_deploy_at(
            applied_at,
            epoch,
            network.edge_config_soak_h,
            network.edge_config_window_hour_utc,
        )
    } else {
        applied_at
    };
    RouteLanding {
        change,
        at,
        cells_mask,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cascade_sim::{SimDuration, SimTime};

    fn item(action: Action, note: &str) -> TimelineItem {
        TimelineItem {
            id: "X".into(),
            at: SimTime::from_secs(60),
            duration: Some(SimDuration::from_mins(10)),
            action,
            note: note.into(),
        }
    }

    fn effects(it: &TimelineItem, begin: bool) -> Vec<Effect> {
        let mut out = Vec::new();
        interpret(it, begin, &ModelConfig::default(), &mut out);
        out
    }

    #[test]
    fn a_change_is_submitted_at_its_begin_and_reverted_at_its_end() {
        let it = item(
            Action::Change {
                change_id: "leak".into(),
                target: Env::Staging,
                applied_via: Env::Prod,
                emergency: false,
                misroute_ratio: 0.5,
                misroute_salt: 9,
                route_defect_cells: 3,
                via_pipeline: true,
            },
            "",
        );
        assert_eq!(
            effects(&it, true),
            vec![
                Effect::Narrate("X change".into()),
                Effect::SubmitChange(ChangeRequest {
                    name: "leak".into(),
                    target: Env::Staging,
                    applied_via: Env::Prod,
                    emergency: false,
                    payload: ChangePayload::Edge(RouteChange {
                        name: "leak".into(),
                        misroute_ratio: 0.5,
                        misroute_salt: 9,
                        defect_cells: 3,
                        via_pipeline: true,
                    }),
                }),
            ]
        );
        assert_eq!(
            effects(&it, false),
            vec![
                Effect::Narrate("X ends: change leak reverted".into()),
                Effect::FixRouting {
                    set_by: "revert leak".into()
                },
            ]
        );
    }

    #[test]
    fn faults_return_to_the_configured_baseline_at_their_end() {
        let mut cfg = ModelConfig::default();
        cfg.cloud.mutating_calls_per_account_per_s = 7.0;
        let it = item(Action::CloudRateLimit { calls_per_s: 0.5 }, "slow");
        let mut out = Vec::new();
        interpret(&it, true, &cfg, &mut out);
        assert_eq!(
            out,
            vec![
                Effect::Narrate("X: slow".into()),
                Effect::CloudCallsPerS(0.5)
            ]
        );
        out.clear();
        interpret(&it, false, &cfg, &mut out);
        assert_eq!(out, vec![Effect::CloudCallsPerS(7.0)]);
        let partial = item(Action::PartialDesiredState { ratio: 0.3 }, "");
        assert_eq!(
            effects(&partial, false),
            vec![Effect::PartialDesiredState { ratio: 0.0 }]
        );
    }

    #[test]
    fn the_fix_ships_through_change_management() {
        let it = item(Action::FixAvailable, "");
        let e = effects(&it, true);
        assert_eq!(e[1], Effect::FixAvailable);
        assert!(matches!(
            &e[2],
            Effect::SubmitChange(ChangeRequest {
                payload: ChangePayload::AgentFix,
                emergency: false,
                ..
            })
        ));
        assert!(effects(&it, false).is_empty());
    }
}
