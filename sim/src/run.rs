//! The event loop: pops events in (time, sequence) order and hands them to
//! the caller's model, within run limits.
//!
//! [`Sim`] owns simulated time, the queue and the trace; the model owns its
//! own state and receives `&mut Sim` to schedule follow-up events and record
//! to the trace. `Model::handle` is generic (monomorphised), so the hot loop
//! has no dynamic dispatch and no per-event allocation.

use crate::queue::{EventQueue, PendingEvents};
use crate::time::{SimDuration, SimTime};
use crate::trace::Trace;
use std::fmt;

/// Default [`RunLimits::instant_events_max`]: a hundred times the largest
/// fleet, some seconds of a livelocked loop.
pub const INSTANT_EVENTS_MAX_DEFAULT: u64 = 100_000_000;

/// Bounds on a run; hitting one ends the run with a stated reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunLimits {
    /// Maximum number of events handled.
    pub events_max: u64,
    /// The run ends before handling any event later than this.
    pub time_end: SimTime,
    /// Maximum pending events; scheduling past it stops the run.
    pub pending_max: usize,
    /// Most events handled at one simulated instant: a model that
    /// reschedules itself at the current time for ever (a timer set for
    /// now, or for the past and clamped to now) never lets time advance,
    /// and would otherwise run until `events_max`, minutes of wall time.
    /// Far above any real burst: one event per cluster at the same
    /// instant is 1,000,000 at the largest fleet.
    pub instant_events_max: u64,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            events_max: 1_000_000_000,
            time_end: SimTime::MAX,
            pending_max: 10_000_000,
            instant_events_max: INSTANT_EVENTS_MAX_DEFAULT,
        }
    }
}

/// Why a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// No event left to handle.
    QueueEmpty,
    /// The next event lies beyond `time_end`.
    TimeLimit,
    /// `events_max` events were handled.
    EventLimit,
    /// More than `pending_max` events were pending.
    QueueFull,
    /// More than `instant_events_max` events at one instant: time stopped
    /// advancing (a livelock of the model).
    Livelock { at: SimTime },
    /// The model asked to stop, with its reason.
    Stopped(String),
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::QueueEmpty => write!(f, "no events left"),
            StopReason::TimeLimit => write!(f, "reached the end time"),
            StopReason::EventLimit => write!(f, "event limit reached"),
            StopReason::QueueFull => write!(f, "pending-event limit reached"),
            StopReason::Livelock { .. } => write!(
                f,
                "livelock: more events at one simulated instant than the run's bound; time stopped advancing"
            ),
            StopReason::Stopped(why) => write!(f, "stopped: {why}"),
        }
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    pub reason: StopReason,
    pub events_handled: u64,
    /// Simulated time of the last handled event.
    pub now: SimTime,
    pub trace_hash: u64,
}

/// The caller's world: handles one event at a time.
pub trait Model<E> {
    fn handle(&mut self, sim: &mut Sim<E>, event: E);
}

/// The simulation: time, pending events, trace and limits.
pub struct Sim<E> {
    queue: EventQueue<E>,
    now: SimTime,
    events_handled: u64,
    /// Events handled at `now` so far (the livelock bound).
    instant_events: u64,
    limits: RunLimits,
    stop: Option<StopReason>,
    pub trace: Trace,
}

impl<E> Sim<E> {
    pub fn new(limits: RunLimits) -> Self {
        Sim {
            queue: EventQueue::new(),
            now: SimTime::ZERO,
            events_handled: 0,
            instant_events: 0,
            limits,
            stop: None,
            trace: Trace::new(),
        }
    }

    #[inline(always)]
    pub fn now(&self) -> SimTime {
        self.now
    }

    pub fn limits(&self) -> RunLimits {
        self.limits
    }

    pub fn events_handled(&self) -> u64 {
        self.events_handled
    }

    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Schedules `event` at `at` (not before now: that is a bug and panics).
    #[inline]
    pub fn schedule_at(&mut self, at: SimTime, event: E) {
        if self.queue.len() >= self.limits.pending_max {
            self.stop.get_or_insert(StopReason::QueueFull);
            return;
        }
        self.queue.push(at, event);
    }

    /// Schedules `event` after `delay`.
    #[inline]
    pub fn schedule_in(&mut self, delay: SimDuration, event: E) {
        let at = self.now + delay;
        self.schedule_at(at, event);
    }

    /// For a model about to schedule an event at `at` that would be the next
    /// one handled: moves the clock to `at` and counts the event as handled,
    /// so the model handles it in place, without a round trip through the
    /// queue. Returns false and changes nothing when the event would not be
    /// next or the run would end first: a pending event is due at or
    /// before `at` (one due at `at` was scheduled earlier and pops first),
    /// `at` is past the end time, the event limit is reached, a stop is
    /// pending, or the queue is full; the model then schedules the event as
    /// usual. So the order of events, the clock each sees, the event count
    /// and the reason a run ends are those of the queued version. The auth
    /// path's per-second tick uses it to run the ticks between two other
    /// events in one call.
    pub fn handle_next_in_place(&mut self, at: SimTime) -> bool {
        debug_assert!(at >= self.now, "an event in place cannot go back in time");
        if self.stop.is_some()
            || at > self.limits.time_end
            || self.events_handled >= self.limits.events_max
            || self.queue.len() >= self.limits.pending_max
        {
            return false;
        }
        if self.queue.peek_time().is_some_and(|next| next <= at) {
            return false;
        }
        if !self.clock_to_event(at) {
            return false;
        }
        self.events_handled += 1;
        true
    }

    /// How many of the events at `first + period`, `first + 2 * period`,
    /// … (at most `max`, each before `barrier`) a model may handle ahead
    /// of the clock, now: events that nothing else handled before
    /// `barrier` reads or writes (the auth path's ticks between two
    /// timeline edges and minutes). None past the event limit, none when
    /// a stop is pending. The end time is the caller's to put in
    /// `barrier`: the kernel's may be a driver's next step rather than the
    /// run's end (the black-box host advances in steps), and a run must
    /// not depend on how it was stepped. Changes nothing;
    /// [`Self::count_handled_ahead`] then counts them. The clock stays:
    /// the other events before `barrier` are handled at their own times,
    /// after these.
    pub fn ahead_run_len(
        &self,
        first: SimTime,
        period: SimDuration,
        max: u32,
        barrier: SimTime,
    ) -> u32 {
        if self.stop.is_some() || period == SimDuration::ZERO {
            return 0;
        }
        let mut n = 0;
        while n < max {
            let at = first + period * u64::from(n + 1);
            if at >= barrier || self.events_handled + u64::from(n) >= self.limits.events_max {
                break;
            }
            n += 1;
        }
        n
    }

    /// Counts the `n` events [`Self::ahead_run_len`] allowed as handled.
    /// The run's event count ends as if each had been queued; a run that
    /// ends early (a stop, the event limit) has counted them already.
    pub fn count_handled_ahead(&mut self, n: u32) {
        self.events_handled += u64::from(n);
    }

    /// Moves the clock to `at` for one more event, counting the events
    /// at one instant; false (the clock unmoved) past the livelock bound.
    #[inline(always)]
    fn clock_to_event(&mut self, at: SimTime) -> bool {
        if at == self.now {
            if self.instant_events >= self.limits.instant_events_max {
                return false;
            }
            self.instant_events += 1;
        } else {
            self.now = at;
            self.instant_events = 1;
        }
        true
    }

    /// Ends the run after the current event, with `why` as the reason.
    pub fn stop(&mut self, why: impl Into<String>) {
        self.stop.get_or_insert(StopReason::Stopped(why.into()));
    }

    /// Runs until a limit, an explicit stop, or an empty queue.
    pub fn run<M: Model<E>>(&mut self, model: &mut M) -> RunOutcome {
        let reason = loop {
            if let Some(reason) = self.stop.take() {
                break reason;
            }
            if self.events_handled >= self.limits.events_max {
                break StopReason::EventLimit;
            }
            let next = match self.queue.peek_time() {
                None => break StopReason::QueueEmpty,
                Some(t) if t > self.limits.time_end => break StopReason::TimeLimit,
                Some(t) => t,
            };
            if !self.clock_to_event(next) {
                break StopReason::Livelock { at: next };
            }
            let (at, event) = self.queue.pop().expect("peeked");
            debug_assert_eq!(at, self.now);
            self.events_handled += 1;
            model.handle(self, event);
        };
        RunOutcome {
            reason,
            events_handled: self.events_handled,
            now: self.now,
            trace_hash: self.trace.hash(),
        }
    }

    /// Moves the end of the run (e.g. to run a long simulation in chunks and
    /// report progress between them; the event order does not change).
    pub fn set_time_end(&mut self, time_end: SimTime) {
        self.limits.time_end = time_end;
    }

    /// When the next pending event is due (`None`: the queue is empty).
    pub fn next_event_time(&mut self) -> Option<SimTime> {
        self.queue.peek_time()
    }

    /// Moves the clock forward to `t` with no event handled, so that
    /// something from outside the model (a request of a real process in the
    /// black-box tier) is handled at `t`. Call after [`Sim::run`] has
    /// handled every event due at or before `t`: the clock never passes a
    /// pending event, nor goes back (either is a bug and panics).
    pub fn advance_to(&mut self, t: SimTime) {
        assert!(t >= self.now, "the clock cannot go back");
        assert!(
            self.queue.peek_time().is_none_or(|next| next > t),
            "the clock cannot pass a pending event"
        );
        if t > self.now {
            self.instant_events = 0;
        }
        self.now = t;
    }

    /// Advances the clock to `limits.time_end` if the run ended on the time
    /// limit or an empty queue, so end-of-run accounting sees the full window.
    pub fn advance_to_end(&mut self) {
        if self.limits.time_end != SimTime::MAX && self.limits.time_end > self.now {
            self.now = self.limits.time_end;
            self.instant_events = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Ticker {
        period: SimDuration,
        ticks: u64,
    }
    impl Model<u8> for Ticker {
        fn handle(&mut self, sim: &mut Sim<u8>, _e: u8) {
            self.ticks += 1;
            sim.schedule_in(self.period, 0);
        }
    }

    #[test]
    fn time_limit_stops_before_later_events() {
        let mut sim = Sim::new(RunLimits {
            time_end: SimTime::from_secs(600),
            ..RunLimits::default()
        });
        sim.schedule_at(SimTime::ZERO, 0);
        let mut m = Ticker {
            period: SimDuration::from_secs(60),
            ticks: 0,
        };
        let out = sim.run(&mut m);
        assert_eq!(out.reason, StopReason::TimeLimit);
        assert_eq!(m.ticks, 11); // t = 0, 60, ..., 600
        assert_eq!(out.now, SimTime::from_secs(600));
    }

    #[test]
    fn running_in_chunks_handles_the_same_events() {
        let run = |chunks: u64| {
            let mut sim = Sim::new(RunLimits::default());
            sim.schedule_at(SimTime::ZERO, 0);
            let mut m = Ticker {
                period: SimDuration::from_secs(7),
                ticks: 0,
            };
            for k in 1..=chunks {
                sim.set_time_end(SimTime::from_secs(3_600 * k / chunks));
                sim.run(&mut m);
            }
            (m.ticks, sim.events_handled())
        };
        assert_eq!(run(1), run(60));
        assert_eq!(run(1).0, 3_600 / 7 + 1);
    }

    #[test]
    fn a_model_that_stops_time_is_a_livelock_not_a_hang() {
        // A zero-period ticker reschedules itself at the same instant for
        // ever: the run stops at the instant bound, well before the event
        // limit, and says where time stopped.
        let mut sim = Sim::new(RunLimits {
            instant_events_max: 500,
            ..RunLimits::default()
        });
        sim.schedule_at(SimTime::from_secs(7), 0);
        let mut m = Ticker {
            period: SimDuration::ZERO,
            ticks: 0,
        };
        let out = sim.run(&mut m);
        assert_eq!(
            out.reason,
            StopReason::Livelock {
                at: SimTime::from_secs(7)
            }
        );
        assert_eq!(out.events_handled, 500);
        // Many events at one instant that do end are not a livelock.
        let mut sim = Sim::new(RunLimits {
            instant_events_max: 500,
            ..RunLimits::default()
        });
        for _ in 0..500 {
            sim.schedule_at(SimTime::from_secs(7), 0);
        }
        let mut m = Ticker {
            period: SimDuration::from_secs(1_000_000),
            ticks: 0,
        };
        sim.set_time_end(SimTime::from_secs(8));
        assert_eq!(sim.run(&mut m).reason, StopReason::TimeLimit);
        assert_eq!(m.ticks, 500);
    }

    #[test]
    fn event_limit_stops_a_run_that_would_never_end() {
        let mut sim = Sim::new(RunLimits {
            events_max: 1_000,
            ..RunLimits::default()
        });
        sim.schedule_at(SimTime::ZERO, 0);
        let mut m = Ticker {
            period: SimDuration::ZERO,
            ticks: 0,
        };
        let out = sim.run(&mut m);
        assert_eq!(out.reason, StopReason::EventLimit);
        assert_eq!(out.events_handled, 1_000);
    }

    /// A periodic step that runs in place when it can, among other events
    /// (`1`) at chosen times; logs what it handles.
    struct InPlaceTicker {
        period: SimDuration,
        in_place: bool,
        /// With `in_place`: take up to this many ticks ahead of the clock
        /// at once (`ahead_run_len`), none at or past the next barrier (the
        /// other events that would touch the ticker, which it knows),
        /// logged one by one.
        run_of: u32,
        barriers: Vec<SimTime>,
        log: Vec<(SimTime, u8)>,
    }
    impl Model<u8> for InPlaceTicker {
        fn handle(&mut self, sim: &mut Sim<u8>, e: u8) {
            self.log.push((sim.now(), e));
            if e != 0 {
                return;
            }
            let mut tick = sim.now();
            loop {
                if self.in_place && self.run_of > 0 {
                    let barrier = self
                        .barriers
                        .iter()
                        .copied()
                        .find(|&t| t > tick)
                        // Past the run's end (100 s), which the kernel
                        // leaves to the model's barrier.
                        .unwrap_or(SimTime::from_micros(100_000_001));
                    let n = sim.ahead_run_len(tick, self.period, self.run_of, barrier);
                    sim.count_handled_ahead(n);
                    for _ in 0..n {
                        tick += self.period;
                        self.log.push((tick, 0));
                    }
                }
                let next = tick + self.period;
                if !(self.in_place && sim.handle_next_in_place(next)) {
                    sim.schedule_at(next, 0);
                    return;
                }
                tick = next;
                self.log.push((tick, 0));
            }
        }
    }

    #[test]
    fn handling_in_place_keeps_the_order_the_clock_and_the_count() {
        let others: Vec<SimTime> = [2_500, 5_000, 5_000, 40_000, 100_000]
            .into_iter()
            .map(SimTime::from_millis)
            .collect();
        let run = |in_place: bool, run_of: u32, events_max: u64| {
            let mut sim = Sim::new(RunLimits {
                time_end: SimTime::from_secs(100),
                events_max,
                ..RunLimits::default()
            });
            // Other events: one between ticks, two exactly on ticks (they
            // were scheduled first, so they come before the tick), one at
            // the end time.
            for &at in &others {
                sim.schedule_at(at, 1);
            }
            sim.schedule_at(SimTime::ZERO, 0);
            let mut m = InPlaceTicker {
                period: SimDuration::from_secs(1),
                in_place,
                run_of,
                // The events at 2.5 s and 40 s leave the ticker alone.
                barriers: vec![SimTime::from_secs(5), SimTime::from_secs(100)],
                log: Vec::new(),
            };
            let out = sim.run(&mut m);
            (m.log, out)
        };
        let (queued, queued_out) = run(false, 0, 1_000);
        let (in_place, in_place_out) = run(true, 0, 1_000);
        assert_eq!(queued.len(), 101 + 5);
        assert_eq!(
            queued[6..9],
            [
                (SimTime::from_secs(5), 1),
                (SimTime::from_secs(5), 1),
                (SimTime::from_secs(5), 0)
            ]
        );
        assert_eq!(in_place, queued);
        assert_eq!(in_place_out, queued_out);
        // Runs of up to 7 ticks ahead of the clock: the ticks are logged
        // before the other events they pass (at 2.5 s and 40 s), and none
        // passes a barrier (5 s, 100 s: each tick there comes after the
        // events at its instant). Sorted, it is the same log, and the run
        // ends alike at the same instant with the same count.
        let (mut ahead, ahead_out) = run(true, 7, 1_000);
        assert_ne!(ahead, queued, "the runs went ahead of the clock");
        let at = |log: &[(SimTime, u8)], secs: u64, e: u8| {
            log.iter()
                .rposition(|&x| x == (SimTime::from_secs(secs), e))
                .unwrap()
        };
        assert!(at(&ahead, 5, 0) > at(&ahead, 5, 1));
        assert!(at(&ahead, 100, 0) > at(&ahead, 100, 1));
        ahead.sort();
        let mut sorted = queued.clone();
        sorted.sort();
        assert_eq!((&ahead, &ahead_out), (&sorted, &queued_out));
        // The event limit ends the queued and in-place runs at the same
        // event; ahead runs count their ticks first, so the limit comes
        // at the same count, earlier in time.
        let (queued, queued_out) = run(false, 0, 50);
        let (in_place, in_place_out) = run(true, 0, 50);
        assert_eq!(
            (in_place.len(), in_place_out.reason.clone()),
            (50, StopReason::EventLimit)
        );
        assert_eq!((&in_place, &in_place_out), (&queued, &queued_out));
        let (ahead, ahead_out) = run(true, 7, 50);
        assert_eq!(
            (ahead.len(), ahead_out.reason, ahead_out.events_handled),
            (50, StopReason::EventLimit, 50)
        );
    }

    struct Doubler;
    impl Model<u8> for Doubler {
        fn handle(&mut self, sim: &mut Sim<u8>, _e: u8) {
            sim.schedule_in(SimDuration::from_secs(1), 0);
            sim.schedule_in(SimDuration::from_secs(1), 0);
        }
    }

    #[test]
    fn pending_limit_stops_an_exploding_run() {
        let mut sim = Sim::new(RunLimits {
            pending_max: 100,
            ..RunLimits::default()
        });
        sim.schedule_at(SimTime::ZERO, 0);
        let out = sim.run(&mut Doubler);
        assert_eq!(out.reason, StopReason::QueueFull);
        assert!(sim.pending() <= 100);
    }
}
