//! The seeded-bug catalogue: bugs planted on purpose in the logic under
//! test, to measure what the scenarios and chaos sweeps catch (a sweep that
//! cannot find a planted bug cannot be trusted to find a real one).
//!
//! Each bug belongs to one component and is named in that component's
//! section of a scenario file (`model.agent.seeded_bug`,
//! `model.change.seeded_bug`, `model.rollout.seeded_bug`,
//! `model.auth.seeded_bug`), typed there by the component's own enum
//! ([`SeededBug`], [`ChangeBug`], [`RolloutBug`], [`AuthBug`]);
//! [`Bug`] is the union that `cascade chaos --bug` takes. None is on
//! unless a file or flag names it.
//!
//! The catalogue below is the one place a bug is listed: one invocation of
//! `catalogue!` makes each component's enum (its doc comments are the
//! schema's descriptions and `--bug`'s help), their `ALL` and `name()`,
//! the union [`Bug`] and where each bug is planted ([`Bug::planted`]). A
//! new bug is one entry here, and then the branch in its component that
//! it switches.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Makes the catalogue from one list per component: the section of
/// `model` that names its bugs, the component's enum, the [`Planted`]
/// variant that holds it, and its bugs (doc comment, variant, file name).
macro_rules! catalogue {
    ($(
        $(#[$component_meta:meta])*
        $section:literal => $Component:ident in Planted::$Planted:ident {
            $( $(#[$bug_meta:meta])* $Bug:ident = $name:literal, )+
        }
    )+) => {
        $(
            $(#[$component_meta])*
            #[derive(
                Clone,
                Copy,
                Debug,
                PartialEq,
                Eq,
                PartialOrd,
                Ord,
                Serialize,
                Deserialize,
                JsonSchema,
                clap::ValueEnum,
            )]
            pub enum $Component {
                $(
                    $(#[$bug_meta])*
                    #[serde(rename = $name)]
                    #[value(name = $name)]
                    $Bug,
                )+
            }

            impl $Component {
                pub const ALL: [$Component; [$($name),+].len()] = [$($Component::$Bug),+];

                /// The name scenario files and `--bug` use.
                pub fn name(self) -> &'static str {
                    match self {
                        $($Component::$Bug => $name,)+
                    }
                }
            }
        )+

        /// Every seeded bug, whichever component it lives in (what each
        /// does: its component's enum, whose doc comments are also
        /// `--bug`'s help).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
        pub enum Bug {
            $($($Bug,)+)+
        }

        impl Bug {
            pub const ALL: [Bug; [$($($name,)+)+].len()] = [$($(Bug::$Bug,)+)+];

            /// Every section a bug may be named in (to clear them all).
            pub const SECTIONS: [&'static str; [$($section),+].len()] = [$($section),+];

            /// The component's own value for this bug.
            pub fn planted(self) -> Planted {
                match self {
                    $($(Bug::$Bug => Planted::$Planted($Component::$Bug),)+)+
                }
            }
        }

        /// Where a bug lives: the scenario section that names it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Planted {
            $($Planted($Component),)+
        }

        impl Planted {
            /// The section of `model` whose `seeded_bug` field names it.
            pub fn section(self) -> &'static str {
                match self {
                    $(Planted::$Planted(_) => $section,)+
                }
            }

            /// The name scenario files and `--bug` use (the same in both).
            pub fn name(self) -> &'static str {
                match self {
                    $(Planted::$Planted(b) => b.name(),)+
                }
            }

            /// `--bug`'s value, with the component's doc comment as help.
            fn possible_value(self) -> Option<clap::builder::PossibleValue> {
                use clap::ValueEnum;
                match self {
                    $(Planted::$Planted(b) => b.to_possible_value(),)+
                }
            }
        }
    };
}

catalogue! {
    /// Deliberately seeded bugs, to measure the harness's power to find bugs
    /// (`cascade chaos` must catch each one). Each bypasses one safeguard.
    "agent" => SeededBug in Planted::Agent {
        /// A 5xx is read as "no pools": every present pool is deleted at once.
        DeletesOn5xx = "deletes_on_5xx",
        /// G3 skipped: an older generation is applied.
        AcceptsGenerationRegression = "accepts_generation_regression",
        /// G2 and G4 skipped: a pool missing from any 200 answer is removed.
        IgnoresTombstones = "ignores_tombstones",
        /// G7 skipped: a failed poll is retried after one second, forever.
        RetriesWithoutBackoff = "retries_without_backoff",
        /// Once in safe hold the agent never leaves it (and stops reconciling).
        NeverLeavesHold = "never_leaves_hold",
        /// G8's real delete never comes: a soft-deleted pool stays scaled to
        /// zero for good (found only by liveness L3; every safety check and
        /// the removal's own deadline pass).
        NeverCollects = "never_collects",
        /// Delete intents are cached by pool name across answers: a tombstone
        /// from an older generation is still honoured after the customer has
        /// added the pool back (needs the customer workload to remove and
        /// re-add one pool).
        StaleTombstoneAfterReadd = "stale_tombstone_after_readd",
        /// A race between leaving safe hold and a stale answer: the first 200
        /// after hold is applied without G3's generation check, so a lagging
        /// replica's older answer can win.
        LeavesHoldOnStaleAnswer = "leaves_hold_on_stale_answer",
        /// G8's grace period counts from the first scale-to-zero request even
        /// when the cloud refused it: the running pool is deleted outright a
        /// grace period later, and the removal is late meanwhile (the bug that
        /// chaos fixed-400 seed 4 once found in the real agent).
        GraceFromRefusedScaleDown = "grace_from_refused_scale_down",
        /// A restarted agent starts from generation 0 instead of the one its
        /// cluster records as last applied: G3 protects one process lifetime
        /// only, and a lagging replica's older answer wins after a restart
        /// (the fixed agent's own bug until chaos fixed-400 seed 260).
        ForgetsGenerationOnRestart = "forgets_generation_on_restart",
        /// G4's confirmation is not started over when an answer wants the pool
        /// again: a debounce never reset. A pool once missing from an answer
        /// (a customer's removal withdrawn, a glitch of the desired-state
        /// service) is later removed at the first full resync after its delete
        /// intent appears, without the confirmation window (caught by I12).
        ConfirmationNeverResets = "confirmation_never_resets",
        /// A 200 resets the backoff even when G3 refuses it as stale: behind
        /// a lagging replica the agent retries at the base rate, never backs
        /// off further and never holds (caught by I8's backoff watch).
        BackoffResetByStaleAnswer = "backoff_reset_by_stale_answer",
    }
    /// Seeded bugs of change management.
    "change" => ChangeBug in Planted::Change {
        /// Isolation never rejects a change applied with another environment's
        /// credentials: the leak goes through to prod with isolation on
        /// (caught by I5).
        IsolationNeverRejects = "isolation_never_rejects",
        /// Isolation's credential check is written as an assertion instead of
        /// a rejection: a change applied with another environment's
        /// credentials crashes the change manager (a panic, the verdict class
        /// of its own) instead of being refused.
        IsolationAssertsInsteadOfRejecting = "isolation_asserts_instead_of_rejecting",
    }
    /// Seeded bugs of the rollout controller.
    "rollout" => RolloutBug in Planted::Rollout {
        /// Resuming after a halt takes the cleared alarm for a clean bake: the
        /// halted wave is recorded as baked at once and the next wave starts
        /// (the controller's own bookkeeping agrees with itself; the driver's
        /// watch of bake times, I7, does not).
        SkipsBakeAfterAlarm = "skips_bake_after_alarm",
        /// An off-by-one on the wave index: alarms during the canary (wave
        /// 0) are ignored, so a release that trips an alarm at its first
        /// clusters goes on to the next, larger wave (caught by I15).
        IgnoresAlarmInEarlyWaves = "ignores_alarm_in_early_waves",
    }
    /// Seeded bugs of the recovery script.
    "recovery" => RecoveryBug in Planted::Recovery {
        /// The preflight believes its wait over its probe: a cluster whose
        /// route answered 404 once is restored at the first recheck, whatever
        /// the probe says then (caught by I13 and I14: the agent deletes the
        /// restored pools again).
        TrustsTheWaitOverTheProbe = "trusts_the_wait_over_the_probe",
        /// The preflight probes the desired-state service directly instead of
        /// going through the edge: it never sees a misroute, so it restores
        /// into broken routes (caught by I13 and I14).
        ProbesServiceNotEdge = "probes_service_not_edge",
    }
    /// Seeded bugs of the auth component.
    "auth" => AuthBug in Planted::Auth {
        /// The autoscaler's scale-down takes the last recommendation instead
        /// of the highest of its stabilisation window: under load that rises
        /// and falls, replicas are removed in every dip and the next crest
        /// meets too few warm pods (the control loop's own bookkeeping
        /// agrees with itself; the world's record of the recommendations,
        /// I16, does not).
        IgnoresScaleDownStabilisation = "ignores_scale_down_stabilisation",
    }
}

impl clap::ValueEnum for Bug {
    fn value_variants<'a>() -> &'a [Self] {
        &Bug::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        self.planted().possible_value()
    }
}

impl Bug {
    /// The name scenario files and `--bug` use (the same in both).
    pub fn name(self) -> &'static str {
        self.planted().name()
    }

    /// The section of `model` that names it.
    pub fn section(self) -> &'static str {
        self.planted().section()
    }

    /// Plants the bug in a scenario's `model` object
    /// (`<section>.seeded_bug`).
    pub fn plant_in(self, model: &mut serde_json::Value) {
        model[self.section()]["seeded_bug"] = serde_json::json!(self.name());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn the_catalogue_lists_every_component_bug_once_under_its_file_name() {
        assert_eq!(Bug::value_variants().len(), Bug::ALL.len());
        for bug in Bug::ALL {
            assert_eq!(Bug::from_str(bug.name(), false), Ok(bug), "{bug:?}");
            // The name is the one the component's section deserialises.
            let text = format!("\"{}\"", bug.name());
            match bug.planted() {
                Planted::Agent(b) => {
                    assert_eq!(serde_json::from_str::<SeededBug>(&text).unwrap(), b)
                }
                Planted::Change(b) => {
                    assert_eq!(serde_json::from_str::<ChangeBug>(&text).unwrap(), b)
                }
                Planted::Rollout(b) => {
                    assert_eq!(serde_json::from_str::<RolloutBug>(&text).unwrap(), b)
                }
                Planted::Recovery(b) => {
                    assert_eq!(serde_json::from_str::<RecoveryBug>(&text).unwrap(), b)
                }
                Planted::Auth(b) => {
                    assert_eq!(serde_json::from_str::<AuthBug>(&text).unwrap(), b)
                }
            }
        }
        for b in SeededBug::ALL {
            assert!(Bug::ALL.iter().any(|x| x.planted() == Planted::Agent(b)));
        }
        for b in ChangeBug::ALL {
            assert!(Bug::ALL.iter().any(|x| x.planted() == Planted::Change(b)));
        }
        for b in RolloutBug::ALL {
            assert!(Bug::ALL.iter().any(|x| x.planted() == Planted::Rollout(b)));
        }
        for b in RecoveryBug::ALL {
            assert!(Bug::ALL.iter().any(|x| x.planted() == Planted::Recovery(b)));
        }
        for b in AuthBug::ALL {
            assert!(Bug::ALL.iter().any(|x| x.planted() == Planted::Auth(b)));
        }
    }
}
