//! Reports: the summary of a finished world, the terminal text, and the
//! files a run leaves behind.
//!
//! Map of the modules:
//! - this file: [`render_text`], the terminal text;
//! - [`summary`]: the [`Summary`], the typed outcome written out (what
//!   `summary.json` and `cascade run --json` hold), and [`summarize`];
//! - [`series`]: per-minute series for charts and counters;
//! - [`svg`]: small hand-written SVG charts (why not a crate: see there);
//! - [`html`]: `report.html` and the `cascade compare` page;
//! - [`markdown`]: the `summary.md` page;
//! - [`perfetto`]: `trace.json` in the Chrome trace-event format;
//! - [`folder`]: the run folder and `reports/latest`.

pub mod folder;
pub mod html;
pub mod markdown;
pub mod perfetto;
pub mod series;
pub mod summary;
pub mod svg;

use crate::outcome::IncidentKind;
use std::fmt::Write as _;
pub use summary::{summarize, Summary};

/// `45 min` or `2.5 h`.
pub(crate) fn hours(s: f64) -> String {
    if s < 3_600.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3_600.0)
    }
}

/// The readable terminal summary (without the leading seed line and the
/// trailing reproduction line, which the command prints itself), section
/// by section.
pub fn render_text(s: &Summary) -> String {
    let mut o = String::new();
    text_header(&mut o, s);
    text_key_events(&mut o, s);
    text_damage(&mut o, s);
    text_customer_changes(&mut o, s);
    text_surfaces(&mut o, s);
    text_incidents(&mut o, s);
    text_restore(&mut o, s);
    text_auth(&mut o, s);
    text_guards_and_findings(&mut o, s);
    text_expectations(&mut o, s);
    let _ = writeln!(o, "\ntrace hash {}   commit {}", s.trace_hash, s.commit);
    o
}

/// The scenario, its window and its size.
fn text_header(o: &mut String, s: &Summary) {
    let _ = writeln!(o, "scenario  {} ({})", s.scenario, s.source);
    if !s.description.is_empty() {
        let _ = writeln!(o, "          {}", s.description);
    }
    let _ = writeln!(
        o,
        "window    {} .. {}   {} clusters   {} events ({})",
        s.start, s.end, s.clusters, s.events, s.stop_reason
    );
}

/// The narrative, in time order.
fn text_key_events(o: &mut String, s: &Summary) {
    let _ = writeln!(o, "\nKey events");
    for e in &s.key_events {
        let _ = writeln!(o, "  {}  {}", &e.at[..16], e.what);
    }
}

/// Clusters that lost pools per day, the peak and what is left unconverged.
fn text_damage(o: &mut String, s: &Summary) {
    let m = &s.metrics;
    let _ = writeln!(o, "\nDamage per day (clusters that lost node pools)");
    if m.clusters_lost_pools_by_day.is_empty() {
        let _ = writeln!(o, "  none");
    }
    for (d, n) in &m.clusters_lost_pools_by_day {
        let _ = writeln!(
            o,
            "  {d}  {n:>5}  {}",
            "#".repeat(((*n as f64).sqrt() as usize).min(60))
        );
    }
    let _ = writeln!(
        o,
        "  peak {} clusters at once; {:.0} cluster-hours with lost pools ({:.0} down, {:.0} degraded); {} not converged at the end",
        m.lost_pools_peak,
        m.lost_pool_cluster_hours,
        m.down_cluster_hours,
        m.degraded_cluster_hours,
        m.clusters_not_converged_at_end
    );
    if !m.not_converged_by_reason.is_empty() {
        let why: Vec<String> = m
            .not_converged_by_reason
            .iter()
            .map(|(k, n)| format!("{n} {}", k.replace('_', " ")))
            .collect();
        let _ = writeln!(o, "  not converged because: {}", why.join(", "));
    }
}

/// The customers' own pool changes and how late they were carried out.
fn text_customer_changes(o: &mut String, s: &Summary) {
    let m = &s.metrics;
    let ch = &m.customer_changes;
    if ch.issued > 0 {
        let lat: Vec<String> = ch
            .latency_by_kind
            .iter()
            .map(|(k, l)| format!("{k} p50 {} p99 {}", hours(l.p50_s), hours(l.p99_s)))
            .collect();
        let _ = writeln!(
            o,
            "\nCustomer changes: {} issued, {} carried out ({}), {} superseded, {} pending at the end, {} late",
            ch.issued,
            ch.carried_out,
            lat.join("; "),
            ch.superseded,
            ch.pending_at_end,
            ch.late
        );
        for l in ch.first_late.iter().take(3) {
            let _ = writeln!(o, "  late: {l}");
        }
    }
}

/// Mean unavailable minutes per customer, per surface and day.
fn text_surfaces(o: &mut String, s: &Summary) {
    let m = &s.metrics;
    if !m.surface_unavailable_minutes_by_day.is_empty() {
        let _ = writeln!(
            o,
            "\nCustomer surfaces (mean unavailable minutes per customer, all clouds)"
        );
        let _ = writeln!(
            o,
            "  {:<10} {:>9} {:>9} {:>10} {:>11}",
            "date", "astro_ui", "astro_api", "airflow_ui", "airflow_api"
        );
        for (d, per) in &m.surface_unavailable_minutes_by_day {
            let v = |sf: &str| {
                per.get(sf)
                    .and_then(|c| c.get("all"))
                    .copied()
                    .unwrap_or(0.0)
            };
            let row = [
                v("astro_ui"),
                v("astro_api"),
                v("airflow_ui"),
                v("airflow_api"),
            ];
            if row.iter().all(|x| *x < 0.05) {
                continue;
            }
            let _ = writeln!(
                o,
                "  {d} {:>9.1} {:>9.1} {:>10.1} {:>11.1}",
                row[0], row[1], row[2], row[3]
            );
        }
    }
}

/// Each incident: detection, mitigation, restoration.
fn text_incidents(o: &mut String, s: &Summary) {
    let m = &s.metrics;
    if !m.incidents.is_empty() {
        let _ = writeln!(
            o,
            "\nIncidents (detection and recovery come from the simulated monitoring)"
        );
        for i in &m.incidents {
            let _ = write!(o, "  {:<9} started {}", i.kind.name(), &i.started_at[..16]);
            match (&i.detected_at, i.time_to_detect_s) {
                (Some(_), Some(t)) => {
                    let _ = write!(
                        o,
                        ", detected after {} by {}",
                        hours(t),
                        i.detected_by.as_deref().unwrap_or("?")
                    );
                }
                _ => {
                    let _ = write!(o, ", never detected");
                }
            }
            if let Some(t) = i.time_to_mitigate_s {
                let what = if i.kind == IncidentKind::Auth {
                    "mitigated"
                } else {
                    "route reverted"
                };
                let _ = write!(o, ", {what} after {}", hours(t));
            }
            if let Some(l) = &i.last_loss_at {
                let _ = write!(o, ", last new loss {}", &l[..16]);
            }
            if let Some(r) = &i.restore_completed_at {
                let _ = write!(
                    o,
                    ", {} clusters restored by {}",
                    i.clusters_affected,
                    &r[..16]
                );
            }
            let _ = writeln!(o);
            if let Some(c) = &i.converge {
                let _ = write!(
                    o,
                    "            healed {}; {} clusters then not converged: converged after p50 {} p99 {} max {}",
                    &c.healed_at[..16],
                    c.clusters,
                    hours(c.p50_s),
                    hours(c.p99_s),
                    hours(c.max_s)
                );
                if c.not_converged_at_end > 0 {
                    let _ = write!(o, "; {} never", c.not_converged_at_end);
                }
                let _ = writeln!(o);
            }
            if let (Some(p), Some(h)) = (i.projected_manual_hours, i.hotfix_rollout_hours) {
                let _ = writeln!(
                    o,
                    "            projected manual repair {p:.1} h vs hotfix rollout {h:.2} h"
                );
            }
        }
    }
}

/// Time to restore a cluster, per method.
fn text_restore(o: &mut String, s: &Summary) {
    let m = &s.metrics;
    if !m.restore_by_method.is_empty() {
        let _ = writeln!(o, "\nTime to restore a cluster (loss to all pools back)");
        for (k, p) in &m.restore_by_method {
            let _ = writeln!(
                o,
                "  {k:<7} n={:<5} p50 {:<8} p90 {:<8} max {}",
                p.count,
                hours(p.p50_s),
                hours(p.p90_s),
                hours(p.max_s)
            );
        }
    }
}

/// The auth figures and why logins failed.
fn text_auth(o: &mut String, s: &Summary) {
    let m = &s.metrics;
    if m.auth.legit_attempts > 0 {
        let a = &m.auth;
        let _ = writeln!(
            o,
            "\nAuth: legitimate success {:.4}; vendor 429s {}; shed {}; timeouts {}; worst p99 {:.0} ms; max {} replicas; retry amplification {:.2}; SLO budget spent {:.0} %",
            a.legit_success_ratio,
            a.vendor_429,
            a.shed,
            a.timeouts,
            a.latency_p99_ms_max,
            a.replicas_max,
            a.retry_amplification,
            a.slo_budget_spent_ratio * 100.0
        );
        if a.replicas_pending_max > 0 {
            let _ = writeln!(
                o,
                "  the HPA's pods found no room: up to {} Pending on a pool of at most {} nodes",
                a.replicas_pending_max, a.nodes_max
            );
        }
        for (date, f) in &a.failures_by_day {
            let _ = writeln!(o, "  failed logins {date}: {}", f.describe());
        }
        if a.bot_client_limited > 0 || a.failures.rate_limited > 0 {
            let _ = writeln!(
                o,
                "  rate limiting stopped {} automated requests and {} legitimate ones (collateral)",
                a.bot_client_limited, a.failures.rate_limited
            );
        }
    }
}

/// Destructive steps guards blocked, and invariant findings.
fn text_guards_and_findings(o: &mut String, s: &Summary) {
    let m = &s.metrics;
    if !m.blocked_by_guard.is_empty() {
        let parts: Vec<String> = m
            .blocked_by_guard
            .iter()
            .map(|(g, n)| format!("{g} {n}"))
            .collect();
        let _ = writeln!(
            o,
            "Destructive steps blocked by guard: {}",
            parts.join(", ")
        );
    }
    let _ = writeln!(
        o,
        "Findings (invariant violations): {}{}",
        s.findings.total,
        if s.findings.by_rule.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                s.findings
                    .by_rule
                    .iter()
                    .map(|(r, n)| format!("{r} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
}

/// Paired runs and the scenario's expectations.
fn text_expectations(o: &mut String, s: &Summary) {
    let m = &s.metrics;
    if !s.expectations.is_empty() {
        if !s.pairs.is_empty() {
            let _ = writeln!(o, "\nPaired runs (same seed; only what is listed differs)");
            let this: Vec<u32> = s.pool_incidents().map(|i| i.clusters_affected).collect();
            for p in &s.pairs {
                let _ = writeln!(o, "  {}: {}", p.variant, p.changes.join(", "));
                let _ = writeln!(
                    o,
                    "    clusters lost by incident {:?} vs this run's {:?}; not converged at the end {} vs {}; trace {}",
                    p.clusters_lost_by_incident,
                    this,
                    p.not_converged_at_end,
                    m.clusters_not_converged_at_end,
                    p.trace_hash
                );
            }
        }
        let _ = writeln!(o, "\nExpectations");
        for e in &s.expectations {
            let _ = writeln!(
                o,
                "  {} {}  [{}]{}",
                if e.passed { "PASS" } else { "FAIL" },
                e.name,
                e.detail,
                if let Some(f) = &e.found {
                    format!("  ({})", f.describe())
                } else if e.calibrated_by.is_empty() {
                    String::new()
                } else {
                    format!("  (calibrated: {})", e.calibrated_by.join(", "))
                }
            );
        }
        if s.expectations.iter().any(|e| e.found.is_some()) {
            let _ = writeln!(
                o,
                "  (found by perturbing each input once: scripted, an input read back one for one; calibrated, moves with a tuned figure; emergent, the model's)"
            );
        } else if s.expectations.iter().any(|e| !e.calibrated_by.is_empty()) {
            let _ = writeln!(
                o,
                "  (calibrated: the scenario tuned that figure to meet this fact; unmarked facts emerge from the model)"
            );
        }
        let failed = s.expectations.iter().filter(|e| !e.passed).count();
        let _ = writeln!(
            o,
            "  {} passed, {} failed",
            s.expectations.len() - failed,
            failed
        );
    }
}
