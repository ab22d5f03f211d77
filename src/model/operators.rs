//! Operators: the on-call page-and-acknowledge loop and the manual repair of
//! broken clusters by a small team of engineers.
//!
//! Why it is modelled: on D5 every affected cluster was restored by hand
//! ("by Sunday afternoon") \[fact], and on D8 manual repair was judged too slow
//! against an emergency hotfix \[fact]. Both outcomes follow from two figures:
//! how long a page takes to be acknowledged (slower at night) and how many
//! clusters per hour a team of engineers can restore (engineers ÷ hands-on
//! time) \[A: spec §3].
//!
//! The model \[A]: nobody repairs until a page has been acknowledged (the team
//! is "engaged" while an acknowledged incident is open). Clusters wait in a
//! bounded FIFO queue, deduplicated. A free engineer takes the head of the
//! queue, works `hands_on_min` (with a small lognormal spread) and is free
//! again; the driver then issues the cloud create calls for the missing pools,
//! whose latency is the cloud model's business, not the engineer's.
//!
//! Sans-IO: timers are requested as [`OpsOutput::SetTimer`] and come back
//! through [`Operators::handle_timer`]; randomness only from the caller's
//! [`Stream`]. Night hours ([`NightHours`], shared with monitoring) are read
//! on the run's calendar (`with_night`).

use crate::protocol::ClusterId;
use crate::sim::{Epoch, SimDuration, SimTime, Stream};
use crate::types::{check_at_least, check_at_most, check_positive, check_range, NightHours};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Most engineers a team may have; bounds the projection's scratch array.
pub const ENGINEERS_MAX: usize = 64;

/// Settings of the on-call and repair model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct OperatorsConfig {
    /// \[A] Median time to acknowledge a page by day (spec §3: 15 min).
    pub ack_median_day_min: f64,
    /// \[A] 99th percentile of day acknowledgement: a page missed in a meeting.
    pub ack_p99_day_min: f64,
    /// \[A] Median time to acknowledge a page at night (spec §3: 30 min): woken from sleep.
    pub ack_median_night_min: f64,
    /// \[A] 99th percentile of night acknowledgement: first page slept through.
    pub ack_p99_night_min: f64,
    /// \[A] Engineers repairing clusters in parallel (spec §3: 6).
    pub engineers: u32,
    /// \[A] Median time from an escalation (engineers called in) to the
    /// acknowledgement of a page still waiting: the people joining look
    /// at the open pages once on the call, a few minutes, not at the
    /// instant they are called.
    pub escalation_ack_median_min: f64,
    /// \[A] 99th percentile of that acknowledgement: the call takes a
    /// while to find the page among the others.
    pub escalation_ack_p99_min: f64,
    /// \[A] Median hands-on time to restore one cluster (spec §3: 20 min).
    pub hands_on_min: f64,
    /// \[A] 99th percentile of hands-on time; equal to `hands_on_min` for no spread.
    pub hands_on_p99_min: f64,
    /// \[A] Clusters waiting for an engineer; above the canonical fleet of 2,000.
    pub queue_max: usize,
    /// \[A] Incidents paged per run (open or resolved); the chain has a handful.
    pub incidents_max: usize,
    /// \[A] Highest cluster id + 1 accepted; sizes the dedupe table.
    pub clusters_max: u32,
}

impl Default for OperatorsConfig {
    fn default() -> Self {
        OperatorsConfig {
            ack_median_day_min: 15.0,
            ack_p99_day_min: 45.0,
            ack_median_night_min: 30.0,
            ack_p99_night_min: 90.0,
            engineers: 6,
            escalation_ack_median_min: 5.0,
            escalation_ack_p99_min: 20.0,
            hands_on_min: 20.0,
            hands_on_p99_min: 26.0,
            queue_max: 4_096,
            incidents_max: 64,
            clusters_max: 100_000,
        }
    }
}

impl OperatorsConfig {
    /// Checks every field; the error names the field and what was expected.
    pub fn validate(&self) -> Result<(), String> {
        for (median_name, median, p99_name, p99) in [
            (
                "ack_median_day_min",
                self.ack_median_day_min,
                "ack_p99_day_min",
                self.ack_p99_day_min,
            ),
            (
                "ack_median_night_min",
                self.ack_median_night_min,
                "ack_p99_night_min",
                self.ack_p99_night_min,
            ),
            (
                "escalation_ack_median_min",
                self.escalation_ack_median_min,
                "escalation_ack_p99_min",
                self.escalation_ack_p99_min,
            ),
            (
                "hands_on_min",
                self.hands_on_min,
                "hands_on_p99_min",
                self.hands_on_p99_min,
            ),
        ] {
            check_positive(median_name, median)?;
            check_at_most(median_name, median, ("7 days", 7.0 * 24.0 * 60.0))?;
            check_at_least(p99_name, p99, (median_name, median))?;
            let hundredfold = format!("100 times {median_name}");
            check_at_most(p99_name, p99, (hundredfold.as_str(), 100.0 * median))?;
        }
        check_range("engineers", self.engineers, 1, ENGINEERS_MAX as u32)?;
        check_range("queue_max", self.queue_max, 1, 1_000_000)?;
        check_range("incidents_max", self.incidents_max, 1, 10_000)?;
        check_range("clusters_max", self.clusters_max, 1, 10_000_000)
    }
}

/// A drawn acknowledgement delay: lognormal from its median and p99 in
/// minutes, scaled by the operator-delay factor (chaos).
fn acknowledge_in(median_min: f64, p99_min: f64, factor: f64, rng: &mut Stream) -> SimDuration {
    SimDuration::from_secs_f64(rng.lognormal(median_min, p99_min) * 60.0 * factor)
}

/// Timers the operators ask for; stale ones are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum OpsTimer {
    /// The on-call acknowledges the page of `incident`.
    Ack { incident: u32 },
    /// `engineer` finishes the hands-on work of job `job`.
    HandsOn { engineer: u32, job: u32 },
}

/// What the operators do, for the driver to enact.
#[derive(Clone, Debug, PartialEq)]
pub enum OpsOutput {
    SetTimer {
        at: SimTime,
        timer: OpsTimer,
    },
    /// The page was acknowledged; repairs may start.
    Acked {
        incident: u32,
        at: SimTime,
        paged_at: SimTime,
    },
    /// `engineer` starts restoring `cluster` and expects to finish at `done_at`.
    Repair {
        cluster: ClusterId,
        engineer: u32,
        at: SimTime,
        done_at: SimTime,
    },
    /// Hands-on work is done: the driver issues the cloud calls for the missing pools.
    RepairHandsOnDone {
        cluster: ClusterId,
        engineer: u32,
        at: SimTime,
    },
}

/// Result of a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    /// The ack timer is set for `ack_at`.
    Paged { ack_at: SimTime },
    /// This incident was already paged.
    AlreadyPaged,
    /// `incidents_max` incidents were already paged.
    Full,
}

/// Result of an enqueue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enqueue {
    /// Queued at 0-based `position` (it may have started at once if an engineer was free).
    Queued {
        position: usize,
    },
    AlreadyQueued,
    AlreadyInRepair,
    QueueFull,
    /// Cluster id at or above `clusters_max`.
    OutOfRange,
}

/// A paged incident, for the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Incident {
    pub paged_at: SimTime,
    pub ack_at: SimTime,
    pub acked: bool,
    pub resolved_at: Option<SimTime>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Job {
    cluster: ClusterId,
    done_at: SimTime,
    id: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum Mark {
    #[default]
    Idle,
    Queued,
    InRepair,
}

/// The on-call rotation and the repair team.
#[derive(Clone, Debug)]
pub struct Operators {
    config: OperatorsConfig,
    incidents: BTreeMap<u32, Incident>,
    /// Acknowledged incidents not yet resolved; repairs run while it is above 0.
    engaged: u32,
    engineers: Vec<Option<Job>>,
    queue: VecDeque<ClusterId>,
    marks: Vec<Mark>,
    /// Jobs started so far: the next job's id (a run starts far fewer
    /// than 2^32; four bytes keep the timer, and so every queued event,
    /// small).
    next_job: u32,
    repairs_done: u64,
    repairs_abandoned: u64,
    ack_factor: f64,
    /// When the on-call is asleep, and the calendar that tells.
    night: NightHours,
    epoch: Epoch,
}

impl Operators {
    /// Operators with the default night hours, on a calendar whose day
    /// starts at simulated time 0 (see [`Operators::with_night`]).
    pub fn new(config: OperatorsConfig) -> Result<Self, String> {
        config.validate()?;
        Ok(Operators {
            night: NightHours::default(),
            epoch: Epoch::from_unix_secs(0),
            incidents: BTreeMap::new(),
            engaged: 0,
            engineers: vec![None; config.engineers as usize],
            queue: VecDeque::with_capacity(config.queue_max),
            marks: Vec::new(),
            next_job: 0,
            repairs_done: 0,
            repairs_abandoned: 0,
            ack_factor: 1.0,
            config,
        })
    }

    /// Sets the night hours and the run's calendar (its epoch).
    pub fn with_night(mut self, night: NightHours, epoch: Epoch) -> Self {
        self.night = night;
        self.epoch = epoch;
        self
    }

    /// Whether `now` falls in the night hours.
    pub fn is_night(&self, now: SimTime) -> bool {
        self.night.is_night(&self.epoch, now)
    }
    /// Paged incidents by id.
    pub fn incidents(&self) -> &BTreeMap<u32, Incident> {
        &self.incidents
    }
    /// An acknowledged incident is open, so free engineers take work.
    pub fn engaged(&self) -> bool {
        self.engaged > 0
    }
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }
    pub fn in_repair(&self) -> usize {
        self.engineers.iter().filter(|e| e.is_some()).count()
    }
    pub fn repairs_done(&self) -> u64 {
        self.repairs_done
    }
    pub fn repairs_abandoned(&self) -> u64 {
        self.repairs_abandoned
    }
    /// Steady-state team throughput: engineers ÷ median hands-on time.
    pub fn clusters_per_hour(&self) -> f64 {
        self.config.engineers as f64 * 60.0 / self.config.hands_on_min
    }

    /// Draws the time to acknowledge a page sent at `now` (night or day figures).
    pub fn ack_delay(&self, now: SimTime, rng: &mut Stream) -> SimDuration {
        let c = &self.config;
        let (median, p99) = if self.is_night(now) {
            (c.ack_median_night_min, c.ack_p99_night_min)
        } else {
            (c.ack_median_day_min, c.ack_p99_day_min)
        };
        acknowledge_in(median, p99, self.ack_factor, rng)
    }

    /// Scales acknowledgement delays from now on (chaos: operator delays).
    pub fn set_ack_factor(&mut self, factor: f64) {
        self.ack_factor = factor.max(0.0);
    }

    /// Pages the on-call for `incident`; the acknowledgement comes back as a timer.
    pub fn page(
        &mut self,
        now: SimTime,
        incident: u32,
        rng: &mut Stream,
        out: &mut Vec<OpsOutput>,
    ) -> Page {
        if self.incidents.contains_key(&incident) {
            return Page::AlreadyPaged;
        }
        if self.incidents.len() >= self.config.incidents_max {
            return Page::Full;
        }
        let ack_at = now + self.ack_delay(now, rng);
        self.incidents.insert(
            incident,
            Incident {
                paged_at: now,
                ack_at,
                acked: false,
                resolved_at: None,
            },
        );
        out.push(OpsOutput::SetTimer {
            at: ack_at,
            timer: OpsTimer::Ack { incident },
        });
        Page::Paged { ack_at }
    }

    /// Closes `incident`: once no acknowledged incident is open the team stops
    /// taking new work (repairs in progress finish). Returns whether it was open.
    pub fn resolve(&mut self, now: SimTime, incident: u32) -> bool {
        let Some(inc) = self.incidents.get_mut(&incident) else {
            return false;
        };
        if inc.resolved_at.is_some() {
            return false;
        }
        inc.resolved_at = Some(now);
        if inc.acked {
            self.engaged -= 1;
        }
        true
    }

    /// Puts `cluster` on the repair queue (once) and starts work if an engineer is free.
    pub fn enqueue(
        &mut self,
        now: SimTime,
        cluster: ClusterId,
        rng: &mut Stream,
        out: &mut Vec<OpsOutput>,
    ) -> Enqueue {
        if cluster >= self.config.clusters_max {
            return Enqueue::OutOfRange;
        }
        let i = cluster as usize;
        if i >= self.marks.len() {
            self.marks.resize(i + 1, Mark::Idle);
        }
        match self.marks[i] {
            Mark::Queued => return Enqueue::AlreadyQueued,
            Mark::InRepair => return Enqueue::AlreadyInRepair,
            Mark::Idle => {}
        }
        if self.queue.len() >= self.config.queue_max {
            return Enqueue::QueueFull;
        }
        self.marks[i] = Mark::Queued;
        self.queue.push_back(cluster);
        let position = self.queue.len() - 1;
        self.dispatch(now, rng, out);
        Enqueue::Queued { position }
    }

    /// Changes the number of engineers (escalation to "all hands", or people
    /// going off shift). Growing takes effect at once; shrinking only removes
    /// idle engineers from the end of the roster, so no repair is cut short.
    /// Growing while a page is still unacknowledged brings its
    /// acknowledgement forward to a delay of its own (the escalation
    /// figures) when that comes sooner: the people called in see the open
    /// page once they are on the call, not at the minute they are called.
    pub fn set_engineers(
        &mut self,
        now: SimTime,
        count: u32,
        rng: &mut Stream,
        out: &mut Vec<OpsOutput>,
    ) {
        let count = (count as usize).min(ENGINEERS_MAX);
        if count > self.engineers.len() {
            let (median, p99) = (
                self.config.escalation_ack_median_min,
                self.config.escalation_ack_p99_min,
            );
            for (&incident, inc) in self.incidents.iter_mut() {
                if inc.acked || inc.resolved_at.is_some() {
                    continue;
                }
                let at = now + acknowledge_in(median, p99, self.ack_factor, rng);
                if at < inc.ack_at {
                    // The pager's own timer, later, finds it acknowledged.
                    inc.ack_at = at;
                    out.push(OpsOutput::SetTimer {
                        at,
                        timer: OpsTimer::Ack { incident },
                    });
                }
            }
        }
        // Idle engineers leave from the end of the roster, never one at
        // work (nor one before them).
        let at_work = self.engineers.iter().rposition(Option::is_some);
        let keep = at_work.map_or(0, |last| last + 1);
        self.engineers.resize(count.max(keep), None);
        self.config.engineers = self.engineers.len() as u32;
        self.dispatch(now, rng, out);
    }

    /// Drops `cluster` from the queue or from an engineer's hands because it
    /// healed another way (hotfix, script). Returns whether it was found.
    pub fn abandon(
        &mut self,
        now: SimTime,
        cluster: ClusterId,
        rng: &mut Stream,
        out: &mut Vec<OpsOutput>,
    ) -> bool {
        let Some(mark) = self.marks.get_mut(cluster as usize) else {
            return false;
        };
        match *mark {
            Mark::Idle => false,
            Mark::Queued => {
                *mark = Mark::Idle;
                self.queue.retain(|&c| c != cluster);
                self.repairs_abandoned += 1;
                true
            }
            Mark::InRepair => {
                *mark = Mark::Idle;
                // Freeing the slot makes its pending HandsOn timer stale.
                let slot = self
                    .engineers
                    .iter_mut()
                    .find(|e| e.is_some_and(|j| j.cluster == cluster))
                    .expect("a cluster marked in repair has an engineer");
                *slot = None;
                self.repairs_abandoned += 1;
                self.dispatch(now, rng, out);
                true
            }
        }
    }

    /// `incident` is acknowledged now, unless it already was or was resolved
    /// before anyone looked. Returns whether it was.
    fn acknowledge(&mut self, now: SimTime, incident: u32, out: &mut Vec<OpsOutput>) -> bool {
        let Some(inc) = self.incidents.get_mut(&incident) else {
            return false;
        };
        if inc.acked || inc.resolved_at.is_some() {
            return false;
        }
        inc.acked = true;
        self.engaged += 1;
        out.push(OpsOutput::Acked {
            incident,
            at: now,
            paged_at: inc.paged_at,
        });
        true
    }

    /// A timer this component asked for fired.
    pub fn handle_timer(
        &mut self,
        now: SimTime,
        timer: OpsTimer,
        rng: &mut Stream,
        out: &mut Vec<OpsOutput>,
    ) {
        match timer {
            OpsTimer::Ack { incident } => {
                if self.acknowledge(now, incident, out) {
                    self.dispatch(now, rng, out);
                }
            }
            OpsTimer::HandsOn { engineer, job } => {
                let Some(slot) = self.engineers.get_mut(engineer as usize) else {
                    return;
                };
                let Some(j) = *slot else { return };
                if j.id != job {
                    return; // abandoned, and the engineer moved on
                }
                *slot = None;
                self.marks[j.cluster as usize] = Mark::Idle;
                self.repairs_done += 1;
                out.push(OpsOutput::RepairHandsOnDone {
                    cluster: j.cluster,
                    engineer,
                    at: now,
                });
                self.dispatch(now, rng, out);
            }
        }
    }

    /// When the hands-on work of the queue and of repairs in progress would be
    /// done, with every engineer working and each cluster taking the median
    /// hands-on time (how an incident commander estimates it). If the team is
    /// not engaged, work is assumed to start after a median acknowledgement.
    /// The cloud create latency after the last hands-on step is not included.
    pub fn projected_completion(&self, now: SimTime) -> SimTime {
        let c = &self.config;
        let start = if self.engaged() {
            now
        } else {
            let ack_min = if self.is_night(now) {
                c.ack_median_night_min
            } else {
                c.ack_median_day_min
            };
            now + SimDuration::from_secs_f64(ack_min * 60.0)
        };
        let hands_on = SimDuration::from_secs_f64(c.hands_on_min * 60.0);
        let mut free = [SimTime::ZERO; ENGINEERS_MAX];
        let free = &mut free[..self.engineers.len()];
        let mut last = now;
        for (f, e) in free.iter_mut().zip(&self.engineers) {
            *f = match e {
                Some(job) => job.done_at.max(start),
                None => start,
            };
            if e.is_some() {
                last = last.max(*f);
            }
        }
        for _ in 0..self.queue.len() {
            let f = free.iter_mut().min().expect("at least one engineer");
            *f += hands_on;
            last = last.max(*f);
        }
        last
    }

    fn hands_on(&self, rng: &mut Stream) -> SimDuration {
        let c = &self.config;
        // No draw without spread, so zero-spread runs give exact figures.
        let minutes = if c.hands_on_p99_min > c.hands_on_min {
            rng.lognormal(c.hands_on_min, c.hands_on_p99_min)
        } else {
            c.hands_on_min
        };
        SimDuration::from_secs_f64(minutes * 60.0)
    }

    fn dispatch(&mut self, now: SimTime, rng: &mut Stream, out: &mut Vec<OpsOutput>) {
        if !self.engaged() {
            return;
        }
        while !self.queue.is_empty() {
            // The lowest-numbered free engineer takes the work: deterministic.
            let Some(engineer) = self.engineers.iter().position(|e| e.is_none()) else {
                return;
            };
            let cluster = self.queue.pop_front().expect("queue is not empty");
            let done_at = now + self.hands_on(rng);
            self.next_job += 1;
            let job = Job {
                cluster,
                done_at,
                id: self.next_job,
            };
            self.engineers[engineer] = Some(job);
            self.marks[cluster as usize] = Mark::InRepair;
            let engineer = engineer as u32;
            out.push(OpsOutput::Repair {
                cluster,
                engineer,
                at: now,
                done_at,
            });
            out.push(OpsOutput::SetTimer {
                at: done_at,
                timer: OpsTimer::HandsOn {
                    engineer,
                    job: job.id,
                },
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Seed;

    fn at(day: u64, hour: u64, min: u64) -> SimTime {
        SimTime::from_secs(day * 86_400 + hour * 3_600 + min * 60)
    }

    /// Minimal driver: pending timers in (time, arming order), and every
    /// output with the time it was produced.
    #[derive(Default)]
    struct Driver {
        timers: BTreeMap<(SimTime, u64), OpsTimer>,
        seq: u64,
        log: Vec<(SimTime, OpsOutput)>,
    }

    impl Driver {
        /// Takes `out`, then fires timers due at or before `until`.
        fn run_until(
            &mut self,
            ops: &mut Operators,
            rng: &mut Stream,
            out: &mut Vec<OpsOutput>,
            now: SimTime,
            until: SimTime,
        ) {
            let mut now = now;
            loop {
                for o in out.drain(..) {
                    if let OpsOutput::SetTimer { at, timer } = o {
                        self.timers.insert((at, self.seq), timer);
                        self.seq += 1;
                    }
                    self.log.push((now, o));
                }
                assert!(ops.in_repair() <= ops.engineers.len());
                match self.timers.first_key_value() {
                    Some((&(t, _), _)) if t <= until => {
                        let (_, timer) = self.timers.pop_first().expect("just peeked");
                        now = t;
                        ops.handle_timer(now, timer, rng, out);
                    }
                    _ => return,
                }
            }
        }
    }

    fn run(
        ops: &mut Operators,
        rng: &mut Stream,
        mut out: Vec<OpsOutput>,
    ) -> Vec<(SimTime, OpsOutput)> {
        let mut d = Driver::default();
        d.run_until(ops, rng, &mut out, SimTime::ZERO, SimTime::MAX);
        d.log
    }

    fn acked_at(log: &[(SimTime, OpsOutput)]) -> SimTime {
        log.iter()
            .find_map(|(_, o)| match o {
                OpsOutput::Acked { at, .. } => Some(*at),
                _ => None,
            })
            .expect("the page was acknowledged")
    }

    fn last_done(log: &[(SimTime, OpsOutput)]) -> SimTime {
        log.iter()
            .filter_map(|(_, o)| match o {
                OpsOutput::RepairHandsOnDone { at, .. } => Some(*at),
                _ => None,
            })
            .max()
            .expect("some repair finished")
    }

    fn repair_batch(config: OperatorsConfig, clusters: u32, seed: u64) -> (Operators, SimDuration) {
        let (ops, took, _) = repair_batch_then_draw(config, clusters, seed);
        (ops, took)
    }

    /// [`repair_batch`], and the stream's next draw after it.
    fn repair_batch_then_draw(
        config: OperatorsConfig,
        clusters: u32,
        seed: u64,
    ) -> (Operators, SimDuration, u64) {
        let mut ops = Operators::new(config).unwrap();
        let mut rng = Seed(seed).fork("operators", 0);
        let mut out = Vec::new();
        let t0 = at(5, 5, 0);
        for c in 0..clusters {
            assert!(matches!(
                ops.enqueue(t0, c, &mut rng, &mut out),
                Enqueue::Queued { .. }
            ));
        }
        assert!(
            out.is_empty(),
            "nobody repairs before the page is acknowledged"
        );
        ops.page(t0, 1, &mut rng, &mut out);
        let log = run(&mut ops, &mut rng, out);
        let ack = acked_at(&log);
        assert_eq!(ops.repairs_done(), clusters as u64);
        (ops, last_done(&log) - ack, rng.next_u64())
    }

    /// The escalation's acknowledgement of each seed: (when the pager
    /// would have acknowledged, the timer the escalation set, if any).
    fn escalate(config: OperatorsConfig, seed: u64) -> (SimTime, Option<SimTime>) {
        let mut ops = Operators::new(config).unwrap();
        let mut rng = Seed(seed).fork("ops", 0);
        let mut out = Vec::new();
        let Page::Paged { ack_at } = ops.page(SimTime::ZERO, 4, &mut rng, &mut out) else {
            panic!("paged")
        };
        let early = SimTime::from_secs(60);
        out.clear();
        // Fewer engineers (a shift ending) bring nothing forward.
        ops.set_engineers(early, 1, &mut rng, &mut out);
        assert!(out.is_empty(), "{out:?}");
        ops.set_engineers(early, 15, &mut rng, &mut out);
        assert!(
            !out.iter().any(|o| matches!(o, OpsOutput::Acked { .. })),
            "nobody acknowledges at the minute of the call"
        );
        let timer = out.iter().find_map(|o| match o {
            OpsOutput::SetTimer {
                at,
                timer: OpsTimer::Ack { incident: 4 },
            } => Some(*at),
            _ => None,
        });
        if let Some(at) = timer {
            out.clear();
            ops.handle_timer(at, OpsTimer::Ack { incident: 4 }, &mut rng, &mut out);
            assert!(matches!(out[0], OpsOutput::Acked { incident: 4, at: a, .. } if a == at));
            // The pager's own timer later finds it acknowledged.
            out.clear();
            ops.handle_timer(ack_at, OpsTimer::Ack { incident: 4 }, &mut rng, &mut out);
            assert!(out.is_empty(), "{out:?}");
        }
        (ack_at, timer)
    }

    #[test]
    fn calling_in_more_engineers_brings_a_waiting_page_forward_by_a_drawn_delay() {
        // Paged at midnight (night figures: median 30 min); 18 people
        // called in a minute later acknowledge after a delay of their own
        // (median 5 min, p99 20 min), not at the minute of the call.
        let early = SimTime::from_secs(60);
        let mut delays_s: Vec<u64> = (1..=200)
            .map(|seed| {
                let (ack_at, timer) = escalate(OperatorsConfig::default(), seed);
                let at = timer.unwrap_or(ack_at);
                assert!(at <= ack_at, "seed {seed}: brought forward, never back");
                (at - early).as_secs()
            })
            .collect();
        delays_s.sort_unstable();
        assert!(delays_s[0] > 0, "{delays_s:?}");
        let median_s = delays_s[100];
        assert!((240..=360).contains(&median_s), "median {median_s} s");
        // A slower escalation than the pager's own draw changes nothing.
        let slow = OperatorsConfig {
            escalation_ack_median_min: 600.0,
            escalation_ack_p99_min: 1_200.0,
            ..OperatorsConfig::default()
        };
        for seed in 1..=20 {
            assert_eq!(escalate(slow.clone(), seed).1, None, "seed {seed}");
        }
    }

    #[test]
    fn fewer_engineers_leave_when_idle_and_the_last_at_work_stays() {
        // Six engineers, two at work (on the first two slots), then the
        // roster set to one: the four idle at the end leave, the two at
        // work stay; once idle, another call leaves one.
        let hands_on = 20.0;
        let mut ops = Operators::new(OperatorsConfig {
            engineers: 6,
            hands_on_min: hands_on,
            hands_on_p99_min: hands_on,
            ..OperatorsConfig::default()
        })
        .unwrap();
        let mut rng = Seed(1).fork("ops", 0);
        let mut out = Vec::new();
        let Page::Paged { ack_at } = ops.page(SimTime::ZERO, 0, &mut rng, &mut out) else {
            panic!("paged")
        };
        ops.handle_timer(ack_at, OpsTimer::Ack { incident: 0 }, &mut rng, &mut out);
        for c in 0..2 {
            ops.enqueue(ack_at, c, &mut rng, &mut out);
        }
        assert_eq!(ops.in_repair(), 2);
        ops.set_engineers(ack_at, 1, &mut rng, &mut out);
        assert_eq!(ops.engineers.len(), 2);
        assert!((ops.clusters_per_hour() - 2.0 * 60.0 / hands_on).abs() < 1e-9);
        let done = ack_at + SimDuration::from_mins(20);
        let jobs: Vec<OpsTimer> = out
            .iter()
            .filter_map(|o| match o {
                OpsOutput::SetTimer {
                    timer: t @ OpsTimer::HandsOn { .. },
                    ..
                } => Some(*t),
                _ => None,
            })
            .collect();
        assert_eq!(jobs.len(), 2, "{out:?}");
        for t in jobs {
            ops.handle_timer(done, t, &mut rng, &mut out);
        }
        assert_eq!(ops.in_repair(), 0);
        ops.set_engineers(done, 1, &mut rng, &mut out);
        assert_eq!(ops.engineers.len(), 1);
    }

    #[test]
    fn the_ack_factor_scales_every_acknowledgement_delay() {
        // The same draw, scaled: a factor of 3 triples the pager's delay
        // (to the microsecond the conversion rounds to).
        let delay = |factor: Option<f64>| {
            let mut ops = Operators::new(OperatorsConfig::default()).unwrap();
            if let Some(f) = factor {
                ops.set_ack_factor(f);
            }
            let mut rng = Seed(3).fork("ops", 0);
            ops.ack_delay(SimTime::ZERO, &mut rng).as_micros()
        };
        let (one, three) = (delay(None), delay(Some(3.0)));
        assert!(one > 60_000_000, "{one} us");
        assert!(three.abs_diff(3 * one) <= 3, "{three} against 3 x {one}");
    }

    #[test]
    fn calling_in_nobody_new_or_after_the_ack_draws_and_sets_nothing() {
        // A page waits: setting the roster to its own size calls nobody
        // in, so nothing is brought forward. Once the page is
        // acknowledged, calling more in draws no delay for it: the stream
        // goes on as if nobody had been called.
        let same = OperatorsConfig::default().engineers;
        let next_draw = |escalate_after_ack: bool| {
            let mut ops = Operators::new(OperatorsConfig::default()).unwrap();
            let mut rng = Seed(1).fork("ops", 0);
            let mut out = Vec::new();
            let Page::Paged { ack_at } = ops.page(SimTime::ZERO, 4, &mut rng, &mut out) else {
                panic!("paged")
            };
            out.clear();
            ops.set_engineers(SimTime::from_secs(60), same, &mut rng, &mut out);
            assert!(out.is_empty(), "{out:?}");
            ops.handle_timer(ack_at, OpsTimer::Ack { incident: 4 }, &mut rng, &mut out);
            assert!(matches!(out[0], OpsOutput::Acked { incident: 4, .. }));
            out.clear();
            if escalate_after_ack {
                ops.set_engineers(ack_at, same + 4, &mut rng, &mut out);
                assert!(out.is_empty(), "{out:?}");
            }
            rng.next_u64()
        };
        assert_eq!(next_draw(true), next_draw(false));
    }

    #[test]
    fn more_engineers_raise_throughput_at_once() {
        let mut ops = Operators::new(OperatorsConfig {
            engineers: 2,
            hands_on_min: 20.0,
            hands_on_p99_min: 20.0,
            ..OperatorsConfig::default()
        })
        .unwrap();
        let mut rng = Seed(1).fork("ops", 0);
        let mut out = Vec::new();
        ops.page(SimTime::ZERO, 0, &mut rng, &mut out);
        let ack = out
            .iter()
            .find_map(|o| match o {
                OpsOutput::SetTimer { at, timer } => Some((*at, *timer)),
                _ => None,
            })
            .unwrap();
        out.clear();
        ops.handle_timer(ack.0, ack.1, &mut rng, &mut out);
        for c in 0..10 {
            ops.enqueue(ack.0, c, &mut rng, &mut out);
        }
        assert_eq!(ops.in_repair(), 2);
        ops.set_engineers(ack.0, 6, &mut rng, &mut out);
        assert_eq!(ops.in_repair(), 6);
        assert!((ops.clusters_per_hour() - 18.0).abs() < 1e-9);
        // Shrinking never cuts a repair short.
        ops.set_engineers(ack.0, 1, &mut rng, &mut out);
        assert_eq!(ops.in_repair(), 6);
    }

    #[test]
    fn repairs_without_spread_draw_nothing() {
        // Hands-on time with its p99 at its median is that time, drawn from
        // nothing: twelve repairs leave the stream where one leaves it
        // (only the page's acknowledgement drew).
        let config = OperatorsConfig {
            hands_on_p99_min: 20.0,
            hands_on_min: 20.0,
            ..OperatorsConfig::default()
        };
        let (_, _, after_twelve) = repair_batch_then_draw(config.clone(), 12, 7);
        let (_, _, after_one) = repair_batch_then_draw(config, 1, 7);
        assert_eq!(after_twelve, after_one);
    }

    #[test]
    fn six_engineers_repair_120_clusters_in_400_minutes_without_spread() {
        let config = OperatorsConfig {
            hands_on_p99_min: 20.0,
            ..OperatorsConfig::default()
        };
        let (ops, took) = repair_batch(config, 120, 7);
        assert_eq!(took, SimDuration::from_mins(400));
        assert_eq!(ops.clusters_per_hour(), 18.0);
    }

    #[test]
    fn throughput_is_engineers_over_hands_on_time() {
        // Completion = ceil(clusters / engineers) * hands-on, for several teams.
        for (engineers, hands_on_min, clusters, expect_min) in [
            (6, 20.0, 120, 400),
            (3, 20.0, 120, 800),
            (6, 10.0, 121, 210),
            (1, 15.0, 4, 60),
        ] {
            let config = OperatorsConfig {
                engineers,
                hands_on_min,
                hands_on_p99_min: hands_on_min,
                ..OperatorsConfig::default()
            };
            let (_, took) = repair_batch(config, clusters, 1);
            assert_eq!(
                took,
                SimDuration::from_mins(expect_min),
                "{engineers} engineers, {hands_on_min} min, {clusters} clusters"
            );
        }
    }

    #[test]
    fn spread_keeps_120_clusters_near_400_minutes() {
        // Median 20 min, p99 26 min: mean ≈ 20.1 min, so the busiest engineer
        // of six with 20 jobs each ends a little past 400 min.
        for seed in 0..20 {
            let (_, took) = repair_batch(OperatorsConfig::default(), 120, seed);
            let m = took.as_secs_f64() / 60.0;
            assert!((385.0..=450.0).contains(&m), "seed {seed}: {m} min");
        }
    }

    #[test]
    fn projection_matches_the_simulated_completion() {
        let config = OperatorsConfig {
            hands_on_p99_min: 20.0,
            ..OperatorsConfig::default()
        };
        let mut ops = Operators::new(config).unwrap();
        let mut rng = Seed(3).fork("operators", 0);
        let mut out = Vec::new();
        let t0 = at(8, 15, 0);
        for c in 0..120 {
            ops.enqueue(t0, c, &mut rng, &mut out);
        }
        // Not engaged at 15:00 (day): starts after the 15-min median ack.
        assert_eq!(
            ops.projected_completion(t0),
            t0 + SimDuration::from_mins(15 + 400)
        );
        ops.page(t0, 9, &mut rng, &mut out);
        let ack = ops.incidents()[&9].ack_at;
        let mut d = Driver::default();
        d.run_until(&mut ops, &mut rng, &mut out, t0, ack);
        assert_eq!(ops.in_repair(), 6);
        assert_eq!(
            ops.projected_completion(ack),
            ack + SimDuration::from_mins(400)
        );
        // 70 min after the ack: 18 done, 6 in repair until 80 min, 96 queued,
        // so the projection still says 80 + 96 / 6 * 20 = 400 min after the ack.
        let t70 = ack + SimDuration::from_mins(70);
        d.run_until(&mut ops, &mut rng, &mut out, ack, t70);
        assert_eq!(
            (ops.repairs_done(), ops.in_repair(), ops.queue_len()),
            (18, 6, 96)
        );
        assert_eq!(
            ops.projected_completion(t70),
            ack + SimDuration::from_mins(400)
        );
        d.run_until(&mut ops, &mut rng, &mut out, t70, SimTime::MAX);
        assert_eq!(ops.repairs_done(), 120);
        assert_eq!(last_done(&d.log), ack + SimDuration::from_mins(400));
        // Once everything is done nothing is left to project.
        let end = ack + SimDuration::from_mins(400);
        assert_eq!(ops.projected_completion(end), end);
    }

    #[test]
    fn queue_dedupes_and_is_bounded() {
        let config = OperatorsConfig {
            queue_max: 2,
            engineers: 1,
            ..OperatorsConfig::default()
        };
        let mut ops = Operators::new(config).unwrap();
        let mut rng = Seed(1).fork("operators", 0);
        let mut out = Vec::new();
        let t0 = SimTime::ZERO;
        assert_eq!(
            ops.enqueue(t0, 4, &mut rng, &mut out),
            Enqueue::Queued { position: 0 }
        );
        assert_eq!(
            ops.enqueue(t0, 4, &mut rng, &mut out),
            Enqueue::AlreadyQueued
        );
        assert_eq!(
            ops.enqueue(t0, 5, &mut rng, &mut out),
            Enqueue::Queued { position: 1 }
        );
        assert_eq!(ops.enqueue(t0, 6, &mut rng, &mut out), Enqueue::QueueFull);
        assert_eq!(
            ops.enqueue(t0, 100_000, &mut rng, &mut out),
            Enqueue::OutOfRange
        );
        // Engage the team: engineer 0 takes cluster 4, which can then not be queued again.
        ops.page(t0, 1, &mut rng, &mut out);
        ops.handle_timer(t0, OpsTimer::Ack { incident: 1 }, &mut rng, &mut out);
        assert!(out.iter().any(|o| matches!(
            o,
            OpsOutput::Repair {
                cluster: 4,
                engineer: 0,
                ..
            }
        )));
        assert_eq!(
            ops.enqueue(t0, 4, &mut rng, &mut out),
            Enqueue::AlreadyInRepair
        );
        assert_eq!(ops.page(t0, 1, &mut rng, &mut out), Page::AlreadyPaged);
    }

    #[test]
    fn abandon_frees_the_engineer_and_ignores_the_stale_timer() {
        let config = OperatorsConfig {
            engineers: 1,
            hands_on_p99_min: 20.0,
            ..OperatorsConfig::default()
        };
        let mut ops = Operators::new(config).unwrap();
        let mut rng = Seed(1).fork("operators", 0);
        let mut out = Vec::new();
        let t0 = SimTime::ZERO;
        ops.page(t0, 1, &mut rng, &mut out);
        ops.handle_timer(t0, OpsTimer::Ack { incident: 1 }, &mut rng, &mut out);
        ops.enqueue(t0, 10, &mut rng, &mut out);
        // The timer cluster 10's job set, as the driver would hold it.
        let stale = out
            .iter()
            .find_map(|o| match o {
                OpsOutput::SetTimer {
                    timer: timer @ OpsTimer::HandsOn { .. },
                    ..
                } => Some(*timer),
                _ => None,
            })
            .expect("cluster 10 went into repair");
        ops.enqueue(t0, 11, &mut rng, &mut out);
        ops.enqueue(t0, 12, &mut rng, &mut out);
        out.clear();
        // 12 heals by hotfix while queued; 10 while in repair.
        assert!(ops.abandon(t0, 12, &mut rng, &mut out));
        assert!(ops.abandon(SimTime::from_secs(60), 10, &mut rng, &mut out));
        assert!(!ops.abandon(SimTime::from_secs(60), 10, &mut rng, &mut out));
        assert!(matches!(
            out.as_slice(),
            [
                OpsOutput::Repair {
                    cluster: 11,
                    engineer: 0,
                    ..
                },
                OpsOutput::SetTimer { .. }
            ]
        ));
        // The stale timer of cluster 10's job does nothing to cluster 11's,
        // which the same engineer now works on: jobs are told apart by id.
        out.clear();
        ops.handle_timer(SimTime::from_secs(1_200), stale, &mut rng, &mut out);
        assert!(out.is_empty());
        assert_eq!(
            (ops.repairs_done(), ops.repairs_abandoned(), ops.in_repair()),
            (0, 2, 1)
        );
    }

    #[test]
    fn night_pages_ack_slower_than_day_pages() {
        let ops = Operators::new(OperatorsConfig::default()).unwrap();
        let mut rng = Seed(42).fork("operators", 0);
        let mut median = |t: SimTime| {
            let mut mins: Vec<f64> = (0..4_001)
                .map(|_| ops.ack_delay(t, &mut rng).as_secs_f64() / 60.0)
                .collect();
            mins.sort_by(f64::total_cmp);
            mins[2_000]
        };
        let day = median(at(3, 13, 0));
        let night = median(at(4, 2, 30));
        assert!((14.0..=16.0).contains(&day), "day median {day}");
        assert!((28.0..=32.0).contains(&night), "night median {night}");
        assert!(night > 1.7 * day);
    }

    #[test]
    fn night_hours_wrap_past_midnight() {
        let c = Operators::new(OperatorsConfig::default()).unwrap();
        assert!(c.is_night(at(0, 0, 0)));
        assert!(c.is_night(at(4, 6, 59)));
        assert!(!c.is_night(at(4, 7, 0)));
        assert!(!c.is_night(at(4, 21, 59)));
        assert!(c.is_night(at(4, 22, 0)));
        let night = NightHours {
            start_hour: 1,
            end_hour: 6,
        };
        let early = Operators::new(OperatorsConfig::default())
            .unwrap()
            .with_night(night, Epoch::from_unix_secs(0));
        assert!(early.is_night(at(2, 1, 0)) && !early.is_night(at(2, 0, 59)));
        // The calendar decides: an epoch at noon shifts the night by 12 h.
        let noon = Operators::new(OperatorsConfig::default())
            .unwrap()
            .with_night(NightHours::default(), Epoch::from_unix_secs(12 * 3_600));
        assert!(!noon.is_night(at(0, 0, 0)) && noon.is_night(at(0, 11, 0)));
    }

    #[test]
    fn repairs_wait_for_an_acknowledged_open_incident() {
        let config = OperatorsConfig {
            hands_on_p99_min: 20.0,
            ..OperatorsConfig::default()
        };
        let mut ops = Operators::new(config).unwrap();
        let mut rng = Seed(5).fork("operators", 0);
        let mut out = Vec::new();
        ops.page(SimTime::ZERO, 1, &mut rng, &mut out);
        ops.handle_timer(
            SimTime::ZERO,
            OpsTimer::Ack { incident: 1 },
            &mut rng,
            &mut out,
        );
        assert!(ops.resolve(SimTime::from_secs(10), 1));
        assert!(!ops.engaged());
        out.clear();
        ops.enqueue(SimTime::from_secs(20), 3, &mut rng, &mut out);
        assert!(out.is_empty(), "a resolved incident leaves nobody working");
        // A new page, resolved before the ack: its ack timer is ignored.
        ops.page(SimTime::from_secs(30), 2, &mut rng, &mut out);
        ops.resolve(SimTime::from_secs(40), 2);
        out.clear();
        ops.handle_timer(
            SimTime::from_secs(50),
            OpsTimer::Ack { incident: 2 },
            &mut rng,
            &mut out,
        );
        assert!(out.is_empty());
    }

    #[test]
    fn config_validation_names_the_field() {
        let bad = OperatorsConfig {
            engineers: 0,
            ..OperatorsConfig::default()
        };
        assert_eq!(
            bad.validate().unwrap_err(),
            "engineers: expected 1 to 64, found 0"
        );
        let bad = OperatorsConfig {
            ack_p99_night_min: 10.0,
            ..OperatorsConfig::default()
        };
        assert_eq!(
            bad.validate().unwrap_err(),
            "ack_p99_night_min: expected at least ack_median_night_min (30), found 10"
        );
        assert!(serde_json::from_str::<OperatorsConfig>(r#"{"engineer": 6}"#).is_err());
    }
}
