//! The auth path on the event loop (filled in when the auth model lands).

use super::{Ev, World};
use crate::summary::MetricsSummary;
use crate::timeline::TimelineItem;
use cascade_sim::Sim;

impl World {
    pub(super) fn on_auth_action(
        &mut self,
        sim: &mut Sim<Ev>,
        item: &TimelineItem,
        begin: bool,
        label: String,
    ) {
        if begin {
            self.key_event(sim.now(), label);
        }
        let _ = item;
    }

    pub(super) fn fill_auth_summary(&self, m: &mut MetricsSummary) {
        let _ = m;
    }
}
