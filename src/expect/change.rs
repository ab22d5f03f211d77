//! Changes: the freeze, leaks to prod, the customers' own changes
//! (liveness L1, L3), the agent fix's rollout.

use super::*;

/// Ordinary (non-emergency, non-leaked) prod changes applied during a freeze: at most `max`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FreezeHolds {
    pub max: u32,
}

impl Check for FreezeHolds {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        // An upper bound on the prod changes of a freeze may be any
        // count: every value is a bound some run meets.
        Ok(())
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let FreezeHolds { max } = self;
        let v = o
            .changes_applied
            .iter()
            .filter(|c| c.during_freeze && !c.emergency && !c.leaked && c.applied_to == Env::Prod)
            .count() as u32;
        (
            format!("at most {max} ordinary prod changes during the freeze"),
            v <= *max,
            format!("{v} ordinary changes applied during the freeze"),
            Some(Measured::count(f64::from(v))),
        )
    }
}

/// Changes meant for staging that were applied to prod lie in [min, max].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangesLeaked {
    pub min: u32,
    pub max: u32,
}

impl Check for ChangesLeaked {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        let ChangesLeaked { min, max } = self;
        check_ordered(("min", *min), ("max", *max))
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let ChangesLeaked { min, max } = self;
        let v = o.changes_applied.iter().filter(|c| c.leaked).count() as u32;
        (
            format!("staging changes leaked to prod: {min}..{max}"),
            v >= *min && v <= *max,
            format!("{v} leaked"),
            Some(Measured::count(f64::from(v))),
        )
    }
}

/// Customer changes (liveness L1 and L3): at most `late_max` are
/// carried out past their deadline, or still pending past it at the
/// end, with the cluster undisturbed; a removal carried out by a soft
/// delete counts as late too when its pool is not really deleted
/// within the grace period plus the removal's deadline (L3); at least
/// `issued_min` were issued (so the check cannot pass on a run without
/// customers).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerChanges {
    #[serde(default)]
    pub late_max: u32,
    #[serde(default)]
    pub issued_min: u32,
}

impl Check for CustomerChanges {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        let CustomerChanges {
            late_max,
            issued_min,
        } = self;
        let booked = ("the changes a run books", CUSTOMER_CHANGES_MAX);
        check_at_most("late_max", *late_max, booked)?;
        check_at_most("issued_min", *issued_min, booked)
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let e = o.epoch;
        let CustomerChanges {
            late_max,
            issued_min,
        } = self;
        let ch = &o.customer_changes;
        (
            format!("customer changes carried out in time: at most {late_max} late (of at least {issued_min})"),
            ch.late + ch.collect_late <= *late_max && ch.issued >= *issued_min,
            format!(
                "{} issued, {} carried out, {} late, {} removals collected, {} collected late{}",
                ch.issued,
                ch.carried_out,
                ch.late,
                ch.collected,
                ch.collect_late,
                ch.first_late
                    .first()
                    .map(|l| format!("; first late: {}", l.describe(e)))
                    .unwrap_or_default()
            ),
            Some(Measured::count((ch.late + ch.collect_late) as f64)),
        )
    }
}

/// The run's rollout of the agent told `upgraded_min..=upgraded_max`
/// clusters to upgrade; `halted_by_health_gate`, when given, says
/// whether it ended halted by its own health gate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    #[serde(default)]
    pub upgraded_min: u32,
    pub upgraded_max: u32,
    #[serde(default)]
    pub halted_by_health_gate: Option<bool>,
}

impl Check for Rollout {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        let Rollout {
            upgraded_min,
            upgraded_max,
            ..
        } = self;
        let fleet = ("the largest fleet", CLUSTERS_MAX);
        check_range("upgraded_min", *upgraded_min, 0, fleet)?;
        check_range("upgraded_max", *upgraded_max, 0, fleet)?;
        check_ordered(
            ("upgraded_min", *upgraded_min),
            ("upgraded_max", *upgraded_max),
        )
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let e = o.epoch;
        let Rollout {
            upgraded_min,
            upgraded_max,
            halted_by_health_gate,
        } = self;
        let r = o.rollouts.last();
        let upgraded = r.map_or(0, |r| r.upgraded);
        let by_gate = r.is_some_and(|r| r.halted_by_health_gate());
        let gate_ok = halted_by_health_gate.is_none_or(|want| want == by_gate);
        let gate_text = match halted_by_health_gate {
            Some(true) => ", halted by its health gate",
            Some(false) => ", not halted by its health gate",
            None => "",
        };
        (
            format!("the rollout upgrades {upgraded_min}..{upgraded_max} clusters{gate_text}"),
            r.is_some() && upgraded >= *upgraded_min && upgraded <= *upgraded_max && gate_ok,
            match r {
                None => "no rollout".into(),
                Some(r) => format!(
                    "{upgraded} upgraded; {}",
                    match (&r.halted_by, r.completed_at) {
                        (Some(b), _) if r.halted => format!("halted by {}", b.describe()),
                        (_, Some(at)) => format!("completed {}", e.format(at)),
                        _ => "still running".into(),
                    }
                ),
            },
            r.map(|_| Measured::count(upgraded as f64)),
        )
    }
}
