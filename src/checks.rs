//! Invariants I1 to I10 of the model spec, checked as the world runs.
//!
//! A violation is a [`Finding`] (time, cluster, rule, guard), never a crash:
//! the historical buggy agent violates I1 by design, and the report counts it.

use crate::model::agent::Guard;
use crate::protocol::ClusterId;
use cascade_sim::SimTime;
use serde::Serialize;
use std::collections::BTreeMap;

/// The invariants of the model spec, section 6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Rule {
    /// I1: no destructive action without an authoritative answer and a delete intent.
    I1DestructiveNeedsAuthority,
    /// I2: blast-radius caps hold.
    I2BlastRadius,
    /// I3: protected pools are never absent while delete locks are on.
    I3ProtectedPoolsKept,
    /// I4: applied generations never decrease.
    I4GenerationMonotonic,
    /// I5: nothing aimed at staging is applied to prod with isolation on.
    I5IsolationHolds,
    /// I6: only emergency changes are applied during a freeze.
    I6FreezeHolds,
    /// I7: at most one rollout wave runs unbaked.
    I7OneUnbakedWave,
    /// I8: retries stay within budget.
    I8RetryBudget,
    /// I9: every queue is bounded.
    I9QueuesBounded,
    /// I10: every pool is in exactly one state.
    I10PoolStateUnique,
}

impl Rule {
    pub fn id(self) -> &'static str {
        match self {
            Rule::I1DestructiveNeedsAuthority => "I1",
            Rule::I2BlastRadius => "I2",
            Rule::I3ProtectedPoolsKept => "I3",
            Rule::I4GenerationMonotonic => "I4",
            Rule::I5IsolationHolds => "I5",
            Rule::I6FreezeHolds => "I6",
            Rule::I7OneUnbakedWave => "I7",
            Rule::I8RetryBudget => "I8",
            Rule::I9QueuesBounded => "I9",
            Rule::I10PoolStateUnique => "I10",
        }
    }
}

/// One invariant violation.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub at: SimTime,
    pub cluster: Option<ClusterId>,
    pub rule: Rule,
    /// The guard that would have prevented it, where one applies.
    pub guard: Option<Guard>,
    pub detail: String,
}

/// Findings collected during a run: every one counted, the first
/// `kept_max` kept in full (bounded memory however buggy the run).
#[derive(Clone, Debug, Default)]
pub struct Findings {
    pub kept: Vec<Finding>,
    pub by_rule: BTreeMap<Rule, u64>,
    pub kept_max: usize,
}

impl Findings {
    pub fn new(kept_max: usize) -> Self {
        Findings {
            kept: Vec::new(),
            by_rule: BTreeMap::new(),
            kept_max,
        }
    }

    pub fn add(&mut self, f: Finding) {
        *self.by_rule.entry(f.rule).or_insert(0) += 1;
        if self.kept.len() < self.kept_max {
            self.kept.push(f);
        }
    }

    pub fn total(&self) -> u64 {
        self.by_rule.values().sum()
    }

    pub fn count(&self, rule: Rule) -> u64 {
        self.by_rule.get(&rule).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_are_counted_beyond_what_is_kept() {
        let mut f = Findings::new(2);
        for i in 0..5 {
            f.add(Finding {
                at: SimTime::from_secs(i),
                cluster: Some(i as u32),
                rule: Rule::I1DestructiveNeedsAuthority,
                guard: Some(Guard::G1),
                detail: String::new(),
            });
        }
        assert_eq!(f.kept.len(), 2);
        assert_eq!(f.count(Rule::I1DestructiveNeedsAuthority), 5);
        assert_eq!(f.total(), 5);
        assert_eq!(f.count(Rule::I5IsolationHolds), 0);
    }
}
