//! A sliding-window counter over simulated time: how many things happened
//! in the last `window`. Used for caps such as "at most N deletes an hour".

use crate::time::{SimDuration, SimTime};
use std::collections::VecDeque;

/// Instants of recent occurrences, oldest first; those at least `window`
/// old are forgotten. Memory is bounded by what the caller admits: a cap
/// checked before every `push` keeps it at most the cap.
#[derive(Clone, Debug)]
pub struct SlidingCount {
    window: SimDuration,
    times: VecDeque<SimTime>,
}

impl SlidingCount {
    pub fn new(window: SimDuration) -> Self {
        SlidingCount {
            window,
            times: VecDeque::new(),
        }
    }

    /// Occurrences in `(now - window, now]`.
    pub fn count(&mut self, now: SimTime) -> usize {
        while self
            .times
            .front()
            .is_some_and(|t| now.saturating_since(*t) >= self.window)
        {
            self.times.pop_front();
        }
        self.times.len()
    }

    /// Records one occurrence at `now` (times must not go backwards).
    pub fn push(&mut self, now: SimTime) {
        self.times.push_back(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occurrences_leave_the_window_after_it_has_passed() {
        let mut w = SlidingCount::new(SimDuration::from_secs(60));
        w.push(SimTime::from_secs(0));
        w.push(SimTime::from_secs(30));
        assert_eq!(w.count(SimTime::from_secs(59)), 2);
        assert_eq!(w.count(SimTime::from_secs(60)), 1, "exactly a window old");
        assert_eq!(w.count(SimTime::from_secs(90)), 0);
    }
}
