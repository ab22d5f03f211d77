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

/// Every seeded bug, whichever component it lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Bug {
    /// Agent: a 5xx is read as "no pools": every present pool is deleted at once.
    #[value(name = "deletes_on_5xx")]
    DeletesOn5xx,
    /// Agent: G3 skipped: an older generation is applied.
    AcceptsGenerationRegression,
    /// Agent: G2 and G4 skipped: a pool missing from any 200 answer is removed.
    IgnoresTombstones,
    /// Agent: G7 skipped: a failed poll is retried after one second, forever.
    RetriesWithoutBackoff,
    /// Agent: once in safe hold the agent never leaves it (and stops reconciling).
    NeverLeavesHold,
    /// Change management: isolation never rejects a change applied with
    /// another environment's credentials; the change manager's own
    /// assertion (no leak with isolation on) then panics.
    IsolationNeverRejects,
}

/// Where a bug lives: the scenario section that names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Planted {
    Agent(SeededBug),
    Change(ChangeBug),
}

impl Planted {
    /// The section of `model` whose `seeded_bug` field names it.
    pub fn section(self) -> &'static str {
        match self {
            Planted::Agent(_) => "agent",
            Planted::Change(_) => "change",
        }
    }
}

impl Bug {
    pub const ALL: [Bug; 6] = [
        Bug::DeletesOn5xx,
        Bug::AcceptsGenerationRegression,
        Bug::IgnoresTombstones,
        Bug::RetriesWithoutBackoff,
        Bug::NeverLeavesHold,
        Bug::IsolationNeverRejects,
    ];

    /// Every section a bug may be named in (to clear them all).
    pub const SECTIONS: [&'static str; 2] = ["agent", "change"];

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
            Bug::IsolationNeverRejects => Planted::Change(ChangeBug::IsolationNeverRejects),
        }
    }

    /// The name scenario files and `--bug` use (the same in both).
    pub fn name(self) -> &'static str {
        match self.planted() {
            Planted::Agent(b) => b.name(),
            Planted::Change(b) => b.name(),
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
            }
        }
        for b in SeededBug::ALL {
            assert!(Bug::ALL.iter().any(|x| x.planted() == Planted::Agent(b)));
        }
        for b in ChangeBug::ALL {
            assert!(Bug::ALL.iter().any(|x| x.planted() == Planted::Change(b)));
        }
    }
}
