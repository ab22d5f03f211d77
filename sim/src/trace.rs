//! The run's trace: structured records folded into a rolling 64-bit hash.
//!
//! Every record is encoded canonically as a sequence of little-endian `u64`
//! words (time, kind code, then the record's own fields) and folded into the
//! hash word by word, so the hash is defined by the values, never by `Debug`
//! output, and costs a few nanoseconds per record: it stays on in every run.
//! Two runs with the same hash saw the same records in the same order.
//!
//! A JSON Lines sink can be attached for humans and tools; it is off by
//! default and does not change the hash.

use crate::time::{Epoch, SimTime};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write;

/// Something that can be written to the trace.
pub trait TraceRecord {
    /// A stable small number per record kind, part of the hashed encoding.
    fn kind_code(&self) -> u16;
    /// The kind's name in JSON output (`"pool_deleted"`).
    fn kind_name(&self) -> &'static str;
    /// Writes the canonical fields (everything that defines the record).
    fn encode(&self, words: &mut Words);
    /// Writes `,"field":value` pairs for the JSON sink. Default: none.
    fn write_json_fields(&self, _out: &mut String) {}
}

const FOLD_MULTIPLIER: u64 = 0xa076_1d64_78bd_642f;
const FOLD_SALT: u64 = 0xe703_7ed1_a0b4_28db;

/// 64x64 -> 128-bit multiply folded to 64 bits (the wyhash mixing step).
#[inline(always)]
fn fold(a: u64, b: u64) -> u64 {
    let p = (a as u128).wrapping_mul(b as u128);
    (p as u64) ^ ((p >> 64) as u64)
}

/// The hash state being fed one canonical word at a time.
pub struct Words {
    state: u64,
}

impl Words {
    #[inline(always)]
    pub fn u64(&mut self, w: u64) {
        self.state = fold(self.state ^ w ^ FOLD_SALT, FOLD_MULTIPLIER);
    }
    #[inline(always)]
    pub fn i64(&mut self, w: i64) {
        self.u64(w as u64);
    }
    #[inline(always)]
    pub fn bool(&mut self, b: bool) {
        self.u64(b as u64);
    }
    /// Floats are hashed by their bit pattern: the model is deterministic, so
    /// equal runs produce bit-equal floats.
    #[inline(always)]
    pub fn f64(&mut self, x: f64) {
        self.u64(x.to_bits());
    }
    /// Length, then the bytes packed into words.
    pub fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        for chunk in s.as_bytes().chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.u64(u64::from_le_bytes(buf));
        }
    }
}

/// The JSON Lines sink: one object per record.
struct JsonSink {
    out: Box<dyn Write>,
    epoch: Epoch,
    /// Record kinds to write; `None` writes every kind.
    only_kinds: Option<BTreeSet<String>>,
    line: String,
    lines_written: u64,
    error: Option<std::io::Error>,
}

/// The trace of a run.
pub struct Trace {
    words: Words,
    records: u64,
    sink: Option<JsonSink>,
}

impl Default for Trace {
    fn default() -> Self {
        Self::new()
    }
}

impl Trace {
    pub fn new() -> Self {
        Trace {
            words: Words {
                state: 0x243f_6a88_85a3_08d3,
            },
            records: 0,
            sink: None,
        }
    }

    /// Streams every record (or only `only_kinds`) as JSON Lines to `out`.
    pub fn attach_json_sink(
        &mut self,
        out: Box<dyn Write>,
        epoch: Epoch,
        only_kinds: Option<BTreeSet<String>>,
    ) {
        self.sink = Some(JsonSink {
            out,
            epoch,
            only_kinds,
            line: String::with_capacity(256),
            lines_written: 0,
            error: None,
        });
    }

    /// Records `rec` at `now`: folds it into the hash and writes it to the sink.
    #[inline]
    pub fn record<R: TraceRecord>(&mut self, now: SimTime, rec: &R) {
        self.words.u64(now.as_micros());
        self.words.u64(rec.kind_code() as u64);
        rec.encode(&mut self.words);
        self.records += 1;
        if self.sink.is_some() {
            self.write_json(now, rec);
        }
    }

    #[cold]
    fn write_json<R: TraceRecord>(&mut self, now: SimTime, rec: &R) {
        let sink = self.sink.as_mut().expect("checked");
        if sink.error.is_some() {
            return;
        }
        if let Some(kinds) = &sink.only_kinds {
            if !kinds.contains(rec.kind_name()) {
                return;
            }
        }
        sink.line.clear();
        let _ = write!(
            sink.line,
            "{{\"t_us\":{},\"time\":\"{}\",\"kind\":\"{}\"",
            now.as_micros(),
            sink.epoch.format(now),
            rec.kind_name()
        );
        rec.write_json_fields(&mut sink.line);
        sink.line.push_str("}\n");
        if let Err(e) = sink.out.write_all(sink.line.as_bytes()) {
            sink.error = Some(e);
        } else {
            sink.lines_written += 1;
        }
    }

    /// Flushes the sink; reports the first write error, if any.
    pub fn finish_sink(&mut self) -> std::io::Result<u64> {
        match self.sink.as_mut() {
            None => Ok(0),
            Some(sink) => {
                if let Some(e) = sink.error.take() {
                    return Err(e);
                }
                sink.out.flush()?;
                Ok(sink.lines_written)
            }
        }
    }

    /// The rolling hash of everything recorded so far.
    pub fn hash(&self) -> u64 {
        self.words.state
    }

    /// `hash()` as 16 lower-case hex digits, the form reports print.
    pub fn hash_hex(&self) -> String {
        format!("{:016x}", self.hash())
    }

    pub fn records(&self) -> u64 {
        self.records
    }
}

/// Escapes `s` as a JSON string body (for `write_json_fields` implementations).
pub fn json_escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    struct Ping {
        from: u32,
        to: u32,
    }
    impl TraceRecord for Ping {
        fn kind_code(&self) -> u16 {
            1
        }
        fn kind_name(&self) -> &'static str {
            "ping"
        }
        fn encode(&self, w: &mut Words) {
            w.u64(self.from as u64);
            w.u64(self.to as u64);
        }
        fn write_json_fields(&self, out: &mut String) {
            let _ = write!(out, ",\"from\":{},\"to\":{}", self.from, self.to);
        }
    }

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn hash_depends_on_values_order_and_time() {
        let run = |recs: &[(u64, u32, u32)]| {
            let mut t = Trace::new();
            for &(at, from, to) in recs {
                t.record(SimTime::from_micros(at), &Ping { from, to });
            }
            t.hash()
        };
        let base = run(&[(1, 1, 2), (2, 2, 1)]);
        assert_eq!(base, run(&[(1, 1, 2), (2, 2, 1)]));
        assert_ne!(base, run(&[(2, 2, 1), (1, 1, 2)]));
        assert_ne!(base, run(&[(1, 1, 2), (3, 2, 1)]));
        assert_ne!(base, run(&[(1, 2, 1), (2, 1, 2)]));
        assert_ne!(base, run(&[(1, 1, 2)]));
    }

    #[test]
    fn json_sink_writes_lines_without_changing_the_hash() {
        let epoch = Epoch::parse("2025-03-18T00:00:00Z").unwrap();
        let buf = Shared::default();
        let mut with_sink = Trace::new();
        with_sink.attach_json_sink(Box::new(buf.clone()), epoch, None);
        let mut without = Trace::new();
        for t in [&mut with_sink, &mut without] {
            t.record(SimTime::from_secs(63_000), &Ping { from: 1, to: 2 });
        }
        assert_eq!(with_sink.finish_sink().unwrap(), 1);
        assert_eq!(with_sink.hash(), without.hash());
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "{\"t_us\":63000000000,\"time\":\"2025-03-18T17:30:00Z\",\"kind\":\"ping\",\"from\":1,\"to\":2}\n"
        );
    }

    #[test]
    fn json_sink_filters_kinds() {
        let buf = Shared::default();
        let mut t = Trace::new();
        let only: BTreeSet<String> = ["other".to_string()].into();
        t.attach_json_sink(Box::new(buf.clone()), Epoch::from_unix_secs(0), Some(only));
        t.record(SimTime::ZERO, &Ping { from: 1, to: 2 });
        assert_eq!(t.finish_sink().unwrap(), 0);
        assert_eq!(t.records(), 1);
    }

    #[test]
    fn escape() {
        let mut s = String::new();
        json_escape_into(&mut s, "a\"b\\c\nd\u{1}");
        assert_eq!(s, "a\\\"b\\\\c\\nd\\u0001");
    }
}
