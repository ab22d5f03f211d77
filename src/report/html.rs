//! `report.html` and the `cascade compare` page: one self-contained file each,
//! inline SVG and CSS, no scripts, nothing fetched.

use super::hours;
use super::series::Series;
use super::svg::{self, Chart, Line, Reduce, PALETTE};
use super::Summary;
use crate::model::responder::IncidentCause;
use crate::outcome::IncidentKind;
use cascade_sim::{Epoch, SimTime};
use std::fmt::Write as _;

const CSS: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1040px;color:#222;padding:0 12px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#555} .ok{color:#00704a;font-weight:600} .bad{color:#b00020;font-weight:600}
.banner{padding:8px 12px;border-radius:6px;margin:12px 0;font-weight:600}
.banner.ok{background:#e6f4ee} .banner.bad{background:#fde8ea}
.figs{display:grid;grid-template-columns:repeat(4,1fr);gap:8px;margin:12px 0}
.fig{background:#f6f7f9;border-radius:6px;padding:8px 10px} .fig b{display:block;font-size:20px}
.chart{width:100%;height:auto;margin:6px 0 2px} .chart .t{font-size:14px;font-weight:600;fill:#222} .chart .a{font-size:11px;fill:#555}
table{border-collapse:collapse;width:100%;font-size:13px} td,th{border-bottom:1px solid #e5e5e5;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f6f7f9} td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,Menlo,Consolas,monospace;background:#f3f3f3;padding:1px 4px;border-radius:3px}
.legend span{display:inline-block;margin-right:14px} .sw{display:inline-block;width:12px;height:12px;vertical-align:-1px;margin-right:4px;border-radius:2px}
"#;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn day_labels(series: &Series) -> Vec<String> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let epoch = Epoch::parse(&series.start).unwrap_or(Epoch::from_unix_secs(0));
    let days = series.minutes.div_ceil(1_440).max(1);
    (0..days)
        .map(|d| {
            let date = epoch.date(SimTime::from_secs(d as u64 * 86_400));
            let m: usize = date[5..7].parse().unwrap_or(1);
            format!("{} {}", MONTHS[(m + 11) % 12], &date[8..10])
        })
        .collect()
}

fn f64s<T: Copy + Into<f64>>(v: &[T]) -> Vec<f64> {
    v.iter().map(|x| (*x).into()).collect()
}

fn head(o: &mut String, title: &str) {
    let _ = write!(
        o,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{CSS}</style></head><body>",
        esc(title)
    );
}

/// The charts of one run.
fn charts(s: &Series) -> Vec<String> {
    let days = day_labels(s);
    let mut out = vec![svg::timeline(
        s.minutes as usize,
        &days,
        &s.bands,
        &s.markers,
    )];
    let chart = |title: &'static str,
                 y_label: &'static str,
                 y_max: f64,
                 percent: bool,
                 lines: Vec<Line<'static>>| {
        Chart {
            title,
            y_label,
            minutes: s.minutes as usize,
            day_labels: days.clone(),
            y_max,
            percent,
            bands: &s.bands,
            markers: &s.markers,
            lines,
        }
        .render()
    };
    out.push(chart(
        "Customer surface availability (share of customers)",
        "available",
        1.0,
        true,
        vec![
            Line {
                name: "Astro UI / API".into(),
                color: PALETTE[0],
                values: f64s(&s.astro_available),
                reduce: Reduce::Min,
                dashed: false,
            },
            Line {
                name: "Airflow UI / API".into(),
                color: PALETTE[1],
                values: f64s(&s.airflow_available),
                reduce: Reduce::Min,
                dashed: true,
            },
        ],
    ));
    let degraded: Vec<f64> = s
        .lost
        .iter()
        .zip(&s.down)
        .map(|(l, d)| l.saturating_sub(*d) as f64)
        .collect();
    out.push(chart(
        "Clusters with lost node pools",
        "clusters",
        0.0,
        false,
        vec![
            Line {
                name: "lost pools".into(),
                color: PALETTE[1],
                values: f64s(&s.lost),
                reduce: Reduce::Max,
                dashed: false,
            },
            Line {
                name: "down (agent dead)".into(),
                color: PALETTE[6],
                values: f64s(&s.down),
                reduce: Reduce::Max,
                dashed: true,
            },
            Line {
                name: "degraded".into(),
                color: PALETTE[4],
                values: degraded,
                reduce: Reduce::Max,
                dashed: false,
            },
        ],
    ));
    out.push(chart(
        "Auth: demand against capacity, vendor 429s",
        "requests / s",
        0.0,
        false,
        vec![
            Line {
                name: "demand".into(),
                color: PALETTE[1],
                values: f64s(&s.auth_demand_rps),
                reduce: Reduce::Max,
                dashed: false,
            },
            Line {
                name: "capacity".into(),
                color: PALETTE[2],
                values: f64s(&s.auth_capacity_rps),
                reduce: Reduce::Min,
                dashed: false,
            },
            Line {
                name: "vendor 429 / s".into(),
                color: PALETTE[3],
                values: s.vendor_429.iter().map(|x| *x as f64 / 60.0).collect(),
                reduce: Reduce::Max,
                dashed: true,
            },
        ],
    ));
    out.push(chart(
        "Auth: legitimate login success and replicas",
        "success",
        1.0,
        true,
        vec![Line {
            name: "legitimate success".into(),
            color: PALETTE[0],
            values: f64s(&s.auth_success),
            reduce: Reduce::Min,
            dashed: false,
        }],
    ));
    out.push(chart(
        "Auth replicas (ready, HPA)",
        "replicas",
        0.0,
        false,
        vec![Line {
            name: "replicas ready".into(),
            color: PALETTE[2],
            values: f64s(&s.replicas),
            reduce: Reduce::Max,
            dashed: false,
        }],
    ));
    let mut upgraded = vec![0.0; s.minutes as usize];
    for w in &s.waves {
        for v in upgraded.iter_mut().skip(w.start_min as usize) {
            *v = w.clusters_cumulative as f64;
        }
    }
    out.push(chart(
        "Rollout of the agent fix (clusters upgraded, by wave)",
        "clusters",
        s.clusters.max(1) as f64,
        false,
        vec![Line {
            name: "upgraded".into(),
            color: PALETTE[2],
            values: upgraded,
            reduce: Reduce::Max,
            dashed: false,
        }],
    ));
    out.push(chart(
        "Restoration progress (loss episodes begun and restored)",
        "clusters",
        0.0,
        false,
        vec![
            Line {
                name: "lost (cumulative)".into(),
                color: PALETTE[1],
                values: f64s(&s.lost_cumulative),
                reduce: Reduce::Max,
                dashed: false,
            },
            Line {
                name: "restored (cumulative)".into(),
                color: PALETTE[2],
                values: f64s(&s.restored_cumulative),
                reduce: Reduce::Max,
                dashed: false,
            },
        ],
    ));
    out
}

fn figures(o: &mut String, s: &Summary) {
    let m = &s.metrics;
    let lost_total: u32 = m.clusters_lost_pools_by_day.values().sum();
    let figs = [
        (
            "clusters losing pools (cluster-days)",
            lost_total.to_string(),
        ),
        (
            "peak clusters with lost pools",
            m.lost_pools_peak.to_string(),
        ),
        (
            "cluster-hours with lost pools",
            format!("{:.0}", m.lost_pool_cluster_hours),
        ),
        (
            "not converged at the end",
            m.clusters_not_converged_at_end.to_string(),
        ),
        (
            "legitimate auth success",
            format!("{:.2} %", m.auth.legit_success_ratio * 100.0),
        ),
        (
            "SLO budget spent (30 d)",
            format!("{:.0} %", m.auth.slo_budget_spent_ratio * 100.0),
        ),
        ("vendor 429s", m.auth.vendor_429.to_string()),
        ("invariant findings", s.findings.total.to_string()),
    ];
    o.push_str("<div class=\"figs\">");
    for (k, v) in figs {
        let _ = write!(o, "<div class=\"fig\"><b>{}</b>{}</div>", esc(&v), esc(k));
    }
    o.push_str("</div>");
}

/// The report of one run.
pub fn render_report(s: &Summary, series: &Series, reproduce: &str) -> String {
    let mut o = String::new();
    head(&mut o, &format!("cascade: {}", s.scenario));
    let _ = write!(
        o,
        "<h1>{}</h1><div class=\"sub\">{}</div><div class=\"sub\">seed <code>{}</code> &middot; commit <code>{}</code> &middot; trace hash <code>{}</code> &middot; {} clusters &middot; {} .. {} &middot; {} events</div>",
        esc(&s.scenario),
        esc(&s.description),
        s.seed,
        esc(&s.commit),
        s.trace_hash,
        s.clusters,
        esc(&s.start),
        esc(&s.end),
        s.events
    );
    let failed = s.expectations.iter().filter(|e| !e.passed).count();
    let _ = write!(
        o,
        "<div class=\"banner {}\">{} of {} expectations hold{}</div>",
        if failed == 0 { "ok" } else { "bad" },
        s.expectations.len() - failed,
        s.expectations.len(),
        if failed == 0 {
            String::new()
        } else {
            format!(" &middot; {failed} failed")
        }
    );
    figures(&mut o, s);
    o.push_str("<h2>Over the run</h2><div class=\"legend\"><span><i class=\"sw\" style=\"background:rgba(213,94,0,.45)\"></i>fault</span><span><i class=\"sw\" style=\"background:rgba(230,159,0,.45)\"></i>incident</span><span><i class=\"sw\" style=\"background:rgba(100,100,100,.3)\"></i>change freeze</span><span>&#9660; detection and other markers (hover for names)</span></div>");
    for c in charts(series) {
        o.push_str(&c);
    }
    o.push_str(
        "<h2>Expectations</h2><table><tr><th></th><th>expectation</th><th>measured</th><th>fact</th></tr>",
    );
    for e in &s.expectations {
        let _ = write!(
            o,
            "<tr><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if e.passed { "ok" } else { "bad" },
            if e.passed { "PASS" } else { "FAIL" },
            esc(&e.name),
            esc(&e.detail),
            esc(&e.provenance())
        );
    }
    o.push_str("</table>");
    let m = &s.metrics;
    o.push_str("<h2>Incidents</h2><table><tr><th>kind</th><th>started</th><th>detected</th><th>by</th><th>mitigated (auth) / route reverted</th><th>last new loss</th><th>clusters</th><th>restored</th></tr>");
    for i in &m.incidents {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            i.kind.name(),
            &i.started_at[..16],
            i.time_to_detect_s.map_or("never".into(), |t| format!("after {}", hours(t))),
            i.detected_by.as_deref().unwrap_or("-").replace('_', " "),
            i.time_to_mitigate_s.map_or("-".into(), |t| format!("after {}", hours(t))),
            i.last_loss_at.as_deref().map_or("-".into(), |l| l[..16].to_string()),
            if i.kind == IncidentKind::Pool(IncidentCause::PoolLoss) { i.clusters_affected.to_string() } else { "-".into() },
            i.restore_completed_at.as_deref().map_or("-".into(), |r| r[..16].to_string())
        );
    }
    o.push_str("</table>");
    if !m.restore_by_method.is_empty() {
        o.push_str("<h2>Time to restore a cluster</h2><table><tr><th>method</th><th>clusters</th><th>p50</th><th>p90</th><th>max</th></tr>");
        for (k, p) in &m.restore_by_method {
            let _ = write!(
                o,
                "<tr><td>{k}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                p.count,
                hours(p.p50_s),
                hours(p.p90_s),
                hours(p.max_s)
            );
        }
        o.push_str("</table>");
    }
    o.push_str("<h2>Damage per day</h2><table><tr><th>date</th><th>clusters that lost pools</th><th>Astro UI min</th><th>Airflow UI min</th></tr>");
    for (d, per) in &m.surface_unavailable_minutes_by_day {
        let v = |sf: &str| {
            per.get(sf)
                .and_then(|c| c.get("all"))
                .copied()
                .unwrap_or(0.0)
        };
        let _ = write!(
            o,
            "<tr><td>{d}</td><td class=\"num\">{}</td><td class=\"num\">{:.1}</td><td class=\"num\">{:.1}</td></tr>",
            m.clusters_lost_pools_by_day.get(d).copied().unwrap_or(0),
            v("astro_ui"),
            v("airflow_ui")
        );
    }
    o.push_str("</table>");
    if !m.auth.failures_by_day.is_empty() {
        use crate::outcome::AuthFailureCause;
        o.push_str("<h2>Why logins failed</h2><table><tr><th>date</th><th>failed</th>");
        for c in AuthFailureCause::ALL {
            let _ = write!(o, "<th>{}</th>", esc(&c.name().replace('_', " ")));
        }
        o.push_str("</tr>");
        for (d, f) in &m.auth.failures_by_day {
            let _ = write!(
                o,
                "<tr><td>{}</td><td class=\"num\">{}</td>",
                esc(d),
                f.total()
            );
            for c in AuthFailureCause::ALL {
                let _ = write!(o, "<td class=\"num\">{:.1} %</td>", f.share(c) * 100.0);
            }
            o.push_str("</tr>");
        }
        let _ = write!(
            o,
            "</table><p>Legitimate attempts that failed, by cause. Rate limiting stopped {} automated requests and {} legitimate ones (collateral: the limiter keys on clients, not on what their traffic is).</p>",
            m.auth.bot_client_limited, m.auth.failures.rate_limited
        );
    }
    o.push_str("<h2>Key events</h2><table>");
    for e in &s.key_events {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td></tr>",
            &e.at[..16],
            esc(&e.what)
        );
    }
    o.push_str("</table>");
    if !m.changes_applied.is_empty() {
        o.push_str("<h2>Changes applied</h2><table><tr><th>at</th><th>change</th><th>target</th><th>applied to</th><th>emergency</th><th>leaked</th></tr>");
        for c in &m.changes_applied {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
                &c.at[..16],
                esc(&c.id),
                c.target,
                c.applied_to,
                if c.emergency { "yes" } else { "" },
                if c.leaked { "bad" } else { "" },
                if c.leaked { "LEAKED" } else { "" }
            );
        }
        o.push_str("</table>");
    }
    let _ = write!(
        o,
        "<h2>Guards and invariants</h2><p>Destructive steps blocked by guard: {}. Findings: {} ({}).</p>",
        if m.blocked_by_guard.is_empty() {
            "none".to_string()
        } else {
            m.blocked_by_guard.iter().map(|(g, n)| format!("{g} {n}")).collect::<Vec<_>>().join(", ")
        },
        s.findings.total,
        if s.findings.by_rule.is_empty() {
            "none".to_string()
        } else {
            s.findings.by_rule.iter().map(|(r, n)| format!("{r} {n}")).collect::<Vec<_>>().join(", ")
        }
    );
    let _ = writeln!(
        o,
        "<h2>Reproduce</h2><p><code>{}</code></p></body></html>",
        esc(reproduce)
    );
    o
}

/// One page overlaying several runs on the same charts.
pub fn render_compare(runs: &[(Summary, Series)]) -> String {
    let mut o = String::new();
    head(&mut o, "cascade compare");
    let names: Vec<String> = runs
        .iter()
        .map(|(s, _)| format!("{} (seed {})", s.scenario, s.seed))
        .collect();
    let _ = write!(
        o,
        "<h1>cascade compare</h1><div class=\"sub\">{}</div>",
        esc(&names.join(" vs "))
    );
    let Some((_, first)) = runs.first() else {
        o.push_str("</body></html>");
        return o;
    };
    let minutes = runs
        .iter()
        .map(|(_, s)| s.minutes as usize)
        .max()
        .unwrap_or(0);
    let days = day_labels(first);
    let overlay = |title: &'static str,
                   y_label: &'static str,
                   y_max: f64,
                   percent: bool,
                   pick: &dyn Fn(&Series) -> Vec<f64>,
                   reduce: Reduce| {
        Chart {
            title,
            y_label,
            minutes,
            day_labels: days.clone(),
            y_max,
            percent,
            bands: &first.bands,
            markers: &[],
            lines: runs
                .iter()
                .enumerate()
                .map(|(i, (s, ser))| Line {
                    name: s.scenario.clone(),
                    color: PALETTE[i % PALETTE.len()],
                    values: pick(ser),
                    reduce,
                    dashed: i % 2 == 1,
                })
                .collect(),
        }
        .render()
    };
    o.push_str("<p class=\"sub\">Bands are those of the first run.</p>");
    o.push_str(&overlay(
        "Clusters with lost node pools",
        "clusters",
        0.0,
        false,
        &|s| f64s(&s.lost),
        Reduce::Max,
    ));
    o.push_str(&overlay(
        "Airflow UI / API availability (share of customers)",
        "available",
        1.0,
        true,
        &|s| f64s(&s.airflow_available),
        Reduce::Min,
    ));
    o.push_str(&overlay(
        "Legitimate auth success",
        "success",
        1.0,
        true,
        &|s| f64s(&s.auth_success),
        Reduce::Min,
    ));
    o.push_str(&overlay(
        "Restored loss episodes (cumulative)",
        "clusters",
        0.0,
        false,
        &|s| f64s(&s.restored_cumulative),
        Reduce::Max,
    ));
    o.push_str("<h2>Differences</h2><table><tr><th>figure</th>");
    for n in &names {
        let _ = write!(o, "<th>{}</th>", esc(n));
    }
    o.push_str("</tr>");
    type Pick = fn(&Summary) -> String;
    let rows: [(&str, Pick); 11] = [
        ("expectations held", |s| {
            format!(
                "{}/{}",
                s.expectations.iter().filter(|e| e.passed).count(),
                s.expectations.len()
            )
        }),
        ("clusters losing pools (cluster-days)", |s| {
            s.metrics
                .clusters_lost_pools_by_day
                .values()
                .sum::<u32>()
                .to_string()
        }),
        ("peak clusters with lost pools", |s| {
            s.metrics.lost_pools_peak.to_string()
        }),
        ("cluster-hours with lost pools", |s| {
            format!("{:.0}", s.metrics.lost_pool_cluster_hours)
        }),
        ("not converged at the end", |s| {
            s.metrics.clusters_not_converged_at_end.to_string()
        }),
        ("legitimate auth success", |s| {
            format!("{:.4}", s.metrics.auth.legit_success_ratio)
        }),
        ("SLO budget spent", |s| {
            format!("{:.0} %", s.metrics.auth.slo_budget_spent_ratio * 100.0)
        }),
        ("Airflow UI minutes (mean per customer)", |s| {
            format!(
                "{:.1}",
                s.metrics
                    .surface_unavailable_minutes
                    .get("airflow_ui")
                    .and_then(|c| c.get("all"))
                    .copied()
                    .unwrap_or(0.0)
            )
        }),
        ("restore p50 (all methods)", |s| {
            s.metrics
                .restore_by_method
                .values()
                .map(|p| hours(p.p50_s))
                .collect::<Vec<_>>()
                .join(", ")
        }),
        ("invariant findings", |s| s.findings.total.to_string()),
        ("trace hash", |s| s.trace_hash.clone()),
    ];
    for (label, f) in rows {
        let _ = write!(o, "<tr><td>{label}</td>");
        for (s, _) in runs {
            let _ = write!(o, "<td class=\"num\">{}</td>", esc(&f(s)));
        }
        o.push_str("</tr>");
    }
    o.push_str("</table></body></html>\n");
    o
}
