//! The scenario loader against hostile input, as a property: the flagship
//! scenario with a random field replaced by random JSON (extreme numbers,
//! wrong types, deep nesting), or its text cut or with a byte changed,
//! never panics and never takes long; whatever it accepts is a scenario
//! the work budget can judge (a finite estimate). This is the fuzzing that
//! runs on every `cargo test`; coverage-guided fuzzing of the same loaders
//! (cargo-fuzz, nightly) is `bash fuzz/run.sh`, which the nightly workflow runs.

use cascade::run::work_estimate;
use cascade::scenario::load_str;
use proptest::prelude::*;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

fn flagship() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/march-2025.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every path to a value in `v` (object keys and array indices).
fn paths(v: &Value, here: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(here.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                here.push(k.clone());
                paths(x, here, out);
                here.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                here.push(i.to_string());
                paths(x, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

fn at_mut<'a>(v: &'a mut Value, path: &[String]) -> &'a mut Value {
    path.iter().fold(v, |v, k| match v {
        Value::Object(m) => m.get_mut(k).unwrap(),
        Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
        _ => unreachable!("paths lead through containers"),
    })
}

fn hostile_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![
            Just(0.0),
            Just(-0.0),
            Just(1e-300),
            Just(1e300),
            Just(-1e300),
            Just(f64::MAX),
            Just(f64::MIN_POSITIVE),
            any::<f64>().prop_filter("finite", |x| x.is_finite()),
        ]
        .prop_map(Value::from),
        prop_oneof![
            Just("".to_string()),
            Just("../../x".to_string()),
            Just("D99 99:99".to_string()),
            Just("1e9999h".to_string()),
            // A libFuzzer find: a year too large for the microsecond clock.
            Just("99999999999-01-01T00:00:00Z".to_string()),
            Just("\u{1b}[2J".to_string()),
            "[a-z0-9 :+.-]{0,12}",
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Loads `text`, checking that the loader neither panics (proptest reports
/// a panic as a failure) nor dawdles, and that what it accepts has a
/// finite work estimate.
// The wall clock times the loader itself, outside any simulated world.
#[allow(clippy::disallowed_methods)]
fn load_checked(text: &str) -> Result<(), TestCaseError> {
    let started = Instant::now();
    let loaded = load_str(Path::new("fuzz.json"), text);
    prop_assert!(
        started.elapsed() < Duration::from_secs(2),
        "loading took {:?}",
        started.elapsed()
    );
    if let Ok(sc) = loaded {
        let work = work_estimate(&sc);
        prop_assert!(work.is_finite() && work >= 0.0, "work estimate {work}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_replaced_field_is_loaded_or_refused_never_a_panic(
        pick in any::<prop::sample::Index>(),
        replacement in hostile_json(),
    ) {
        let mut doc = flagship();
        let mut all = Vec::new();
        paths(&doc, &mut Vec::new(), &mut all);
        let path = &all[pick.index(all.len())];
        *at_mut(&mut doc, path) = replacement;
        load_checked(&doc.to_string())?;
    }

    #[test]
    fn cut_or_corrupted_text_is_refused_never_a_panic(
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let text = flagship().to_string();
        load_checked(&text[..cut.index(text.len())])?;
        let mut bytes = text.into_bytes();
        let i = flip.index(bytes.len());
        bytes[i] = byte;
        if let Ok(t) = String::from_utf8(bytes) {
            load_checked(&t)?;
        }
    }
}
