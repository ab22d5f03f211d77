//! The scenario's timeline: typed actions at simulated times.

use cascade_sim::{SimDuration, SimTime};

/// One thing the scenario makes happen.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// A routing change sends the desired-state path of `ratio` of the
    /// clusters to the default backend (404); ends (if timed) with a fix.
    EdgeMisroute { ratio: f64, salt: u64 },
    /// Routing corrected.
    EdgeFix,
    /// Only a marker in the report.
    Note,
}

/// An action with its time, optional duration and note.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineItem {
    /// Stable id from the scenario (e.g. "E4").
    pub id: String,
    pub at: SimTime,
    pub duration: Option<SimDuration>,
    pub action: Action,
    pub note: String,
}

/// The timeline in scenario order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    pub items: Vec<TimelineItem>,
}
