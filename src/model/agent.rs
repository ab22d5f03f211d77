//! The Harmony client: one agent per cluster, as a sans-IO state machine.
//!
//! The agent polls the control plane for its cluster's desired state and
//! reconciles node pools through the cloud API. It never touches a clock, a
//! socket or a random source of its own: the driver (the fleet tier's event
//! loop, or later the wire tier's tokio task) calls `handle_*` with `now` and
//! the agent's own [`Stream`](cascade_sim::Stream), and carries out the returned [`AgentOutput`]s.
//!
//! Two behaviours, one code path, selected by [`Guards`]:
//! - **buggy** (historical, `Guards::none()`): a 404 is read as "this cluster
//!   has no desired pools", so the next full resync prunes every pool, the
//!   `system` pool included, and the agent dies with it;
//! - **fixed** (`Guards::all()`): G1 to G8 of the model spec, each a switch so
//!   that it can be ablated.
//!
//! Creates happen on every reconcile; destructive pruning only on a full
//! resync (every `full_resync_interval_s`, each agent with its own phase).
//! That spreads the historical damage over hours, which is what makes the
//! D8 race between repair, hotfix and recovery script meaningful.

pub use super::bugs::SeededBug;
use crate::protocol::{DesiredAnswer, DesiredState, PoolName, PoolSet, PoolState, POOLS};
use crate::types::{check_at_least, check_at_most, check_below, check_positive, check_range};
use cascade_sim::{Keyed, SimDuration, SimTime, Stamp};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The guards of the fixed agent, each switchable for ablation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Guards {
    /// G1: only an authoritative answer (200, explicit empty, generation not
    /// older) may remove pools; 404/5xx/429/timeouts lead to backoff and hold.
    pub g1_authoritative_only: bool,
    /// G2: a pool is deleted only with an explicit delete intent (tombstone).
    pub g2_tombstones: bool,
    /// G3: generations never go backwards.
    pub g3_monotonic_generation: bool,
    /// G4: a destructive step needs confirmation over time.
    pub g4_confirmation: bool,
    /// G5: blast-radius caps, per cluster and a fleet-wide brake.
    pub g5_blast_radius: bool,
    /// G6: cloud delete locks on `system` and `airflow` pools (enforced by
    /// the cloud API, not the agent; kept here so one switch set describes a run).
    pub g6_delete_locks: bool,
    /// G7: jittered exponential backoff with an overall request rate limit.
    pub g7_backoff: bool,
    /// G8: soft delete (scale to zero, collect after a grace period).
    pub g8_soft_delete: bool,
}

impl Default for Guards {
    fn default() -> Self {
        Guards::none()
    }
}

impl Guards {
    /// The historical agent: no guard at all.
    pub const fn none() -> Self {
        Guards {
            g1_authoritative_only: false,
            g2_tombstones: false,
            g3_monotonic_generation: false,
            g4_confirmation: false,
            g5_blast_radius: false,
            g6_delete_locks: false,
            g7_backoff: false,
            g8_soft_delete: false,
        }
    }
    /// The fixed agent with every guard on.
    pub const fn all() -> Self {
        Guards {
            g1_authoritative_only: true,
            g2_tombstones: true,
            g3_monotonic_generation: true,
            g4_confirmation: true,
            g5_blast_radius: true,
            g6_delete_locks: true,
            g7_backoff: true,
            g8_soft_delete: true,
        }
    }
    /// The hotfix actually shipped: the 404 bug fixed (G1) and generations
    /// checked (G3); the rest are follow-up hardening.
    pub const fn hotfix() -> Self {
        Guards {
            g1_authoritative_only: true,
            g3_monotonic_generation: true,
            g7_backoff: true,
            ..Guards::none()
        }
    }
    pub fn is_buggy(&self) -> bool {
        !self.g1_authoritative_only
    }
}

/// A defect of the release a rollout ships \[A]: the what-if "the hotfix
/// build itself is broken", which the rollout's safety nets (its health
/// gate, alarms) must stop. Each kind fails at a different moment, so each
/// meets the safety nets differently: at once, hours after every bake, or
/// only when a route misroutes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseDefect {
    #[default]
    None,
    /// The new version's process exits at start (a missing setting, say)
    /// and restarts in a loop: it never polls again, and its status report
    /// says so. Restarts after a host loss crash the same way.
    CrashLoop,
    /// The new version leaks memory: each of its processes is killed for
    /// running out of memory `AgentConfig::leak_oom_after_s` after it
    /// started (hours: it outlives every bake), and restarts fresh.
    SlowLeak,
    /// The new version reads a 404 as "no pools" (the March 2025 bug,
    /// reintroduced by a refactor of the answer handling); the guards the
    /// fleet added since (G2's delete intents, G6's locks) refuse the prune,
    /// and the process exits on the refusal, restarting into the same
    /// 404. Harmless until a route misroutes; while one does, the version
    /// crash-loops on every misrouted cluster.
    BreaksBehindMisroute,
}

impl ReleaseDefect {
    /// Every kind, in declaration order.
    pub const ALL: [ReleaseDefect; 4] = [
        ReleaseDefect::None,
        ReleaseDefect::CrashLoop,
        ReleaseDefect::SlowLeak,
        ReleaseDefect::BreaksBehindMisroute,
    ];

    /// The name scenario files use.
    pub fn name(self) -> &'static str {
        match self {
            ReleaseDefect::None => "none",
            ReleaseDefect::CrashLoop => "crash_loop",
            ReleaseDefect::SlowLeak => "slow_leak",
            ReleaseDefect::BreaksBehindMisroute => "breaks_behind_misroute",
        }
    }
}

/// Which guard stopped a destructive step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Guard {
    G1,
    G2,
    G3,
    G4,
    G5,
    G6,
    G7,
    G8,
}

impl Guard {
    pub const ALL: [Guard; 8] = [
        Guard::G1,
        Guard::G2,
        Guard::G3,
        Guard::G4,
        Guard::G5,
        Guard::G6,
        Guard::G7,
        Guard::G8,
    ];
    pub fn name(self) -> &'static str {
        ["G1", "G2", "G3", "G4", "G5", "G6", "G7", "G8"][self as usize]
    }
}

/// A count per guard (destructive steps each guard blocked).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GuardCounts([u64; Guard::ALL.len()]);

impl GuardCounts {
    pub fn add(&mut self, g: Guard) {
        self.0[g as usize] += 1;
    }
    /// The guards that blocked something, with their counts, G1 first.
    pub fn nonzero(&self) -> impl Iterator<Item = (Guard, u64)> + '_ {
        Guard::ALL
            .iter()
            .map(|&g| (g, self.0[g as usize]))
            .filter(|&(_, n)| n > 0)
    }
}

impl std::ops::Index<Guard> for GuardCounts {
    type Output = u64;
    fn index(&self, g: Guard) -> &u64 {
        &self.0[g as usize]
    }
}

/// Agent parameters. Every figure is an assumption \[A] of the model spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    /// Reconcile poll period. \[A] typical controller resync.
    pub poll_interval_s: f64,
    /// Poll jitter as a fraction of the period (±). \[A]
    pub poll_jitter_ratio: f64,
    /// Full resync (the only reconcile that prunes) period, own phase per agent. \[A]
    pub full_resync_interval_s: f64,
    /// Buggy agent: 404s in a row before the desired state counts as empty. \[A]
    pub delete_after_consecutive_404: u32,
    /// G7: first backoff after a failed poll. \[A]
    pub backoff_base_s: f64,
    /// G7: backoff ceiling. \[A]
    pub backoff_max_s: f64,
    /// G7: overall request rate limit of one agent. \[A]
    pub requests_per_min_max: f64,
    /// G1: consecutive failed polls before the agent enters safe hold. \[A]
    pub hold_after_failures: u32,
    /// G4: observations of "pool not desired" needed before pruning. [A: spec]
    pub confirm_observations: u32,
    /// G4: time between the first and the confirming observation. [A: spec 5 min]
    pub confirm_window_s: f64,
    /// G5: deletes one cluster may make per hour. \[A]
    pub cluster_deletes_per_hour_max: u32,
    /// G8: grace period between scale-to-zero and the real delete. [A: spec 24 h]
    pub soft_delete_collect_after_s: f64,
    /// G5: fleet-wide brake, deletes per hour across all clusters. \[A]
    pub fleet_deletes_per_hour_max: u32,
    /// [`ReleaseDefect::SlowLeak`]: how long a process of the leaking
    /// version runs before it is killed for memory. \[A] 6 h: a leak of a
    /// few MB per reconcile against a pod limit of a few hundred MB, the
    /// usual "OOM after hours" of a leak that passes a 15-minute bake.
    pub leak_oom_after_s: f64,
    /// A deliberately seeded bug (chaos catalogue); none in real runs.
    pub seeded_bug: Option<SeededBug>,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            poll_interval_s: 60.0,
            poll_jitter_ratio: 0.2,
            full_resync_interval_s: 4.0 * 3600.0,
            delete_after_consecutive_404: 1,
            backoff_base_s: 10.0,
            backoff_max_s: 600.0,
            requests_per_min_max: 6.0,
            hold_after_failures: 5,
            confirm_observations: 3,
            confirm_window_s: 300.0,
            cluster_deletes_per_hour_max: 2,
            soft_delete_collect_after_s: 24.0 * 3600.0,
            fleet_deletes_per_hour_max: 50,
            leak_oom_after_s: 6.0 * 3600.0,
            seeded_bug: None,
        }
    }
}

/// Seconds in a day: the bound of the agent's periods.
const DAY_S: f64 = 86_400.0;
/// The top bit of a backoff jitter draw's counter: keeps those counters
/// apart from the poll numbers' ([`PollGrid::backoff_unit`]).
const BACKOFF_DRAWS: u64 = 1 << 63;

impl AgentConfig {
    pub fn validate(&self) -> Result<(), String> {
        // Periods: from a tenth of a second (a controller that busy-polls;
        // below that a run is all polls) to a day (or a week for the full
        // resync): beyond, the agent never acts within a scenario.
        check_range(
            "poll_interval_s",
            self.poll_interval_s,
            0.1,
            ("one day", DAY_S),
        )?;
        check_range(
            "full_resync_interval_s",
            self.full_resync_interval_s,
            0.1,
            ("one week", 7.0 * DAY_S),
        )?;
        check_range(
            "backoff_base_s",
            self.backoff_base_s,
            0.001,
            ("one day", DAY_S),
        )?;
        check_range(
            "backoff_max_s",
            self.backoff_max_s,
            0.001,
            ("one day", DAY_S),
        )?;
        check_positive("requests_per_min_max", self.requests_per_min_max)?;
        check_positive("confirm_window_s", self.confirm_window_s)?;
        // From a minute (a leak faster than a poll is a crash loop) to a week.
        check_range(
            "leak_oom_after_s",
            self.leak_oom_after_s,
            60.0,
            ("one week", 7.0 * DAY_S),
        )?;
        check_positive(
            "soft_delete_collect_after_s",
            self.soft_delete_collect_after_s,
        )?;
        check_at_least("poll_jitter_ratio", self.poll_jitter_ratio, 0.0)?;
        check_below("poll_jitter_ratio", self.poll_jitter_ratio, 1.0)?;
        check_at_least(
            "backoff_max_s",
            self.backoff_max_s,
            ("backoff_base_s", self.backoff_base_s),
        )?;
        check_at_least(
            "delete_after_consecutive_404",
            self.delete_after_consecutive_404,
            1,
        )?;
        // Guard thresholds: 0 would make a guard act on nothing (hold
        // before any failure, prune on no observation); past 1,000 a guard
        // never acts within a scenario (polls every 30 s: over 8 hours).
        check_range("hold_after_failures", self.hold_after_failures, 1, 1_000)?;
        check_range("confirm_observations", self.confirm_observations, 1, 1_000)?;
        // Delete budgets (G5): 0 forbids every delete, which is a setting
        // (a frozen fleet); the tops are far above any fleet's need.
        check_at_most(
            "cluster_deletes_per_hour_max",
            self.cluster_deletes_per_hour_max,
            1_000,
        )?;
        check_at_most(
            "fleet_deletes_per_hour_max",
            self.fleet_deletes_per_hour_max,
            1_000_000,
        )
    }
}

/// Timers the agent asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentTimer {
    Poll,
}

/// What the agent asks its driver to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentOutput {
    /// Send `GET desired-state/{cluster}`; answer with `handle_answer`.
    FetchDesired,
    /// Call the cloud to create a pool, or to set the node count of a
    /// present one (the cloud's create is an upsert: resize, un-scale).
    CreatePool {
        pool: PoolName,
        nodes: u16,
    },
    /// Call the cloud to delete a pool.
    DeletePool {
        pool: PoolName,
    },
    /// G8: scale a pool to zero nodes instead of deleting it.
    ScaleToZero {
        pool: PoolName,
    },
    /// Call `handle_timer(timer)` at `at`.
    SetTimer {
        at: SimTime,
        timer: AgentTimer,
    },
    /// A destructive step on `pool` was stopped by `guard`.
    Blocked {
        pool: PoolName,
        guard: Guard,
    },
    /// The agent stops acting and only polls (G1).
    EnteredHold,
    LeftHold,
    /// The process exited by itself (a defect of its release: killed for
    /// memory, or an unhandled error) after running `ran_for`; it is
    /// dead, and the driver restarts it like any exited container.
    Exited {
        ran_for: SimDuration,
    },
}

/// An agent's steady poll schedule: poll k at `phase + k·period +
/// jitter_k`, with `jitter_k` uniform in [0, `poll_jitter_ratio`·period)
/// from a counter-based draw keyed by the agent and k.
///
/// Why a grid and not "the last answer plus a jittered period": the
/// jitter does not accumulate, so the time of any poll is known without
/// drawing the ones before it. A driver may then skip an agent's quiet
/// polls (see [`Agent::quiet_until`]) and wake it later on exactly the
/// poll it would have made. After a backoff, the agent comes back to its
/// grid at the next point after the answer. The jitter stays one-sided
/// so that polls keep their order for any ratio below 1: consecutive
/// polls are more than `(1 - ratio)`·period apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollGrid {
    phase_us: u64,
    period_us: u64,
    jitter_us: u64,
    key: Keyed,
}

impl PollGrid {
    /// The grid of period `cfg.poll_interval_s` starting at `phase`.
    pub fn new(phase: SimTime, cfg: &AgentConfig, key: Keyed) -> PollGrid {
        let period_us = SimDuration::from_secs_f64(cfg.poll_interval_s)
            .as_micros()
            .max(1);
        // Below the period, so poll k + 1 always comes after poll k.
        let jitter_us = ((period_us as f64 * cfg.poll_jitter_ratio) as u64).min(period_us - 1);
        PollGrid {
            phase_us: phase.as_micros(),
            period_us,
            jitter_us,
            key,
        }
    }

    /// The time of poll `k`.
    pub fn at(&self, k: u64) -> SimTime {
        let jitter = (self.key.unit_at(k) * self.jitter_us as f64) as u64;
        SimTime::from_micros(
            self.phase_us
                .saturating_add(k.saturating_mul(self.period_us))
                .saturating_add(jitter),
        )
    }

    /// The first poll at or after `t`: its number and time.
    pub fn first_at_or_after(&self, t: SimTime) -> (u64, SimTime) {
        let t_us = t.as_micros();
        if t_us <= self.phase_us {
            return (0, self.at(0));
        }
        // Poll k lies in [phase + k·period, phase + (k + 1)·period), so only
        // k0 = floor((t - phase) / period) and k0 + 1 can be the answer.
        let k0 = (t_us - self.phase_us) / self.period_us;
        let at = self.at(k0);
        if at >= t {
            (k0, at)
        } else {
            (k0 + 1, self.at(k0 + 1))
        }
    }

    /// The backoff jitter draw of a failure handled at `now`, uniform in
    /// [0, 1): a counter-based draw keyed by the agent and the time (the
    /// top bit keeps these counters apart from the poll numbers'), so the
    /// agent needs no sequential stream of its own.
    fn backoff_unit(&self, now: SimTime) -> f64 {
        // `wrapping_add`, not `|`: the same number (a time's micros never
        // reach the top bit), without an equivalent mutant (`|` to `^`).
        self.key
            .unit_at(now.as_micros().wrapping_add(BACKOFF_DRAWS))
    }

    /// The smallest gap between two consecutive polls.
    pub fn min_gap(&self) -> SimDuration {
        SimDuration::from_micros(self.period_us - self.jitter_us)
    }

    /// The first poll strictly after `t`.
    pub fn first_after(&self, t: SimTime) -> (u64, SimTime) {
        self.first_at_or_after(t + SimDuration::from_micros(1))
    }
}

/// Per-pool bookkeeping of the "not desired" observations (G4) and soft deletes (G8).
/// Packed to 4-byte alignment: 20 bytes instead of 24, so an agent's six
/// take 120 bytes, not 144 (fields are only read and written by value).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[repr(C, packed(4))]
struct PoolWatch {
    undesired_since: Stamp,
    undesired_seen: u32,
    soft_deleted_at: Stamp,
}

/// An agent's self-report, as its status endpoint would give it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgentStatus {
    /// Running and reconciling (not dead, not crash-looping).
    pub alive: bool,
    pub in_hold: bool,
    /// The generation of the desired state it last applied.
    pub generation: u64,
    /// Its last desired-state poll got an authoritative answer it acted on.
    pub last_poll_ok: bool,
}

/// One cluster's agent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Agent {
    guards: Guards,
    /// When it polls while all is well.
    grid: PollGrid,
    alive: bool,
    /// The installed version's defect (none for a sound release).
    defect: ReleaseDefect,
    /// When this process started (or its version was installed).
    started_at: Stamp,
    /// When a leaking process runs out of memory
    /// ([`ReleaseDefect::SlowLeak`]; none otherwise).
    oom_at: Stamp,
    in_hold: bool,
    /// A fetch is outstanding; its answer has not come back yet.
    awaiting_answer: bool,
    /// The last desired-state answer was authoritative and acted on (part
    /// of "converged": an agent whose polls fail cannot apply a change).
    last_poll_ok: bool,
    generation: u64,
    desired: Option<DesiredState>,
    consecutive_404: u32,
    consecutive_failures: u32,
    next_full_resync: SimTime,
    last_fetch: Stamp,
    watch: [PoolWatch; POOLS],
    /// Start times of this cluster's recent deletes (G5), oldest first.
    recent_deletes: [Stamp; 4],
}

impl Agent {
    /// A new agent; `grid` and `first_full_resync_at` set its phases.
    pub fn new(guards: Guards, first_full_resync_at: SimTime, grid: PollGrid) -> Self {
        Agent {
            guards,
            grid,
            alive: true,
            defect: ReleaseDefect::None,
            started_at: Stamp::NONE,
            oom_at: Stamp::NONE,
            in_hold: false,
            awaiting_answer: false,
            last_poll_ok: false,
            generation: 0,
            desired: None,
            consecutive_404: 0,
            consecutive_failures: 0,
            next_full_resync: first_full_resync_at,
            last_fetch: Stamp::NONE,
            watch: [PoolWatch::default(); POOLS],
            recent_deletes: [Stamp::NONE; 4],
        }
    }

    pub fn guards(&self) -> Guards {
        self.guards
    }
    pub fn is_alive(&self) -> bool {
        self.alive
    }
    pub fn in_hold(&self) -> bool {
        self.in_hold
    }
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// What the agent reports about itself (its status endpoint): what
    /// full convergence asks of the agent side.
    pub fn status(&self) -> AgentStatus {
        AgentStatus {
            alive: self.alive && !self.crash_looping(),
            in_hold: self.in_hold,
            generation: self.generation,
            last_poll_ok: self.last_poll_ok,
        }
    }

    /// The black-box tier: this `Agent` is the world's record of an agent
    /// that is a real process, which decides for itself. The record decides
    /// nothing; it keeps what the world saw (alive or not, the last answer
    /// served) so that full convergence reads the same status in both
    /// tiers. An answer served: authoritative answers raise the generation
    /// the process has been shown.
    pub fn observe_served(&mut self, answer: &DesiredAnswer) {
        self.awaiting_answer = false;
        match answer {
            DesiredAnswer::Ok(ds) => {
                self.generation = self.generation.max(ds.generation);
                self.last_poll_ok = true;
            }
            _ => self.last_poll_ok = false,
        }
    }

    /// The black-box tier: the process reports whether it is in safe hold
    /// (its status endpoint, what a monitoring system scrapes). Returns
    /// whether that changed the record.
    pub fn report_hold(&mut self, in_hold: bool) -> bool {
        let changed = self.alive && self.in_hold != in_hold;
        if changed {
            self.in_hold = in_hold;
        }
        changed
    }

    /// The black-box tier takes this agent over from the model (a run with
    /// `--from`): a hold is the model's own state, which a process does not
    /// report. Returns whether it was in hold.
    pub fn hand_over_to_process(&mut self) -> bool {
        self.awaiting_answer = false;
        // The process has been answered nothing yet: a process that never
        // polls is not converged.
        self.last_poll_ok = false;
        std::mem::replace(&mut self.in_hold, false)
    }

    /// The installed version crash-loops ([`ReleaseDefect::CrashLoop`]).
    fn crash_looping(&self) -> bool {
        self.defect == ReleaseDefect::CrashLoop
    }

    /// The installed version's defect.
    pub fn defect(&self) -> ReleaseDefect {
        self.defect
    }

    /// A new version is installed at `now` (the hotfix): same memory, new
    /// guards; a crash-looping version stops the agent for good.
    pub fn upgrade(
        &mut self,
        now: SimTime,
        guards: Guards,
        defect: ReleaseDefect,
        cfg: &AgentConfig,
    ) {
        self.guards = guards;
        self.defect = defect;
        self.started(now, cfg);
        if defect == ReleaseDefect::CrashLoop {
            self.awaiting_answer = false;
        }
    }

    /// The rollout rolled the cluster back to the previous version, sound
    /// and with `guards`. Returns whether the process must be started
    /// again (the defective one was crash-looping: it runs nothing until
    /// the driver restarts it as a fresh process).
    pub fn roll_back(&mut self, guards: Guards) -> bool {
        let restart = self.alive && self.crash_looping();
        self.guards = guards;
        self.defect = ReleaseDefect::None;
        self.oom_at = Stamp::NONE;
        if restart {
            self.alive = false;
        }
        restart
    }

    /// The process exits by itself at `now` (its release's defect).
    fn exit(&mut self, now: SimTime, out: &mut Vec<AgentOutput>) {
        self.alive = false;
        self.awaiting_answer = false;
        let ran_for = self
            .started_at
            .get()
            .map_or(SimDuration::ZERO, |t| now.saturating_since(t));
        out.push(AgentOutput::Exited { ran_for });
    }

    /// The process (or its version) starts at `now`: a leaking one will
    /// run out of memory `leak_oom_after_s` later.
    fn started(&mut self, now: SimTime, cfg: &AgentConfig) {
        self.started_at = Stamp::at(now);
        self.oom_at = if self.defect == ReleaseDefect::SlowLeak {
            Stamp::at(now + SimDuration::from_secs_f64(cfg.leak_oom_after_s))
        } else {
            Stamp::NONE
        };
    }

    /// The agent's host (the `system` pool) is going away: the agent dies.
    pub fn handle_host_lost(&mut self) {
        self.alive = false;
        self.awaiting_answer = false;
    }

    /// The agent's pod starts again (after its `system` pool was recreated,
    /// or a crash): fresh memory, an immediate poll and a full resync on
    /// the first answer. `recorded_generation` is the generation its
    /// cluster's status records as last applied (the agent writes it with
    /// each apply; it lives in the cluster, not in the process): with G3
    /// the new process starts from it, so a lagging replica's older answer
    /// is refused across a restart too: a restarted agent with no memory
    /// would apply generation 1 after its predecessor had applied 2 (an
    /// agent crash during a generation regression;
    /// `scenarios/regressions/fixed-400-seed-26.json` replays it).
    pub fn handle_restart(
        &mut self,
        now: SimTime,
        guards: Guards,
        recorded_generation: u64,
        cfg: &AgentConfig,
        out: &mut Vec<AgentOutput>,
    ) {
        let defect = self.defect;
        *self = Agent::new(guards, now, self.grid);
        if guards.g3_monotonic_generation
            && cfg.seeded_bug != Some(SeededBug::ForgetsGenerationOnRestart)
        {
            self.generation = recorded_generation;
        }
        // The installed binary is still the defective one.
        self.defect = defect;
        self.started(now, cfg);
        if self.crash_looping() {
            return;
        }
        out.push(AgentOutput::SetTimer {
            at: now,
            timer: AgentTimer::Poll,
        });
    }

    /// A timer fired.
    pub fn handle_timer(
        &mut self,
        now: SimTime,
        timer: AgentTimer,
        cfg: &AgentConfig,
        out: &mut Vec<AgentOutput>,
    ) {
        if !self.alive || self.crash_looping() {
            return;
        }
        if self.oom_at.get().is_some_and(|at| now >= at) {
            // The leak: the kernel kills the process at its next wake-up.
            self.exit(now, out);
            return;
        }
        match timer {
            AgentTimer::Poll => {
                if self.awaiting_answer {
                    // The previous answer never came (the driver lost it):
                    // count it as a timeout rather than pile up requests.
                    self.awaiting_answer = false;
                    self.on_failure(now, cfg, out);
                    return;
                }
                // G7: never exceed the overall request rate.
                if self.guards.g7_backoff
                    && cfg.seeded_bug != Some(SeededBug::RetriesWithoutBackoff)
                {
                    let spacing = SimDuration::from_secs_f64(60.0 / cfg.requests_per_min_max);
                    if let Some(last) = self.last_fetch.get() {
                        if now < last + spacing {
                            out.push(AgentOutput::SetTimer {
                                at: last + spacing,
                                timer: AgentTimer::Poll,
                            });
                            return;
                        }
                    }
                }
                self.awaiting_answer = true;
                self.last_fetch = Stamp::at(now);
                out.push(AgentOutput::FetchDesired);
            }
        }
    }

    /// The next point of the poll grid after `now`.
    fn next_poll(&self, now: SimTime) -> SimTime {
        self.grid.first_after(now).1
    }

    pub fn grid(&self) -> &PollGrid {
        &self.grid
    }
    /// The desired state it last applied.
    pub fn desired(&self) -> Option<DesiredState> {
        self.desired
    }
    /// When it last sent a desired-state request.
    pub fn last_fetch(&self) -> Option<SimTime> {
        self.last_fetch.get()
    }

    /// Until when handling the answer `Ok(ds)` again, with the cloud
    /// listing `actual`, would do nothing but ask for the next poll of the
    /// grid (and count what it counts): `None` if it would act now.
    ///
    /// Quiet means: alive and running, out of hold, its last poll
    /// answered, `ds` the desired state it holds at its generation, every
    /// wanted pool present at the wanted size and every absent pool
    /// unwanted. Then a reconcile finds nothing to create or resize. A
    /// present pool that `ds` does not want (a customer's removal, a pool
    /// the guards keep) is only counted (G4's observations) until the next
    /// full resync, which may act on it: the agent is quiet until then.
    /// A driver may skip a quiet agent's polls until that time or until
    /// something that could change the answer or the listing happens (the
    /// fleet tier's fast-forward; its reference mode checks this claim at
    /// every poll it would skip).
    pub fn quiet_until(&self, ds: &DesiredState, actual: &[PoolState; POOLS]) -> Option<SimTime> {
        // What the conditions below imply, so they are not tested twice
        // (a separate test of each would be equivalent to the others): a
        // failure or a 404 in a row clears `last_poll_ok`,
        // safe hold is entered on a failure and left on a good answer,
        // and an agent holding `ds` has applied its generation.
        debug_assert!(
            !self.last_poll_ok
                || (self.consecutive_failures == 0 && self.consecutive_404 == 0 && !self.in_hold)
        );
        debug_assert!(self.desired != Some(*ds) || self.generation == ds.generation);
        if !self.alive
            || self.crash_looping()
            || self.awaiting_answer
            || !self.last_poll_ok
            || self.desired != Some(*ds)
        {
            return None;
        }
        // A leaking process wakes for its death: no poll is skipped past it.
        let mut until = self.oom_at.get().unwrap_or(SimTime::MAX);
        for (i, st) in actual.iter().enumerate() {
            let pool = PoolName::from_index(i);
            let wanted = ds.pools.contains(pool) && !ds.tombstones.contains(pool);
            let quiet = match *st {
                PoolState::Absent => !wanted,
                PoolState::Present { nodes } if wanted => {
                    (nodes == ds.nodes[i] || ds.nodes[i] == 0)
                        && self.watch[i] == PoolWatch::default()
                }
                PoolState::Present { .. } => {
                    // Already observed: the next answers only count it.
                    until = until.min(self.next_full_resync);
                    self.watch[i].undesired_since.get().is_some()
                }
                PoolState::Creating | PoolState::Deleting => false,
            };
            if !quiet {
                return None;
            }
        }
        Some(until)
    }

    /// Brings a quiet agent's memory to where handling `answered` skipped
    /// quiet answers of `ds` would have left it (see [`Agent::quiet_until`]):
    /// the last poll was sent at `last_poll_at` (its answer still
    /// `awaiting`, or not), the last answer handled came at
    /// `last_answer_at`. A quiet answer moves the poll and full-resync
    /// schedule and counts the unwanted present pools it sees.
    #[allow(clippy::too_many_arguments)]
    pub fn skip_quiet_polls(
        &mut self,
        last_poll_at: SimTime,
        awaiting: bool,
        last_answer_at: Option<SimTime>,
        answered: u64,
        ds: &DesiredState,
        actual: &[PoolState; POOLS],
        cfg: &AgentConfig,
    ) {
        self.last_fetch = Stamp::at(last_poll_at);
        self.awaiting_answer = awaiting;
        if let Some(at) = last_answer_at {
            self.advance_full_resync(at, cfg);
        }
        self.count_quiet_answers(answered, ds, actual);
    }

    /// What `n` quiet answers of `ds` add to G4's observations.
    pub fn count_quiet_answers(&mut self, n: u64, ds: &DesiredState, actual: &[PoolState; POOLS]) {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        for (i, st) in actual.iter().enumerate() {
            let pool = PoolName::from_index(i);
            let wanted = ds.pools.contains(pool) && !ds.tombstones.contains(pool);
            if matches!(st, PoolState::Present { .. }) && !wanted {
                let w = &mut self.watch[i];
                w.undesired_seen = w.undesired_seen.saturating_add(n);
            }
        }
    }

    /// Moves the full-resync schedule past `now` (what a reconcile at `now`
    /// does); returns whether a full resync was due.
    fn advance_full_resync(&mut self, now: SimTime, cfg: &AgentConfig) -> bool {
        if now < self.next_full_resync {
            return false;
        }
        let period = SimDuration::from_secs_f64(cfg.full_resync_interval_s)
            .as_micros()
            .max(1);
        let behind = now.as_micros() - self.next_full_resync.as_micros();
        // The loop "add a period while not after now", in one step.
        self.next_full_resync += SimDuration::from_micros((behind / period + 1) * period);
        true
    }

    /// Takes the poll and full-resync schedule (what a quiet poll moves)
    /// from `other`, so that the rest can be compared.
    pub fn with_schedule_of(mut self, other: &Agent) -> Agent {
        self.last_fetch = other.last_fetch;
        self.awaiting_answer = other.awaiting_answer;
        self.next_full_resync = other.next_full_resync;
        self
    }

    /// The desired-state request came back. `actual` is the cluster's pools as
    /// the cloud lists them at `now`.
    pub fn handle_answer(
        &mut self,
        now: SimTime,
        answer: DesiredAnswer,
        actual: &[PoolState; POOLS],
        cfg: &AgentConfig,
        out: &mut Vec<AgentOutput>,
    ) {
        if !self.alive || self.crash_looping() {
            return;
        }
        self.awaiting_answer = false;
        if answer == DesiredAnswer::NotFound && self.defect == ReleaseDefect::BreaksBehindMisroute {
            // The release reads the 404 as "no pools"; its guards refuse
            // the prune and the refusal is not handled: the process exits.
            self.exit(now, out);
            return;
        }
        match answer {
            DesiredAnswer::Ok(mut ds) => {
                let g3 = self.guards.g3_monotonic_generation
                    && cfg.seeded_bug != Some(SeededBug::AcceptsGenerationRegression)
                    && !(self.in_hold
                        && cfg.seeded_bug == Some(SeededBug::LeavesHoldOnStaleAnswer));
                if ds.generation < self.generation && g3 {
                    // G3: a stale answer (e.g. a lagging replica) is ignored,
                    // and every destructive step it would imply is blocked.
                    for p in self.destructive_targets(&ds, actual).iter() {
                        out.push(AgentOutput::Blocked {
                            pool: p,
                            guard: Guard::G3,
                        });
                    }
                    if cfg.seeded_bug == Some(SeededBug::BackoffResetByStaleAnswer) {
                        // The seeded bug: "it was a 200", so the backoff starts over.
                        self.consecutive_failures = 0;
                    }
                    self.on_failure(now, cfg, out);
                    return;
                }
                self.generation = if g3 {
                    self.generation.max(ds.generation)
                } else {
                    ds.generation
                };
                if self.in_hold && cfg.seeded_bug == Some(SeededBug::NeverLeavesHold) {
                    // The seeded bug: hold is never left, nothing is reconciled.
                    out.push(AgentOutput::SetTimer {
                        at: self.next_poll(now),
                        timer: AgentTimer::Poll,
                    });
                    return;
                }
                if self.in_hold {
                    self.in_hold = false;
                    out.push(AgentOutput::LeftHold);
                }
                if cfg.seeded_bug == Some(SeededBug::StaleTombstoneAfterReadd) {
                    // The seeded bug: every intent ever seen stays in force.
                    if let Some(prev) = self.desired {
                        for p in prev.tombstones.iter() {
                            ds.tombstones.insert(p);
                        }
                    }
                }
                self.last_poll_ok = true;
                self.consecutive_404 = 0;
                self.consecutive_failures = 0;
                self.desired = Some(ds);
                self.reconcile(now, ds, true, actual, cfg, out);
                out.push(AgentOutput::SetTimer {
                    at: self.next_poll(now),
                    timer: AgentTimer::Poll,
                });
            }
            DesiredAnswer::NotFound if !self.guards.g1_authoritative_only => {
                // The historical bug: a 404 means "no desired pools".
                self.last_poll_ok = false;
                self.consecutive_404 += 1;
                if self.consecutive_404 >= cfg.delete_after_consecutive_404 {
                    // Nothing reads an inferred state's generation (the
                    // agent's own `generation` is what G3 and the reports
                    // use), so the empty state keeps the default.
                    let empty = DesiredState::default();
                    self.desired = Some(empty);
                    self.reconcile(now, empty, false, actual, cfg, out);
                }
                out.push(AgentOutput::SetTimer {
                    at: self.next_poll(now),
                    timer: AgentTimer::Poll,
                });
            }
            DesiredAnswer::ServerError if cfg.seeded_bug == Some(SeededBug::DeletesOn5xx) => {
                for (i, st) in actual.iter().enumerate() {
                    if matches!(st, PoolState::Present { .. }) {
                        out.push(AgentOutput::DeletePool {
                            pool: PoolName::from_index(i),
                        });
                    }
                }
                self.on_failure(now, cfg, out);
            }
            _ => self.on_failure(now, cfg, out),
        }
    }

    /// Pools that `ds` would remove from `actual`.
    fn destructive_targets(&self, ds: &DesiredState, actual: &[PoolState; POOLS]) -> PoolSet {
        let mut s = PoolSet::EMPTY;
        for (i, st) in actual.iter().enumerate() {
            let p = PoolName::from_index(i);
            if matches!(st, PoolState::Present { .. }) && !ds.pools.contains(p) {
                s.insert(p);
            }
        }
        s
    }

    /// A non-authoritative answer: back off, and hold if it persists.
    fn on_failure(&mut self, now: SimTime, cfg: &AgentConfig, out: &mut Vec<AgentOutput>) {
        self.last_poll_ok = false;
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        if self.guards.g1_authoritative_only
            && !self.in_hold
            && self.consecutive_failures >= cfg.hold_after_failures
        {
            self.in_hold = true;
            out.push(AgentOutput::EnteredHold);
        }
        let at = if cfg.seeded_bug == Some(SeededBug::RetriesWithoutBackoff) {
            now + SimDuration::from_secs(1)
        } else if self.guards.g7_backoff {
            let exp = (self.consecutive_failures - 1).min(20);
            let base = (cfg.backoff_base_s * f64::from(1u32 << exp.min(16))).min(cfg.backoff_max_s);
            // "Full jitter" between half and the whole backoff.
            now + SimDuration::from_secs_f64(base * (0.5 + 0.5 * self.grid.backoff_unit(now)))
        } else {
            self.next_poll(now)
        };
        out.push(AgentOutput::SetTimer {
            at,
            timer: AgentTimer::Poll,
        });
    }

    /// Diffs `ds` against `actual` and emits cloud calls. `authoritative` is
    /// false when the desired state was inferred (the buggy 404 path).
    fn reconcile(
        &mut self,
        now: SimTime,
        ds: DesiredState,
        authoritative: bool,
        actual: &[PoolState; POOLS],
        cfg: &AgentConfig,
        out: &mut Vec<AgentOutput>,
    ) {
        let full = self.advance_full_resync(now, cfg);
        for (i, state) in actual.iter().enumerate() {
            let pool = PoolName::from_index(i);
            let wanted = ds.pools.contains(pool) && !ds.tombstones.contains(pool);
            if wanted {
                self.withdraw_removal(i, cfg);
            }
            match *state {
                PoolState::Absent if wanted => {
                    out.push(AgentOutput::CreatePool {
                        pool,
                        nodes: ds.nodes[i],
                    });
                }
                PoolState::Present { nodes } if !wanted => {
                    self.consider_removal(now, pool, nodes, &ds, authoritative, full, cfg, out);
                }
                PoolState::Present { nodes } if nodes != ds.nodes[i] && ds.nodes[i] > 0 => {
                    // Wanted (the arm above took the rest): a customer's
                    // resize, or the undo of a soft delete whose intent was
                    // withdrawn (0 nodes): the cloud's create call sets the
                    // node count of a present pool.
                    out.push(AgentOutput::CreatePool {
                        pool,
                        nodes: ds.nodes[i],
                    });
                }
                _ => {}
            }
        }
    }

    /// An answer wants pool `i`: a removal observed before is withdrawn,
    /// whatever the listing shows (a pool being created or deleted too).
    /// G4 confirms an unbroken run of answers without the pool, so its
    /// count and window start over; a soft delete is undone by the resize
    /// the reconcile asks for.
    fn withdraw_removal(&mut self, i: usize, cfg: &AgentConfig) {
        if cfg.seeded_bug == Some(SeededBug::ConfirmationNeverResets) {
            self.watch[i].soft_deleted_at = Stamp::NONE;
        } else {
            self.watch[i] = PoolWatch::default();
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn consider_removal(
        &mut self,
        now: SimTime,
        pool: PoolName,
        nodes: u16,
        ds: &DesiredState,
        authoritative: bool,
        full: bool,
        cfg: &AgentConfig,
        out: &mut Vec<AgentOutput>,
    ) {
        let g = self.guards;
        let i = pool.index();
        // G4 counts observations on every answer, pruning or not.
        let w = &mut self.watch[i];
        if w.undesired_since.get().is_none() {
            w.undesired_since = Stamp::at(now);
        }
        w.undesired_seen = w.undesired_seen.saturating_add(1);
        if !full {
            return;
        }
        let blocked = |guard| AgentOutput::Blocked { pool, guard };
        // G1: an inferred or non-explicit empty is not authority to remove.
        if g.g1_authoritative_only
            && (!authoritative || (ds.pools.is_empty() && !ds.empty_explicit))
        {
            out.push(blocked(Guard::G1));
            return;
        }
        let ignores_tombstones = cfg.seeded_bug == Some(SeededBug::IgnoresTombstones);
        // G2: only with a delete intent.
        if g.g2_tombstones && !ignores_tombstones && !ds.tombstones.contains(pool) {
            out.push(blocked(Guard::G2));
            return;
        }
        // G4: confirmed over time.
        if g.g4_confirmation && !ignores_tombstones {
            let w = self.watch[i];
            let since = w.undesired_since.get().unwrap_or(now);
            if w.undesired_seen < cfg.confirm_observations
                || now.saturating_since(since) < SimDuration::from_secs_f64(cfg.confirm_window_s)
            {
                out.push(blocked(Guard::G4));
                return;
            }
        }
        // G5: per-cluster blast radius.
        if g.g5_blast_radius {
            let hour = SimDuration::from_hours(1);
            let recent = self
                .recent_deletes
                .iter()
                .filter_map(|s| s.get())
                .filter(|t| now.saturating_since(*t) < hour)
                .count() as u32;
            if recent >= cfg.cluster_deletes_per_hour_max {
                out.push(blocked(Guard::G5));
                return;
            }
        }
        // G8: scale to zero first, delete after the grace period.
        if g.g8_soft_delete {
            match self.watch[i].soft_deleted_at.get() {
                None => {
                    self.watch[i].soft_deleted_at = Stamp::at(now);
                    if nodes > 0 {
                        out.push(AgentOutput::ScaleToZero { pool });
                    }
                    return;
                }
                Some(_)
                    if nodes > 0
                        && cfg.seeded_bug != Some(SeededBug::GraceFromRefusedScaleDown) =>
                {
                    // The scale-to-zero did not take (the cloud refused or
                    // rate-limited it): ask again, and count the grace
                    // period from now. Waiting out the grace period on a
                    // pool that still runs would leave a legitimate removal
                    // undone for a day.
                    self.watch[i].soft_deleted_at = Stamp::at(now);
                    out.push(AgentOutput::ScaleToZero { pool });
                    return;
                }
                Some(at)
                    if now.saturating_since(at)
                        < SimDuration::from_secs_f64(cfg.soft_delete_collect_after_s) =>
                {
                    return;
                }
                Some(_) if cfg.seeded_bug == Some(SeededBug::NeverCollects) => return,
                Some(_) => {}
            }
        }
        self.recent_deletes.rotate_left(1);
        self.recent_deletes[self.recent_deletes.len() - 1] = Stamp::at(now);
        self.watch[i] = PoolWatch::default();
        out.push(AgentOutput::DeletePool { pool });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cascade_sim::Keyed;

    fn test_agent(guards: Guards, first_full_resync_at: SimTime) -> Agent {
        let grid = PollGrid::new(SimTime::ZERO, &AgentConfig::default(), Keyed(1));
        Agent::new(guards, first_full_resync_at, grid)
    }

    /// An answer that reaches a dead process, or one whose new version
    /// crash-loops, does nothing: neither can act on it. (The whole
    /// mutation run's survivor `||` made `&&` here: no test delivered such
    /// an answer.)
    #[test]
    fn a_dead_or_crash_looping_agent_ignores_an_answer() {
        let cfg = AgentConfig::default();
        let (actual, ds) = full_cluster();
        let now = SimTime::from_secs(600);
        let answer = |a: &mut Agent| {
            let mut out = Vec::new();
            a.handle_answer(now, DesiredAnswer::Ok(ds), &actual, &cfg, &mut out);
            out
        };
        // A live, sound agent acts on it (the control).
        let mut live = test_agent(Guards::all(), SimTime::from_secs(3_600));
        assert!(!answer(&mut live).is_empty());
        let mut dead = test_agent(Guards::all(), SimTime::from_secs(3_600));
        dead.handle_host_lost();
        assert_eq!(answer(&mut dead), vec![]);
        let mut looping = test_agent(Guards::all(), SimTime::from_secs(3_600));
        looping.upgrade(now, Guards::all(), ReleaseDefect::CrashLoop, &cfg);
        assert_eq!(answer(&mut looping), vec![]);
    }

    /// A wanted pool is resized to its desired node count, never to a
    /// count of 0 (no count given), which would empty it: a delete by
    /// another name (a mutation-run survivor, issue 29).
    #[test]
    fn a_wanted_pool_is_resized_but_never_to_zero_nodes() {
        let cfg = AgentConfig::default();
        let resizes = |nodes: u16| {
            let (actual, mut ds) = full_cluster();
            ds.nodes[PoolName::Worker(1).index()] = nodes;
            let mut a = test_agent(Guards::all(), SimTime::from_secs(3_600));
            let mut out = Vec::new();
            a.handle_answer(
                SimTime::from_secs(600),
                DesiredAnswer::Ok(ds),
                &actual,
                &cfg,
                &mut out,
            );
            out.into_iter()
                .filter(|o| matches!(o, AgentOutput::CreatePool { .. }))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            resizes(5),
            [AgentOutput::CreatePool {
                pool: PoolName::Worker(1),
                nodes: 5
            }]
        );
        assert_eq!(resizes(0), []);
    }

    #[test]
    fn the_poll_grid_is_ordered_jittered_one_sided_and_can_be_entered_anywhere() {
        let cfg = AgentConfig::default();
        let phase = SimTime::from_secs(17);
        let grid = PollGrid::new(phase, &cfg, Keyed(9));
        let period = SimDuration::from_secs_f64(cfg.poll_interval_s);
        let jitter = period.mul_f64(cfg.poll_jitter_ratio);
        let mut prev = None;
        for k in 0..2_000u64 {
            let t = grid.at(k);
            let start = phase + period.saturating_mul(k);
            assert!(t >= start && t.saturating_since(start) < jitter, "poll {k}");
            if let Some(p) = prev {
                assert!(t > p && t.saturating_since(p) >= grid.min_gap());
            }
            prev = Some(t);
            // Entering the grid at, just before and just after poll k.
            assert_eq!(grid.first_at_or_after(t), (k, t));
            assert_eq!(grid.first_after(t), (k + 1, grid.at(k + 1)));
            if k > 0 {
                let before = SimTime::from_micros(t.as_micros() - 1);
                assert_eq!(grid.first_at_or_after(before), (k, t));
            }
        }
        assert_eq!(grid.first_at_or_after(SimTime::ZERO), (0, grid.at(0)));
        // The jitter is drawn, not constant: polls land at many offsets.
        let mut offsets: Vec<u64> = (0..100)
            .map(|k| {
                grid.at(k)
                    .saturating_since(phase + period.saturating_mul(k))
                    .as_micros()
            })
            .collect();
        offsets.sort_unstable();
        offsets.dedup();
        assert!(offsets.len() > 90, "{} distinct offsets", offsets.len());
    }

    /// The black-box tier's record of a process (issue 29's mutation run:
    /// these survived, since the black-box tests are outside the mutants'
    /// test command): what it was served, what it reports, the hand-over
    /// and a crash-looping upgrade.
    #[test]
    fn the_record_of_a_process_keeps_what_it_was_served_and_reports() {
        let (_, ds) = full_cluster();
        let mut a = test_agent(Guards::all(), SimTime::from_secs(3_600));
        a.awaiting_answer = true;
        a.observe_served(&DesiredAnswer::Ok(ds));
        assert_eq!(
            (a.generation, a.last_poll_ok, a.awaiting_answer),
            (5, true, false)
        );
        // An older authoritative answer does not lower what it was shown;
        // an error answer is not a good poll.
        let older = DesiredState {
            generation: 3,
            ..ds
        };
        a.observe_served(&DesiredAnswer::Ok(older));
        assert_eq!((a.generation, a.last_poll_ok), (5, true));
        a.awaiting_answer = true;
        a.observe_served(&DesiredAnswer::NotFound);
        assert_eq!(
            (a.generation, a.last_poll_ok, a.awaiting_answer),
            (5, false, false)
        );
        // Hold reports: a change is news once; a dead process reports nothing.
        assert!(a.report_hold(true));
        assert!(a.in_hold);
        assert!(!a.report_hold(true));
        assert!(a.report_hold(false));
        assert!(!a.in_hold);
        a.in_hold = true;
        a.handle_host_lost();
        assert!(!a.report_hold(false));
        assert!(a.in_hold);
        // Handed over in hold: the hold is the model's, the process has
        // been answered nothing.
        let mut b = test_agent(Guards::all(), SimTime::from_secs(3_600));
        b.observe_served(&DesiredAnswer::Ok(ds));
        b.in_hold = true;
        b.awaiting_answer = true;
        assert!(b.hand_over_to_process());
        assert_eq!(
            (b.in_hold, b.last_poll_ok, b.awaiting_answer),
            (false, false, false)
        );
        assert!(!b.hand_over_to_process());
        // A crash-looping upgrade awaits nothing; a sound one keeps its poll.
        let cfg = AgentConfig::default();
        let now = SimTime::from_secs(7_200);
        for (defect, awaiting) in [
            (ReleaseDefect::CrashLoop, false),
            (ReleaseDefect::SlowLeak, true),
        ] {
            let mut c = test_agent(Guards::all(), SimTime::from_secs(3_600));
            c.awaiting_answer = true;
            c.upgrade(now, Guards::all(), defect, &cfg);
            assert_eq!((c.defect(), c.awaiting_answer), (defect, awaiting));
        }
    }

    #[test]
    fn an_agent_is_quiet_only_when_its_pools_are_as_wanted_or_only_being_counted() {
        let cfg = AgentConfig::default();
        let (actual, ds) = full_cluster();
        let t0 = SimTime::from_secs(100);
        let mut a = test_agent(Guards::all(), SimTime::from_secs(3_600));
        // Before any answer it holds no desired state: not quiet.
        assert_eq!(a.quiet_until(&ds, &actual), None);
        let mut out = Vec::new();
        a.handle_answer(t0, DesiredAnswer::Ok(ds), &actual, &cfg, &mut out);
        assert_eq!(a.quiet_until(&ds, &actual), Some(SimTime::MAX));
        // A dead agent, or one awaiting an answer, whose last poll went
        // well is not quiet either.
        let mut dead = a;
        dead.handle_host_lost();
        assert_eq!(dead.quiet_until(&ds, &actual), None);
        let mut waiting = a;
        out.clear();
        waiting.handle_timer(
            t0 + SimDuration::from_secs(60),
            AgentTimer::Poll,
            &cfg,
            &mut out,
        );
        assert_eq!(out, [AgentOutput::FetchDesired]);
        assert_eq!(waiting.quiet_until(&ds, &actual), None);
        // Another answer would create a missing pool: not quiet.
        let mut missing = actual;
        missing[PoolName::Worker(1).index()] = PoolState::Absent;
        assert_eq!(a.quiet_until(&ds, &missing), None);
        // Nor one that would resize a wanted pool (both halves of the size
        // test: a pool at the wrong size, and one at zero).
        let mut resized = actual;
        resized[PoolName::Worker(1).index()] = PoolState::Present { nodes: 5 };
        assert_eq!(a.quiet_until(&ds, &resized), None);
        // A newer desired state it has not applied: not quiet.
        let (_, newer) = worker_1_tombstoned();
        assert_eq!(a.quiet_until(&newer, &actual), None);
        // A tombstoned pool still present is counted until the full resync.
        let t1 = t0 + SimDuration::from_secs(60);
        out.clear();
        a.handle_answer(t1, DesiredAnswer::Ok(newer), &actual, &cfg, &mut out);
        assert_eq!(
            a.quiet_until(&newer, &actual),
            Some(SimTime::from_secs(3_600))
        );
        // And counting the skipped answers is what handling them does.
        let mut skipped = a;
        skipped.count_quiet_answers(2, &newer, &actual);
        for k in 2..4 {
            out.clear();
            let at = t0 + SimDuration::from_secs(60 * k);
            a.handle_answer(at, DesiredAnswer::Ok(newer), &actual, &cfg, &mut out);
            assert!(matches!(out[..], [AgentOutput::SetTimer { .. }]), "{out:?}");
        }
        assert_eq!(skipped.with_schedule_of(&a), a);
        // A failed poll ends the quiet.
        out.clear();
        a.handle_answer(
            t1 + SimDuration::from_secs(300),
            DesiredAnswer::ServerError,
            &actual,
            &cfg,
            &mut out,
        );
        assert_eq!(a.quiet_until(&newer, &actual), None);
    }

    fn full_cluster() -> ([PoolState; POOLS], DesiredState) {
        let mut actual = [PoolState::Absent; POOLS];
        let mut ds = DesiredState {
            generation: 5,
            ..DesiredState::default()
        };
        for p in [
            PoolName::System,
            PoolName::Airflow,
            PoolName::WorkerDefault,
            PoolName::Worker(1),
        ] {
            actual[p.index()] = PoolState::Present { nodes: 3 };
            ds.pools.insert(p);
            ds.nodes[p.index()] = 3;
        }
        (actual, ds)
    }

    /// A full cluster whose desired state (generation 6) tombstones worker-1.
    fn worker_1_tombstoned() -> ([PoolState; POOLS], DesiredState) {
        let (actual, mut ds) = full_cluster();
        ds.pools.remove(PoolName::Worker(1));
        ds.tombstones.insert(PoolName::Worker(1));
        ds.generation = 6;
        (actual, ds)
    }

    fn deletes(out: &[AgentOutput]) -> Vec<PoolName> {
        out.iter()
            .filter_map(|o| match o {
                AgentOutput::DeletePool { pool } => Some(*pool),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn buggy_agent_deletes_every_pool_on_404_within_one_reconcile() {
        let cfg = AgentConfig::default();
        let (actual, ds) = full_cluster();
        let t0 = SimTime::from_secs(100);
        // Full resync is due at t0 + 30 s.
        let mut a = test_agent(Guards::none(), t0 + SimDuration::from_secs(30));
        let mut out = Vec::new();
        a.handle_answer(t0, DesiredAnswer::Ok(ds), &actual, &cfg, &mut out);
        assert!(deletes(&out).is_empty());
        out.clear();
        let t1 = t0 + SimDuration::from_secs(60);
        a.handle_answer(t1, DesiredAnswer::NotFound, &actual, &cfg, &mut out);
        assert_eq!(
            deletes(&out),
            vec![
                PoolName::System,
                PoolName::Airflow,
                PoolName::WorkerDefault,
                PoolName::Worker(1)
            ]
        );
    }

    #[test]
    fn buggy_agent_waits_for_its_full_resync_to_prune() {
        let cfg = AgentConfig::default();
        let (actual, _) = full_cluster();
        let mut a = test_agent(Guards::none(), SimTime::from_secs(3_600));
        let mut out = Vec::new();
        a.handle_answer(
            SimTime::from_secs(60),
            DesiredAnswer::NotFound,
            &actual,
            &cfg,
            &mut out,
        );
        assert!(deletes(&out).is_empty(), "no prune before the full resync");
        out.clear();
        a.handle_answer(
            SimTime::from_secs(3_601),
            DesiredAnswer::NotFound,
            &actual,
            &cfg,
            &mut out,
        );
        assert_eq!(deletes(&out).len(), 4);
    }

    #[test]
    fn fixed_agent_deletes_nothing_on_errors_then_backs_off_and_holds() {
        let cfg = AgentConfig::default();
        let (actual, ds) = full_cluster();
        let mut a = test_agent(Guards::all(), SimTime::ZERO);
        let mut out = Vec::new();
        a.handle_answer(
            SimTime::ZERO,
            DesiredAnswer::Ok(ds),
            &actual,
            &cfg,
            &mut out,
        );
        let errors = [
            DesiredAnswer::NotFound,
            DesiredAnswer::ServerError,
            DesiredAnswer::TooManyRequests { retry_after_s: 30 },
            DesiredAnswer::Timeout,
            DesiredAnswer::ConnectionError,
            DesiredAnswer::NotFound,
        ];
        let mut now = SimTime::from_secs(5 * 3_600);
        let mut last_gap = SimDuration::ZERO;
        for (k, e) in errors.iter().enumerate() {
            out.clear();
            a.handle_answer(now, *e, &actual, &cfg, &mut out);
            assert!(deletes(&out).is_empty(), "answer {e:?} must not delete");
            let next = out
                .iter()
                .find_map(|o| match o {
                    AgentOutput::SetTimer { at, .. } => Some(*at),
                    _ => None,
                })
                .expect("a retry timer");
            let gap = next - now;
            // Backoff grows (jitter is within [0.5, 1] of a doubling base).
            if k >= 2 {
                assert!(gap > last_gap.mul_f64(0.9), "gap {gap} after {last_gap}");
            }
            last_gap = gap;
            if k + 1 == cfg.hold_after_failures as usize {
                assert!(out.contains(&AgentOutput::EnteredHold));
            }
            now = next;
        }
        assert!(a.in_hold());
        out.clear();
        a.handle_answer(now, DesiredAnswer::Ok(ds), &actual, &cfg, &mut out);
        assert!(out.contains(&AgentOutput::LeftHold));
        assert!(!a.in_hold());
        // Its self-report: settled on the answer's generation again.
        let st = a.status();
        assert!(st.alive && !st.in_hold && st.last_poll_ok);
        assert_eq!(st.generation, ds.generation);
        out.clear();
        a.handle_answer(now, DesiredAnswer::ServerError, &actual, &cfg, &mut out);
        assert!(!a.status().last_poll_ok, "a failed poll is reported");
    }

    /// What one answer of `ds` at `at` makes agent `a` do.
    fn answer(
        a: &mut Agent,
        at_s: u64,
        ds: DesiredState,
        actual: &[PoolState; POOLS],
    ) -> Vec<AgentOutput> {
        let mut out = Vec::new();
        a.handle_answer(
            SimTime::from_secs(at_s),
            DesiredAnswer::Ok(ds),
            actual,
            &AgentConfig::default(),
            &mut out,
        );
        out
    }

    #[test]
    fn the_shipped_hotfix_refuses_an_older_generation() {
        // No scenario serves the hotfix agent a stale answer: this is the
        // one check that the shipped hotfix carries G3.
        let (actual, ds) = full_cluster();
        let mut a = test_agent(Guards::hotfix(), SimTime::ZERO);
        answer(&mut a, 0, ds, &actual);
        let stale = DesiredState {
            generation: 3,
            ..ds
        };
        answer(&mut a, 60, stale, &actual);
        assert_eq!(a.generation(), 5);
    }

    #[test]
    fn g1_refuses_an_empty_answer_unless_it_is_explicit() {
        // The all-guards agent's G2 blocks the same deletes, so only an
        // agent with G1 and without G2 (the hotfix) shows G1's clause.
        let (actual, _) = full_cluster();
        let empty = DesiredState {
            generation: 6,
            ..DesiredState::default()
        };
        let mut a = test_agent(Guards::hotfix(), SimTime::ZERO);
        let out = answer(&mut a, 0, empty, &actual);
        assert!(deletes(&out).is_empty(), "{out:?}");
        assert!(out.contains(&AgentOutput::Blocked {
            pool: PoolName::Worker(1),
            guard: Guard::G1
        }));
        // An explicit empty is authority: the hotfix (no G2, G4, G8)
        // prunes at once.
        let explicit = DesiredState {
            empty_explicit: true,
            ..empty
        };
        let mut a = test_agent(Guards::hotfix(), SimTime::ZERO);
        let out = answer(&mut a, 0, explicit, &actual);
        assert_eq!(deletes(&out).len(), 4, "{out:?}");
    }

    /// Whether `out` scales worker-1 down (G8's first step of a removal).
    fn scales_down(out: &[AgentOutput]) -> bool {
        out.contains(&AgentOutput::ScaleToZero {
            pool: PoolName::Worker(1),
        })
    }

    #[test]
    fn g4_confirms_at_exactly_its_count_and_window() {
        // Every scenario and chaos seed passes with either of G4's two
        // comparisons off by one (the catalogue's confirmation kind of
        // bug), so the boundaries are checked here:
        // 3 sightings (`confirm_observations`) spanning 300 s
        // (`confirm_window_s`), the last at a full resync.
        let (actual, ds) = worker_1_tombstoned();
        let run = |times: &[u64], full_at: u64| {
            let mut a = test_agent(Guards::all(), SimTime::from_secs(full_at));
            let mut last = Vec::new();
            for &t in times {
                last = answer(&mut a, t, ds, &actual);
            }
            last
        };
        // Exactly 3 sightings, exactly 300 s apart: confirmed.
        assert!(scales_down(&run(&[0, 150, 300], 300)));
        // 3 sightings within 200 s: not yet.
        let out = run(&[0, 100, 200], 200);
        assert!(
            !scales_down(&out)
                && out.contains(&AgentOutput::Blocked {
                    pool: PoolName::Worker(1),
                    guard: Guard::G4
                })
        );
        // 2 sightings over 600 s: not yet.
        assert!(!scales_down(&run(&[0, 600], 600)));
    }

    #[test]
    fn g4_starts_over_when_an_answer_wants_the_pool_again() {
        // Worker-1 is tombstoned at 0 s, wanted again at 100 s (the
        // customer withdrew the removal), tombstoned again at 500 s; the
        // full resync at 600 s has seen only 100 s of the second removal.
        let (actual, gone) = worker_1_tombstoned();
        let (_, mut back) = full_cluster();
        back.generation = 7;
        let gone_again = DesiredState {
            generation: 8,
            ..gone
        };
        let run = |cfg: &AgentConfig| {
            let mut a = test_agent(Guards::all(), SimTime::from_secs(600));
            let mut last = Vec::new();
            for (t, ds) in [
                (0, gone),
                (100, back),
                (500, gone_again),
                (550, gone_again),
                (600, gone_again),
            ] {
                last.clear();
                a.handle_answer(
                    SimTime::from_secs(t),
                    DesiredAnswer::Ok(ds),
                    &actual,
                    cfg,
                    &mut last,
                );
            }
            last
        };
        let out = run(&AgentConfig::default());
        assert!(!scales_down(&out), "{out:?}");
        assert!(out.contains(&AgentOutput::Blocked {
            pool: PoolName::Worker(1),
            guard: Guard::G4
        }));
        // The seeded bug: the first removal's sightings still count.
        let bug = AgentConfig {
            seeded_bug: Some(SeededBug::ConfirmationNeverResets),
            ..AgentConfig::default()
        };
        assert!(scales_down(&run(&bug)));
    }

    #[test]
    fn stale_answers_are_failures_the_backoff_grows_on() {
        // Generation 5 applied, then three answers of generation 4 (a
        // lagging replica): G3 refuses each, and the third retry waits
        // at least half of 10 s · 2², not the base again.
        let (actual, ds) = full_cluster();
        let stale = DesiredState {
            generation: 4,
            ..ds
        };
        let retry_after_third = |cfg: &AgentConfig| {
            let mut a = test_agent(Guards::all(), SimTime::from_secs(3_600));
            let mut out = Vec::new();
            a.handle_answer(SimTime::ZERO, DesiredAnswer::Ok(ds), &actual, cfg, &mut out);
            for t in [100, 200, 300] {
                out.clear();
                a.handle_answer(
                    SimTime::from_secs(t),
                    DesiredAnswer::Ok(stale),
                    &actual,
                    cfg,
                    &mut out,
                );
            }
            let Some(AgentOutput::SetTimer { at, .. }) = out.last() else {
                panic!("no retry: {out:?}");
            };
            at.saturating_since(SimTime::from_secs(300)).as_secs_f64()
        };
        let wait_s = retry_after_third(&AgentConfig::default());
        assert!((20.0..40.0).contains(&wait_s), "{wait_s}");
        let bug = AgentConfig {
            seeded_bug: Some(SeededBug::BackoffResetByStaleAnswer),
            ..AgentConfig::default()
        };
        let wait_s = retry_after_third(&bug);
        assert!((5.0..10.0).contains(&wait_s), "{wait_s}");
    }

    #[test]
    fn guard_counts_list_the_guards_that_blocked_something_g1_first() {
        // The reports' blocked-by-guard table is built from this list;
        // only a whole-report test would otherwise notice it empty.
        let mut c = GuardCounts::default();
        c.add(Guard::G5);
        c.add(Guard::G2);
        c.add(Guard::G2);
        assert_eq!(
            c.nonzero().collect::<Vec<_>>(),
            [(Guard::G2, 2), (Guard::G5, 1)]
        );
        assert_eq!(c[Guard::G2], 2);
    }

    #[test]
    fn g5_allows_two_deletes_per_cluster_and_hour() {
        // No scenario removes three pools of one cluster within an hour:
        // this is the one check that recent deletes count.
        let (actual, mut ds) = full_cluster();
        for p in [
            PoolName::Airflow,
            PoolName::WorkerDefault,
            PoolName::Worker(1),
        ] {
            ds.pools.remove(p);
            ds.tombstones.insert(p);
        }
        let guards = Guards {
            g4_confirmation: false,
            g8_soft_delete: false,
            ..Guards::all()
        };
        let mut a = test_agent(guards, SimTime::ZERO);
        let out = answer(&mut a, 0, ds, &actual);
        assert_eq!(deletes(&out).len(), 2, "{out:?}");
        assert!(out.iter().any(|o| matches!(
            o,
            AgentOutput::Blocked {
                guard: Guard::G5,
                ..
            }
        )));
        // An hour later the two deletes are out of the window (`<` made
        // `<=` survived too): the third pool goes at the next full resync,
        // exactly one hour on.
        let mut gone = actual;
        for p in deletes(&out) {
            gone[p.index()] = PoolState::Absent;
        }
        let hour = SimTime::from_secs(3_600);
        let mut later = test_agent(guards, hour);
        later.recent_deletes = a.recent_deletes;
        let out = answer(&mut later, 3_600, ds, &gone);
        assert_eq!(deletes(&out).len(), 1, "{out:?}");
    }

    #[test]
    fn a_pool_already_at_zero_nodes_is_not_scaled_down_again() {
        // Scaling a pool already at zero would be a needless mutating call
        // under the account's shared rate limit, which no scenario counts.
        let (mut actual, ds) = worker_1_tombstoned();
        actual[PoolName::Worker(1).index()] = PoolState::Present { nodes: 0 };
        let mut a = test_agent(Guards::all(), SimTime::from_secs(300));
        let mut out = Vec::new();
        for t in [0, 150, 300] {
            out = answer(&mut a, t, ds, &actual);
        }
        assert!(!scales_down(&out), "{out:?}");
        assert!(!out.iter().any(|o| matches!(o, AgentOutput::Blocked { .. })));
    }

    #[test]
    fn g4_waits_for_confirmation_before_a_tombstoned_pool_goes() {
        // No fault makes a delete intent flap, so nothing but this checks
        // that one sighting is not enough.
        let (actual, ds) = worker_1_tombstoned();
        let mut a = test_agent(Guards::all(), SimTime::ZERO);
        let out = answer(&mut a, 0, ds, &actual);
        assert!(out.contains(&AgentOutput::Blocked {
            pool: PoolName::Worker(1),
            guard: Guard::G4
        }));
        assert!(!out
            .iter()
            .any(|o| matches!(o, AgentOutput::ScaleToZero { .. })));
    }

    #[test]
    fn generation_going_backwards_is_ignored() {
        let cfg = AgentConfig::default();
        let (actual, ds) = full_cluster();
        let mut a = test_agent(Guards::all(), SimTime::ZERO);
        let mut out = Vec::new();
        a.handle_answer(
            SimTime::ZERO,
            DesiredAnswer::Ok(ds),
            &actual,
            &cfg,
            &mut out,
        );
        assert_eq!(a.generation(), 5);
        // An older generation that drops worker-1 with a tombstone.
        let mut stale = ds;
        stale.generation = 3;
        stale.pools.remove(PoolName::Worker(1));
        stale.tombstones.insert(PoolName::Worker(1));
        out.clear();
        a.handle_answer(
            SimTime::from_secs(5 * 3_600),
            DesiredAnswer::Ok(stale),
            &actual,
            &cfg,
            &mut out,
        );
        assert_eq!(a.generation(), 5);
        assert!(deletes(&out).is_empty());
        // Exactly the step the stale answer implies is blocked: not the
        // pools it still wants, nor any absent one (a mutation-run
        // survivor, issue 29).
        let blocked: Vec<&AgentOutput> = out
            .iter()
            .filter(|o| matches!(o, AgentOutput::Blocked { .. }))
            .collect();
        assert_eq!(
            blocked,
            [&AgentOutput::Blocked {
                pool: PoolName::Worker(1),
                guard: Guard::G3
            }]
        );
    }

    #[test]
    fn tombstoned_pool_is_soft_deleted_then_collected() {
        let cfg = AgentConfig::default();
        let (actual, ds) = worker_1_tombstoned();
        let mut a = test_agent(Guards::all(), SimTime::from_secs(3_600));
        let mut out = Vec::new();
        // Observations every minute; the full resync at 1 h decides.
        for m in 0..61 {
            out.clear();
            a.handle_answer(
                SimTime::from_secs(60 * m),
                DesiredAnswer::Ok(ds),
                &actual,
                &cfg,
                &mut out,
            );
        }
        assert!(out.contains(&AgentOutput::ScaleToZero {
            pool: PoolName::Worker(1)
        }));
        assert!(deletes(&out).is_empty());
        // 24 h later (next full resync after the grace period): deleted.
        let mut actual0 = actual;
        actual0[PoolName::Worker(1).index()] = PoolState::Present { nodes: 0 };
        let mut deleted = Vec::new();
        for h in 2..=30 {
            out.clear();
            a.handle_answer(
                SimTime::from_secs(3_600 * h),
                DesiredAnswer::Ok(ds),
                &actual0,
                &cfg,
                &mut out,
            );
            deleted.extend(deletes(&out).into_iter().map(|p| (h, p)));
        }
        assert_eq!(deleted, vec![(25, PoolName::Worker(1))]);
    }

    #[test]
    fn a_refused_scale_to_zero_is_asked_again_at_the_next_full_resync() {
        let cfg = AgentConfig::default();
        let (actual, ds) = worker_1_tombstoned();
        let mut a = test_agent(Guards::all(), SimTime::from_secs(3_600));
        let mut out = Vec::new();
        let scale = AgentOutput::ScaleToZero {
            pool: PoolName::Worker(1),
        };
        let mut asked_at = Vec::new();
        // The cloud never scales it (every call refused): the pool keeps
        // its nodes, and each full resync (every 4 h) asks again instead of
        // waiting out the 24 h grace period on a running pool.
        for m in 0..(9 * 60) {
            out.clear();
            a.handle_answer(
                SimTime::from_secs(60 * m),
                DesiredAnswer::Ok(ds),
                &actual,
                &cfg,
                &mut out,
            );
            if out.contains(&scale) {
                asked_at.push(m / 60);
            }
            assert!(deletes(&out).is_empty(), "no delete of a running pool");
        }
        assert_eq!(asked_at, vec![1, 5]);
    }

    #[test]
    fn a_leaking_release_exits_at_its_first_wake_after_the_leak_and_restarts_leaking() {
        let cfg = AgentConfig::default();
        let (actual, ds) = full_cluster();
        let mut a = test_agent(Guards::all(), SimTime::ZERO);
        a.upgrade(
            SimTime::from_secs(100),
            Guards::all(),
            ReleaseDefect::SlowLeak,
            &cfg,
        );
        answer(&mut a, 200, ds, &actual);
        // Quiet, but no poll is skipped past its death (6 h after the install).
        let oom = SimTime::from_secs(100 + 6 * 3_600);
        assert_eq!(a.quiet_until(&ds, &actual), Some(oom));
        let mut out = Vec::new();
        a.handle_timer(
            SimTime::from_secs(100 + 6 * 3_600 - 1),
            AgentTimer::Poll,
            &cfg,
            &mut out,
        );
        assert_eq!(
            out,
            vec![AgentOutput::FetchDesired],
            "still alive a second before"
        );
        a.handle_answer(oom, DesiredAnswer::Ok(ds), &actual, &cfg, &mut Vec::new());
        let mut out = Vec::new();
        a.handle_timer(
            oom + SimDuration::from_secs(5),
            AgentTimer::Poll,
            &cfg,
            &mut out,
        );
        assert_eq!(
            out,
            vec![AgentOutput::Exited {
                ran_for: SimDuration::from_secs(6 * 3_600 + 5)
            }]
        );
        assert!(!a.is_alive() && !a.status().alive);
        // The restarted process leaks again, from its own start.
        let restart = oom + SimDuration::from_secs(15);
        let mut out = Vec::new();
        a.handle_restart(restart, Guards::all(), a.generation(), &cfg, &mut out);
        assert_eq!(a.defect(), ReleaseDefect::SlowLeak);
        assert_eq!(a.oom_at.get(), Some(restart + SimDuration::from_hours(6)));
        // Rolled back: the old version does not leak.
        assert!(
            !a.roll_back(Guards::all()),
            "a running process keeps running"
        );
        assert_eq!((a.defect(), a.oom_at.get()), (ReleaseDefect::None, None));
    }

    #[test]
    fn a_release_that_breaks_behind_a_misroute_exits_on_a_404_only() {
        let cfg = AgentConfig::default();
        let (actual, ds) = full_cluster();
        let mut a = test_agent(Guards::all(), SimTime::ZERO);
        a.upgrade(
            SimTime::ZERO,
            Guards::all(),
            ReleaseDefect::BreaksBehindMisroute,
            &cfg,
        );
        // Harmless on 200s and errors: it reconciles and backs off as before.
        assert!(answer(&mut a, 10, ds, &actual)
            .iter()
            .any(|o| matches!(o, AgentOutput::SetTimer { .. })));
        let mut out = Vec::new();
        a.handle_answer(
            SimTime::from_secs(70),
            DesiredAnswer::ServerError,
            &actual,
            &cfg,
            &mut out,
        );
        assert!(a.status().alive && !out.iter().any(|o| matches!(o, AgentOutput::Exited { .. })));
        // A 404: no delete, the process exits.
        let mut out = Vec::new();
        a.handle_answer(
            SimTime::from_secs(130),
            DesiredAnswer::NotFound,
            &actual,
            &cfg,
            &mut out,
        );
        assert_eq!(
            out,
            vec![AgentOutput::Exited {
                ran_for: SimDuration::from_secs(130)
            }]
        );
        assert!(!a.status().alive);
        // The sound version reads the same 404 as a failure and lives.
        let mut b = test_agent(Guards::all(), SimTime::ZERO);
        let mut out = Vec::new();
        b.handle_answer(
            SimTime::from_secs(130),
            DesiredAnswer::NotFound,
            &actual,
            &cfg,
            &mut out,
        );
        assert!(b.status().alive && !out.iter().any(|o| matches!(o, AgentOutput::Exited { .. })));
    }

    #[test]
    fn a_crash_looping_release_rolled_back_must_be_started_again() {
        let cfg = AgentConfig::default();
        let mut a = test_agent(Guards::all(), SimTime::ZERO);
        a.upgrade(SimTime::ZERO, Guards::all(), ReleaseDefect::CrashLoop, &cfg);
        assert!(a.is_alive() && !a.status().alive);
        assert!(a.roll_back(Guards::hotfix()));
        assert!(!a.is_alive(), "down until the driver restarts it");
        let mut out = Vec::new();
        a.handle_restart(SimTime::from_secs(120), Guards::hotfix(), 0, &cfg, &mut out);
        assert!(a.status().alive);
        assert_eq!(a.guards(), Guards::hotfix());
    }
}
