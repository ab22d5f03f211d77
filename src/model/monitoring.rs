//! Monitoring: what tells the responders that something is wrong.
//!
//! A sans-IO machine fed with what monitoring could observe: a cluster that
//! lost pools (customers notice it, and the pool-loss alert when it
//! exists), the number of agents reporting safe hold, and each minute's
//! legitimate auth requests (the SLI). Out come timers, customer reports,
//! alerts and auth incidents; the responder decides what to do with them.
//!
//! - Customer reports: a customer whose cluster lost pools reports it after
//!   a lognormal delay, slower at night ([`NightHours`]).
//! - The pool-loss alert \[fact: the "enhanced monitoring" added after D5]:
//!   fires for a cluster still missing pools `pool_loss_alert_for_min`
//!   after the loss began.
//! - The agent-hold alert \[A, not historical]: fixed agents hold safely on
//!   a broken route, so nothing is lost and nothing else would page.
//! - Burn-rate alerts (multiwindow, multi-burn-rate, as in the SRE
//!   workbook): fast when the error budget burns at `burn_fast_rate` over
//!   both `burn_fast_long_min` and `burn_fast_short_min`, slow likewise.
//! - Auth incidents: legitimate success below `auth_incident_success_min`
//!   in a minute opens one; `auth_recovered_min` good minutes end it; the
//!   first burn-rate alert while it is open detects it.

use crate::protocol::ClusterId;
use crate::sim::{Epoch, SimDuration, SimTime, Stream};
use crate::types::{
    check_at_least, check_below, check_positive, check_range, check_ratio, NightHours,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// What monitoring watches and how customers report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MonitoringConfig {
    /// A node-pool-loss alert exists. \[fact] historically absent until the
    /// "enhanced monitoring" after D5; a timeline action turns it on.
    pub pool_loss_alert: bool,
    /// The alert fires once a pool has been lost for this long. \[A]
    pub pool_loss_alert_for_min: f64,
    /// Median delay before a customer whose cluster lost pools reports it, by day. \[A]
    pub customer_report_day_median_min: f64,
    /// 99th percentile of that delay by day. \[A]
    pub customer_report_day_p99_min: f64,
    /// Median report delay at night (customers notice in the morning). \[A]
    pub customer_report_night_median_min: f64,
    /// 99th percentile of the night delay. \[A]
    pub customer_report_night_p99_min: f64,
    /// Customer reports support needs before it escalates to on-call. \[A]
    pub customer_reports_to_escalate: u32,
    /// A surface counts as available in a minute when legitimate auth success
    /// is at least this. \[A]
    pub surface_available_success_min: f64,
    /// Auth availability SLO over 30 days. [A: spec 99.9 %]
    pub slo_target: f64,
    /// Fast burn-rate alert: budget burn rate over both windows. [A: spec,
    /// the SRE workbook's 14.4x, 2 % of a 30-day budget in an hour]
    pub burn_fast_rate: f64,
    /// Fast alert's long window. [A: spec 1 h]
    pub burn_fast_long_min: u32,
    /// Fast alert's short window. [A: spec 5 min]
    pub burn_fast_short_min: u32,
    /// Slow burn-rate alert's rate. [A: spec 6x, 5 % of the budget in 6 h]
    pub burn_slow_rate: f64,
    /// Slow alert's long window. [A: spec 6 h]
    pub burn_slow_long_min: u32,
    /// Slow alert's short window. [A: spec 30 min]
    pub burn_slow_short_min: u32,
    /// A minute with legitimate auth success below this opens an auth
    /// incident. [A: the liveness rule's 99 %]
    pub auth_incident_success_min: f64,
    /// Minutes at or above it in a row that end the incident. [A: spec
    /// "back to 99 % within 10 minutes"]
    pub auth_recovered_min: u32,
    /// An alert on agents in safe hold exists. \[A] not historical: with fixed
    /// agents a misrouted route loses nothing, so only this alert sees it.
    pub agent_hold_alert: bool,
    /// Agents in hold that make the alert fire. \[A]
    pub agent_hold_alert_agents_min: u32,
    /// For this long. \[A]
    pub agent_hold_alert_for_min: f64,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        MonitoringConfig {
            pool_loss_alert: false,
            pool_loss_alert_for_min: 5.0,
            customer_report_day_median_min: 30.0,
            customer_report_day_p99_min: 180.0,
            customer_report_night_median_min: 300.0,
            customer_report_night_p99_min: 720.0,
            customer_reports_to_escalate: 5,
            surface_available_success_min: 0.5,
            slo_target: 0.999,
            burn_fast_rate: 14.4,
            burn_fast_long_min: 60,
            burn_fast_short_min: 5,
            burn_slow_rate: 6.0,
            burn_slow_long_min: 360,
            burn_slow_short_min: 30,
            auth_incident_success_min: 0.99,
            auth_recovered_min: 10,
            agent_hold_alert: false,
            agent_hold_alert_agents_min: 3,
            agent_hold_alert_for_min: 10.0,
        }
    }
}

/// Longest burn-rate window: a week of minutes.
const BURN_WINDOW_MIN_MAX: u32 = 7 * 24 * 60;

impl MonitoringConfig {
    pub fn validate(&self) -> Result<(), String> {
        check_positive("pool_loss_alert_for_min", self.pool_loss_alert_for_min)?;
        check_positive("agent_hold_alert_for_min", self.agent_hold_alert_for_min)?;
        check_at_least(
            "agent_hold_alert_agents_min",
            self.agent_hold_alert_agents_min,
            1,
        )?;
        for (m, p, name) in [
            (
                self.customer_report_day_median_min,
                self.customer_report_day_p99_min,
                "customer_report_day",
            ),
            (
                self.customer_report_night_median_min,
                self.customer_report_night_p99_min,
                "customer_report_night",
            ),
        ] {
            let median = format!("{name}_median_min");
            check_positive(&median, m)?;
            check_at_least(&format!("{name}_p99_min"), p, (median.as_str(), m))?;
        }
        check_at_least(
            "customer_reports_to_escalate",
            self.customer_reports_to_escalate,
            1,
        )?;
        check_ratio(
            "surface_available_success_min",
            self.surface_available_success_min,
        )?;
        check_at_least("slo_target", self.slo_target, 0.5)?;
        check_below("slo_target", self.slo_target, 1.0)?;
        check_positive("burn_fast_rate", self.burn_fast_rate)?;
        check_positive("burn_slow_rate", self.burn_slow_rate)?;
        for (field, v) in [
            ("burn_fast_long_min", self.burn_fast_long_min),
            ("burn_fast_short_min", self.burn_fast_short_min),
            ("burn_slow_long_min", self.burn_slow_long_min),
            ("burn_slow_short_min", self.burn_slow_short_min),
        ] {
            check_range(field, v, 1, ("7 days", BURN_WINDOW_MIN_MAX))?;
        }
        check_ratio("auth_incident_success_min", self.auth_incident_success_min)?;
        check_at_least("auth_recovered_min", self.auth_recovered_min, 1)
    }

    /// The minutes of SLI history the burn-rate alerts look back over.
    fn window_min_max(&self) -> usize {
        [
            self.burn_fast_long_min,
            self.burn_fast_short_min,
            self.burn_slow_long_min,
            self.burn_slow_short_min,
        ]
        .into_iter()
        .max()
        .unwrap_or(1) as usize
    }
}

/// Which burn-rate alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum BurnAlert {
    Fast,
    Slow,
}

/// Where a detection came from.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DetectionSource {
    /// Support escalated after enough customer reports.
    CustomerReports,
    PoolLossAlert,
    AgentHoldAlert,
    #[serde(rename = "burn_rate_alert_fast")]
    BurnRateFast,
    #[serde(rename = "burn_rate_alert_slow")]
    BurnRateSlow,
}

impl DetectionSource {
    /// Stable name in summaries (`pool_loss_alert`).
    pub fn name(self) -> &'static str {
        match self {
            DetectionSource::CustomerReports => "customer_reports",
            DetectionSource::PoolLossAlert => "pool_loss_alert",
            DetectionSource::AgentHoldAlert => "agent_hold_alert",
            DetectionSource::BurnRateFast => "burn_rate_alert_fast",
            DetectionSource::BurnRateSlow => "burn_rate_alert_slow",
        }
    }
}

/// Timers monitoring asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MonitoringTimer {
    /// The customer of `cluster` gets round to reporting its loss.
    CustomerReport(ClusterId),
    /// The pool-loss alert evaluates the loss of `cluster`.
    PoolLossAlertCheck(ClusterId),
}

/// An auth incident: legitimate success below the threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthIncident {
    pub started_at: SimTime,
    pub detected_at: Option<SimTime>,
    pub detected_by: Option<DetectionSource>,
    /// Success back at or above the threshold for `auth_recovered_min`.
    pub ended_at: Option<SimTime>,
}

/// What monitoring reports, for the driver to route.
#[derive(Clone, Debug, PartialEq)]
pub enum MonitoringOutput {
    SetTimer {
        at: SimTime,
        timer: MonitoringTimer,
    },
    /// A customer reports that `cluster` is broken.
    CustomerReport(ClusterId),
    /// The pool-loss alert fires for `cluster`.
    PoolLossAlert(ClusterId),
    /// The agent-hold alert fires: `held` agents in safe hold since `since`.
    AgentHoldAlert {
        held: u32,
        since: SimTime,
    },
    /// A burn-rate alert starts firing.
    BurnRateAlert {
        which: BurnAlert,
        name: String,
    },
    /// An auth incident opened at `started_at` (success ratio of its first minute).
    AuthIncidentOpened {
        started_at: SimTime,
        success_ratio: f64,
    },
    /// The open auth incident was detected by a burn-rate alert.
    AuthIncidentDetected {
        by: DetectionSource,
    },
    /// The open auth incident ended at `at`.
    AuthIncidentEnded {
        at: SimTime,
    },
}

/// The monitoring machine.
#[derive(Clone, Debug)]
pub struct Monitoring {
    cfg: MonitoringConfig,
    night: NightHours,
    epoch: Epoch,
    /// The pool-loss alert exists now (it can be switched on mid-run).
    pool_loss_alert: bool,
    /// Since when enough agents have been in safe hold.
    hold_since: Option<SimTime>,
    /// The legitimate (ok, decided) counts summed up to and including each
    /// of the last minutes, newest last, at most the longest burn-rate
    /// window of them: a window's sum is one subtraction, not a walk over
    /// up to six hours of minutes each minute.
    sli_cum: VecDeque<(u64, u64)>,
    /// The cumulative (ok, decided) before the oldest minute kept.
    sli_base: (u64, u64),
    fast_firing: bool,
    slow_firing: bool,
    auth_incidents: Vec<AuthIncident>,
    good_streak: u32,
}

impl Monitoring {
    pub fn new(cfg: MonitoringConfig, night: NightHours, epoch: Epoch) -> Self {
        Monitoring {
            pool_loss_alert: cfg.pool_loss_alert,
            hold_since: None,
            sli_cum: VecDeque::with_capacity(cfg.window_min_max()),
            sli_base: (0, 0),
            fast_firing: false,
            slow_firing: false,
            auth_incidents: Vec::new(),
            good_streak: 0,
            night,
            epoch,
            cfg,
        }
    }

    /// The pool-loss alert is switched on or off.
    pub fn set_pool_loss_alert(&mut self, enabled: bool) {
        self.pool_loss_alert = enabled;
    }

    pub fn auth_incidents(&self) -> &[AuthIncident] {
        &self.auth_incidents
    }

    /// `cluster` starts losing a desired pool: its customer will report it,
    /// and the pool-loss alert (if it exists) will look at it.
    pub fn handle_loss_started(
        &mut self,
        now: SimTime,
        cluster: ClusterId,
        rng: &mut Stream,
        out: &mut Vec<MonitoringOutput>,
    ) {
        let c = &self.cfg;
        let (median, p99) = if self.night.is_night(&self.epoch, now) {
            (
                c.customer_report_night_median_min,
                c.customer_report_night_p99_min,
            )
        } else {
            (
                c.customer_report_day_median_min,
                c.customer_report_day_p99_min,
            )
        };
        let delay_min = rng.lognormal(median, p99);
        out.push(MonitoringOutput::SetTimer {
            at: now + SimDuration::from_secs_f64(delay_min * 60.0),
            timer: MonitoringTimer::CustomerReport(cluster),
        });
        if self.pool_loss_alert {
            out.push(MonitoringOutput::SetTimer {
                at: now + SimDuration::from_secs_f64(c.pool_loss_alert_for_min * 60.0),
                timer: MonitoringTimer::PoolLossAlertCheck(cluster),
            });
        }
    }

    /// A timer is due; `still_lost` says whether the cluster it is about
    /// still misses pools (restored before the customer got round to it,
    /// or before the alert's window passed: nothing happens).
    pub fn handle_timer(
        &mut self,
        _now: SimTime,
        timer: MonitoringTimer,
        still_lost: bool,
        out: &mut Vec<MonitoringOutput>,
    ) {
        if !still_lost {
            return;
        }
        match timer {
            MonitoringTimer::CustomerReport(c) => out.push(MonitoringOutput::CustomerReport(c)),
            MonitoringTimer::PoolLossAlertCheck(c) => {
                if self.pool_loss_alert {
                    out.push(MonitoringOutput::PoolLossAlert(c));
                }
            }
        }
    }

    /// Once a minute: `held` agents report safe hold. The alert fires on
    /// every evaluation once the count has stayed at or above the minimum
    /// for the configured time, until [`Monitoring::reset_agent_hold`].
    pub fn handle_agents_in_hold(
        &mut self,
        now: SimTime,
        held: u32,
        out: &mut Vec<MonitoringOutput>,
    ) {
        if !self.cfg.agent_hold_alert {
            return;
        }
        if held < self.cfg.agent_hold_alert_agents_min {
            self.hold_since = None;
            return;
        }
        let since = *self.hold_since.get_or_insert(now);
        let due = SimDuration::from_secs_f64(self.cfg.agent_hold_alert_for_min * 60.0);
        if now.saturating_since(since) >= due {
            out.push(MonitoringOutput::AgentHoldAlert { held, since });
        }
    }

    /// The hold incident was resolved: the alert starts its window afresh.
    pub fn reset_agent_hold(&mut self) {
        self.hold_since = None;
    }

    /// The auth minute that started at `minute_start` closed at `now` with
    /// `legit_ok` of `legit_decided` legitimate requests served.
    pub fn handle_auth_minute(
        &mut self,
        now: SimTime,
        minute_start: SimTime,
        legit_ok: u32,
        legit_decided: u32,
        out: &mut Vec<MonitoringOutput>,
    ) {
        let c = &self.cfg;
        let (ok_before, decided_before) = self.sli_cum.back().copied().unwrap_or(self.sli_base);
        if self.sli_cum.len() == c.window_min_max() {
            self.sli_base = self.sli_cum.pop_front().expect("a full window");
        }
        self.sli_cum.push_back((
            ok_before + u64::from(legit_ok),
            decided_before + u64::from(legit_decided),
        ));
        let ratio = if legit_decided == 0 {
            1.0
        } else {
            legit_ok as f64 / legit_decided as f64
        };

        // Burn-rate alerts against the SLO's error budget.
        let budget = 1.0 - c.slo_target;
        let burn = |n: u32| {
            // The last n minutes (all kept ones when fewer).
            let len = self.sli_cum.len();
            let (ok_end, d_end) = self.sli_cum[len - 1];
            let (ok_start, d_start) = if (n as usize) < len {
                self.sli_cum[len - 1 - n as usize]
            } else {
                self.sli_base
            };
            let (ok, d) = (ok_end - ok_start, d_end - d_start);
            if d == 0 {
                0.0
            } else {
                (1.0 - ok as f64 / d as f64) / budget
            }
        };
        let fast = burn(c.burn_fast_long_min) >= c.burn_fast_rate
            && burn(c.burn_fast_short_min) >= c.burn_fast_rate;
        let slow = burn(c.burn_slow_long_min) >= c.burn_slow_rate
            && burn(c.burn_slow_short_min) >= c.burn_slow_rate;
        let mut fired = None;
        if fast && !self.fast_firing {
            out.push(MonitoringOutput::BurnRateAlert {
                which: BurnAlert::Fast,
                name: self.alert_name(BurnAlert::Fast),
            });
            fired = Some(DetectionSource::BurnRateFast);
        }
        if slow && !self.slow_firing {
            out.push(MonitoringOutput::BurnRateAlert {
                which: BurnAlert::Slow,
                name: self.alert_name(BurnAlert::Slow),
            });
            fired = fired.or(Some(DetectionSource::BurnRateSlow));
        }
        self.fast_firing = fast;
        self.slow_firing = slow;

        // Auth incidents from the per-minute SLI.
        let c = &self.cfg;
        let open = self
            .auth_incidents
            .last()
            .is_some_and(|i| i.ended_at.is_none());
        let mut note = None;
        if ratio < c.auth_incident_success_min {
            self.good_streak = 0;
            if !open {
                self.auth_incidents.push(AuthIncident {
                    started_at: minute_start,
                    detected_at: None,
                    detected_by: None,
                    ended_at: None,
                });
                note = Some(MonitoringOutput::AuthIncidentOpened {
                    started_at: minute_start,
                    success_ratio: ratio,
                });
            }
        } else if open {
            self.good_streak += 1;
            if self.good_streak >= c.auth_recovered_min {
                let end = SimTime::from_micros(
                    now.as_micros()
                        .saturating_sub(c.auth_recovered_min as u64 * 60_000_000),
                );
                if let Some(inc) = self.auth_incidents.last_mut() {
                    inc.ended_at = Some(end);
                }
                note = Some(MonitoringOutput::AuthIncidentEnded { at: end });
            }
        }
        if let (Some(by), Some(inc)) = (fired, self.auth_incidents.last_mut()) {
            if inc.ended_at.is_none() && inc.detected_at.is_none() {
                inc.detected_at = Some(now);
                inc.detected_by = Some(by);
                out.push(MonitoringOutput::AuthIncidentDetected { by });
            }
        }
        out.extend(note);
    }

    /// `fast_burn_14.4x_1h_5m`: the alert's rule in its name.
    fn alert_name(&self, which: BurnAlert) -> String {
        let c = &self.cfg;
        let (kind, rate, long, short) = match which {
            BurnAlert::Fast => (
                "fast",
                c.burn_fast_rate,
                c.burn_fast_long_min,
                c.burn_fast_short_min,
            ),
            BurnAlert::Slow => (
                "slow",
                c.burn_slow_rate,
                c.burn_slow_long_min,
                c.burn_slow_short_min,
            ),
        };
        format!(
            "{kind}_burn_{rate}x_{}_{}",
            SimDuration::from_mins(long as u64),
            SimDuration::from_mins(short as u64)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Seed;

    fn at(day: u64, h: u64, m: u64) -> SimTime {
        SimTime::from_secs(day * 86_400 + h * 3_600 + m * 60)
    }

    fn monitoring(cfg: MonitoringConfig) -> Monitoring {
        Monitoring::new(cfg, NightHours::default(), Epoch::from_unix_secs(0))
    }

    fn report_delay_min(m: &mut Monitoring, now: SimTime, rng: &mut Stream) -> f64 {
        let mut out = Vec::new();
        m.handle_loss_started(now, 4, rng, &mut out);
        match out[0] {
            MonitoringOutput::SetTimer {
                at,
                timer: MonitoringTimer::CustomerReport(4),
            } => (at - now).as_secs_f64() / 60.0,
            ref o => panic!("expected a customer report timer, got {o:?}"),
        }
    }

    #[test]
    fn customers_report_later_at_night() {
        let mut m = monitoring(MonitoringConfig::default());
        let mut rng = Seed(3).fork("customers", 0);
        let mut day: Vec<f64> = (0..2_001)
            .map(|_| report_delay_min(&mut m, at(2, 14, 0), &mut rng))
            .collect();
        let mut night: Vec<f64> = (0..2_001)
            .map(|_| report_delay_min(&mut m, at(2, 23, 0), &mut rng))
            .collect();
        day.sort_by(f64::total_cmp);
        night.sort_by(f64::total_cmp);
        let (d, n) = (day[1_000], night[1_000]);
        assert!((27.0..=33.0).contains(&d), "day median {d}");
        assert!((270.0..=330.0).contains(&n), "night median {n}");
    }

    #[test]
    fn the_pool_loss_alert_fires_only_when_it_exists_and_the_loss_persists() {
        let mut m = monitoring(MonitoringConfig::default());
        let mut rng = Seed(1).fork("customers", 0);
        let mut out = Vec::new();
        m.handle_loss_started(at(0, 10, 0), 7, &mut rng, &mut out);
        assert_eq!(out.len(), 1, "no alert yet, only the customer: {out:?}");
        m.set_pool_loss_alert(true);
        out.clear();
        m.handle_loss_started(at(0, 10, 0), 7, &mut rng, &mut out);
        assert_eq!(
            out[1],
            MonitoringOutput::SetTimer {
                at: at(0, 10, 5),
                timer: MonitoringTimer::PoolLossAlertCheck(7)
            }
        );
        out.clear();
        let check = MonitoringTimer::PoolLossAlertCheck(7);
        m.handle_timer(at(0, 10, 5), check, false, &mut out);
        assert!(out.is_empty(), "restored in time: no alert");
        m.handle_timer(at(0, 10, 5), check, true, &mut out);
        assert_eq!(out, vec![MonitoringOutput::PoolLossAlert(7)]);
    }

    #[test]
    fn the_agent_hold_alert_needs_its_count_for_its_time() {
        let cfg = MonitoringConfig {
            agent_hold_alert: true,
            ..MonitoringConfig::default()
        };
        let mut m = monitoring(cfg);
        let mut out = Vec::new();
        m.handle_agents_in_hold(at(0, 1, 0), 5, &mut out);
        m.handle_agents_in_hold(at(0, 1, 9), 5, &mut out);
        assert!(out.is_empty());
        // A dip below the minimum restarts the window.
        m.handle_agents_in_hold(at(0, 1, 5), 2, &mut out);
        m.handle_agents_in_hold(at(0, 1, 6), 5, &mut out);
        m.handle_agents_in_hold(at(0, 1, 15), 5, &mut out);
        assert!(out.is_empty());
        m.handle_agents_in_hold(at(0, 1, 16), 4, &mut out);
        assert_eq!(
            out,
            vec![MonitoringOutput::AgentHoldAlert {
                held: 4,
                since: at(0, 1, 6)
            }]
        );
        // Exactly the minimum (3) counts: the window goes on.
        out.clear();
        m.handle_agents_in_hold(at(0, 1, 17), 3, &mut out);
        assert_eq!(
            out,
            vec![MonitoringOutput::AgentHoldAlert {
                held: 3,
                since: at(0, 1, 6)
            }]
        );
    }

    #[test]
    fn a_burn_rate_alert_detects_the_auth_incident_and_recovery_ends_it() {
        let mut m = monitoring(MonitoringConfig::default());
        let mut out = Vec::new();
        let minute = |m: &mut Monitoring, k: u64, ok: u32, out: &mut Vec<MonitoringOutput>| {
            m.handle_auth_minute(
                SimTime::from_secs((k + 1) * 60),
                SimTime::from_secs(k * 60),
                ok,
                100,
                out,
            )
        };
        for k in 0..30 {
            minute(&mut m, k, 100, &mut out);
        }
        assert!(out.is_empty());
        // Everything fails: the incident opens at once, the fast alert fires
        // when the hour's burn reaches 14.4x (1.44 % failed).
        minute(&mut m, 30, 0, &mut out);
        assert_eq!(
            out[0],
            MonitoringOutput::BurnRateAlert {
                which: BurnAlert::Fast,
                name: "fast_burn_14.4x_1h_5m".into()
            }
        );
        assert!(out.contains(&MonitoringOutput::AuthIncidentDetected {
            by: DetectionSource::BurnRateFast
        }));
        assert!(out.contains(&MonitoringOutput::AuthIncidentOpened {
            started_at: SimTime::from_secs(1_800),
            success_ratio: 0.0
        }));
        out.clear();
        for k in 31..40 {
            minute(&mut m, k, 100, &mut out);
        }
        assert!(m.auth_incidents()[0].ended_at.is_none(), "9 good minutes");
        minute(&mut m, 40, 100, &mut out);
        assert_eq!(
            m.auth_incidents()[0].ended_at,
            Some(SimTime::from_secs(31 * 60))
        );
    }

    #[test]
    fn a_burn_rate_looks_back_over_its_whole_window() {
        // An hour of good minutes, then one with 2 % failed: 20x the budget
        // over that minute, but 4x over the fast alert's 5 minutes and
        // 0.33x over its hour, so no alert. A history shorter than the
        // windows would see the one minute alone and fire.
        let mut m = monitoring(MonitoringConfig::default());
        let mut out = Vec::new();
        for k in 0..60 {
            let ok = if k == 59 { 98 } else { 100 };
            m.handle_auth_minute(
                SimTime::from_secs((k + 1) * 60),
                SimTime::from_secs(k * 60),
                ok,
                100,
                &mut out,
            );
        }
        assert!(
            !out.iter()
                .any(|o| matches!(o, MonitoringOutput::BurnRateAlert { .. })),
            "{out:?}"
        );
    }

    /// Closes `minutes` auth minutes of 100 decided each from minute
    /// `first` on, `failed(k)` of minute k failed; returns the burn-rate
    /// alerts fired, by minute.
    fn burn_alerts(
        m: &mut Monitoring,
        first: u64,
        minutes: u64,
        failed: impl Fn(u64) -> u32,
    ) -> Vec<(u64, BurnAlert)> {
        let mut fired = Vec::new();
        for k in first..first + minutes {
            let mut out = Vec::new();
            m.handle_auth_minute(
                SimTime::from_secs((k + 1) * 60),
                SimTime::from_secs(k * 60),
                100 - failed(k),
                100,
                &mut out,
            );
            for o in out {
                if let MonitoringOutput::BurnRateAlert { which, .. } = o {
                    fired.push((k, which));
                }
            }
        }
        fired
    }

    #[test]
    fn a_burn_rate_alert_needs_both_of_its_windows() {
        // Six hours of good minutes, then one with 25 of 100 failed: the
        // short windows burn 50x (fast, 5 min) and 8.3x (slow, 30 min),
        // past their rates, but the long ones 4.2x (1 h) and 0.69x (6 h)
        // stay under: a blip, no page. An alert on either window alone
        // would fire.
        let mut m = monitoring(MonitoringConfig::default());
        let fired = burn_alerts(&mut m, 0, 361, |k| if k == 360 { 25 } else { 0 });
        assert_eq!(fired, vec![]);
    }

    #[test]
    fn a_one_minute_window_reads_the_last_minute() {
        // Ten good minutes, then one all failed, with a short fast window
        // of one minute: that minute burns 1,000x and the hour 9.1 % of
        // requests failed (91x), so the fast alert fires at once; the slow
        // one (30 min: 3.03 %, 6 h: 9.1 %) too.
        let cfg = MonitoringConfig {
            burn_fast_short_min: 1,
            ..MonitoringConfig::default()
        };
        let mut m = monitoring(cfg);
        let fired = burn_alerts(&mut m, 0, 11, |k| if k == 10 { 100 } else { 0 });
        assert_eq!(fired, vec![(10, BurnAlert::Fast), (10, BurnAlert::Slow)]);
    }

    #[test]
    fn an_alert_fires_once_while_its_burn_lasts() {
        // Half an hour of good minutes, then 20 with 5 % failed (50x the
        // budget each): the slow alert fires when its 6 h window (the 35
        // minutes kept) reaches 6x, at minute 34 (0.71 % failed), the fast
        // one when its hour reaches 14.4x, at minute 42 (1.51 %); neither
        // fires again while it lasts. Twenty good minutes clear the fast
        // alert's 5 minutes; a second bad stretch fires it again at 71
        // (2 % over 5 minutes, 1.83 % over the hour), the slow one still
        // firing.
        let mut m = monitoring(MonitoringConfig::default());
        let bad = |k: u64| (30..50).contains(&k) || k >= 70;
        let fired = burn_alerts(&mut m, 0, 72, |k| if bad(k) { 5 } else { 0 });
        assert_eq!(
            fired,
            vec![
                (34, BurnAlert::Slow),
                (42, BurnAlert::Fast),
                (71, BurnAlert::Fast)
            ]
        );
    }

    #[test]
    fn a_minute_exactly_at_the_incident_threshold_is_not_an_incident() {
        // 99 of 100 is the threshold (0.99) itself: not below it.
        let mut m = monitoring(MonitoringConfig::default());
        burn_alerts(&mut m, 0, 1, |_| 1);
        assert!(m.auth_incidents().is_empty());
        burn_alerts(&mut m, 1, 1, |_| 2);
        assert_eq!(m.auth_incidents().len(), 1);
    }

    #[test]
    fn config_validation_names_the_field() {
        let bad = MonitoringConfig {
            burn_fast_short_min: 0,
            ..MonitoringConfig::default()
        };
        assert_eq!(
            bad.validate().unwrap_err(),
            "burn_fast_short_min: expected 1 to 7 days (10,080), found 0"
        );
    }
}
