//! One pool incident: detection, restoration, its size; and
//! [`IncidentSel`], how an expectation names an incident.

use super::*;

/// Which pool incident an expectation is about: its number in the summary
/// (`"incident": 2`), or the first that began in a window
/// (`"incident": {"began_after": "...", "began_before": "..."}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum IncidentSel {
    Number(u32),
    Window {
        began_after: String,
        began_before: String,
    },
}

impl IncidentSel {
    /// Checks the selector written as `field` (`incident`, `than`):
    /// incidents count from 1, a window's ends in order.
    pub(super) fn validate(&self, field: &str) -> Result<(), String> {
        match self {
            IncidentSel::Number(n) => check_range(
                field,
                *n,
                1,
                ("the most incidents a run opens", INCIDENTS_MAX as u32),
            ),
            IncidentSel::Window {
                began_after,
                began_before,
            } => {
                let a =
                    Epoch::parse(began_after).map_err(|e| format!("{field}.began_after: {e}"))?;
                let b =
                    Epoch::parse(began_before).map_err(|e| format!("{field}.began_before: {e}"))?;
                expect(
                    a.unix_secs < b.unix_secs,
                    &format!("{field}.began_before"),
                    format!("after began_after ({began_after})"),
                    began_before,
                )
            }
        }
    }

    /// The selected incident of `o`.
    pub fn find<'a>(&self, o: &'a Outcome) -> Option<&'a Incident> {
        match self {
            IncidentSel::Number(n) => o.pool_incident(*n),
            IncidentSel::Window {
                began_after,
                began_before,
            } => {
                let (a, b) = (unix_secs(began_after), unix_secs(began_before));
                o.pool_incidents().find(|i| {
                    let t = o.unix_secs(i.started_at);
                    t >= a && t < b
                })
            }
        }
    }

    /// How a report names it.
    pub fn describe(&self) -> String {
        match self {
            IncidentSel::Number(n) => format!("incident {n}"),
            IncidentSel::Window {
                began_after,
                began_before,
            } => format!("the incident begun in {began_after}..{began_before}"),
        }
    }
}

/// The incident an expectation names by `incident` or, failing that, by
/// the date its pool loss began; and how to call it.
pub(super) fn selected<'a>(
    o: &'a Outcome,
    date: &Option<String>,
    incident: &Option<IncidentSel>,
) -> (Option<&'a Incident>, String) {
    match (incident, date) {
        (Some(sel), _) => (sel.find(o), sel.describe()),
        (None, Some(d)) => (o.pool_incident_on(day(d)), format!("the pool loss of {d}")),
        (None, None) => (None, "no incident".into()),
    }
}

/// Load-time check of a `date` / `incident` pair: exactly one is given.
fn one_selector(
    date: &Option<String>,
    incident: &Option<IncidentSel>,
    check_date: impl Fn(&str) -> Result<(), String>,
) -> Result<(), String> {
    match (date, incident) {
        (Some(_), Some(_)) => Err("expected `date` or `incident`, not both".into()),
        (None, None) => Err("expected `incident` (a number from 1, or a window) or `date`".into()),
        (Some(d), None) => check_date(d),
        (None, Some(sel)) => sel.validate("incident"),
    }
}

/// The pool incident selected by `incident` (or the pool-loss incident
/// that starts on `date`) is detected within [min_s, max_s].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeToDetect {
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub incident: Option<IncidentSel>,
    pub min_s: f64,
    pub max_s: f64,
}

impl Check for TimeToDetect {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        let TimeToDetect {
            date: d,
            incident,
            min_s,
            max_s,
        } = self;
        check_range("min_s", *min_s, 0.0, SPAN_S)?;
        check_range("max_s", *max_s, 0.0, SPAN_S)?;
        check_ordered(("min_s", *min_s), ("max_s", *max_s))?;
        one_selector(d, incident, date)
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let TimeToDetect {
            date,
            incident,
            min_s,
            max_s,
        } = self;
        let (inc, what) = selected(o, date, incident);
        let v = inc.and_then(Incident::time_to_detect_s);
        (
            format!("{what} detected within {min_s}..{max_s} s"),
            v.is_some_and(|v| v >= *min_s && v <= *max_s),
            v.map_or("not detected".into(), |v| format!("{v:.0} s")),
            v.map(Measured::seconds),
        )
    }
}

/// Every cluster of the selected incident is restored by `by` (UTC).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoredBy {
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub incident: Option<IncidentSel>,
    pub by: String,
}

impl Check for RestoredBy {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        let RestoredBy {
            date: d,
            incident,
            by,
        } = self;
        one_selector(d, incident, date)?;
        Epoch::parse(by).map(|_| ()).map_err(|e| format!("by: {e}"))
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let e = o.epoch;
        let RestoredBy { date, incident, by } = self;
        let (inc, what) = selected(o, date, incident);
        let done = inc.and_then(|i| i.restore_completed_at);
        let ok = done.is_some_and(|d| o.unix_secs(d) <= unix_secs(by));
        (
            format!("clusters of {what} restored by {by}"),
            ok,
            format!("restored {}", done.map_or("never".into(), |d| e.format(d))),
            done.map(|d| Measured::instant(d.as_secs_f64())),
        )
    }
}

/// Restoring the selected incident takes at most `max_h` hours from detection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreHoursMax {
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub incident: Option<IncidentSel>,
    pub max_h: f64,
}

impl Check for RestoreHoursMax {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        let RestoreHoursMax {
            date: d,
            incident,
            max_h,
        } = self;
        check_range("max_h", *max_h, 0.0, ("366 days", SPAN_H_MAX))?;
        one_selector(d, incident, date)
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let RestoreHoursMax {
            date,
            incident,
            max_h,
        } = self;
        let (inc, what) = selected(o, date, incident);
        let h = inc.and_then(Incident::restore_hours_after_detection);
        (
            format!("restoration of {what} takes at most {max_h} h after detection"),
            h.is_some_and(|h| h <= *max_h),
            h.map_or("not restored".into(), |h| format!("{h:.1} h")),
            h.map(|h| Measured::seconds(h * 3_600.0)),
        )
    }
}

/// More clusters lose pools in pool incident `incident` than in `than`
/// (incidents, not calendar days: an incident may straddle midnight).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoreLossInIncident {
    pub incident: IncidentSel,
    pub than: IncidentSel,
}

impl Check for MoreLossInIncident {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        let MoreLossInIncident { incident, than } = self;
        incident.validate("incident")?;
        than.validate("than")?;
        expect(
            incident != than,
            "than",
            "an incident other than `incident`",
            than.describe(),
        )
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let MoreLossInIncident { incident, than } = self;
        let lost = |sel: &IncidentSel| sel.find(o).map(|i| i.clusters_affected);
        let (a, b) = (lost(incident), lost(than));
        let show = |v: Option<u32>| v.map_or("no such incident".to_string(), |v| v.to_string());
        (
            format!(
                "more clusters lose pools in {} than in {}",
                incident.describe(),
                than.describe()
            ),
            matches!((a, b), (Some(a), Some(b)) if a > b),
            format!("{} vs {}", show(a), show(b)),
            a.zip(b)
                .map(|(a, b)| Measured::count(f64::from(a) - f64::from(b))),
        )
    }
}

/// Clusters that lose pools in the selected pool incident lie in [min, max].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentClustersLost {
    pub incident: IncidentSel,
    pub min: u32,
    pub max: u32,
}

impl Check for IncidentClustersLost {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        let IncidentClustersLost { incident, min, max } = self;
        incident.validate("incident")?;
        check_clusters(*min, *max)
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let IncidentClustersLost { incident, min, max } = self;
        let v = incident.find(o).map(|i| i.clusters_affected);
        (
            format!(
                "clusters losing pools in {}: {min}..{max}",
                incident.describe()
            ),
            v.is_some_and(|v| v >= *min && v <= *max),
            v.map_or("no such incident".into(), |v| format!("{v} clusters")),
            v.map(|v| Measured::count(f64::from(v))),
        )
    }
}
