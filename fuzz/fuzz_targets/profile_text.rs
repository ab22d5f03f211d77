//! Any text as a chaos profile: a profile or a clear error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cascade::chaos::profile::parse(Path::new("/nonexistent/fuzz.profile.json"), text);
    }
});
