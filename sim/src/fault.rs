//! A fault schedule: timed actions with a start and an optional duration.
//!
//! The kernel does not know what a fault does; `A` is the caller's action type.
//! [`FaultSchedule::arm`] puts a `Begin` and (when the fault has a duration) an
//! `End` edge for every fault into the event queue; the caller's event handler
//! applies the action on `Begin` and reverts it on `End`. Arming goes through
//! the same queue as every other event, so faults interleave with the world
//! deterministically by (time, sequence).

use crate::run::Sim;
use crate::time::{SimDuration, SimTime};

/// One fault: what, when, for how long.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault<A> {
    pub start: SimTime,
    /// `None`: the fault is permanent (or reverted by a later fault).
    pub duration: Option<SimDuration>,
    pub action: A,
}

impl<A> Fault<A> {
    pub fn end(&self) -> Option<SimTime> {
        self.duration.map(|d| self.start + d)
    }
}

/// Which edge of which fault an event stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultEdge {
    Begin(u32),
    End(u32),
}

/// Faults in the order they were added (their index is their identity).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultSchedule<A> {
    faults: Vec<Fault<A>>,
}

impl<A> FaultSchedule<A> {
    pub fn new() -> Self {
        FaultSchedule { faults: Vec::new() }
    }

    /// Adds a fault; returns its index.
    pub fn add(&mut self, start: SimTime, duration: Option<SimDuration>, action: A) -> u32 {
        self.faults.push(Fault {
            start,
            duration,
            action,
        });
        (self.faults.len() - 1) as u32
    }

    pub fn get(&self, index: u32) -> &Fault<A> {
        &self.faults[index as usize]
    }

    pub fn len(&self) -> usize {
        self.faults.len()
    }

    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Fault<A>> {
        self.faults.iter()
    }

    /// The instant the last fault with a duration heals, or the last start of
    /// a permanent one: when liveness checks may start demanding convergence.
    pub fn quiet_after(&self) -> SimTime {
        self.faults
            .iter()
            .map(|f| f.end().unwrap_or(f.start))
            .max()
            .unwrap_or(SimTime::ZERO)
    }

    /// Every fault's edges in the order they take effect: by time, ties in
    /// arming order (fault by fault in index order, each fault's begin
    /// before its end). This is the one definition of that order: [`arm`]
    /// schedules in it, and drivers that do not use the kernel's queue
    /// (the wire tier's plan) walk it directly.
    ///
    /// [`arm`]: FaultSchedule::arm
    pub fn edges(&self) -> Vec<(SimTime, FaultEdge)> {
        let mut edges = Vec::with_capacity(2 * self.faults.len());
        for (i, f) in self.faults.iter().enumerate() {
            edges.push((f.start, FaultEdge::Begin(i as u32)));
            if let Some(end) = f.end() {
                edges.push((end, FaultEdge::End(i as u32)));
            }
        }
        // Stable: equal times keep arming order.
        edges.sort_by_key(|e| e.0);
        edges
    }

    /// Schedules every fault's edges into `sim`, wrapping each as the
    /// caller's event. The queue pops ties in scheduling order, so the
    /// edges fire in [`FaultSchedule::edges`] order.
    pub fn arm<E>(&self, sim: &mut Sim<E>, wrap: impl Fn(FaultEdge) -> E) {
        for (at, edge) in self.edges() {
            sim.schedule_at(at, wrap(edge));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::{Model, RunLimits, StopReason};

    #[derive(Debug, PartialEq)]
    enum Ev {
        Fault(FaultEdge),
    }

    struct World {
        log: Vec<(u64, FaultEdge)>,
    }
    impl Model<Ev> for World {
        fn handle(&mut self, sim: &mut Sim<Ev>, event: Ev) {
            let Ev::Fault(edge) = event;
            self.log.push((sim.now().as_secs(), edge));
        }
    }

    #[test]
    fn edges_fire_at_start_and_end() {
        let mut faults = FaultSchedule::new();
        faults.add(
            SimTime::from_secs(30),
            Some(SimDuration::from_secs(45)),
            "blackhole",
        );
        faults.add(SimTime::from_secs(10), None, "misroute");
        assert_eq!(faults.quiet_after(), SimTime::from_secs(75));
        let mut sim = Sim::new(RunLimits::default());
        faults.arm(&mut sim, Ev::Fault);
        let mut world = World { log: Vec::new() };
        let outcome = sim.run(&mut world);
        assert_eq!(outcome.reason, StopReason::QueueEmpty);
        assert_eq!(
            world.log,
            vec![
                (10, FaultEdge::Begin(1)),
                (30, FaultEdge::Begin(0)),
                (75, FaultEdge::End(0))
            ]
        );
        assert_eq!(*faults.get(0).action, *"blackhole");
        // `edges` is the order the queue popped them in.
        let edges: Vec<(u64, FaultEdge)> = faults
            .edges()
            .into_iter()
            .map(|(t, e)| (t.as_secs(), e))
            .collect();
        assert_eq!(edges, world.log);
    }

    #[test]
    fn ties_keep_arming_order() {
        let mut faults = FaultSchedule::new();
        let t = SimTime::from_secs(10);
        faults.add(SimTime::ZERO, Some(SimDuration::from_secs(10)), 'a');
        faults.add(t, Some(SimDuration::from_secs(5)), 'b');
        faults.add(t, None, 'c');
        assert_eq!(
            faults.edges(),
            vec![
                (SimTime::ZERO, FaultEdge::Begin(0)),
                (t, FaultEdge::End(0)),
                (t, FaultEdge::Begin(1)),
                (t, FaultEdge::Begin(2)),
                (SimTime::from_secs(15), FaultEdge::End(1)),
            ]
        );
    }
}
