//! G5's fleet-wide brake: while any agent runs with G5, at most
//! `fleet_deletes_per_hour_max` deletes an hour across the whole fleet.
//!
//! The agent's own G5 cap is per cluster and lives in the agent; this brake
//! is the fleet's shared budget, a control-plane service the agents ask
//! before they delete. Sans-IO: the caller asks, the brake answers.

use crate::sim::{SimDuration, SimTime, SlidingCount};

/// The fleet-wide delete budget.
#[derive(Clone, Debug)]
pub struct FleetBrake {
    deletes_per_hour_max: u32,
    recent: SlidingCount,
}

impl FleetBrake {
    pub fn new(deletes_per_hour_max: u32) -> Self {
        FleetBrake {
            deletes_per_hour_max,
            recent: SlidingCount::new(SimDuration::from_hours(1)),
        }
    }

    /// An agent asks to delete at `now`: allowed (and counted) while the
    /// last hour's deletes are below the cap, refused otherwise.
    pub fn handle_delete_request(&mut self, now: SimTime) -> bool {
        if self.recent.count(now) as u32 >= self.deletes_per_hour_max {
            return false;
        }
        self.recent.push(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_brake_allows_its_cap_per_hour_and_refusals_do_not_count() {
        let mut b = FleetBrake::new(3);
        let t = |m: u64| SimTime::from_secs(m * 60);
        assert!(b.handle_delete_request(t(0)));
        assert!(b.handle_delete_request(t(10)));
        assert!(b.handle_delete_request(t(20)));
        assert!(!b.handle_delete_request(t(30)));
        assert!(!b.handle_delete_request(t(59)));
        // The first delete leaves the hour at 60 min: one slot frees up.
        assert!(b.handle_delete_request(t(60)));
        assert!(!b.handle_delete_request(t(61)));
    }
}
