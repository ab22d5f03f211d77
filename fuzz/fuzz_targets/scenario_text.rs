//! Any text as a scenario file: the loader answers with a scenario or a
//! clear error, never a panic, a hang or an unbounded allocation; what it
//! accepts has a finite work estimate (the budget can judge it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // `extends` resolves beside this path, which does not exist: a fuzzed
    // base name is refused, not read.
    if let Ok(sc) = cascade::scenario::load_str(Path::new("/nonexistent/fuzz.json"), text) {
        let work = cascade::run::work_estimate(&sc);
        assert!(work.is_finite() && work >= 0.0, "work estimate {work}");
    }
});
