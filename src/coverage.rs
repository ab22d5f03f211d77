//! State coverage: the interesting states a run reached, counted ("sometimes"
//! checks). An invariant says what must never happen; these say what a
//! sweep should make happen at least once, so that a profile whose ranges
//! never reach, say, an agent dying while in safe hold is seen to leave that
//! path untested. The world counts them where it sees them (it knows
//! everything; the logic under test does not see these counts), the
//! summary lists every state with its count, and `cascade chaos` reports per
//! state how many seeds reached it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A state worth reaching.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Reached {
    /// Agents were in safe hold while the desired-state service answered
    /// with a regressed generation (seen at a minute's end).
    HoldDuringGenerationRegression,
    /// An agent died (its `system` pool lost) while in safe hold.
    AgentDiedInHold,
    /// A dead agent came back (its pool restored, its crash over) and
    /// resynced.
    AgentRestarted,
    /// An agent restarted (no memory of its generation) while the
    /// desired-state service served a lagging replica's older generation.
    RestartDuringGenerationRegression,
    /// A rollout upgraded an agent that was down: it comes back as the new
    /// version.
    UpgradedWhileDown,
    /// An agent handled an answer against a cloud listing that lagged the
    /// truth.
    ListingLaggedTruth,
    /// Two timeline faults with a duration were active at once.
    FaultsOverlapping,
    /// An agent got an error answer while two faults were active.
    AgentDisturbedByOverlappingFaults,
    /// A rollout halted on an alarm or its health gate.
    RolloutHalted,
    /// A halted rollout resumed.
    RolloutResumed,
    /// The recovery script was paused by a cloud rate limit.
    RecoveryPausedByRateLimit,
    /// G5's fleet brake refused a delete.
    FleetBrakeEngaged,
    /// The auth path's circuit breaker was open for a tick.
    AuthBreakerOpen,
    /// A customer changed a pool while a fault was active.
    CustomerChangeDuringFault,
    /// A customer's removal, carried out by a soft delete (G8), was
    /// collected: the pool really deleted after the grace period.
    SoftDeleteCollected,
    /// An alarm fired while the rollout's first wave (the canary) baked.
    RolloutAlarmInFirstWave,
    /// A rollout halted (alarm or health gate) while the release it ships
    /// was defective.
    BadReleaseHalted,
    /// An agent of a release that breaks behind a misroute exited on a 404.
    ReleaseBrokeBehindMisroute,
    /// An agent of a leaking release was killed for memory.
    LeakingAgentKilled,
    /// The auth autoscaler scaled down while a bot wave (load that rises
    /// and falls) was running: its scale-down stabilisation met a trough.
    AutoscalerScaledDownUnderOscillation,
}

impl Reached {
    pub const ALL: [Reached; 20] = [
        Reached::HoldDuringGenerationRegression,
        Reached::AgentDiedInHold,
        Reached::AgentRestarted,
        Reached::RestartDuringGenerationRegression,
        Reached::UpgradedWhileDown,
        Reached::ListingLaggedTruth,
        Reached::FaultsOverlapping,
        Reached::AgentDisturbedByOverlappingFaults,
        Reached::RolloutHalted,
        Reached::RolloutResumed,
        Reached::RecoveryPausedByRateLimit,
        Reached::FleetBrakeEngaged,
        Reached::AuthBreakerOpen,
        Reached::CustomerChangeDuringFault,
        Reached::SoftDeleteCollected,
        Reached::RolloutAlarmInFirstWave,
        Reached::BadReleaseHalted,
        Reached::ReleaseBrokeBehindMisroute,
        Reached::LeakingAgentKilled,
        Reached::AutoscalerScaledDownUnderOscillation,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Reached::HoldDuringGenerationRegression => "hold_during_generation_regression",
            Reached::AgentDiedInHold => "agent_died_in_hold",
            Reached::AgentRestarted => "agent_restarted",
            Reached::RestartDuringGenerationRegression => "restart_during_generation_regression",
            Reached::UpgradedWhileDown => "upgraded_while_down",
            Reached::ListingLaggedTruth => "listing_lagged_truth",
            Reached::FaultsOverlapping => "faults_overlapping",
            Reached::AgentDisturbedByOverlappingFaults => "agent_disturbed_by_overlapping_faults",
            Reached::RolloutHalted => "rollout_halted",
            Reached::RolloutResumed => "rollout_resumed",
            Reached::RecoveryPausedByRateLimit => "recovery_paused_by_rate_limit",
            Reached::FleetBrakeEngaged => "fleet_brake_engaged",
            Reached::AuthBreakerOpen => "auth_breaker_open",
            Reached::CustomerChangeDuringFault => "customer_change_during_fault",
            Reached::SoftDeleteCollected => "soft_delete_collected",
            Reached::RolloutAlarmInFirstWave => "rollout_alarm_in_first_wave",
            Reached::BadReleaseHalted => "bad_release_halted",
            Reached::ReleaseBrokeBehindMisroute => "release_broke_behind_misroute",
            Reached::LeakingAgentKilled => "leaking_agent_killed",
            Reached::AutoscalerScaledDownUnderOscillation => {
                "autoscaler_scaled_down_under_oscillation"
            }
        }
    }
}

/// How many times a run reached each state: one counter per state, no
/// allocation on the hot path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    counts: [u64; Reached::ALL.len()],
}

impl Coverage {
    #[inline]
    pub fn hit(&mut self, state: Reached) {
        self.counts[state as usize] += 1;
    }

    pub fn count(&self, state: Reached) -> u64 {
        self.counts[state as usize]
    }

    /// Every state by name, with its count (zeros included: an unreached
    /// state is the news).
    pub fn by_name(&self) -> BTreeMap<String, u64> {
        Reached::ALL
            .iter()
            .map(|&s| (s.name().to_string(), self.count(s)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_its_own_counter_and_its_file_name() {
        let mut c = Coverage::default();
        for (i, s) in Reached::ALL.into_iter().enumerate() {
            assert_eq!(s as usize, i, "ALL is in declaration order");
            c.hit(s);
            assert_eq!(c.count(s), 1);
            let text = format!("\"{}\"", s.name());
            assert_eq!(serde_json::from_str::<Reached>(&text).unwrap(), s);
        }
        assert_eq!(c.by_name().len(), Reached::ALL.len());
        assert!(c.by_name().values().all(|&n| n == 1));
    }
}
