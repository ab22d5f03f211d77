//! Behaviour of the auth path under the March 2025 incidents and their
//! counterfactuals. One helper, [`run`], drives the API; the tests only
//! describe scenarios and assert figures.

use super::*;
use cascade_sim::Seed;

/// Share of the legitimate outcomes of a tick that succeeded; 1 when the
/// tick decided none.
fn success_ratio(t: &AuthTick) -> f64 {
    let decided = u64::from(t.legit_ok) + u64::from(t.legit_failed);
    if decided == 0 {
        1.0
    } else {
        f64::from(t.legit_ok) / decided as f64
    }
}

/// Simulated instant of `D<day> hh:mm` (the epoch is D0 00:00 UTC).
fn d(day: u64, hour: u64, min: u64) -> SimTime {
    SimTime::from_secs(day * 86_400 + hour * 3_600 + min * 60)
}

#[derive(Clone, Debug)]
enum Act {
    Bots(f64),
    Path(VendorPath),
    Mitigate(MitigationConfig),
    Crash(u32),
    Storm(bool),
    Slowdown(f64),
    Wave(Option<BotWave>),
}

struct Scenario {
    cfg: AuthConfig,
    seed: u64,
    start: SimTime,
    end: SimTime,
    /// (instant, action), applied before the first tick at or after it.
    acts: Vec<(SimTime, Act)>,
    /// Empty the latency memo before every tick (every percentile computed
    /// afresh), to compare with the memo at work.
    forget_latencies: bool,
}

impl Scenario {
    fn new(start: SimTime, end: SimTime) -> Self {
        Scenario {
            cfg: AuthConfig::default(),
            seed: 2025,
            start,
            end,
            acts: Vec::new(),
            forget_latencies: false,
        }
    }
    fn at(mut self, t: SimTime, act: Act) -> Self {
        self.acts.push((t, act));
        self
    }
    /// The HPA alone: a node pool with room for its ceiling from the start
    /// and the CPU figure averaged over one sync period, so a test sees the
    /// Kubernetes policy and nothing else.
    fn hpa_only(mut self) -> Self {
        let c = &mut self.cfg.component;
        c.nodes_initial = c.replicas_max.div_ceil(c.pods_per_node);
        c.nodes_max = c.nodes_initial;
        self.cfg.autoscaler.hpa_metric_window_s = self.cfg.autoscaler.hpa_sync_s;
        self
    }
}

thread_local! {
    /// Ticks that took the quiet path in this test's thread so far.
    static QUIET_TICKS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The only caller of the API in the tests: drives `s` tick by tick and
/// hands each tick to `sink`. A second system, with every tick on the
/// general path, runs alongside and must give the very same ticks and
/// draws, so every scenario here also checks the quiet path.
fn run_with(s: &Scenario, mut sink: impl FnMut(&AuthTick)) -> AuthSystem {
    let mut sys = AuthSystem::new(&s.cfg);
    let mut rng = Seed(s.seed).fork("auth", 0);
    let mut general = AuthSystem::new(&s.cfg);
    general.busy_ticks_only = true;
    let mut general_rng = rng.clone();
    let step = SimDuration::from_millis(s.cfg.tick_ms);
    let mut acts = s.acts.clone();
    acts.sort_by_key(|(t, _)| *t);
    let mut next = 0;
    let mut now = s.start;
    while now < s.end {
        while next < acts.len() && acts[next].0 <= now {
            for sys in [&mut sys, &mut general] {
                match &acts[next].1 {
                    Act::Bots(k) => sys.set_bot_multiplier(*k),
                    Act::Path(p) => sys.set_vendor_path(*p),
                    Act::Mitigate(m) => sys.set_mitigations(m.clone()).unwrap(),
                    Act::Crash(n) => sys.crash_replicas(*n),
                    Act::Storm(on) => sys.set_vendor_429_storm(*on),
                    Act::Slowdown(k) => sys.set_vendor_slowdown(*k),
                    Act::Wave(w) => sys.set_bot_wave(now, *w),
                }
            }
            next += 1;
        }
        if s.forget_latencies {
            sys.latency_memo.clear();
        }
        if sys.next_tick_is_quiet() {
            QUIET_TICKS.with(|q| q.set(q.get() + 1));
        }
        let tick = sys.handle_tick(now, &mut rng);
        let reference = general.handle_tick(now, &mut general_rng);
        assert!(
            tick == reference,
            "the quiet path and the general one differ at {now:?}:\n{tick:?}\n{reference:?}"
        );
        sink(&tick);
        now += step;
    }
    assert_eq!(
        rng.next_u64(),
        general_rng.next_u64(),
        "the quiet path drew differently from the general one"
    );
    sys
}

fn run(s: &Scenario) -> (AuthSystem, Vec<AuthTick>) {
    let mut ticks = Vec::new();
    let sys = run_with(s, |t| ticks.push(*t));
    (sys, ticks)
}

fn within(ticks: &[AuthTick], from: SimTime, to: SimTime) -> impl Iterator<Item = &AuthTick> {
    ticks.iter().filter(move |t| t.at >= from && t.at < to)
}

/// Legitimate success ratio over a set of ticks (1 if nothing was decided).
fn ratio<'a>(ticks: impl Iterator<Item = &'a AuthTick>) -> f64 {
    let (ok, failed) = ticks.fold((0u64, 0u64), |(o, f), t| {
        (o + u64::from(t.legit_ok), f + u64::from(t.legit_failed))
    });
    if ok + failed == 0 {
        1.0
    } else {
        ok as f64 / (ok + failed) as f64
    }
}

/// Success ratio of each whole minute in [from, to).
fn minute_ratios(ticks: &[AuthTick], from: SimTime, to: SimTime) -> Vec<f64> {
    let mut out = Vec::new();
    let mut m = from;
    while m < to {
        let e = m + SimDuration::from_mins(1);
        out.push(ratio(within(ticks, m, e)));
        m = e;
    }
    out
}

fn first_at(ticks: &[AuthTick], pred: impl Fn(&AuthTick) -> bool) -> Option<SimTime> {
    ticks.iter().find(|t| pred(t)).map(|t| t.at)
}

fn secs_between(a: SimTime, b: SimTime) -> u64 {
    b.saturating_since(a).as_secs()
}

// ----- autoscaler -------------------------------------------------------------

#[test]
fn hpa_never_scales_up_faster_than_policy_in_any_60s_window() {
    // A huge surge (100× legitimate) saturates CPU for an hour.
    let s = Scenario::new(d(3, 12, 50), d(3, 14, 0))
        .at(d(3, 13, 0), Act::Bots(100.0))
        .hpa_only();
    let (sys, ticks) = run(&s);
    let total: Vec<u32> = ticks.iter().map(|t| t.replicas_total).collect();
    let mut windows = 0;
    for i in 0..total.len() - 60 {
        let (a, b) = (total[i], total[i + 60]);
        let limit = (a + 4).max(2 * a);
        assert!(
            b <= limit,
            "replicas {a} -> {b} within 60 s at {:?} (limit {limit})",
            ticks[i].at
        );
        windows += 1;
    }
    assert!(windows > 4_000);
    // The same property on the event log, event by event.
    let ev = sys.scale_events();
    for (j, e) in ev.iter().enumerate() {
        let start = ev[..j]
            .iter()
            .rev()
            .find(|p| e.at.saturating_since(p.at) >= SimDuration::from_secs(60))
            .map_or(3, |p| p.to);
        assert!(e.to <= (start + 4).max(2 * start), "{e:?} from {start}");
    }
    // It does reach the ceiling, and never overshoots it.
    assert_eq!(*total.iter().max().unwrap(), 20);
    assert_eq!(ev.iter().filter(|e| e.to < e.from).count(), 0);
}

#[test]
fn scale_down_waits_for_the_300s_stabilisation_window() {
    // The surge ends on a sync boundary (13:20:00): the last high
    // recommendation is the one of 13:20:00 (averaging 13:19:45–13:20:00).
    let end = d(3, 13, 20);
    let s = Scenario::new(d(3, 12, 55), d(3, 13, 45))
        .at(d(3, 13, 0), Act::Bots(30.0))
        .at(end, Act::Bots(0.0))
        .hpa_only();
    let (sys, ticks) = run(&s);
    let peak = ticks.iter().map(|t| t.replicas_total).max().unwrap();
    assert_eq!(peak, 20);
    let first_down = sys
        .scale_events()
        .iter()
        .find(|e| e.to < e.from)
        .expect("scales down after the surge");
    let waited = secs_between(end, first_down.at);
    assert!(
        waited >= 300,
        "scaled down {waited} s after the surge ended"
    );
    // Exactly the window: at 13:25:00 the 13:20:00 recommendation is no
    // longer strictly inside (now − 300 s, now], as in Kubernetes.
    assert_eq!(waited, 300);
    assert_eq!(first_down.to, 3);
    // Up, then down: one reversal, no flapping.
    assert_eq!(sys.direction_changes(), 1);
    assert_eq!(
        sys.direction_changes_within(SimDuration::from_hours(1), d(3, 13, 45)),
        1
    );
}

// ----- load that rises and falls ----------------------------------------------

fn square(peak: f64, period_s: f64) -> BotWave {
    BotWave {
        shape: WaveShape::Square,
        peak,
        period_s,
        duty: 0.5,
        salt: 0,
    }
}

#[test]
fn a_bot_wave_follows_its_shape_period_after_period() {
    let sq = square(20.0, 600.0);
    let at = |w: &BotWave, s: f64| w.multiplier_at(s);
    assert_eq!(
        [0.0, 299.0, 300.0, 599.0, 600.0, 1_000.0].map(|s| at(&sq, s)),
        [20.0, 20.0, 0.0, 0.0, 20.0, 0.0]
    );
    let sine = BotWave {
        shape: WaveShape::Sine,
        ..sq
    };
    assert_eq!(at(&sine, 0.0), 0.0);
    assert!((at(&sine, 150.0) - 10.0).abs() < 1e-9);
    assert!((at(&sine, 300.0) - 20.0).abs() < 1e-9);
    assert!((at(&sine, 900.0) - 20.0).abs() < 1e-9);
    let bursts = BotWave {
        shape: WaveShape::Bursts,
        duty: 0.1,
        salt: 7,
        ..sq
    };
    // A spike for the first 60 s of each 600 s, each of its own height
    // between half the peak and the peak; nothing in between.
    let heights: Vec<f64> = (0..6)
        .map(|k| at(&bursts, k as f64 * 600.0 + 30.0))
        .collect();
    assert!(
        heights.iter().all(|h| (10.0..=20.0).contains(h)),
        "{heights:?}"
    );
    assert!(heights.windows(2).all(|p| p[0] != p[1]), "{heights:?}");
    assert_eq!(at(&bursts, 60.0), 0.0);
    assert_eq!(at(&bursts, 599.0), 0.0);
    // The same wave, the same heights; another salt, others.
    assert_eq!(at(&bursts, 630.0), heights[1]);
    let other = BotWave { salt: 8, ..bursts };
    assert_ne!(at(&other, 630.0), heights[1]);
}

#[test]
fn a_wave_adds_to_a_step_surge_and_its_end_leaves_the_step() {
    let mut sys = AuthSystem::new(&AuthConfig::default());
    let mut rng = Seed(1).fork("auth", 0);
    sys.set_bot_multiplier(5.0);
    sys.set_bot_wave(d(0, 1, 0), Some(square(20.0, 600.0)));
    sys.handle_tick(d(0, 1, 1), &mut rng);
    assert_eq!(sys.bot_multiplier, 25.0);
    sys.handle_tick(d(0, 1, 6), &mut rng);
    assert_eq!(sys.bot_multiplier, 5.0, "in the trough: the step alone");
    sys.set_bot_wave(d(0, 1, 10), None);
    assert!(!sys.bot_wave_active());
    assert_eq!(sys.bot_multiplier, 5.0);
}

/// A square wave of 20x legitimate traffic, period 20 min, for 2 h, on the
/// HPA alone; every sync checked by the world's I16 watch.
fn square_wave_day(bug: Option<crate::model::bugs::AuthBug>) -> (AuthSystem, Vec<HpaSync>) {
    let mut s = Scenario::new(d(3, 9, 55), d(3, 12, 30))
        .at(d(3, 10, 0), Act::Wave(Some(square(20.0, 1_200.0))))
        .at(d(3, 12, 0), Act::Wave(None))
        .hpa_only();
    s.cfg.seeded_bug = bug;
    let mut syncs = Vec::new();
    let sys = run_with(&s, |t| syncs.extend(t.hpa_sync));
    (sys, syncs)
}

/// Scale-downs below the highest recommendation of the 300 s window
/// before them (what I16 judges; the model's tests do not import the
/// checks, so the rule is restated here on the syncs): (instant, detail).
fn below_the_window(syncs: &[HpaSync]) -> Vec<(SimTime, String)> {
    let window = SimDuration::from_secs(300);
    syncs
        .iter()
        .filter(|s| s.desired < s.current)
        .filter_map(|s| {
            let highest = syncs
                .iter()
                .filter(|r| r.at <= s.at && s.at.saturating_since(r.at) < window)
                .map(|r| r.recommendation)
                .max()?;
            (s.desired < highest).then(|| {
                let detail = format!("{} -> {} below {highest}", s.current, s.desired);
                (s.at, detail)
            })
        })
        .collect()
}

#[test]
fn under_a_square_wave_the_hpa_scales_down_in_every_trough_within_its_window() {
    let (sys, syncs) = square_wave_day(None);
    // One sync every 15 s.
    assert_eq!(syncs.len(), 620);
    let downs: Vec<&ScaleEvent> = sys
        .scale_events()
        .iter()
        .filter(|e| e.to < e.from)
        .collect();
    // Each 10 min trough outlasts the 300 s window: back to the floor in
    // each of the six troughs (the last one after the wave's end), in two
    // steps (a step of one or two pods as the crest's last
    // recommendations leave the window, then the floor).
    assert_eq!(downs.len(), 12, "{downs:?}");
    assert_eq!(downs.iter().filter(|e| e.to == 3).count(), 6);
    // Every scale-down comes at least 300 s after the last sync that
    // recommended more than it kept, and I16's watch agrees with each.
    for e in &downs {
        let last_higher = syncs
            .iter()
            .filter(|s| s.at < e.at && s.recommendation > e.to)
            .map(|s| s.at)
            .max()
            .unwrap();
        assert!(secs_between(last_higher, e.at) >= 300, "{e:?}");
    }
    assert_eq!(below_the_window(&syncs), vec![]);
    // Up and down with every period: reversals, yet within the bound
    // stabilisation implies (at most 24 an hour).
    let flaps = sys.direction_changes_within(SimDuration::from_hours(1), d(3, 12, 0));
    assert_eq!(flaps, 5);
    // Over the whole wave: up and down each of the six periods, less the
    // first rise's start (measured).
    assert_eq!(sys.direction_changes(), 11);
}

#[test]
fn the_seeded_bug_scales_down_below_its_window_in_every_dip() {
    let bug = crate::model::bugs::AuthBug::IgnoresScaleDownStabilisation;
    let (sys, syncs) = square_wave_day(Some(bug));
    let downs = sys.scale_events().iter().filter(|e| e.to < e.from).count();
    let findings = below_the_window(&syncs);
    // Every scale-down breaks the window, the first one still on the
    // crest (a recommendation one pod lower than the sync before).
    assert_eq!((downs, findings.len()), (12, 12), "{findings:?}");
    assert_eq!(
        findings[0],
        (
            d(3, 10, 5) + SimDuration::from_secs(45),
            "15 -> 14 below 15".to_string()
        )
    );
}

#[test]
fn crashed_replicas_come_back_after_warm_up() {
    let s = Scenario::new(d(1, 3, 0), d(1, 3, 3)).at(d(1, 3, 1), Act::Crash(2));
    let (_, ticks) = run(&s);
    let at_crash = within(&ticks, d(1, 3, 1), d(1, 3, 2)).next().unwrap();
    assert_eq!((at_crash.replicas_ready, at_crash.replicas_total), (1, 3));
    assert_eq!(at_crash.capacity_rps, 50.0);
    let back = first_at(&ticks, |t| t.at > d(1, 3, 1) && t.replicas_ready == 3).unwrap();
    assert_eq!(secs_between(d(1, 3, 1), back), 60);
}

// ----- vendor -------------------------------------------------------------------

#[test]
fn vendor_answers_429_once_its_bucket_is_empty() {
    // 300 vendor-needing req/s (caching off), no retries, capacity to spare.
    let mut s = Scenario::new(d(1, 0, 0), d(1, 0, 4));
    s.cfg.traffic.legit_rps = 300.0;
    s.cfg.traffic.diurnal_amplitude_fraction = 0.0;
    s.cfg.traffic.retry_attempts_max = 1;
    s.cfg.component.replicas_min = 10;
    s.cfg.component.nodes_initial = 3;
    let (_, ticks) = run(&s);
    // First tick: burst 100 + refill 100 granted, the rest 429.
    let first = &ticks[0];
    assert_eq!(first.vendor_calls - first.vendor_429, 200);
    let steady = &ticks[10..];
    let calls: u64 = steady.iter().map(|t| u64::from(t.vendor_calls)).sum();
    let r429: u64 = steady.iter().map(|t| u64::from(t.vendor_429)).sum();
    let per_s = r429 as f64 / steady.len() as f64;
    assert!((190.0..=210.0).contains(&per_s), "{per_s} 429/s");
    // Exactly the refill rate gets through once the bucket is empty.
    assert_eq!(calls - r429, 100 * steady.len() as u64);
    assert!(steady.iter().all(|t| t.legit_ok == 100));
}

#[test]
fn blackhole_fails_every_login_then_heals_by_itself() {
    // E1: D0 17:30–18:15, caching off (historical), no operator action.
    let (on, off) = (d(0, 17, 30), d(0, 18, 15));
    let s = Scenario::new(d(0, 17, 0), d(0, 18, 45))
        .at(on, Act::Path(VendorPath::Blackholed))
        .at(off, Act::Path(VendorPath::Up));
    let (_, ticks) = run(&s);
    assert!(ratio(within(&ticks, d(0, 17, 0), on)) == 1.0);
    // Not one legitimate login succeeds during the outage…
    let outage: Vec<_> = within(&ticks, on, off).collect();
    assert!(outage.iter().all(|t| t.legit_ok == 0));
    let failed: u64 = outage.iter().map(|t| u64::from(t.legit_failed)).sum();
    assert!(failed > 45 * 60 * 20, "{failed} failures");
    assert!(minute_ratios(&ticks, on, off).iter().all(|&r| r == 0.0));
    // …the component's capacity collapses: every slot is held by a call
    // into the blackhole, and the queue stays near its bound (cohorts leave
    // it only by expiring after the client timeout or being shed).
    let mid: Vec<_> = within(&ticks, d(0, 17, 50), d(0, 17, 51)).collect();
    assert!(mid.iter().all(|t| t.slots_held == 3 * 32));
    assert!(mid.iter().all(|t| t.queue_len >= 240), "{:?}", mid[0]);
    assert!(mid
        .iter()
        .all(|t| t.legit_ok == 0 && t.capacity_rps == 150.0));
    // Whatever completes is a timeout; ticks with only edge sheds have no
    // latency samples.
    let sampled: Vec<_> = mid.iter().filter(|t| t.latency_samples > 0).collect();
    assert!(sampled.len() >= 20, "{}", sampled.len());
    assert!(sampled.iter().all(|t| t.latency_p50_ms == 10_000.0));
    // It recovers by itself: within the client timeout of the heal (calls
    // already in the blackhole must reach their deadline; the backlog drains
    // at 150 req/s meanwhile), every tick is back at or above 99 %.
    let last_bad = within(&ticks, off, d(0, 18, 45))
        .filter(|t| success_ratio(t) < 0.99)
        .map(|t| t.at)
        .max()
        .unwrap();
    let recovered_s = secs_between(off, last_bad) + 1;
    assert!(recovered_s <= 10, "recovered {recovered_s} s after heal");
    assert!(
        ratio(within(
            &ticks,
            off + SimDuration::from_secs(10),
            d(0, 18, 45)
        )) == 1.0
    );
}

#[test]
fn breaker_and_caching_keep_most_logins_during_a_blackhole() {
    // Counterfactual: with caching only 5 % of requests need the vendor, and
    // the breaker fails those fast instead of letting them hold slots.
    let mut s = Scenario::new(d(0, 17, 20), d(0, 18, 15))
        .at(d(0, 17, 30), Act::Path(VendorPath::Blackholed));
    s.cfg.mitigations.caching_enabled = true;
    s.cfg.mitigations.breaker_enabled = true;
    // About 1.4 vendor calls a second reach the vendor here, 14 per 10 s
    // window: under the default minimum of 20 calls the breaker opens only
    // on a rare surplus (seen: seed 1 opened it once, then cycled; another
    // draw never opened it). Ten calls make the cycle the mechanism's, not
    // luck's.
    s.cfg.mitigations.breaker_calls_min = 10;
    let (_, ticks) = run(&s);
    let r = ratio(within(&ticks, d(0, 17, 31), d(0, 18, 15)));
    assert!((0.94..=0.96).contains(&r), "{r}");
    let w: Vec<_> = within(&ticks, d(0, 17, 31), d(0, 18, 15)).collect();
    let open = w.iter().filter(|t| t.breaker == BreakerState::Open).count();
    // Cycle: 30 s open, then half-open until the probes' 10 s deadline
    // re-opens it: open about 3/4 of the time.
    let share = open as f64 / w.len() as f64;
    assert!((0.65..=0.8).contains(&share), "open {share}");
    assert!(within(&ticks, d(0, 17, 31), d(0, 18, 15)).all(|t| t.queue_len == 0));
}

// ----- E2 / E3 --------------------------------------------------------------------

/// The flagship's E2: 80× legitimate traffic.
const SURGE: f64 = 80.0;

fn surge(mitigated: bool) -> (Vec<AuthTick>, SimTime, SimTime) {
    let (on, off) = (d(3, 13, 0), d(3, 17, 0));
    let mut s = Scenario::new(d(3, 12, 50), d(3, 17, 10))
        .at(on, Act::Bots(SURGE))
        .at(off, Act::Bots(0.0));
    if mitigated {
        s = s.at(
            d(3, 12, 50),
            Act::Mitigate(MitigationConfig::default().rate_limited()),
        );
    }
    let (_, ticks) = run(&s);
    (ticks, on, off)
}

/// Failed legitimate attempts over `ticks`: (component saturated, vendor
/// 429).
fn saturation_and_429<'a>(ticks: impl Iterator<Item = &'a AuthTick>) -> (u64, u64) {
    ticks.fold((0, 0), |(sat, r429), t| {
        (
            sat + u64::from(t.legit_shed_queue_full) + u64::from(t.legit_client_timeout),
            r429 + u64::from(t.legit_vendor_429),
        )
    })
}

#[test]
fn bot_surge_without_mitigation_outgrows_what_the_component_can_scale_to() {
    let (ticks, on, off) = surge(false);
    // Measured: legitimate success per minute over the 4-hour surge.
    let minutes = minute_ratios(&ticks, on, off);
    let mean = minutes.iter().sum::<f64>() / minutes.len() as f64;
    let best = minutes.iter().cloned().fold(0.0, f64::max);
    // Measured: mean 0.321, best 0.344.
    assert!(mean < 0.4, "mean minute success {mean}");
    assert!(best < 0.5, "best minute {best}");
    // The component, not the vendor, is the bottleneck: even once it has
    // scaled as far as it can, the failures are saturation (queue full or
    // waited out); the 2 % of automated requests that call the vendor
    // stay under its limit.
    let (sat, r429) = saturation_and_429(within(&ticks, d(3, 14, 0), d(3, 15, 0)));
    assert!(sat > 100_000, "saturation {sat}");
    assert_eq!(r429, 0);
    // The HPA wants its ceiling of 20, but the node pool holds 16 pods
    // (4 nodes of 4): the last pods stay Pending for the whole surge.
    let w: Vec<_> = within(&ticks, d(3, 14, 0), off).collect();
    assert!(w
        .iter()
        .all(|t| t.replicas_total == 20 && t.replicas_ready == 16));
    assert!(w.iter().all(|t| t.replicas_pending == 4 && t.nodes == 4));
    // Scaling lags: nodes take 4 min to provision, pods 60 s to warm up.
    let full = first_at(&ticks, |t| t.replicas_ready == 16).unwrap();
    let lag = secs_between(on, full);
    assert!((300..=900).contains(&lag), "16 ready after {lag} s");
    let first_min: Vec<_> = within(
        &ticks,
        on + SimDuration::from_secs(30),
        on + SimDuration::from_mins(2),
    )
    .collect();
    assert!(first_min.iter().all(|t| t.queue_len == 300));
    assert!(first_min.iter().all(|t| t.latency_p99_ms >= 2_000.0));
    // Retries amplify legitimate demand.
    let amp: f64 = {
        let w: Vec<_> = within(&ticks, on, off).collect();
        let att: u64 = w.iter().map(|t| u64::from(t.legit_attempts)).sum();
        let fresh: u64 = w.iter().map(|t| u64::from(t.legit_fresh)).sum();
        att as f64 / fresh as f64
    };
    assert!(amp > 1.8, "amplification {amp}");
    // And it recovers once the surge stops.
    let after = off + SimDuration::from_mins(2);
    assert!(ratio(within(&ticks, after, d(3, 17, 10))) >= 0.99);
}

/// The flagship's surge on a component of `nodes` nodes with an HPA
/// ceiling of `replicas_max`, `multiplier` times legitimate traffic, 13:00
/// to 17:00.
fn surge_on(nodes: u32, replicas_max: u32, multiplier: f64) -> (Vec<AuthTick>, SimTime, SimTime) {
    let (on, off) = (d(3, 13, 0), d(3, 17, 0));
    let mut s = Scenario::new(d(3, 12, 50), d(3, 17, 10))
        .at(on, Act::Bots(multiplier))
        .at(off, Act::Bots(0.0));
    s.cfg.component.nodes_max = nodes;
    s.cfg.component.replicas_max = replicas_max;
    let (_, ticks) = run(&s);
    (ticks, on, off)
}

#[test]
fn more_component_capacity_raises_success_until_the_vendor_limit_binds() {
    // Issue 30: the write-up's cause (the surge overwhelmed the component's
    // scaling) must drive the outcome. Measured (seed 1, mean minute
    // success over the surge): 4 nodes / 20 pods 0.321, 8 nodes / 40 pods
    // 0.628, 15 nodes / 60 pods 0.928 (the surge absorbed at 13:29).
    // Seen failing with every automated request calling the vendor
    // (bot_vendor_share_fraction 1.0: the vendor caps success whatever the
    // size, 0.0408 at 20 pods and at 40).
    let mean = |ticks: &[AuthTick], on, off| {
        let m = minute_ratios(ticks, on, off);
        m.iter().sum::<f64>() / m.len() as f64
    };
    let (small, on, off) = surge_on(4, 20, SURGE);
    let (doubled, ..) = surge_on(8, 40, SURGE);
    let (small_mean, doubled_mean) = (mean(&small, on, off), mean(&doubled, on, off));
    assert!(
        doubled_mean - small_mean >= 0.25,
        "{small_mean} -> {doubled_mean}"
    );
    // Big enough, the component absorbs the surge once it has scaled:
    // the second hour is clean, and the outage lasted as long as scaling.
    let (big, ..) = surge_on(15, 60, SURGE);
    fn hour(t: &[AuthTick]) -> impl Iterator<Item = &AuthTick> {
        within(t, d(3, 14, 0), d(3, 15, 0))
    }
    assert!(ratio(hour(&big)) >= 0.99);
    assert_eq!(saturation_and_429(hour(&big)), (0, 0));
    assert!(hour(&big).all(|t| t.replicas_ready == 60));
    // Past what 2 % of the automated requests leave of the vendor's 100
    // req/s, the vendor binds again: at 200x on 120 pods its 429s are
    // most of the failures.
    let (huge, ..) = surge_on(30, 120, 200.0);
    let (sat, r429) = saturation_and_429(hour(&huge));
    assert!(
        r429 > 10 * sat.max(1),
        "saturation {sat}, vendor 429 {r429}"
    );
}

#[test]
fn rate_limits_from_the_start_keep_legit_success_above_99_percent() {
    let (ticks, on, off) = surge(true);
    let minutes = minute_ratios(&ticks, on, off);
    assert_eq!(minutes.len(), 240);
    let worst = minutes.iter().cloned().fold(1.0, f64::min);
    assert!(worst >= 0.99, "worst minute {worst}");
    // The 20 heavy sources are held to 1 req/s each; the light tail (1 %
    // of the surge, about 23 req/s) passes, as it would through any
    // per-client limit. The component never needs to scale and the vendor
    // never says 429.
    let w: Vec<_> = within(&ticks, on + SimDuration::from_secs(10), off).collect();
    let bot_ok: u64 = w.iter().map(|t| u64::from(t.bot_ok)).sum();
    let bot_rate = bot_ok as f64 / w.len() as f64;
    assert!((40.0..=46.0).contains(&bot_rate), "{bot_rate} bot req/s");
    assert!(w.iter().all(|t| t.vendor_429 == 0 && t.replicas_total == 3));
    assert!(w.iter().all(|t| t.latency_p99_ms < 1_000.0));
}

#[test]
fn the_per_client_limit_limits_heavy_legitimate_clients_too() {
    // Two heavy legitimate clients (CI systems) carry half of 20 req/s:
    // 5 req/s each against a 1 req/s limit. No automated traffic at all:
    // whatever is limited is collateral, and the limiter cannot tell.
    let mut s = Scenario::new(d(1, 0, 0), d(1, 0, 10)).at(
        d(1, 0, 0),
        Act::Mitigate(MitigationConfig::default().rate_limited()),
    );
    s.cfg.traffic.diurnal_amplitude_fraction = 0.0;
    s.cfg.traffic.retry_attempts_max = 1;
    s.cfg.traffic.clients.legit_heavy_clients = 2;
    s.cfg.traffic.clients.legit_heavy_share_fraction = 0.5;
    let (_, ticks) = run(&s);
    let steady: Vec<_> = ticks[60..].iter().collect();
    let limited: u64 = steady
        .iter()
        .map(|t| u64::from(t.legit_client_limited))
        .sum();
    let per_s = limited as f64 / steady.len() as f64;
    // 10 req/s offered by the two, 2 req/s allowed: about 8 req/s limited.
    assert!((7.0..=9.0).contains(&per_s), "{per_s} limited req/s");
    // With the CI clients spread over many ids, nothing is limited.
    s.cfg.traffic.clients.legit_heavy_clients = 1_000;
    let (_, ticks) = run(&s);
    assert!(ticks.iter().all(|t| t.legit_client_limited == 0));
}

#[test]
fn the_node_pool_grows_for_pending_pods_and_shrinks_when_unneeded() {
    let (on, off) = (d(3, 13, 0), d(3, 13, 30));
    let s = Scenario::new(d(3, 12, 55), d(3, 14, 0))
        .at(on, Act::Bots(SURGE))
        .at(off, Act::Bots(0.0));
    let (_, ticks) = run(&s);
    assert!(within(&ticks, d(3, 12, 55), on).all(|t| t.nodes == 2));
    // A new pod is Pending for the tick it is created in, until the
    // scheduler places it; the pool is full when pods stay Pending.
    let first_pending = ticks
        .windows(2)
        .find(|w| w[0].replicas_pending > 0 && w[1].replicas_pending > 0)
        .map(|w| w[0].at)
        .unwrap();
    let third_node = first_at(&ticks, |t| t.nodes == 3).unwrap();
    // The node arrives one provisioning time (240 s) after the pods that
    // asked for it went Pending.
    assert_eq!(secs_between(first_pending, third_node), 241);
    assert_eq!(ticks.iter().map(|t| t.nodes).max(), Some(4));
    // After the surge the HPA scales down (300 s stabilisation) and a node
    // no pod needs goes after 10 min.
    let back = first_at(&ticks, |t| t.at > off && t.nodes < 4).unwrap();
    assert!(secs_between(off, back) >= 900, "a node left {back:?}");
    assert_eq!(ticks.last().unwrap().nodes, 2);
}

#[test]
fn the_metric_window_delays_the_first_scale_up() {
    let on = d(3, 13, 0);
    let first_up = |window_s: u64| {
        let mut s = Scenario::new(d(3, 12, 55), d(3, 13, 5)).at(on, Act::Bots(SURGE));
        s.cfg.autoscaler.hpa_metric_window_s = window_s;
        let (sys, _) = run(&s);
        secs_between(on, sys.scale_events()[0].at)
    };
    // The surge fills the whole 15 s sync window at once; a 60 s average
    // needs most of a minute of it.
    assert_eq!(first_up(15), 15);
    assert!(first_up(60) >= 30, "{} s", first_up(60));
}

// ----- retries --------------------------------------------------------------------

/// Peak offered demand in the two minutes after `off`, for a scenario
/// built by `make(jitter)`.
fn peak_after(make: impl Fn(f64) -> Scenario, jitter: f64, off: SimTime) -> f64 {
    let (_, ticks) = run(&make(jitter));
    within(&ticks, off, off + SimDuration::from_mins(2))
        .map(|t| t.demand_rps)
        .fold(0.0, f64::max)
}

#[test]
fn retries_without_jitter_spike_harder_after_a_429_storm_ends() {
    // A ten-minute forced 429 storm whose resets point at the end of the
    // vendor's minute window. Clients that honour the reset without jitter
    // all come back on the same tick; at the storm's end that wave (bounded
    // by the retry budget, 2 × fresh over 10 s) lands at once.
    let (on, off) = (d(0, 17, 30), d(0, 17, 40));
    let make = |jitter| {
        let mut s = Scenario::new(d(0, 17, 25), d(0, 17, 45))
            .at(on, Act::Storm(true))
            .at(off, Act::Storm(false));
        s.cfg.traffic.retry_jitter_fraction = jitter;
        s
    };
    let sync = peak_after(make, 0.0, off);
    let spread = peak_after(make, 0.5, off);
    assert!(sync >= 400.0, "{sync}");
    assert!(
        sync >= 4.0 * spread,
        "peak demand without jitter {sync} vs with ±50 % jitter {spread}"
    );
}

#[test]
fn jitter_changes_little_after_a_blackhole() {
    // Contrast: calls into a blackhole fail at their own deadlines and
    // queued requests expire cohort by cohort, so failures are spread in
    // time and there is no wave for jitter to break up. Mean peak over
    // eight seeds, full jitter against none.
    let (on, off) = (d(0, 17, 30), d(0, 17, 40));
    let mean_peak = |jitter| {
        (1..=8)
            .map(|seed| {
                let make = |j| {
                    let mut s = Scenario::new(d(0, 17, 25), d(0, 17, 45))
                        .at(on, Act::Path(VendorPath::Blackholed))
                        .at(off, Act::Path(VendorPath::Up));
                    s.seed = seed;
                    s.cfg.traffic.retry_jitter_fraction = j;
                    s
                };
                peak_after(make, jitter, off)
            })
            .sum::<f64>()
            / 8.0
    };
    let ratio = mean_peak(0.0) / mean_peak(1.0);
    assert!(
        (0.9..=1.3).contains(&ratio),
        "no-jitter / jitter peak {ratio}"
    );
}

// ----- determinism, config, performance --------------------------------------------

fn busy_day(seed: u64) -> Scenario {
    let mut s = Scenario::new(d(0, 17, 0), d(0, 19, 0))
        .at(d(0, 17, 10), Act::Path(VendorPath::Lossy(0.2)))
        .at(d(0, 17, 30), Act::Path(VendorPath::Blackholed))
        .at(d(0, 17, 50), Act::Path(VendorPath::Up))
        .at(d(0, 18, 0), Act::Bots(SURGE))
        .at(d(0, 18, 10), Act::Crash(2))
        .at(
            d(0, 18, 30),
            Act::Mitigate(MitigationConfig {
                client_throttle_enabled: true,
                breaker_enabled: true,
                ..MitigationConfig::default().rate_limited()
            }),
        );
    s.seed = seed;
    s.cfg.traffic.retry_jitter_fraction = 0.5;
    s
}

#[test]
fn the_quiet_path_gives_the_ticks_of_the_general_one() {
    // Every run here compares the two paths tick by tick (`run_with`); this
    // one makes sure both paths have work: a busy day, then an hour with
    // the mitigations still on and the bots gone, but for a second surge
    // that finds out whether the bots' buckets refilled in the quiet.
    let mut s = busy_day(11)
        .at(d(0, 19, 0), Act::Bots(0.0))
        .at(d(0, 19, 20), Act::Bots(SURGE))
        .at(d(0, 19, 25), Act::Bots(0.0));
    s.end = d(0, 20, 0);
    QUIET_TICKS.with(|q| q.set(0));
    let (_, ticks) = run(&s);
    let quiet = QUIET_TICKS.with(|q| q.get());
    assert_eq!(ticks.len(), 10_800);
    // Quiet before the faults, between them and in the last hour; busy
    // under loss, blackhole, bots and their aftermath.
    assert!((3_000..9_000).contains(&quiet), "{quiet} quiet ticks");
    let quiet_limited = within(&ticks, d(0, 19, 30), d(0, 20, 0))
        .filter(|t| t.bot_attempts == 0 && t.retries == 0)
        .count();
    assert!(quiet_limited > 1_000, "{quiet_limited}");
}

#[test]
fn the_quiet_path_agrees_under_random_faults_and_mitigations() {
    // Faults and mitigation changes at random minutes, on small and default
    // queues and capacities, so that quiet ticks meet drained buckets, an
    // open breaker, a throttle with memory and a queue too short for one
    // tick's arrivals. `run_with` compares the paths at every tick.
    QUIET_TICKS.with(|q| q.set(0));
    let mut ticks = 0;
    for seed in 1..=12 {
        let mut pick = Seed(seed).fork("quiet-path-test", 0);
        let mut s = Scenario::new(d(0, 16, 0), d(0, 19, 0));
        s.seed = seed;
        if pick.bernoulli(0.5) {
            s.cfg.component.queue_max_requests = 3;
            s.cfg.component.replica_capacity_rps = 12.0;
            s.cfg.component.replicas_min = 1;
        }
        let mut at = s.start;
        while at < s.end {
            at += SimDuration::from_secs(30 + pick.below(600));
            let act = match pick.below(7) {
                0 => Act::Bots(if pick.bernoulli(0.5) {
                    0.0
                } else {
                    SURGE * pick.unit()
                }),
                1 => Act::Path(match pick.below(3) {
                    0 => VendorPath::Up,
                    1 => VendorPath::Lossy(pick.unit()),
                    _ => VendorPath::Blackholed,
                }),
                2 => Act::Storm(pick.bernoulli(0.3)),
                3 => Act::Slowdown(1.0 + 4.0 * pick.unit()),
                4 => Act::Crash(1 + pick.below(2) as u32),
                _ => Act::Mitigate(MitigationConfig {
                    caching_enabled: pick.bernoulli(0.5),
                    per_client_limit_enabled: pick.bernoulli(0.5),
                    global_cap_enabled: pick.bernoulli(0.5),
                    global_cap_rps: 10.0 + 40.0 * pick.unit(),
                    client_throttle_enabled: pick.bernoulli(0.5),
                    breaker_enabled: pick.bernoulli(0.5),
                    ..MitigationConfig::default()
                }),
            };
            s = s.at(at, act);
        }
        ticks += run(&s).1.len();
    }
    let quiet = QUIET_TICKS.with(|q| q.get()) as usize;
    assert_eq!(ticks, 12 * 10_800);
    assert!(
        quiet > ticks / 10 && quiet < ticks * 9 / 10,
        "{quiet} of {ticks}"
    );
}

#[test]
fn same_seed_gives_identical_ticks() {
    let (_, a) = run(&busy_day(7));
    let (_, b) = run(&busy_day(7));
    let (_, c) = run(&busy_day(8));
    assert_eq!(a.len(), 7_200);
    assert!(a == b, "same seed diverged");
    assert!(a != c, "different seeds gave the same run");
}

#[test]
fn remembered_latency_percentiles_are_the_ones_computed_afresh() {
    let quiet_then_slow = |forget| {
        let mut s = busy_day(7)
            .at(d(0, 17, 4), Act::Slowdown(3.0))
            .at(d(0, 17, 7), Act::Slowdown(1.0));
        s.forget_latencies = forget;
        run(&s).1
    };
    let remembered = quiet_then_slow(false);
    let afresh = quiet_then_slow(true);
    assert!(remembered == afresh, "the latency memo changed a tick");
    // The slowdown shows, so a memo that outlived it would be caught.
    let p99_max = |from, to| {
        within(&remembered, from, to)
            .map(|t| t.latency_p99_ms)
            .fold(0.0, f64::max)
    };
    let (before, during) = (
        p99_max(d(0, 17, 0), d(0, 17, 4)),
        p99_max(d(0, 17, 4), d(0, 17, 7)),
    );
    assert!(
        during > 2.0 * before,
        "p99 {before} ms, then {during} ms under ×3"
    );
}

#[test]
fn config_defaults_round_trip_and_errors_name_the_field() {
    let cfg = AuthConfig::default();
    assert_eq!(cfg.validate(), Ok(()));
    let json = serde_json::to_string(&cfg).unwrap();
    let back: AuthConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back, cfg);
    // Sections default individually.
    let partial: AuthConfig =
        serde_json::from_str(r#"{"component": {"replicas_max": 40}}"#).unwrap();
    assert_eq!(partial.component.replicas_max, 40);
    assert_eq!(partial.component.replica_capacity_rps, 50.0);
    let unknown = serde_json::from_str::<AuthConfig>(r#"{"component": {"replicas": 4}}"#);
    assert!(unknown.unwrap_err().to_string().contains("unknown field"));

    let mut bad = AuthConfig::default();
    bad.component.replicas_max = 2;
    assert_eq!(
        bad.validate().unwrap_err(),
        "component.replicas_max: expected at least replicas_min (3), found 2"
    );
    let mut bad = AuthConfig::default();
    bad.traffic.retry_attempts_max = 9;
    assert!(bad
        .validate()
        .unwrap_err()
        .starts_with("traffic.retry_attempts_max: expected 1 to 8, found 9"));
    let mut sys = AuthSystem::new(&AuthConfig::default());
    let m = MitigationConfig {
        breaker_cooldown_s: 5,
        ..MitigationConfig::default()
    };
    assert_eq!(
        sys.set_mitigations(m).unwrap_err(),
        "breaker_cooldown_s: expected at least the client timeout in whole seconds (10), found 5"
    );
}

/// Nine days of one-second ticks through the canonical E1–E3 timeline.
/// Timed from outside (`cargo test --release`); asserts only the count.
#[test]
fn nine_days_of_ticks() {
    let s = Scenario::new(SimTime::ZERO, d(9, 0, 0))
        .at(d(0, 17, 30), Act::Path(VendorPath::Blackholed))
        .at(d(0, 18, 15), Act::Path(VendorPath::Up))
        .at(d(3, 13, 0), Act::Bots(SURGE))
        .at(
            d(3, 15, 0),
            Act::Mitigate(MitigationConfig::default().rate_limited()),
        )
        .at(d(3, 17, 0), Act::Bots(0.0));
    let mut count = 0u64;
    let sys = run_with(&s, |_| count += 1);
    assert_eq!(count, 777_600);
    assert_eq!(sys.totals().ticks, 777_600);
}

#[test]
fn the_rate_of_a_tick_is_recalled_exactly_on_later_days() {
    let mut sys = AuthSystem::new(&AuthConfig::default());
    // Two days of ticks (the second day recalls the first's table), then
    // instants off the tick grid (computed afresh).
    let instants = (0..2 * 86_400)
        .map(SimTime::from_secs)
        .chain((0..100).map(|k| SimTime::from_micros(k * 86_400_000_000 / 100 + 1)));
    let mut seen = 0;
    for now in instants {
        let recalled = sys.legit_rate_at_tick_rps(now);
        assert_eq!(
            recalled.to_bits(),
            sys.legit_rate_rps(now).to_bits(),
            "at {now:?}"
        );
        seen += 1;
    }
    assert_eq!(seen, 2 * 86_400 + 100);
    let known = sys.rate_of_day.iter().filter(|r| !r.is_nan()).count();
    assert_eq!(known, 86_400);
}

// ----- sizes and caches (mutation-run survivors, issue 29) --------------------

#[test]
fn windows_and_rings_are_sized_from_their_seconds_and_follow_new_mitigations() {
    // 1 s ticks: the throttle's 120 s, the breaker's 10 s, the retry
    // budget's 10 s; retries reach twice the longest delay (the 60 s storm
    // reset beats the 30 s backoff ceiling) plus two ticks.
    let mut sys = AuthSystem::new(&AuthConfig::default());
    assert_eq!(sys.throttle.window_len(), 120);
    assert_eq!(sys.breaker.window_len(), 10);
    assert_eq!(sys.retry_window.len(), 10);
    assert_eq!(sys.retry_due.len(), 122);
    assert_eq!(sys.queue.len(), 11);
    // New windows are taken up; unchanged ones keep what they counted.
    sys.breaker
        .record(30, 30, d(0, 0, 0), &MitigationConfig::default());
    sys.throttle.record(40, 0);
    let kept = sys.throttle.reject_probability(2.0);
    assert!(kept > 0.9, "{kept}");
    let m = MitigationConfig {
        breaker_window_s: 20,
        ..MitigationConfig::default()
    };
    sys.set_mitigations(m.clone()).unwrap();
    assert_eq!(sys.breaker.window_len(), 20);
    assert_eq!(sys.throttle.reject_probability(2.0), kept, "throttle kept");
    let m = MitigationConfig {
        client_throttle_window_s: 30,
        ..m
    };
    sys.set_mitigations(m).unwrap();
    assert_eq!(sys.throttle.window_len(), 30);
    assert_eq!(sys.throttle.reject_probability(2.0), 0.0, "a new window");
}

#[test]
fn a_latency_change_forgets_the_remembered_percentiles() {
    let mut sys = AuthSystem::new(&AuthConfig::default());
    let mix = LatencyMix {
        local: 10,
        vendor: 90,
        timeouts: 0,
    };
    let nominal = sys.latency_percentiles_ms(&mix);
    assert_eq!(sys.latency_percentiles_ms(&mix), nominal, "remembered");
    sys.set_vendor_slowdown(4.0);
    let slow = sys.latency_percentiles_ms(&mix);
    assert!(slow.1 > 2.0 * nominal.1, "{nominal:?} -> {slow:?}");
}

/// The rank of a quantile among answers and timeouts: the timeouts are the
/// slowest, so the median of five answers and five timeouts is the fifth
/// answer, and only a rank past the answers reaches the timeout. (Issue
/// 29: `rank > answered` made `>=` survived the mutation run; with vendor
/// calls among the answers both give the timeout, as the slowest vendor
/// answer is cut at it, so the answers here are local.)
#[test]
fn a_quantile_among_the_answers_is_an_answer_not_the_timeout() {
    let sys = AuthSystem::new(&AuthConfig::default());
    let timeout_ms = AuthConfig::default().component.client_timeout_ms as f64;
    let local_ms = sys.local_s * MS_PER_S;
    let mix = LatencyMix {
        local: 5,
        vendor: 0,
        timeouts: 5,
    };
    assert_eq!(sys.latency_quantile_ms(P50, &mix), local_ms);
    assert_eq!(sys.latency_quantile_ms(0.6, &mix), timeout_ms);
    assert!(local_ms < timeout_ms);
}

/// Where a quantile falls among local answers, vendor answers and the
/// wait before them, at half-second ticks. (Issue 29, sitting 6: the
/// vendor level's `/ s` made `*` and `%`, its `q - (1 - s)` made `+`,
/// `q > 1 - s` made `>=`, and the wait's `age * dt` made `/` survived.)
#[test]
fn a_quantile_is_placed_among_local_answers_vendor_answers_and_waits() {
    let mut sys = AuthSystem::new(&AuthConfig {
        tick_ms: 500,
        ..AuthConfig::default()
    });
    let local_ms = sys.local_s * MS_PER_S;
    // Half local, half vendor: the p99 is the vendor answers' 98th
    // percentile, after the local work.
    let half = LatencyMix {
        local: 50,
        vendor: 50,
        timeouts: 0,
    };
    let p98 = sys.latency.quantile_ms(0.98);
    assert!(p98 > sys.latency.quantile_ms(0.9), "a tail to tell apart");
    assert_eq!(sys.latency_quantile_ms(P99, &half), local_ms + p98);
    // One local, one vendor: the median is the local answer (rank 1 of 2).
    let even = LatencyMix {
        local: 1,
        vendor: 1,
        timeouts: 0,
    };
    assert_eq!(sys.latency_quantile_ms(P50, &even), local_ms);
    // Ten served two ticks after they came: a wait of 2 x 0.5 s.
    sys.served_by_age[2] = 10;
    let waited = LatencyMix {
        local: 10,
        vendor: 0,
        timeouts: 0,
    };
    assert_eq!(sys.latency_quantile_ms(P50, &waited), 1_000.0 + local_ms);
}

#[test]
fn the_tick_length_changes_no_rate() {
    // At the default 1 s tick, `x * dt` and `x / dt` are the same number:
    // mutants swapping them survived the whole suite (the 86bc5c9 mutation
    // run). At 0.5 s and 2 s ticks the rates per second must not move:
    // legitimate demand (20 req/s, no diurnal swing), then a 20x surge on
    // a component fixed at 3 pods (150 req/s served).
    let per_s = |tick_ms: u64| {
        let mut s = Scenario::new(d(1, 0, 0), d(1, 0, 20)).at(d(1, 0, 10), Act::Bots(20.0));
        s.cfg.tick_ms = tick_ms;
        s.cfg.traffic.diurnal_amplitude_fraction = 0.0;
        s.cfg.traffic.retry_attempts_max = 1;
        s.cfg.component.replicas_max = 3;
        s.cfg.component.nodes_max = s.cfg.component.nodes_initial;
        let (_, ticks) = run(&s);
        let rate = |from: SimTime, to: SimTime, f: &dyn Fn(&AuthTick) -> u64| {
            let n: u64 = within(&ticks, from, to).map(f).sum();
            n as f64 / secs_between(from, to) as f64
        };
        let quiet = (d(1, 0, 1), d(1, 0, 10));
        let surge = (d(1, 0, 12), d(1, 0, 20));
        (
            rate(quiet.0, quiet.1, &|t| u64::from(t.legit_attempts)),
            rate(quiet.0, quiet.1, &|t| u64::from(t.vendor_calls)),
            rate(surge.0, surge.1, &|t| u64::from(t.bot_ok)),
        )
    };
    let (legit, calls, bots_served) = per_s(1_000);
    assert!((19.0..=21.0).contains(&legit), "{legit}");
    // 150 req/s served (3 pods), most of it bots (answered: by the
    // component's own refusal, or 2 % by the vendor). Measured 142.8.
    assert!((135.0..=150.0).contains(&bots_served), "{bots_served}");
    for tick_ms in [500, 2_000] {
        let (l, c, b) = per_s(tick_ms);
        assert!(
            (l / legit - 1.0).abs() < 0.05,
            "{tick_ms} ms: {l} vs {legit}"
        );
        assert!(
            (c / calls - 1.0).abs() < 0.05,
            "{tick_ms} ms: {c} vs {calls}"
        );
        assert!(
            (b / bots_served - 1.0).abs() < 0.05,
            "{tick_ms} ms: {b} vs {bots_served}"
        );
    }
}

#[test]
fn the_accessors_report_what_the_run_did() {
    // What the world reads off the auth system at the end of a run: the
    // accessors' mutants (a constant or a default instead) survived the
    // mutants' test command, whose callers are elsewhere (issue 29).
    let mut s = Scenario::new(d(3, 12, 50), d(3, 13, 30)).at(d(3, 13, 0), Act::Bots(SURGE));
    s.cfg.autoscaler.scale_events_kept_max = 2;
    let (sys, ticks) = run(&s);
    assert_eq!(sys.config(), &s.cfg);
    let attempts: u64 = ticks.iter().map(|t| u64::from(t.legit_attempts)).sum();
    let fresh: u64 = ticks.iter().map(|t| u64::from(t.legit_fresh)).sum();
    let amp = attempts as f64 / fresh as f64;
    assert!(amp > 1.5, "{amp}");
    assert!((sys.retry_amplification() - amp).abs() < 1e-9);
    assert_eq!(sys.scale_events().len(), 2);
    assert!(
        sys.scale_events_dropped() >= 2,
        "{}",
        sys.scale_events_dropped()
    );
    // The breaker, on, opens behind a blackholed vendor path.
    let mut s =
        Scenario::new(d(1, 17, 0), d(1, 17, 3)).at(d(1, 17, 0), Act::Path(VendorPath::Blackholed));
    s.cfg.mitigations.breaker_enabled = true;
    let (sys, _) = run(&s);
    assert_ne!(sys.breaker_state(), BreakerState::Closed);
}

/// Every request ends answered or counted as failed, whichever way it
/// failed: expired in the queue, past a vendor deadline, answered 429 by
/// the vendor, failed fast by the open breaker, stopped by the per-client
/// limit or the global cap. Over a run whose surge ends well before its end (nothing left in
/// the queue or in flight), `bot_attempts` is `bot_ok + bot_failed` and
/// `legit_attempts` is `legit_ok + legit_failed` exactly, with and without
/// the mitigations. (Issue 29: with any one of
/// the failure paths' counts dropped, the mutation run found no test that
/// noticed.)
#[test]
fn every_request_is_answered_or_counted_as_failed() {
    for mitigated in [false, true] {
        let mut s = Scenario::new(d(3, 12, 50), d(3, 14, 0))
            .at(d(3, 13, 0), Act::Bots(SURGE))
            .at(d(3, 13, 10), Act::Path(VendorPath::Blackholed))
            .at(d(3, 13, 20), Act::Path(VendorPath::Up))
            .at(d(3, 13, 25), Act::Storm(true))
            .at(d(3, 13, 30), Act::Storm(false))
            .at(d(3, 13, 40), Act::Bots(0.0));
        if mitigated {
            let mut m = MitigationConfig::default().rate_limited();
            m.breaker_enabled = true;
            m.breaker_calls_min = 10;
            s = s.at(d(3, 12, 50), Act::Mitigate(m));
        }
        let (sys, ticks) = run(&s);
        let sum = |f: fn(&AuthTick) -> u32| ticks.iter().map(|t| u64::from(f(t))).sum::<u64>();
        // The run's totals (what the summary's auth line reports) are the
        // ticks' sums.
        let t = sys.totals();
        let sums = AuthTotals {
            ticks: ticks.len() as u64,
            legit_fresh: sum(|t| t.legit_fresh),
            legit_attempts: sum(|t| t.legit_attempts),
            legit_ok: sum(|t| t.legit_ok),
            legit_failed: sum(|t| t.legit_failed),
            legit_abandoned: sum(|t| t.legit_abandoned),
            bot_attempts: sum(|t| t.bot_attempts),
            vendor_calls: sum(|t| t.vendor_calls),
            vendor_429: sum(|t| t.vendor_429),
        };
        assert_eq!(*t, sums);
        assert!(t.vendor_429 > 0, "the storm answers 429s");
        let bots = sum(|t| t.bot_attempts);
        assert!(bots > 1_000_000, "mitigated {mitigated}: {bots} bots");
        // Legitimate attempts as bots (a failed one may come back as a
        // retry, a new attempt of its own).
        let failed = sum(|t| t.bot_failed);
        for (who, attempts, ok, failed) in [
            ("automated", bots, sum(|t| t.bot_ok), failed),
            ("legitimate", t.legit_attempts, t.legit_ok, t.legit_failed),
        ] {
            assert!(
                ok > 0 && failed > 0,
                "mitigated {mitigated}: {who}: {ok} ok, {failed} failed"
            );
            assert_eq!(
                attempts,
                ok + failed,
                "mitigated {mitigated}: {who}: {attempts} attempts, {ok} ok, {failed} failed"
            );
        }
        // Each legitimate failure comes back as a retry or is abandoned
        // (its attempts or the retry budget used up), once: none lost,
        // none counted twice. (Issue 29: with the failures of the last
        // attempt added to the abandoned instead of left over, the
        // mutation run found no test that noticed.)
        let pending: u64 = sys.retry_due.iter().map(total).sum();
        assert_eq!(
            t.legit_failed,
            sum(|t| t.retries) + t.legit_abandoned + pending,
            "mitigated {mitigated}: {} failed, {} retried, {} abandoned, {pending} pending",
            t.legit_failed,
            sum(|t| t.retries),
            t.legit_abandoned
        );
        assert!(
            t.legit_abandoned > 0,
            "mitigated {mitigated}: none abandoned"
        );
        let last = ticks.last().unwrap();
        assert_eq!((last.queue_len, last.slots_held), (0, 0), "drained");
        if mitigated {
            let limited = sum(|t| t.bot_client_limited);
            assert!(
                limited > 0 && limited < failed,
                "{limited} limited of {failed}"
            );
            let open = ticks
                .iter()
                .filter(|t| t.breaker == BreakerState::Open)
                .count();
            assert!(open > 0, "the breaker opened during the blackhole");
        }
    }
}

/// A crash takes the slots its pods' calls held: during a blackhole every
/// slot of the 3 ready pods is held by a call into it (96), and losing 2
/// of them leaves the calls of one pod (32), not all 96 held by nobody.
#[test]
fn a_crash_releases_the_slots_its_pods_held() {
    let s = Scenario::new(d(0, 17, 20), d(0, 17, 45))
        .at(d(0, 17, 30), Act::Path(VendorPath::Blackholed))
        .at(d(0, 17, 40), Act::Crash(2));
    let (_, ticks) = run(&s);
    let before = within(&ticks, d(0, 17, 39), d(0, 17, 40)).last().unwrap();
    assert_eq!((before.replicas_ready, before.slots_held), (3, 96));
    let after = within(&ticks, d(0, 17, 40), d(0, 17, 41)).next().unwrap();
    assert_eq!(after.replicas_ready, 1);
    // Each tick's releases are scaled by 1/3 and rounded down.
    assert!((24..=32).contains(&after.slots_held), "{after:?}");
}

/// The vendor slowdown of [`a_breaker_that_never_opens_changes_nothing`].
const SLOW: f64 = 8.0;

/// A breaker that never opens changes nothing: with a slow vendor (its
/// calls hold the in-flight slots, which then bind) whose calls still
/// succeed, the run with the breaker on gives the very ticks of the run
/// without it (but the breaker's own state). (Issue 29: the slot cost of a
/// served request counted no vendor call whenever the breaker was merely
/// enabled, and no test noticed.)
#[test]
fn a_breaker_that_never_opens_changes_nothing() {
    let base = Scenario::new(d(1, 12, 50), d(1, 13, 30)).at(d(1, 13, 0), Act::Slowdown(SLOW));
    let (_, without) = run(&base);
    let mut with = base;
    with.cfg.mitigations.breaker_enabled = true;
    let (_, with) = run(&with);
    assert!(with.iter().all(|t| t.breaker == BreakerState::Closed));
    assert!(
        without.iter().any(|t| t.served_bound_by_slots),
        "the slots bind"
    );
    assert_eq!(with.len(), without.len());
    for (a, b) in with.iter().zip(&without) {
        assert_eq!(
            AuthTick {
                breaker: b.breaker,
                ..*a
            },
            *b
        );
    }
}

/// The slot-seconds a served request is expected to hold: its local work,
/// plus, for the share that calls the vendor, a lost call's whole timeout,
/// a timed-out call's timeout and an answered call's mean latency, each by
/// its share (below the tick's length, which no slot outlasts in a tick).
/// Set by hand because the slots rarely bind unclamped in a run: a vendor
/// slow enough to fill them mostly fills a whole tick (issue 29: three
/// survivors in this formula).
#[test]
fn the_slot_cost_weighs_lost_timed_out_and_answered_calls() {
    let mut cfg = AuthConfig::default();
    // A tick as long as the client timeout: no cost below it is clamped.
    cfg.tick_ms = cfg.component.client_timeout_ms;
    let mut sys = AuthSystem::new(&cfg);
    sys.set_vendor_slowdown(SLOW_FOR_TIMEOUTS);
    let (local, timeout) = (sys.local_s, sys.timeout_s);
    let q = sys.latency.timeout_fraction();
    let answer = sys.latency.mean_ms() / MS_PER_S;
    assert!((0.05..0.5).contains(&q), "a share of calls times out: {q}");
    assert!(answer > 2.0 * local && answer < timeout, "{answer} s");
    assert_eq!(
        sys.slot_cost_s(0.0),
        local,
        "no vendor call: local work only"
    );
    let up = sys.slot_cost_s(1.0);
    let up_vendor = q * timeout + (1.0 - q) * answer;
    assert!((up - (local + up_vendor)).abs() < 1e-9, "{up}");
    sys.set_vendor_path(VendorPath::Lossy(0.1));
    let lossy = sys.slot_cost_s(1.0);
    assert!(
        (lossy - (local + 0.1 * timeout + 0.9 * up_vendor)).abs() < 1e-9,
        "{lossy}"
    );
    assert!(lossy < sys.dt_s, "unclamped");
    let half = sys.slot_cost_s(0.5);
    assert!((half - (local + lossy) / 2.0).abs() < 1e-9, "{half}");
}

/// The vendor slowdown of [`the_slot_cost_weighs_lost_timed_out_and_answered_calls`].
const SLOW_FOR_TIMEOUTS: f64 = 40.0;

/// A legitimate request that times out is counted in the latency
/// percentiles at the client timeout, whichever way it timed out: a call
/// lost on a lossy vendor path, held to its deadline (the queue empty), or
/// a request that waited in the queue until its client gave up while every
/// pod was down (no vendor call at all). In both, every tick with a
/// timeout has its p99 at the timeout. (Issue 29: with either count
/// dropped from the percentiles, no test noticed.)
#[test]
fn timeouts_set_the_p99_whether_lost_at_the_vendor_or_in_the_queue() {
    let timeout_ms = AuthConfig::default().component.client_timeout_ms as f64;
    let lossy = Scenario::new(d(1, 12, 0), d(1, 12, 10))
        .at(d(1, 12, 1), Act::Path(VendorPath::Lossy(0.05)));
    let (_, ticks) = run(&lossy);
    let w: Vec<_> = within(&ticks, d(1, 12, 3), d(1, 12, 10)).collect();
    assert!(w
        .iter()
        .all(|t| t.queue_len == 0 && t.legit_client_timeout == 0));
    let lost: Vec<_> = w
        .iter()
        .filter(|t| t.legit_vendor_unreachable > 0)
        .collect();
    assert!(
        lost.len() * 2 > w.len(),
        "{} of {} ticks lose calls",
        lost.len(),
        w.len()
    );
    assert!(lost.iter().all(|t| t.latency_p99_ms == timeout_ms));

    let down = Scenario::new(d(1, 12, 0), d(1, 12, 3)).at(d(1, 12, 1), Act::Crash(3));
    let (_, ticks) = run(&down);
    let w: Vec<_> = within(&ticks, d(1, 12, 1), d(1, 12, 3)).collect();
    assert!(w
        .iter()
        .all(|t| t.legit_vendor_timeout + t.legit_vendor_unreachable == 0));
    let expired: Vec<_> = w.iter().filter(|t| t.legit_client_timeout > 0).collect();
    assert!(expired.len() >= 40, "{} ticks with expiries", expired.len());
    assert!(expired.iter().all(|t| t.latency_p99_ms == timeout_ms));
}

/// An answered vendor call holds its in-flight slot for its local work and
/// the vendor's mean latency, in whole ticks: none beyond the tick at the
/// usual ~0.2 s, three at a 20x slowdown, never past the client timeout.
/// (Issue 29: with no hold, or always one tick, no test noticed.)
#[test]
fn an_answered_call_holds_its_slot_for_its_latency() {
    let cfg = AuthConfig::default();
    let mut sys = AuthSystem::new(&cfg);
    let hold_s = |sys: &AuthSystem| sys.local_s + sys.latency.mean_ms() / MS_PER_S;
    assert!(hold_s(&sys) < 0.5, "{}", hold_s(&sys));
    assert_eq!(sys.answer_hold_ticks(), None);
    sys.set_vendor_slowdown(20.0);
    assert!((2.5..3.5).contains(&hold_s(&sys)), "{}", hold_s(&sys));
    assert_eq!(sys.answer_hold_ticks(), Some(3));
    sys.set_vendor_slowdown(200.0);
    let timeout_ticks = cfg.component.client_timeout_ms / cfg.tick_ms;
    assert_eq!(sys.answer_hold_ticks(), Some(timeout_ticks));
    // Ticks of half a second: the same hold is twice as many ticks. (At the
    // default 1 s tick, dividing by the tick and multiplying by it are one;
    // the mutation run found that no test told them apart.)
    let half = AuthConfig {
        tick_ms: 500,
        ..cfg.clone()
    };
    let mut sys = AuthSystem::new(&half);
    sys.set_vendor_slowdown(20.0);
    let expected = (hold_s(&sys) / 0.5).round() as u64;
    assert!((5..=7).contains(&expected), "{expected}");
    assert_eq!(sys.answer_hold_ticks(), Some(expected));
}

/// Where `schedule_retries` puts each retry: the ring offsets (in ticks
/// from this one) that hold retries of the second attempt.
fn retry_offsets(sys: &AuthSystem) -> Vec<u64> {
    let ring = sys.retry_due.len() as u64;
    let here = sys.tick_no % ring;
    (0..ring)
        .filter(|&slot| sys.retry_due[slot as usize][1] > 0)
        .map(|slot| (slot + ring - here) % ring)
        .collect()
}

/// A failed first attempt comes back after its backoff, in ticks of the
/// configured length; never before the reset a 429 gave it; and a wait
/// longer than the ring holds is kept at the ring's far end, never wrapped
/// round to now. Half-second ticks, so that dividing by the tick and
/// multiplying by it differ. (Issue 29: the mutation run found no test
/// that noticed either division made a multiplication or a remainder, or
/// the ring's last offset moved.)
#[test]
fn a_retry_waits_its_backoff_and_never_comes_before_its_reset() {
    let mut cfg = AuthConfig {
        tick_ms: 500,
        ..AuthConfig::default()
    };
    cfg.traffic.retry_jitter_fraction = 0.2;
    let backoff_s = cfg.traffic.retry_backoff_base_ms as f64 / MS_PER_S;
    let mut failed = NONE;
    failed[0] = 1_000;
    let mut rng = Seed(1).fork("auth", 0);

    // No reset: the backoff, ±20 %, in half-second ticks (1 s: 0.8 s and
    // 1.2 s both round to tick 2).
    let mut sys = AuthSystem::new(&cfg);
    let (scheduled, abandoned) = sys.schedule_retries(&failed, 0.0, 1_000, 0, &mut rng);
    assert_eq!((scheduled, abandoned), (1_000, 0));
    let lo = (backoff_s * 0.8 / 0.5).round() as u64;
    let hi = (backoff_s * 1.2 / 0.5).round() as u64;
    assert_eq!(retry_offsets(&sys), (lo..=hi).collect::<Vec<_>>());

    // A 429 whose reset is 7.3 s away: nothing before 15 ticks (7.5 s).
    let mut sys = AuthSystem::new(&cfg);
    sys.schedule_retries(&failed, 7.3, 1_000, 0, &mut rng);
    let offsets = retry_offsets(&sys);
    assert_eq!(offsets.first(), Some(&15), "{offsets:?}");
    // The reset, stretched by the jitter: 7.3 s × 1.2 = 8.76 s, 18 ticks.
    assert_eq!(offsets.last(), Some(&18), "{offsets:?}");

    // A reset beyond the ring: every retry at its last offset.
    let mut sys = AuthSystem::new(&cfg);
    let ring = sys.retry_due.len() as u64;
    sys.schedule_retries(&failed, ring as f64, 1_000, 0, &mut rng);
    assert_eq!(retry_offsets(&sys), vec![ring - 1]);
}

/// Retries per tick over `offsets` (ticks from now), attempt 2.
fn retry_counts(sys: &AuthSystem, offsets: std::ops::RangeInclusive<u64>) -> Vec<u64> {
    let ring = sys.retry_due.len() as u64;
    let here = sys.tick_no % ring;
    offsets
        .map(|k| sys.retry_due[((here + k) % ring) as usize][1])
        .collect()
}

/// Retries spread evenly over the ticks the jitter allows, and the part
/// that does not divide evenly starts at a random one of them: over many
/// tries, the one retry left over lands on every tick of the spread, not
/// always on the first. An even split, or a spread of one tick, draws
/// nothing. (Issue 29: the mutation run found no test that noticed the
/// remainder always put on the first tick, or a draw taken for nothing:
/// `rem > 0 && span > 1` made `rem < 0`, `rem == 0`, `||`, `span == 1`,
/// `span < 1` all passed.)
#[test]
fn a_remainder_of_retries_starts_at_a_random_tick_and_an_even_split_draws_nothing() {
    let mut cfg = AuthConfig::default();
    // A 4 s backoff, ±50 %: ticks 2 to 6 at the default 1 s tick.
    cfg.traffic.retry_backoff_base_ms = 4_000;
    cfg.traffic.retry_jitter_fraction = 0.5;
    let spread = 2..=6;
    let mut rng = Seed(1).fork("auth", 0);
    let mut failed = NONE;

    // Six retries over five ticks: one each and one more somewhere.
    failed[0] = 6;
    let mut extra_at = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let mut sys = AuthSystem::new(&cfg);
        assert_eq!(
            sys.schedule_retries(&failed, 0.0, 1_000, 0, &mut rng),
            (6, 0)
        );
        let counts = retry_counts(&sys, spread.clone());
        let mut sorted = counts.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [1, 1, 1, 1, 2], "{counts:?}");
        extra_at.insert(counts.iter().position(|&n| n == 2).unwrap());
    }
    assert_eq!(extra_at, (0..5).collect(), "the extra retry's tick");

    // Ten over five: two each, and the stream is left as it was.
    failed[0] = 10;
    let before = rng.clone();
    let mut sys = AuthSystem::new(&cfg);
    sys.schedule_retries(&failed, 0.0, 1_000, 0, &mut rng);
    assert_eq!(retry_counts(&sys, spread), [2; 5]);
    assert_eq!(rng.clone().next_u64(), before.clone().next_u64(), "no draw");

    // No jitter: seven on one tick, and no draw either.
    cfg.traffic.retry_jitter_fraction = 0.0;
    failed[0] = 7;
    let mut sys = AuthSystem::new(&cfg);
    sys.schedule_retries(&failed, 0.0, 1_000, 0, &mut rng);
    assert_eq!(retry_counts(&sys, 3..=5), [0, 7, 0]);
    assert_eq!(rng.clone().next_u64(), before.clone().next_u64(), "no draw");
}

/// Day figures of the auth path run tick by tick or, where
/// `quiet_span_ticks` allows, in spans.
#[derive(Debug, Default)]
struct DayFigures {
    attempts: u64,
    ok: u64,
    vendor_calls: u64,
    p99_ms_max: f64,
    replicas_max: u32,
    ticks_in_spans: u64,
    ticks: u64,
}

fn quiet_day(seed: u64, span_max: u32) -> DayFigures {
    quiet_day_with(
        seed,
        span_max,
        MitigationConfig::default(),
        VendorConfig::default(),
    )
}

fn quiet_day_with(
    seed: u64,
    span_max: u32,
    mitigations: MitigationConfig,
    vendor: VendorConfig,
) -> DayFigures {
    let cfg = AuthConfig {
        quiet_span_ticks_max: span_max,
        mitigations,
        vendor,
        ..AuthConfig::default()
    };
    let mut auth = AuthSystem::new(&cfg);
    let mut rng = Seed(seed).fork("auth", 0);
    let mut f = DayFigures::default();
    let mut s = 0;
    while s < 86_400 {
        let now = SimTime::from_secs(s);
        let k = auth.quiet_span_ticks(now, (86_400 - s) as u32);
        if k >= 2 {
            let span = auth.handle_quiet_span(now, k, &mut rng);
            f.attempts += span.legit_attempts;
            f.ok += span.legit_ok;
            f.vendor_calls += span.vendor_calls;
            f.p99_ms_max = f.p99_ms_max.max(span.latency_p99_ms_max);
            f.replicas_max = f.replicas_max.max(span.replicas_total);
            f.ticks_in_spans += u64::from(k);
            s += u64::from(k);
        } else {
            let t = auth.handle_tick(now, &mut rng);
            f.attempts += u64::from(t.legit_attempts);
            f.ok += u64::from(t.legit_ok);
            f.vendor_calls += u64::from(t.vendor_calls);
            f.p99_ms_max = f.p99_ms_max.max(t.latency_p99_ms);
            f.replicas_max = f.replicas_max.max(t.replicas_total);
            s += 1;
        }
    }
    f.ticks = auth.totals().ticks;
    f
}

#[test]
fn quiet_spans_draw_the_days_requests_as_the_ticks_do() {
    // Ten quiet days each way. The day's arrivals are Poisson with the
    // same mean either way (1,728,000): the two means over ten days differ
    // by less than four standard errors (1,315 a day); every request
    // calls the vendor (nothing cached), all succeed but the rare slow
    // call, the autoscaler keeps the same replicas, and the worst p99 of
    // the day stays within 2 % of the stepped one (spans spread their
    // arrivals evenly, so they miss a busy second's tail).
    let (mut stepped, mut spanned) = (Vec::new(), Vec::new());
    for seed in 1..=10 {
        stepped.push(quiet_day(seed, 0));
        spanned.push(quiet_day(seed, 60));
    }
    let mean = |v: &[DayFigures], f: fn(&DayFigures) -> u64| {
        v.iter().map(f).sum::<u64>() as f64 / v.len() as f64
    };
    for v in [&stepped, &spanned] {
        assert!(v.iter().all(|d| d.ticks == 86_400), "every tick counted");
        assert!((mean(v, |d| d.attempts) - 1_728_000.0).abs() < 4.0 * 1_315.0 / 10f64.sqrt());
        assert!(v.iter().all(|d| d.vendor_calls == d.attempts));
        assert!(v.iter().all(|d| d.attempts - d.ok < 10), "{:?}", v[0]);
    }
    let gap = mean(&stepped, |d| d.attempts) - mean(&spanned, |d| d.attempts);
    assert!(gap.abs() < 4.0 * 1_315.0 * (2.0f64 / 10.0).sqrt(), "{gap}");
    assert!(stepped.iter().all(|d| d.ticks_in_spans == 0));
    for (a, b) in stepped.iter().zip(&spanned) {
        assert!(
            b.ticks_in_spans > 80_000,
            "most ticks in spans: {}",
            b.ticks_in_spans
        );
        assert_eq!(a.replicas_max, b.replicas_max);
        assert!(
            (b.p99_ms_max - a.p99_ms_max).abs() < 0.02 * a.p99_ms_max,
            "{} against {}",
            b.p99_ms_max,
            a.p99_ms_max
        );
    }
}

#[test]
fn quiet_spans_pass_through_limits_and_a_breaker_that_do_not_bind() {
    // The flagship's rate limit (per-client limits and the global cap)
    // and the breaker, on through ten quiet days each way: at the
    // defaults nothing is limited or tripped, so spans run through them
    // (the edge's buckets and the breaker's window moved tick by tick)
    // and the day's counts agree as without them.
    let m = MitigationConfig {
        breaker_enabled: true,
        ..MitigationConfig::default().rate_limited()
    };
    let (mut stepped, mut spanned) = (Vec::new(), Vec::new());
    for seed in 1..=10 {
        stepped.push(quiet_day_with(seed, 0, m.clone(), VendorConfig::default()));
        spanned.push(quiet_day_with(seed, 60, m.clone(), VendorConfig::default()));
    }
    let mean = |v: &[DayFigures]| v.iter().map(|d| d.attempts).sum::<u64>() as f64 / 10.0;
    for v in [&stepped, &spanned] {
        assert!(v.iter().all(|d| d.ticks == 86_400));
        assert!((mean(v) - 1_728_000.0).abs() < 4.0 * 1_315.0 / 10f64.sqrt());
        assert!(v.iter().all(|d| d.attempts - d.ok < 10), "{:?}", v[0]);
    }
    let gap = mean(&stepped) - mean(&spanned);
    assert!(gap.abs() < 4.0 * 1_315.0 * (2.0f64 / 10.0).sqrt(), "{gap}");
    for (a, b) in stepped.iter().zip(&spanned) {
        assert!(b.ticks_in_spans > 80_000, "{}", b.ticks_in_spans);
        assert_eq!(a.replicas_max, b.replicas_max);
    }
}

#[test]
fn slow_calls_in_long_spans_time_out_after_them_as_stepped() {
    // A vendor with a long tail (median 120 ms, p99 3 s): 0.07 % of
    // calls, some 1,200 a day, outlast the 10 s client timeout. Spans of
    // up to 60 ticks (15 between syncs, longer than the timeout) put
    // their slow calls in their last 10 ticks, so each deadline falls
    // after the span and a later tick times it out (a deadline inside a
    // span would be skipped: `handle_quiet_span` asserts it cannot be).
    // Over five days each way the failures agree within four standard
    // errors.
    let vendor = VendorConfig {
        vendor_latency_p99_ms: 3_000.0,
        ..VendorConfig::default()
    };
    let (mut stepped, mut spanned) = (Vec::new(), Vec::new());
    for seed in 1..=5 {
        let m = MitigationConfig::default();
        stepped.push(quiet_day_with(seed, 0, m.clone(), vendor.clone()));
        spanned.push(quiet_day_with(seed, 60, m, vendor.clone()));
    }
    let failed = |v: &[DayFigures]| v.iter().map(|d| d.attempts - d.ok).sum::<u64>() as f64;
    let (a, b) = (failed(&stepped), failed(&spanned));
    assert!(a > 3_000.0 && b > 3_000.0, "{a} {b}");
    assert!((a - b).abs() < 4.0 * (a + b).sqrt(), "{a} against {b}");
    assert!(
        spanned.iter().all(|d| d.ticks_in_spans > 40_000),
        "{:?}",
        spanned[0]
    );
}

#[test]
fn a_breaker_with_a_failure_in_its_window_refuses_spans() {
    // One second of a blackholed vendor: its calls fail at their deadline
    // ten ticks on. Without the breaker, spans resume once that deadline
    // has passed; with it, only once the failure has left its window (10
    // s): successes alone could bring the window to its minimum of calls
    // with the failure still in it, and open the breaker.
    let first_span_after_a_lost_second = |breaker_enabled: bool| {
        let cfg = AuthConfig {
            quiet_span_ticks_max: 10,
            mitigations: MitigationConfig {
                breaker_enabled,
                ..MitigationConfig::default()
            },
            ..AuthConfig::default()
        };
        let mut auth = AuthSystem::new(&cfg);
        let mut rng = Seed(1).fork("auth", 0);
        for s in 0..1_800 {
            auth.handle_tick(SimTime::from_secs(s), &mut rng);
        }
        auth.set_vendor_path(VendorPath::Blackholed);
        auth.handle_tick(SimTime::from_secs(1_800), &mut rng);
        auth.set_vendor_path(VendorPath::Up);
        let mut s = 1_801;
        while auth.quiet_span_ticks(SimTime::from_secs(s), 10) < 2 {
            auth.handle_tick(SimTime::from_secs(s), &mut rng);
            s += 1;
        }
        s
    };
    assert_eq!(
        (
            first_span_after_a_lost_second(false),
            first_span_after_a_lost_second(true)
        ),
        (1_812, 1_821)
    );
}

#[test]
fn a_span_is_refused_where_a_tick_could_fail_limit_or_trip() {
    let on = AuthConfig {
        quiet_span_ticks_max: 10,
        ..AuthConfig::default()
    };
    // After half an hour, the node the autoscaler does not need is gone
    // (10 min unneeded), so the autoscaler is steady; one second after a
    // sync, 14 ticks to the next (a sync only at a span's last tick).
    let t0 = SimTime::from_secs(1_801);
    let spans_of = |auth: &mut AuthSystem, at_most: u32| {
        let mut rng = Seed(1).fork("auth", 0);
        for s in 0..1_801 {
            auth.handle_tick(SimTime::from_secs(s), &mut rng);
        }
        auth.quiet_span_ticks(t0, at_most)
    };
    let spans = |auth: &mut AuthSystem| spans_of(auth, 60);
    let off = AuthConfig {
        quiet_span_ticks_max: 0,
        ..AuthConfig::default()
    };
    assert_eq!(spans(&mut AuthSystem::new(&off)), 0, "off");
    assert_eq!(
        AuthConfig::default().quiet_span_ticks_max,
        60,
        "on by default"
    );
    // Longer than the client timeout (10 ticks): up to the next sync, on
    // the span's last tick, 15 ticks from here.
    let long = AuthConfig {
        quiet_span_ticks_max: 60,
        ..on.clone()
    };
    assert_eq!(spans(&mut AuthSystem::new(&long)), 15, "to the sync");
    assert_eq!(
        spans(&mut AuthSystem::new(&on)),
        10,
        "quiet: the longest span"
    );
    let mut bots = AuthSystem::new(&on);
    bots.set_bot_multiplier(1.0);
    assert_eq!(spans(&mut bots), 0, "bots");
    let mut down = AuthSystem::new(&on);
    down.set_vendor_path(VendorPath::Blackholed);
    assert_eq!(spans(&mut down), 0, "the vendor unreachable");
    let with = |m: MitigationConfig| {
        let mut auth = AuthSystem::new(&on);
        auth.set_mitigations(m).expect("valid");
        spans(&mut auth)
    };
    // Mitigations that cannot bind leave spans alone: the breaker closed
    // with no failure in its window, the default rate limit (the
    // flagship's E3), whose heavy clients' buckets (10 req/s, 100 of
    // burst) cover 12.75 a tick for ten ticks from full.
    let m = MitigationConfig::default();
    let breaker = MitigationConfig {
        breaker_enabled: true,
        ..m.clone()
    };
    assert_eq!(with(breaker), 10, "a quiet breaker");
    assert_eq!(with(m.clone().rate_limited()), 10, "room in every limit");
    // Those that could bind refuse them: the throttle; a global cap of
    // 20 req/s with a burst of 20; per-client limits of 0.2 req/s with a
    // burst of 2 (the heavy clients' bucket: 2 a second, 20 full).
    let throttle = MitigationConfig {
        client_throttle_enabled: true,
        ..m.clone()
    };
    assert_eq!(with(throttle), 0, "the throttle");
    let cap = MitigationConfig {
        global_cap_enabled: true,
        global_cap_rps: 20.0,
        global_cap_burst_requests: 20.0,
        ..m.clone()
    };
    assert_eq!(with(cap), 0, "a global cap that binds");
    let per_client = MitigationConfig {
        per_client_limit_enabled: true,
        per_client_limit_rps: 0.2,
        per_client_burst_requests: 2.0,
        ..m.clone()
    };
    assert_eq!(with(per_client), 0, "per-client limits that bind");
    // Where the ticks before were not limited (at night), what decides is
    // whether the buckets' levels last the span: a global cap refilling
    // 40 a tick drains by 7 a tick at the span's most (47), which a burst
    // of 150 covers for ten ticks and one of 30 does not; the heavy
    // clients' bucket at 0.9 req/s (9 a tick) and a burst of 1 each
    // (10 in all) cannot cover 12.75 a tick.
    let cap_of = |burst: f64| MitigationConfig {
        global_cap_enabled: true,
        global_cap_rps: 40.0,
        global_cap_burst_requests: burst,
        ..m.clone()
    };
    assert_eq!((with(cap_of(150.0)), with(cap_of(30.0))), (10, 0));
    let heavy_tight = MitigationConfig {
        per_client_limit_enabled: true,
        per_client_limit_rps: 0.9,
        per_client_burst_requests: 1.0,
        ..m.clone()
    };
    assert_eq!(with(heavy_tight), 0, "the heavy clients' bucket");
    // Too little room: a vendor refilling 40 tokens a second covers the
    // day's peak (30 req/s) tick by tick, but not the most a span of ten
    // can put in one tick (46, eight standard deviations up).
    let tight = AuthConfig {
        vendor: VendorConfig {
            vendor_rate_rps: 40.0,
            ..VendorConfig::default()
        },
        ..on.clone()
    };
    assert_eq!(spans(&mut AuthSystem::new(&tight)), 0, "no room");
    // Room is checked for the span returned, and a shorter one can put
    // more in a tick: with a vendor refilling 60 tokens a second, ten
    // ticks fit (at most 46 a tick), two do not (at most 71).
    let mid = AuthConfig {
        vendor: VendorConfig {
            vendor_rate_rps: 60.0,
            ..VendorConfig::default()
        },
        ..on.clone()
    };
    assert_eq!(spans_of(&mut AuthSystem::new(&mid), 10), 10);
    assert_eq!(spans_of(&mut AuthSystem::new(&mid), 2), 0);
    assert_eq!(spans_of(&mut AuthSystem::new(&on), 2), 2);
}
