//! What a guided sweep aims at ([`super::guided`]): the coverage states a
//! profile should reach, each with the shape of fault schedule that can
//! reach it. A state that is the conjunction of two faults' timing (an
//! agent restarting while a lagging replica answers, an agent down when
//! the rollout reaches it) is a product of small probabilities for random
//! seeds: `restart_during_generation_regression` is reached by 12 of 400
//! fixed-400 seeds. Directed fuzzing (AFLGo's targets) spends part of the
//! budget making such schedules on purpose: the guide takes a corpus
//! entry and reshapes it by the state's [`recipe`], so the next run has
//! the timing the state needs; whether the state is reached is still the
//! world's to say.
//!
//! A recipe is a hint, not a verdict: a wrong one only wastes the runs
//! aimed with it. Each is checked by `tests/harness/guided.rs`
//! (`every_recipe_reaches_its_state`): the recipe applied to a fresh
//! seed's case reaches its state more often than fresh seeds do.

use super::profile::FaultKind;
use crate::coverage::Reached;

/// One step of a recipe: what the schedule must hold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape {
    /// A fault of the kind (added, drawn from the profile's ranges, when
    /// the schedule has none).
    Has(FaultKind),
    /// A fault of the kind whose magnitude lies in `[lo, hi)` (a bad
    /// release's defect is its magnitude's integer part).
    MagnitudeIn(FaultKind, f64, f64),
    /// A fault of the first kind ends (a crashed agent restarts) while one
    /// of the second is active.
    EndsInside(FaultKind, FaultKind),
    /// A fault of the first kind starts while one of the second is active.
    StartsInside(FaultKind, FaultKind),
    /// A fault of the kind starts shortly before the rollout and lasts as
    /// long as the kind can: agents down while the waves reach them.
    SpansRollout(FaultKind),
    /// A fault of the kind strikes within five minutes of the rollout's
    /// start: while the canary bakes (15 min, 5 min in emergency mode).
    AtRolloutStart(FaultKind),
    /// Two faults with a duration active at once: one starts inside the
    /// other (faults of the profile's kinds added while there are fewer
    /// than two).
    Overlap,
}

impl Shape {
    /// The kinds the step needs in the profile.
    pub fn kinds(self) -> [Option<FaultKind>; 2] {
        match self {
            Shape::Has(k)
            | Shape::MagnitudeIn(k, ..)
            | Shape::SpansRollout(k)
            | Shape::AtRolloutStart(k) => [Some(k), None],
            Shape::EndsInside(a, b) | Shape::StartsInside(a, b) => [Some(a), Some(b)],
            Shape::Overlap => [None, None],
        }
    }

    pub fn needs_rollout(self) -> bool {
        matches!(self, Shape::SpansRollout(_) | Shape::AtRolloutStart(_))
    }
}

/// The schedule shape that can reach `state`; empty for the states no
/// fault schedule shapes (a customer's change, a soft delete collected)
/// or that follow from the agent's own path (a hold, the fleet brake).
pub fn recipe(state: Reached) -> &'static [Shape] {
    use FaultKind as K;
    use Shape::*;
    match state {
        Reached::RestartDuringGenerationRegression => {
            &[EndsInside(K::AgentCrash, K::GenerationRegression)]
        }
        // Agents down while the waves reach them: the longest crash from
        // just before the rollout, taking the upper part of the crash
        // range (more agents down, more of them in the first waves).
        // Measured on anchored-march, seeds 1..30: fresh cases 2, the
        // crash spanning the rollout 16, with the upper range too 19.
        Reached::UpgradedWhileDown => &[
            SpansRollout(K::AgentCrash),
            MagnitudeIn(K::AgentCrash, 0.1, 0.2),
        ],
        Reached::RolloutAlarmInFirstWave => &[AtRolloutStart(K::RolloutAlarm)],
        Reached::AgentRestarted => &[Has(K::AgentCrash)],
        Reached::ListingLaggedTruth => &[Has(K::ListingLag)],
        Reached::RolloutHalted | Reached::RolloutResumed => &[Has(K::RolloutAlarm)],
        // The script restores what a misroute deleted, so the limit must
        // be on when the restores run (from inside the misroute on) and
        // low enough to refuse their create calls (calls/s). Measured on
        // recovery-400, seeds 1..30: fresh cases 4, a rate limit merely
        // present 5, starting inside a misroute 18, and low as well 22.
        Reached::RecoveryPausedByRateLimit => &[
            MagnitudeIn(K::CloudRateLimit, 0.05, 0.3),
            StartsInside(K::CloudRateLimit, K::EdgeMisroute),
        ],
        Reached::AuthBreakerOpen => &[Has(K::VendorBlackhole)],
        Reached::AutoscalerScaledDownUnderOscillation => &[Has(K::BotOscillation)],
        Reached::BadReleaseHalted => &[Has(K::BadRelease), Has(K::RolloutAlarm)],
        // The defect is the magnitude's integer part (`release_defect`):
        // 1 a slow leak, 2 a release that breaks behind a misroute.
        Reached::LeakingAgentKilled => &[MagnitudeIn(K::BadRelease, 1.0, 2.0)],
        Reached::ReleaseBrokeBehindMisroute => &[
            MagnitudeIn(K::BadRelease, 2.0, 3.0),
            StartsInside(K::EdgeMisroute, K::BadRelease),
        ],
        Reached::FaultsOverlapping | Reached::AgentDisturbedByOverlappingFaults => &[Overlap],
        Reached::HoldDuringGenerationRegression
        | Reached::AgentDiedInHold
        | Reached::FleetBrakeEngaged
        | Reached::CustomerChangeDuringFault
        | Reached::SoftDeleteCollected => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recipe for a state names at least one kind, and the timing
    /// conjunctions random seeds reach least have one.
    #[test]
    fn the_rare_conjunctions_have_recipes() {
        for s in [
            Reached::RestartDuringGenerationRegression,
            Reached::UpgradedWhileDown,
            Reached::RolloutAlarmInFirstWave,
            Reached::ReleaseBrokeBehindMisroute,
        ] {
            assert!(!recipe(s).is_empty(), "{}", s.name());
        }
        for s in Reached::ALL {
            for &step in recipe(s) {
                assert!(
                    step.kinds()[0].is_some() || step == Shape::Overlap,
                    "{}",
                    s.name()
                );
            }
        }
    }
}
