//! Paired runs: this run against a variant of its scenario (same seed),
//! one metric compared; [`PairMetric`] and [`VariantSpec`].

use super::*;

/// What a paired expectation compares between the two runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PairMetric {
    /// Clusters that lost pools (in the incident, or over the run).
    ClustersLost,
    /// Hours from detection to every cluster restored (needs an incident).
    RestoreHours,
    /// Clusters not fully converged at the end of the run.
    NotConvergedAtEnd,
    /// p99 time-to-converge after the incident healed, seconds (needs an incident).
    ConvergeP99S,
    /// Customer changes carried out late or still pending past their deadline.
    ChangesLate,
}

impl PairMetric {
    fn name(self) -> &'static str {
        match self {
            PairMetric::ClustersLost => "clusters lost",
            PairMetric::RestoreHours => "restore hours",
            PairMetric::NotConvergedAtEnd => "clusters not converged at the end",
            PairMetric::ConvergeP99S => "p99 time-to-converge (s)",
            PairMetric::ChangesLate => "customer changes late",
        }
    }

    fn needs_incident(self) -> bool {
        matches!(self, PairMetric::RestoreHours | PairMetric::ConvergeP99S)
    }

    /// The largest value the metric takes, named: a run cannot be lower
    /// than its variant by more.
    fn largest(self) -> (&'static str, f64) {
        match self {
            PairMetric::ClustersLost | PairMetric::NotConvergedAtEnd => {
                ("the largest fleet", f64::from(CLUSTERS_MAX))
            }
            PairMetric::RestoreHours => ("366 days", SPAN_H_MAX),
            PairMetric::ConvergeP99S => ("366 days", SPAN_S_MAX),
            PairMetric::ChangesLate => ("the changes a run books", f64::from(CUSTOMER_CHANGES_MAX)),
        }
    }

    /// The metric in `s`; `None` when it does not exist there (no such
    /// incident, not restored, never healed).
    pub fn of(self, o: &Outcome, incident: Option<&IncidentSel>) -> Option<f64> {
        let inc = incident.map(|sel| sel.find(o));
        match (self, inc) {
            (PairMetric::ClustersLost, None) => Some(o.clusters_lost_pools_total as f64),
            (PairMetric::ClustersLost, Some(i)) => i.map(|i| i.clusters_affected as f64),
            (PairMetric::RestoreHours, Some(i)) => {
                i.and_then(|i| i.restore_hours_after_detection())
            }
            (PairMetric::ConvergeP99S, Some(i)) => {
                i.and_then(|i| i.converge.as_ref()).map(|c| c.p99_s)
            }
            (PairMetric::NotConvergedAtEnd, _) => Some(o.clusters_not_converged_at_end as f64),
            (PairMetric::ChangesLate, _) => Some(o.customer_changes.late as f64),
            (PairMetric::RestoreHours | PairMetric::ConvergeP99S, None) => None,
        }
    }
}

/// The changes a paired expectation's variant makes, in a stable form (the
/// key that runs each distinct variant once).
#[derive(Clone, Debug, PartialEq)]
pub struct VariantSpec<'a> {
    pub about: &'a str,
    pub set: &'a BTreeMap<String, Value>,
    pub timeline_remove: &'a [String],
}

impl VariantSpec<'_> {
    /// `timeline_remove E8; model.x=1`: what differs from the base run.
    pub fn changes(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .timeline_remove
            .iter()
            .map(|id| format!("without timeline item {id}"))
            .collect();
        v.extend(self.set.iter().map(|(k, x)| format!("{k}={x}")));
        v
    }
}

/// A paired run: the same scenario with the changes of `variant` (same
/// seed, so per-entity streams keep both runs aligned), and `metric`
/// compared between the two. Passes when this run's metric is lower
/// than the variant's by at least `less_by_min` (0 up to the metric's
/// largest value), and/or at most `ratio_max` (0 to 1,000; a fraction
/// for "better by this factor") times the variant's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Paired {
    /// What the variant is, in words (the summary shows it).
    pub variant: String,
    /// Overrides of this scenario (`{"timeline.E9.misroute_ratio": 0.25}`,
    /// `{"model.response.restore_with": "manual"}`).
    #[serde(default)]
    pub set: BTreeMap<String, Value>,
    /// Timeline items the variant drops, by id.
    #[serde(default)]
    pub timeline_remove: Vec<String>,
    pub metric: PairMetric,
    /// The pool incident the metric is about (whole run when absent,
    /// where the metric allows).
    #[serde(default)]
    pub incident: Option<IncidentSel>,
    /// How much lower this run's metric must be, in the metric's unit.
    /// Valid: 0 to the metric's largest value: the largest fleet
    /// (1,000,000) for clusters, the changes a run books (1,000,000)
    /// for changes, 366 days (8,784 h, 31,622,400 s) for times.
    #[serde(default)]
    pub less_by_min: Option<f64>,
    /// At most this fraction of the variant's value.
    #[serde(default)]
    pub ratio_max: Option<f64>,
    /// The range of an assumed figure over which the pair was shown to
    /// hold (swept over seeds; the summary states it beside the verdict).
    /// Outside it the conclusion is not claimed.
    #[serde(default)]
    pub holds_over: Option<HoldsOver>,
}

/// An assumed figure's range over which a conclusion holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldsOver {
    /// The field, as `--set` names it (`model.response.revert_unrecorded_change_h`).
    pub field: String,
    pub min: f64,
    pub max: f64,
    /// How the range was found (the sweep: seeds, values, what held).
    pub basis: String,
}

impl Check for Paired {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        let Paired {
            set,
            timeline_remove,
            metric,
            incident,
            less_by_min,
            ratio_max,
            holds_over,
            ..
        } = self;
        if let Some(h) = holds_over {
            if !(h.min.is_finite() && h.max.is_finite() && h.min <= h.max) {
                return Err(format!(
                    "holds_over: expected finite min <= max, found {} and {}",
                    h.min, h.max
                ));
            }
        }
        if let Some(sel) = incident {
            sel.validate("incident")?;
        } else if metric.needs_incident() {
            return Err(format!(
                "incident: the metric {:?} is about one incident; expected `incident`",
                metric.name()
            ));
        }
        if less_by_min.is_none() && ratio_max.is_none() {
            return Err("expected `less_by_min` or `ratio_max` (or both)".into());
        }
        if let Some(d) = less_by_min {
            check_range("less_by_min", *d, 0.0, metric.largest())?;
        }
        // Above 1 it is a weaker claim (this run at most N times
        // the variant's), one a run can still fail: not a fraction.
        if let Some(r) = ratio_max {
            check_range("ratio_max", *r, 0.0, PAIR_RATIO_MAX)?;
        }
        if set.is_empty() && timeline_remove.is_empty() {
            return Err("expected `set` or `timeline_remove` (the variant must differ)".into());
        }
        if set.len() + timeline_remove.len() > OVERRIDES_MAX {
            return Err(format!(
                "expected at most {OVERRIDES_MAX} changes in a variant"
            ));
        }
        Ok(())
    }

    fn check(&self, o: &Outcome, variant: Option<&Outcome>) -> Judged {
        let Paired {
            variant: about,
            set,
            timeline_remove,
            metric,
            incident,
            less_by_min,
            ratio_max,
            holds_over,
        } = self;
        let spec = VariantSpec {
            about,
            set,
            timeline_remove,
        };
        let what = incident
            .as_ref()
            .map_or("the run".to_string(), IncidentSel::describe);
        let mut want = Vec::new();
        if let Some(d) = less_by_min {
            want.push(format!("at least {d} lower"));
        }
        if let Some(r) = ratio_max {
            want.push(format!("at most {r}x"));
        }
        let range = holds_over.as_ref().map_or(String::new(), |h| {
            format!(" (shown for {} {}..{})", h.field, h.min, h.max)
        });
        let name = format!(
            "{} in {what}: {} than {about}{range}",
            metric.name(),
            want.join(" and ")
        );
        let this = metric.of(o, incident.as_ref());
        let other = variant.and_then(|v| metric.of(v, incident.as_ref()));
        let (passed, detail) = match (this, other, variant) {
            (_, _, None) => (false, "the variant did not run".to_string()),
            (Some(a), Some(b), Some(v)) => {
                let ok =
                    less_by_min.is_none_or(|d| a <= b - d) && ratio_max.is_none_or(|r| a <= r * b);
                (
                    ok,
                    format!(
                        "{a:.2} vs {b:.2} (difference {:.2}, ratio {}); variant: {}; variant trace {}",
                        b - a,
                        if b > 0.0 { format!("{:.2}", a / b) } else { "-".into() },
                        spec.changes().join(", "),
                        format_args!("{:016x}", v.run.trace_hash)
                    ),
                )
            }
            (a, b, Some(_)) => (
                false,
                format!(
                    "not measured: this run {}, the variant {}",
                    a.map_or("none".into(), |a| format!("{a:.2}")),
                    b.map_or("none".into(), |b| format!("{b:.2}"))
                ),
            ),
        };
        // How much lower this run is than the variant, in the metric's unit.
        let measured = this.zip(other).map(|(a, b)| match metric {
            PairMetric::RestoreHours => Measured::seconds((b - a) * 3_600.0),
            PairMetric::ConvergeP99S => Measured::seconds(b - a),
            PairMetric::ClustersLost | PairMetric::NotConvergedAtEnd | PairMetric::ChangesLate => {
                Measured::count(b - a)
            }
        });
        (name, passed, detail, measured)
    }
}
impl Paired {
    /// The variant it runs against.
    pub fn spec(&self) -> VariantSpec<'_> {
        VariantSpec {
            about: &self.variant,
            set: &self.set,
            timeline_remove: &self.timeline_remove,
        }
    }
}
