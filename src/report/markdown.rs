//! `summary.md`: the run for a pull request or a CI job summary.

use super::Summary;
use std::fmt::Write as _;

pub fn render_markdown(s: &Summary, reproduce: &str) -> String {
    let mut o = String::new();
    let m = &s.metrics;
    let failed = s.expectations.iter().filter(|e| !e.passed).count();
    let _ = writeln!(o, "## cascade: {} (seed {})\n", s.scenario, s.seed);
    if !s.description.is_empty() {
        let _ = writeln!(o, "{}\n", s.description);
    }
    let _ = writeln!(
        o,
        "{} **{} of {} expectations hold** · trace hash `{}` · commit `{}` · {} clusters · {} events\n",
        if failed == 0 { "✅" } else { "❌" },
        s.expectations.len() - failed,
        s.expectations.len(),
        s.trace_hash,
        s.commit,
        s.clusters,
        s.events
    );
    let _ = writeln!(o, "| | expectation | measured | fact |\n|---|---|---|---|");
    for e in &s.expectations {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            if e.passed { "PASS" } else { "**FAIL**" },
            e.name.replace('|', "\\|"),
            e.detail.replace('|', "\\|"),
            e.provenance()
        );
    }
    let _ = writeln!(o, "\n| figure | value |\n|---|---|");
    let rows = [
        (
            "clusters losing pools, by day",
            format!("{:?}", m.clusters_lost_pools_by_day),
        ),
        (
            "peak clusters with lost pools",
            m.lost_pools_peak.to_string(),
        ),
        (
            "cluster-hours with lost pools (down / degraded)",
            format!(
                "{:.0} ({:.0} / {:.0})",
                m.lost_pool_cluster_hours, m.down_cluster_hours, m.degraded_cluster_hours
            ),
        ),
        (
            "not converged at the end",
            m.clusters_not_converged_at_end.to_string(),
        ),
        (
            "legitimate auth success",
            format!("{:.4}", m.auth.legit_success_ratio),
        ),
        (
            "SLO budget spent (30-day 99.9 %)",
            format!("{:.0} %", m.auth.slo_budget_spent_ratio * 100.0),
        ),
        (
            "invariant findings",
            format!("{} {:?}", s.findings.total, s.findings.by_rule),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(o, "| {k} | {} |", v.replace('|', "\\|"));
    }
    if !m.incidents.is_empty() {
        let _ = writeln!(
            o,
            "\n| incident | started | detected after | by | restored |\n|---|---|---|---|---|"
        );
        for i in &m.incidents {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                i.kind.name(),
                &i.started_at[..16],
                i.time_to_detect_s
                    .map_or("never".into(), |t| format!("{:.0} min", t / 60.0)),
                i.detected_by.as_deref().unwrap_or("-"),
                i.restore_completed_at.as_deref().map_or("-", |r| &r[..16])
            );
        }
    }
    if !m.auth.failures_by_day.is_empty() {
        let _ = writeln!(o, "\n| date | failed logins by cause |\n|---|---|");
        for (d, f) in &m.auth.failures_by_day {
            let _ = writeln!(o, "| {d} | {} |", f.describe());
        }
    }
    let _ = writeln!(o, "\nReproduce: `{reproduce}`");
    o
}
