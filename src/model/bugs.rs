//! The seeded-bug catalogue: bugs planted on purpose in the logic under
//! test, to measure what the scenarios and chaos sweeps catch (a sweep that
//! cannot find a planted bug cannot be trusted to find a real one).
//!
//! Each bug belongs to one component and is named in that component's
//! section of a scenario file (`model.agent.seeded_bug`,
//! `model.change.seeded_bug`), typed there by the component's own enum
//! ([`SeededBug`], [`ChangeBug`]); [`Bug`] is the union that `cascade
//! chaos --bug` takes. None is on unless a file or flag names it.

use super::agent::SeededBug;
use super::change::ChangeBug;
use super::rollout::RolloutBug;

/// Every seeded bug, whichever component it lives in (what each does:
/// its component's enum, whose doc comments are also `--bug`'s help).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bug {
    DeletesOn5xx,
    AcceptsGenerationRegression,
    IgnoresTombstones,
    RetriesWithoutBackoff,
    NeverLeavesHold,
    NeverCollects,
    StaleTombstoneAfterReadd,
    LeavesHoldOnStaleAnswer,
    GraceFromRefusedScaleDown,
    ForgetsGenerationOnRestart,
    ConfirmationNeverResets,
    BackoffResetByStaleAnswer,
    IsolationNeverRejects,
    SkipsBakeAfterAlarm,
}

impl clap::ValueEnum for Bug {
    fn value_variants<'a>() -> &'a [Self] {
        &Bug::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        match self.planted() {
            Planted::Agent(b) => b.to_possible_value(),
            Planted::Change(b) => b.to_possible_value(),
            Planted::Rollout(b) => b.to_possible_value(),
        }
    }
}

/// Where a bug lives: the scenario section that names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Planted {
    Agent(SeededBug),
    Change(ChangeBug),
    Rollout(RolloutBug),
}

impl Planted {
    /// The section of `model` whose `seeded_bug` field names it.
    pub fn section(self) -> &'static str {
        match self {
            Planted::Agent(_) => "agent",
            Planted::Change(_) => "change",
            Planted::Rollout(_) => "rollout",
        }
    }
}

impl Bug {
    pub const ALL: [Bug; 14] = [
        Bug::DeletesOn5xx,
        Bug::AcceptsGenerationRegression,
        Bug::IgnoresTombstones,
        Bug::RetriesWithoutBackoff,
        Bug::NeverLeavesHold,
        Bug::NeverCollects,
        Bug::StaleTombstoneAfterReadd,
        Bug::LeavesHoldOnStaleAnswer,
        Bug::GraceFromRefusedScaleDown,
        Bug::ForgetsGenerationOnRestart,
        Bug::ConfirmationNeverResets,
        Bug::BackoffResetByStaleAnswer,
        Bug::IsolationNeverRejects,
        Bug::SkipsBakeAfterAlarm,
    ];

    /// Every section a bug may be named in (to clear them all).
    pub const SECTIONS: [&'static str; 3] = ["agent", "change", "rollout"];

    /// The component's own value for this bug.
    pub fn planted(self) -> Planted {
        match self {
            Bug::DeletesOn5xx => Planted::Agent(SeededBug::DeletesOn5xx),
            Bug::AcceptsGenerationRegression => {
                Planted::Agent(SeededBug::AcceptsGenerationRegression)
            }
            Bug::IgnoresTombstones => Planted::Agent(SeededBug::IgnoresTombstones),
            Bug::RetriesWithoutBackoff => Planted::Agent(SeededBug::RetriesWithoutBackoff),
            Bug::NeverLeavesHold => Planted::Agent(SeededBug::NeverLeavesHold),
            Bug::NeverCollects => Planted::Agent(SeededBug::NeverCollects),
            Bug::StaleTombstoneAfterReadd => Planted::Agent(SeededBug::StaleTombstoneAfterReadd),
            Bug::LeavesHoldOnStaleAnswer => Planted::Agent(SeededBug::LeavesHoldOnStaleAnswer),
            Bug::GraceFromRefusedScaleDown => Planted::Agent(SeededBug::GraceFromRefusedScaleDown),
            Bug::ForgetsGenerationOnRestart => {
                Planted::Agent(SeededBug::ForgetsGenerationOnRestart)
            }
            Bug::ConfirmationNeverResets => Planted::Agent(SeededBug::ConfirmationNeverResets),
            Bug::BackoffResetByStaleAnswer => Planted::Agent(SeededBug::BackoffResetByStaleAnswer),
            Bug::IsolationNeverRejects => Planted::Change(ChangeBug::IsolationNeverRejects),
            Bug::SkipsBakeAfterAlarm => Planted::Rollout(RolloutBug::SkipsBakeAfterAlarm),
        }
    }

    /// The name scenario files and `--bug` use (the same in both).
    pub fn name(self) -> &'static str {
        match self.planted() {
            Planted::Agent(b) => b.name(),
            Planted::Change(b) => b.name(),
            Planted::Rollout(b) => b.name(),
        }
    }

    /// The section of `model` that names it.
    pub fn section(self) -> &'static str {
        self.planted().section()
    }

    /// Plants the bug in a scenario's `model` object
    /// (`<section>.seeded_bug`).
    pub fn plant_in(self, model: &mut serde_json::Value) {
        model[self.section()]["seeded_bug"] = serde_json::json!(self.name());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn the_catalogue_lists_every_component_bug_once_under_its_file_name() {
        assert_eq!(Bug::value_variants().len(), Bug::ALL.len());
        for bug in Bug::ALL {
            assert_eq!(Bug::from_str(bug.name(), false), Ok(bug), "{bug:?}");
            // The name is the one the component's section deserialises.
            let text = format!("\"{}\"", bug.name());
            match bug.planted() {
                Planted::Agent(b) => {
                    assert_eq!(serde_json::from_str::<SeededBug>(&text).unwrap(), b)
                }
                Planted::Change(b) => {
                    assert_eq!(serde_json::from_str::<ChangeBug>(&text).unwrap(), b)
                }
                Planted::Rollout(b) => {
                    assert_eq!(serde_json::from_str::<RolloutBug>(&text).unwrap(), b)
                }
            }
        }
        for b in SeededBug::ALL {
            assert!(Bug::ALL.iter().any(|x| x.planted() == Planted::Agent(b)));
        }
        for b in ChangeBug::ALL {
            assert!(Bug::ALL.iter().any(|x| x.planted() == Planted::Change(b)));
        }
        for b in RolloutBug::ALL {
            assert!(Bug::ALL.iter().any(|x| x.planted() == Planted::Rollout(b)));
        }
    }
}
