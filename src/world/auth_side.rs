//! The auth path on the event loop: an `AuthTick` event runs the auth
//! system's tick due then, and the ticks after it that would be the next
//! event anyway (handled in place, see [`AuthSide::on_auth_tick`]), or
//! with quiet spans on, a span of ticks ahead of the clock up to the next
//! event that touches the auth path (a timeline edge, the minute); ticks are
//! folded into minutes (the SLI that monitoring
//! reads for burn-rate alerts and auth incidents, customer surfaces) and
//! hours (the success ratio the reports show).
//!
//! Owns: [`AuthSide`] (the auth system, its stream, and [`AuthBook`]).
//! Touches: the shared books' coverage, findings (I16, the autoscaler's
//! syncs) and the trace; at each minute it
//! hands the SLI to the response part's monitoring and reads the fleet
//! part's tally of customers whose Airflow is down.

use super::books::Shared;
use super::fleet_side::Fleet;
use super::response::Response;
use super::{Ev, MINUTE};
use crate::config::ModelConfig;
use crate::coverage::Reached;
use crate::model::auth::{AuthSystem, AuthTick, BreakerState, HpaSync, QuietSpan};
use crate::model::monitoring::MonitoringOutput;
use crate::outcome::{AuthFailures, AuthOutcome, Day, SurfaceMinutes};
use crate::record::Record;
use cascade_sim::{Epoch, SimDuration, SimTime, Stream};
use std::collections::BTreeMap;

/// Auth figures of one minute.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AuthMinute {
    pub legit_ok: u32,
    pub legit_decided: u32,
    pub legit_attempts: u32,
    pub bot_attempts: u32,
    pub vendor_429: u32,
    pub shed: u32,
    pub timeouts: u32,
    /// Mean offered load and capacity over the minute, requests per second.
    pub demand_rps: f32,
    pub capacity_rps: f32,
    pub replicas_ready_max: u32,
    pub latency_p99_ms_max: f32,
}

impl AuthMinute {
    pub fn success_ratio(&self) -> f64 {
        if self.legit_decided == 0 {
            1.0
        } else {
            self.legit_ok as f64 / self.legit_decided as f64
        }
    }
}

/// The auth side's running state inside the world.
#[derive(Clone, Debug, Default)]
pub struct AuthBook {
    pub current: AuthMinute,
    ticks_in_minute: u32,
    pub minutes: Vec<AuthMinute>,
    /// Hour index -> (ok, decided).
    pub hours: BTreeMap<u64, (u64, u64)>,
    /// Burn-rate alerts fired: (time, which).
    pub alerts: Vec<(SimTime, String)>,
    pub latency_p99_ms_max: f64,
    pub replicas_max: u32,
    pub shed: u64,
    pub timeouts: u64,
    pub flaps_per_hour_max: u32,
    pub replicas_pending_max: u32,
    pub nodes_max: u32,
    pub bot_client_limited: u64,
    /// Day index -> failed legitimate attempts by cause.
    pub failures_by_day: BTreeMap<u64, AuthFailures>,
    /// Longest auth queue seen in the current minute (I9).
    pub queue_len_max_minute: u32,
    /// Per minute: share of customers with the Astro surfaces and with the
    /// Airflow surfaces available.
    pub surface_available: Vec<[f32; 2]>,
    /// Surface minutes: day -> [surface][cloud index 0..3, 3 = all] customer-minutes.
    pub surface_minutes: BTreeMap<u64, [[f64; 4]; 4]>,
}

/// The auth part of the world.
pub(super) struct AuthSide {
    pub system: AuthSystem,
    pub book: AuthBook,
    stream: Stream,
    /// Customers per cloud (AWS, GCP, Azure), for per-customer means.
    pub customers_per_cloud: [u32; 3],
    /// I16: the autoscaler's syncs against its own stabilisation.
    watch: crate::checks::AutoscalerWatch,
    /// The timeline's edges, in time order: the only events that change
    /// the auth path's inputs, so no quiet span runs ahead past one.
    edge_times: Vec<SimTime>,
    /// The first of `edge_times` after the last tick handled.
    edge_next: usize,
    /// The run's last instant (`World::set_run_end`): no span runs past
    /// it. Not the kernel's end time, which a stepping driver moves.
    run_end: SimTime,
}

impl AuthSide {
    pub fn new(
        cfg: &ModelConfig,
        stream: Stream,
        customers_per_cloud: [u32; 3],
        edge_times: Vec<SimTime>,
    ) -> AuthSide {
        AuthSide {
            system: AuthSystem::new(&cfg.auth),
            book: AuthBook::default(),
            stream,
            customers_per_cloud,
            watch: crate::checks::AutoscalerWatch::new(&cfg.auth.autoscaler),
            edge_times,
            edge_next: 0,
            run_end: SimTime::MAX,
        }
    }

    fn auth_tick_period(cfg: &ModelConfig) -> SimDuration {
        SimDuration::from_millis(cfg.auth.tick_ms)
    }

    /// Handles the auth tick due now, and the ticks after it for as long as
    /// each would be the next event anyway (`Sim::handle_next_in_place`):
    /// the same ticks at the same instants in the same order as one queued
    /// event per tick, without the queue's round trip.
    /// With `auth.quiet_span_ticks_max` set, a run of quiet ticks runs as
    /// one span ([`AuthSystem::handle_quiet_span`]), counted as that many
    /// events. A span runs ahead of the clock, past the fleet's and the
    /// response's events, which neither read nor write the auth path: it
    /// stops before the next timeline edge (the only events that change
    /// the auth path's inputs) and the next minute (which reads its
    /// figures), so every event that touches the auth path sees it as the
    /// ticks would have left it.
    pub(super) fn on_auth_tick(&mut self, sh: &mut Shared) {
        let period = Self::auth_tick_period(sh.cfg);
        // The last tick handled: the clock's, or past it after a span
        // ahead of the clock.
        let mut tick = sh.now();
        loop {
            let span = self.quiet_span_here(sh, tick, period);
            if span >= 2 {
                let s = self.system.handle_quiet_span(tick, span, &mut self.stream);
                sh.sim.count_handled_ahead(span - 1);
                tick += period * u64::from(span - 1);
                self.fold_span(sh, &s);
            } else {
                debug_assert_eq!(tick, sh.now(), "a stepped tick is the clock's event");
                self.auth_tick(sh);
            }
            let next = tick + period;
            if !sh.sim.handle_next_in_place(next) {
                sh.sim.schedule_at(next, Ev::AuthTick);
                return;
            }
            tick = next;
        }
    }

    /// How many ticks from `first` run as one quiet span (0: step the
    /// tick on its own): as many as the auth path allows and the run has
    /// before its end, its event limit and the next barrier. Off
    /// (`quiet_span_ticks_max` below 2), it asks nothing. The auth path is asked first, since it
    /// refuses most ticks that cannot be spanned (mitigations on,
    /// incidents) at once; a span cut short is asked again, for the room
    /// of the shorter span.
    fn quiet_span_here(&mut self, sh: &mut Shared, first: SimTime, period: SimDuration) -> u32 {
        let cfg_max = sh.cfg.auth.quiet_span_ticks_max;
        if cfg_max < 2 {
            return 0;
        }
        let k = self.system.quiet_span_ticks(first, cfg_max);
        if k < 2 {
            return 0;
        }
        let barrier = self.next_barrier(first);
        match sh.sim.ahead_run_len(first, period, k - 1, barrier) {
            0 => 0,
            more if more + 1 == k => k,
            more => self.system.quiet_span_ticks(first, more + 1),
        }
    }

    /// Panics unless the auth path has handled exactly its ticks before
    /// `now` (`exact`: a minute, which reads them all) or at most those
    /// (a timeline edge, which changes the path's inputs): no quiet span
    /// ran ahead past an event that touches the auth path. One division
    /// an event, so it holds in every build.
    pub(super) fn assert_not_ahead(&self, now: SimTime, cfg: &ModelConfig, exact: bool) {
        let before = now
            .as_micros()
            .div_ceil(Self::auth_tick_period(cfg).as_micros());
        let handled = self.system.ticks_handled();
        assert!(
            handled <= before && (handled == before || !exact),
            "the auth path handled {handled} ticks before an event at {now:?} that touches it, \
             which comes after {before} ticks"
        );
    }

    /// The run ends at `end` (its last tick is at or before it).
    pub(super) fn set_run_end(&mut self, end: SimTime) {
        self.run_end = end;
    }

    /// The first instant after `tick` with an event that touches the auth
    /// path: a timeline edge, or the minute. Either pops before a tick at
    /// its instant (both were scheduled earlier: the edges at the start,
    /// each minute at the one before), so a span's ticks stay before it.
    /// Or just past the run's end, so that no tick passes it.
    fn next_barrier(&mut self, tick: SimTime) -> SimTime {
        while self
            .edge_times
            .get(self.edge_next)
            .is_some_and(|&t| t <= tick)
        {
            self.edge_next += 1;
        }
        let edge = self
            .edge_times
            .get(self.edge_next)
            .copied()
            .unwrap_or(SimTime::MAX);
        let minute_us = MINUTE.as_micros();
        let minute = SimTime::from_micros((tick.as_micros() / minute_us + 1) * minute_us);
        let past_end = SimTime::from_micros(self.run_end.as_micros().saturating_add(1));
        edge.min(minute).min(past_end)
    }

    /// The autoscaler's sync: I16's watch and coverage. A span's sync is
    /// judged ahead of the clock, at its own instant.
    fn observe_sync(&mut self, sh: &mut Shared, sync: &HpaSync) {
        if let Some(v) = self.watch.observe(sync) {
            sh.books.findings.add(v.at(sync.at, None));
        }
        if sync.desired < sync.current && self.system.bot_wave_active() {
            sh.books
                .coverage
                .hit(Reached::AutoscalerScaledDownUnderOscillation);
        }
    }

    /// A quiet span's ticks folded into the minute's figures (nothing in
    /// a span fails, queues or trips).
    fn fold_span(&mut self, sh: &mut Shared, span: &QuietSpan) {
        if let Some(sync) = &span.hpa_sync {
            self.observe_sync(sh, sync);
        }
        let b = &mut self.book;
        let m = &mut b.current;
        let ok = span.legit_ok as u32;
        m.legit_ok += ok;
        m.legit_decided += ok;
        m.legit_attempts += span.legit_attempts as u32;
        m.demand_rps += span.demand_rps_sum as f32;
        m.capacity_rps += (span.capacity_rps * f64::from(span.ticks)) as f32;
        m.replicas_ready_max = m.replicas_ready_max.max(span.replicas_ready);
        m.latency_p99_ms_max = m.latency_p99_ms_max.max(span.latency_p99_ms_max as f32);
        b.ticks_in_minute += span.ticks;
        b.latency_p99_ms_max = b.latency_p99_ms_max.max(span.latency_p99_ms_max);
        b.replicas_max = b.replicas_max.max(span.replicas_total);
        b.replicas_pending_max = b.replicas_pending_max.max(span.replicas_pending);
        b.nodes_max = b.nodes_max.max(span.nodes);
    }

    /// One auth tick at `sh.now()`, folded into the minute's figures.
    fn auth_tick(&mut self, sh: &mut Shared) {
        let now = sh.now();
        let t: AuthTick = self.system.handle_tick(now, &mut self.stream);
        if t.breaker == BreakerState::Open {
            sh.books.coverage.hit(Reached::AuthBreakerOpen);
        }
        if let Some(sync) = &t.hpa_sync {
            self.observe_sync(sh, sync);
        }
        let b = &mut self.book;
        let m = &mut b.current;
        m.legit_ok += t.legit_ok;
        m.legit_decided += t.legit_ok + t.legit_failed;
        m.legit_attempts += t.legit_attempts;
        m.bot_attempts += t.bot_attempts;
        m.vendor_429 += t.vendor_429;
        let shed = t.legit_shed_rate_limit + t.legit_client_limited + t.legit_shed_queue_full;
        let timeouts = t.legit_vendor_timeout + t.legit_vendor_unreachable + t.legit_client_timeout;
        m.shed += shed;
        m.timeouts += timeouts;
        m.demand_rps += t.demand_rps as f32;
        m.capacity_rps += t.capacity_rps as f32;
        m.replicas_ready_max = m.replicas_ready_max.max(t.replicas_ready);
        m.latency_p99_ms_max = m.latency_p99_ms_max.max(t.latency_p99_ms as f32);
        b.ticks_in_minute += 1;
        b.shed += shed as u64;
        b.timeouts += timeouts as u64;
        b.latency_p99_ms_max = b.latency_p99_ms_max.max(t.latency_p99_ms);
        b.replicas_max = b.replicas_max.max(t.replicas_total);
        b.queue_len_max_minute = b.queue_len_max_minute.max(t.queue_len);
        b.replicas_pending_max = b.replicas_pending_max.max(t.replicas_pending);
        b.nodes_max = b.nodes_max.max(t.nodes);
        b.bot_client_limited += u64::from(t.bot_client_limited);
        if t.legit_failed > 0 {
            let f = b
                .failures_by_day
                .entry(now.as_micros().saturating_sub(1) / 86_400_000_000)
                .or_default();
            let n = u64::from;
            let saturated = n(t.legit_shed_queue_full) + n(t.legit_client_timeout);
            if t.served_bound_by_slots {
                f.workers_blocked += saturated;
            } else {
                f.saturation += saturated;
            }
            f.vendor_429 += n(t.legit_vendor_429);
            f.vendor_unreachable += n(t.legit_vendor_unreachable);
            f.vendor_timeout += n(t.legit_vendor_timeout);
            f.rate_limited += n(t.legit_shed_rate_limit) + n(t.legit_client_limited);
            f.circuit_open += n(t.legit_circuit_open);
            f.client_throttled += n(t.legit_client_throttled);
        }
    }

    /// Closes the auth minute ending at `now`: SLIs, surfaces, alerts, incidents.
    pub(super) fn auth_minute(
        &mut self,
        sh: &mut Shared,
        response: &mut Response,
        fleet: &mut Fleet,
    ) {
        let now = sh.now();
        self.assert_not_ahead(now, sh.cfg, true);
        let b = &mut self.book;
        let mut m = std::mem::take(&mut b.current);
        if b.ticks_in_minute > 0 {
            m.demand_rps /= b.ticks_in_minute as f32;
            m.capacity_rps /= b.ticks_in_minute as f32;
        }
        b.ticks_in_minute = 0;
        b.queue_len_max_minute = 0;
        let minute_start = SimTime::from_micros(now.as_micros().saturating_sub(60_000_000));
        let hour = minute_start.as_secs() / 3_600;
        let e = b.hours.entry(hour).or_insert((0, 0));
        e.0 += m.legit_ok as u64;
        e.1 += m.legit_decided as u64;
        let ratio = m.success_ratio();
        b.minutes.push(m);
        sh.sim.trace.record(
            now,
            &Record::AuthMinute {
                legit_ok: m.legit_ok,
                legit_decided: m.legit_decided,
                vendor_429: m.vendor_429,
                replicas: m.replicas_ready_max,
            },
        );

        // Burn-rate alerts and auth incidents are monitoring's.
        let mut out = Vec::new();
        response.monitoring.handle_auth_minute(
            now,
            minute_start,
            m.legit_ok,
            m.legit_decided,
            &mut out,
        );
        out.retain(|o| match o {
            MonitoringOutput::BurnRateAlert { name, .. } => {
                self.book.alerts.push((now, name.clone()));
                false
            }
            _ => true,
        });
        response.apply_monitoring(sh, fleet, out);
        if now.as_secs().is_multiple_of(3_600) {
            let flaps = self
                .system
                .direction_changes_within(SimDuration::from_hours(1), now);
            self.book.flaps_per_hour_max = self.book.flaps_per_hour_max.max(flaps);
        }

        // Customer surfaces: Astro UI/API need auth; Airflow UI/API need auth
        // and a working cluster (system and airflow pools present).
        let auth_up = ratio >= sh.cfg.monitoring.surface_available_success_min;
        let day = minute_start.as_secs() / 86_400;
        let down_customers = if auth_up && sh.books.metrics.lost_now > 0 {
            fleet.tallies.customers_down
        } else {
            [0; 3]
        };
        let per_cloud = self.customers_per_cloud;
        let customers = per_cloud.iter().sum::<u32>().max(1) as f32;
        let down_all = down_customers.iter().sum::<u32>() as f32;
        self.book.surface_available.push(if auth_up {
            [1.0, 1.0 - down_all / customers]
        } else {
            [0.0, 0.0]
        });
        let row = self
            .book
            .surface_minutes
            .entry(day)
            .or_insert([[0.0; 4]; 4]);
        for (s, surface) in row.iter_mut().enumerate() {
            for k in 0..3 {
                let n = if !auth_up {
                    per_cloud[k] as f64
                } else if s >= 2 {
                    down_customers[k] as f64
                } else {
                    0.0
                };
                surface[k] += n;
                surface[3] += n;
            }
        }
    }

    /// The auth figures of the run.
    pub(super) fn auth_outcome(&self, e: Epoch, cfg: &ModelConfig) -> AuthOutcome {
        let b = &self.book;
        let t = self.system.totals();
        let decided: u64 = b.minutes.iter().map(|x| x.legit_decided as u64).sum();
        let ok: u64 = b.minutes.iter().map(|x| x.legit_ok as u64).sum();
        let run_days = (b.minutes.len() as f64 / 1_440.0).max(1e-9);
        // Budget of a 30-day window, scaled from this run's request volume.
        let budget_30d = (1.0 - cfg.monitoring.slo_target) * decided as f64 * 30.0 / run_days;
        AuthOutcome {
            legit_attempts: t.legit_attempts,
            legit_ok: t.legit_ok,
            legit_success_ratio: if decided == 0 {
                1.0
            } else {
                ok as f64 / decided as f64
            },
            vendor_429: t.vendor_429,
            shed: b.shed,
            timeouts: b.timeouts,
            latency_p99_ms_max: b.latency_p99_ms_max,
            replicas_max: b.replicas_max,
            retry_amplification: self.system.retry_amplification(),
            autoscaler_flaps_per_hour_max: b.flaps_per_hour_max,
            slo_budget_spent_ratio: if budget_30d > 0.0 {
                (decided - ok) as f64 / budget_30d
            } else {
                0.0
            },
            burn_rate_alerts: b.alerts.clone(),
            replicas_pending_max: b.replicas_pending_max,
            nodes_max: b.nodes_max,
            failures: b
                .failures_by_day
                .values()
                .fold(AuthFailures::default(), |mut a, f| {
                    a.add(f);
                    a
                }),
            failures_by_day: b
                .failures_by_day
                .iter()
                .map(|(d, f)| (Day::of(e, SimTime::from_secs(d * 86_400)), *f))
                .collect(),
            bot_client_limited: b.bot_client_limited,
            success_by_hour: b
                .hours
                .iter()
                .map(|(h, (ok, d))| {
                    let ratio = if *d == 0 { 1.0 } else { *ok as f64 / *d as f64 };
                    (SimTime::from_secs(h * 3_600), ratio)
                })
                .collect(),
            bad_minutes: b
                .minutes
                .iter()
                .enumerate()
                .filter(|(_, x)| x.success_ratio() < 0.99)
                .take(2_000)
                .map(|(i, _)| SimTime::from_secs(i as u64 * 60))
                .collect(),
        }
    }

    /// Mean unavailable minutes per customer, per day, surface and cloud.
    pub(super) fn surface_unavailable_minutes(
        &self,
        epoch: Epoch,
    ) -> BTreeMap<Day, SurfaceMinutes> {
        let per_cloud = self.customers_per_cloud;
        let total_customers: u32 = per_cloud.iter().sum();
        let mut out = BTreeMap::new();
        for (day, rows) in &self.book.surface_minutes {
            let mut means = [[0.0; 4]; 4];
            for (s, row) in rows.iter().enumerate() {
                for (k, v) in row.iter().enumerate() {
                    let n = if k == 3 {
                        total_customers
                    } else {
                        per_cloud[k]
                    };
                    means[s][k] = if n == 0 { 0.0 } else { v / n as f64 };
                }
            }
            out.insert(Day::of(epoch, SimTime::from_secs(day * 86_400)), means);
        }
        out
    }
}
