//! Damage and convergence: pools lost per day and in the run, the first
//! loss, customer surfaces, clusters not converged and agents in hold at
//! the end.

use super::*;

/// Mean unavailable minutes per customer of `surface` (or every surface)
/// on `date` for customers on `cloud` (or every cloud) lie in [min, max].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SurfaceUnavailableMinutes {
    pub date: String,
    #[serde(default)]
    pub surface: Option<Surface>,
    #[serde(default)]
    pub cloud: Option<Cloud>,
    pub min: f64,
    pub max: f64,
}

impl Check for SurfaceUnavailableMinutes {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        let SurfaceUnavailableMinutes {
            date: d, min, max, ..
        } = self;
        let day = ("a day's minutes", 1_440.0);
        check_range("min", *min, 0.0, day)?;
        check_range("max", *max, 0.0, day)?;
        check_ordered(("min", *min), ("max", *max))?;
        date(d)
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let SurfaceUnavailableMinutes {
            date,
            surface,
            cloud,
            min,
            max,
        } = self;
        let surfaces: Vec<Surface> = surface.map_or(Surface::ALL.to_vec(), |x| vec![x]);
        let clouds: Vec<Cloud> = cloud.map_or(Cloud::ALL.to_vec(), |x| vec![x]);
        let minutes = o.surface_unavailable_minutes_by_day.get(&day(date));
        let mut worst = Vec::new();
        for &sf in &surfaces {
            for &c in &clouds {
                let (si, ci) = (sf as usize, c as usize);
                let v = minutes.map_or(0.0, |m| m[si][ci]);
                worst.push((format!("{}/{}", sf.name(), c.name()), v));
            }
        }
        let bad: Vec<String> = worst
            .iter()
            .filter(|(_, v)| *v < *min || *v > *max)
            .map(|(k, v)| format!("{k} {v:.1}"))
            .collect();
        let range = worst
            .iter()
            .map(|(_, v)| *v)
            .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        (
            format!(
                "{} unavailable {min}..{max} min on {date} ({})",
                surface.map_or("every surface", Surface::name),
                cloud.map_or("every cloud", Cloud::name)
            ),
            bad.is_empty(),
            if bad.is_empty() {
                format!(
                    "{:.1}..{:.1} min across {} series",
                    range.0,
                    range.1,
                    worst.len()
                )
            } else {
                format!("out of range: {}", bad.join(", "))
            },
            Some(Measured::seconds(range.1 * 60.0)),
        )
    }
}

/// Clusters that lost at least one pool on `date` (or over the whole
/// run when no date is given) lie in [min, max].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClustersLostPools {
    #[serde(default)]
    pub date: Option<String>,
    pub min: u32,
    pub max: u32,
}

impl Check for ClustersLostPools {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        let ClustersLostPools { date: d, min, max } = self;
        check_clusters(*min, *max)?;
        d.as_deref().map_or(Ok(()), date)
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let ClustersLostPools { date, min, max } = self;
        let v = match date {
            Some(d) => o
                .clusters_lost_pools_by_day
                .get(&day(d))
                .copied()
                .unwrap_or(0),
            None => o.clusters_lost_pools_total,
        };
        (
            format!(
                "clusters losing pools {}: {min}..{max}",
                date.as_deref()
                    .map_or("in the run".to_string(), |d| format!("on {d}"))
            ),
            v >= *min && v <= *max,
            format!("{v} clusters"),
            Some(Measured::count(f64::from(v))),
        )
    }
}

/// No cluster loses a pool before `at`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoPoolLossBefore {
    pub at: String,
}

impl Check for NoPoolLossBefore {
    fn validate(&self, epoch: &Epoch) -> Result<(), String> {
        let NoPoolLossBefore { at } = self;
        epoch
            .time_of(at)
            .map(|_| ())
            .map_err(|e| format!("at: {e}"))
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let e = o.epoch;
        let NoPoolLossBefore { at } = self;
        let first = o.first_pool_loss_at;
        let ok = first.is_none_or(|f| o.unix_secs(f) >= unix_secs(at));
        (
            format!("no pool lost before {at}"),
            ok,
            format!(
                "first loss {}",
                first.map_or("never".into(), |f| e.format(f))
            ),
            first.map(|f| Measured::instant(f.as_secs_f64())),
        )
    }
}

/// More clusters lose pools on `date` than on `than`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoreLossOn {
    pub date: String,
    pub than: String,
}

impl Check for MoreLossOn {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        let MoreLossOn { date: a, than } = self;
        date(a)?;
        date_of("than", than)?;
        expect(a != than, "than", "a date other than `date`", than)
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let MoreLossOn { date, than } = self;
        let lost = |d: &str| o.clusters_lost_pools_by_day.get(&day(d)).copied();
        let (a, b) = (lost(date).unwrap_or(0), lost(than).unwrap_or(0));
        (
            format!("more clusters lose pools on {date} than on {than}"),
            a > b,
            format!("{a} vs {b}"),
            Some(Measured::count(f64::from(a) - f64::from(b))),
        )
    }
}

/// Clusters not fully converged at the end (pools, or the agent down,
/// in hold, behind on generation or failing its polls) lie in
/// [min, max]; `min` above 0 states a non-convergence the harness found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotConvergedAtEnd {
    #[serde(default)]
    pub min: u32,
    pub max: u32,
}

impl Check for NotConvergedAtEnd {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        let NotConvergedAtEnd { min, max } = self;
        check_clusters(*min, *max)
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let NotConvergedAtEnd { min, max } = self;
        let v = o.clusters_not_converged_at_end;
        let mut reasons: Vec<(&str, u32)> = o
            .not_converged_by_reason
            .iter()
            .map(|(k, n)| (k.name(), *n))
            .collect();
        reasons.sort();
        let why: Vec<String> = reasons
            .iter()
            .map(|(k, n)| format!("{n} {}", k.replace('_', " ")))
            .collect();
        (
            if *min == 0 {
                format!("at most {max} clusters not converged at the end")
            } else {
                format!("{min}..{max} clusters not converged at the end")
            },
            v >= *min && v <= *max,
            if why.is_empty() {
                format!("{v} not converged")
            } else {
                format!("{v} not converged ({})", why.join(", "))
            },
            Some(Measured::count(f64::from(v))),
        )
    }
}

/// At most `max` agents are still in safe hold at the end (liveness).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentsInHoldMax {
    pub max: u32,
}

impl Check for AgentsInHoldMax {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        let AgentsInHoldMax { max } = self;
        check_range("max", *max, 0, ("the largest fleet", CLUSTERS_MAX))
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let AgentsInHoldMax { max } = self;
        (
            format!("at most {max} agents still in safe hold at the end"),
            o.agents_in_hold_at_end <= *max,
            format!("{} in hold", o.agents_in_hold_at_end),
            Some(Measured::count(f64::from(o.agents_in_hold_at_end))),
        )
    }
}
