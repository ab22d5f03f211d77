//! Invariant findings, by rule or in all.

use super::*;

/// Findings of `rule` (or any rule) lie in [min, max].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Findings {
    #[serde(default)]
    pub rule: Option<Rule>,
    #[serde(default)]
    pub min: u64,
    pub max: u64,
}

impl Check for Findings {
    fn validate(&self, _epoch: &Epoch) -> Result<(), String> {
        let Findings { min, max, .. } = self;
        check_ordered(("min", *min), ("max", *max))
    }

    fn check(&self, o: &Outcome, _variant: Option<&Outcome>) -> Judged {
        let Findings { rule, min, max } = self;
        let v = match rule {
            Some(r) => o.findings.of(*r),
            None => o.findings.total,
        };
        (
            format!(
                "findings {}: {min}..{max}",
                rule.map_or("(any rule)", Rule::id)
            ),
            v >= *min && v <= *max,
            format!("{v} findings"),
            Some(Measured::count(v as f64)),
        )
    }
}
