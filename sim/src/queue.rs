//! The pending-event queue, generic over the caller's event enum.
//!
//! Events are ordered by (time, sequence number): two events at the same
//! instant pop in the order they were scheduled, never by payload or accident.
//! Three implementations share the [`PendingEvents`] trait so the kernel bench
//! can measure them against each other:
//!
//! - [`HeapQueue`]: `std`'s binary heap keyed by (time, seq); O(log n) per
//!   operation with scattered memory access.
//! - [`RadixQueue`]: a monotone radix heap keyed by time. Because simulated time
//!   never goes backwards, an event is only ever moved to a lower bucket, and a
//!   bucket is scanned sequentially; equal-time events keep their scheduling
//!   order because buckets are FIFO (see the proof sketch on [`RadixQueue`]).
//!
//! - [`WheelQueue`]: a hashed timer wheel (O(1) push and pop) with a heap
//!   for events beyond its horizon.
//!
//! [`EventQueue`] names the one the kernel uses: whichever `benches/kernel.rs`
//! measured fastest, the timer wheel (about 3x the heap, 1.8x the radix queue;
//! figures in ARCHITECTURE.md).

use crate::time::SimTime;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// The queue the kernel uses.
pub type EventQueue<E> = WheelQueue<E>;

/// What every queue implementation offers. Static dispatch only.
pub trait PendingEvents<E> {
    fn new() -> Self;
    /// Schedules `event` at `at`. `at` must not be earlier than the last popped
    /// time (for [`RadixQueue`]: nor than the earliest time a `peek_time` saw).
    fn push(&mut self, at: SimTime, event: E);
    /// Removes the earliest event (ties: earliest scheduled).
    fn pop(&mut self) -> Option<(SimTime, E)>;
    fn peek_time(&mut self) -> Option<SimTime>;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

struct HeapEntry<E> {
    at: SimTime,
    seq: u64,
    event: E,
}

impl<E> PartialEq for HeapEntry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.seq == other.seq
    }
}
impl<E> Eq for HeapEntry<E> {}
impl<E> PartialOrd for HeapEntry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for HeapEntry<E> {
    /// Reversed so that `BinaryHeap` (a max-heap) pops the earliest (time, seq).
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// Binary heap keyed by (time, sequence number).
pub struct HeapQueue<E> {
    heap: BinaryHeap<HeapEntry<E>>,
    next_seq: u64,
}

impl<E> PendingEvents<E> for HeapQueue<E> {
    fn new() -> Self {
        HeapQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }
    #[inline]
    fn push(&mut self, at: SimTime, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(HeapEntry { at, seq, event });
    }
    #[inline]
    fn pop(&mut self) -> Option<(SimTime, E)> {
        self.heap.pop().map(|e| (e.at, e.event))
    }
    fn peek_time(&mut self) -> Option<SimTime> {
        self.heap.peek().map(|e| e.at)
    }
    fn len(&self) -> usize {
        self.heap.len()
    }
}

const BUCKETS: usize = 65;

/// Monotone radix heap over `u64` microsecond keys with FIFO ties.
///
/// Bucket 0 holds events at exactly `last` (the last popped time); bucket `i`
/// (1..=64) holds events whose time differs from `last` first at bit `i-1`.
/// Pop takes from bucket 0; when it is empty, the lowest non-empty bucket is
/// scanned for its minimum, `last` moves there, and the bucket's events are
/// redistributed, in order, into lower (then empty) buckets.
///
/// Why ties stay in scheduling order: events of equal time always sit in the
/// same bucket; a new event is appended after every earlier one; and a
/// redistribution walks a bucket front to back into empty buckets, so the
/// relative order of equal-time events never changes. No sequence number is
/// stored.
pub struct RadixQueue<E> {
    last: u64,
    len: usize,
    now_bucket: VecDeque<(u64, E)>,
    buckets: Vec<Vec<(u64, E)>>,
    /// Bit i set when bucket i (1..=64) is non-empty, to find the lowest in O(1).
    occupied: u128,
}

impl<E> RadixQueue<E> {
    #[inline]
    fn bucket_of(&self, key: u64) -> usize {
        (64 - (key ^ self.last).leading_zeros()) as usize
    }

    /// Refills bucket 0 from the lowest non-empty bucket. Returns false if empty.
    #[cold]
    fn refill(&mut self) -> bool {
        if self.occupied == 0 {
            return false;
        }
        let i = self.occupied.trailing_zeros() as usize;
        let mut moving = std::mem::take(&mut self.buckets[i]);
        self.occupied &= !(1u128 << i);
        let min = moving
            .iter()
            .map(|(k, _)| *k)
            .min()
            .expect("occupied bucket");
        self.last = min;
        for (key, event) in moving.drain(..) {
            let b = self.bucket_of(key);
            if b == 0 {
                self.now_bucket.push_back((key, event));
            } else {
                debug_assert!(b < i, "radix redistribution must move down");
                self.buckets[b].push((key, event));
                self.occupied |= 1u128 << b;
            }
        }
        // Hand the emptied allocation back so the bucket does not reallocate.
        self.buckets[i] = moving;
        true
    }
}

impl<E> PendingEvents<E> for RadixQueue<E> {
    fn new() -> Self {
        RadixQueue {
            last: 0,
            len: 0,
            now_bucket: VecDeque::new(),
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            occupied: 0,
        }
    }

    #[inline]
    fn push(&mut self, at: SimTime, event: E) {
        let key = at.as_micros();
        assert!(
            key >= self.last,
            "event scheduled in the past: at {key} us, queue already at {} us",
            self.last
        );
        let b = self.bucket_of(key);
        if b == 0 {
            self.now_bucket.push_back((key, event));
        } else {
            self.buckets[b].push((key, event));
            self.occupied |= 1u128 << b;
        }
        self.len += 1;
    }

    #[inline]
    fn pop(&mut self) -> Option<(SimTime, E)> {
        if self.now_bucket.is_empty() && !self.refill() {
            return None;
        }
        let (key, event) = self.now_bucket.pop_front().expect("refilled");
        self.len -= 1;
        Some((SimTime::from_micros(key), event))
    }

    fn peek_time(&mut self) -> Option<SimTime> {
        if self.now_bucket.is_empty() && !self.refill() {
            return None;
        }
        Some(SimTime::from_micros(self.last))
    }

    fn len(&self) -> usize {
        self.len
    }
}

/// Default wheel geometry: 32.8 ms slots (2^15 us) and 2^12 slots, a horizon
/// of ~134 s that covers the model's poll intervals (60 s +-20 %); later
/// events wait in the overflow heap. Measured in `benches/kernel.rs` against
/// 1 ms x 2^17 (5 M events/s: 3 MB of slot headers miss the cache) and
/// 8-16 ms slots (29-36 M events/s, within noise of this choice).
const WHEEL_SLOT_US_LOG2: u32 = 15;
const WHEEL_SLOTS_LOG2: u32 = 12;

/// A hashed timer wheel with a binary-heap overflow for far events.
///
/// Time is cut into slots of `2^slot_us_log2` microseconds; the wheel holds
/// the next `2^slots_log2` slots, each an unsorted vector, with a bitmap of
/// occupied slots. When the cursor reaches a slot, its events are stably
/// sorted by time (stable sort = scheduling order among ties) into `ready`.
/// Events beyond the horizon go to a [`HeapQueue`] (not the radix queue: a
/// peek at the overflow must not forbid later pushes below its minimum) and
/// are moved onto the
/// wheel eagerly, the moment the cursor advance brings them within the
/// horizon, so that they land before any later-scheduled event of equal time.
pub struct WheelQueue<E> {
    slot_us_log2: u32,
    mask: u64,
    /// Absolute index (time >> slot_us_log2) of the slot `ready` holds.
    cursor: u64,
    /// Last popped time (monotonicity check).
    last: u64,
    ready: VecDeque<(u64, E)>,
    slots: Vec<Vec<(u64, E)>>,
    occupied: Vec<u64>,
    wheel_len: usize,
    overflow: HeapQueue<E>,
}

impl<E> WheelQueue<E> {
    /// A wheel of `2^slots_log2` slots of `2^slot_us_log2` microseconds.
    pub fn with_geometry(slot_us_log2: u32, slots_log2: u32) -> Self {
        assert!(
            (6..=24).contains(&slots_log2),
            "wheel needs 2^6..=2^24 slots"
        );
        assert!(slot_us_log2 <= 30, "wheel slot at most 2^30 us");
        let n = 1usize << slots_log2;
        WheelQueue {
            slot_us_log2,
            mask: (n - 1) as u64,
            cursor: 0,
            last: 0,
            ready: VecDeque::new(),
            slots: (0..n).map(|_| Vec::new()).collect(),
            occupied: vec![0; n / 64],
            wheel_len: 0,
            overflow: HeapQueue::new(),
        }
    }

    #[inline(always)]
    fn horizon(&self) -> u64 {
        self.cursor + self.mask + 1
    }

    #[inline(always)]
    fn place(&mut self, abs_slot: u64, key: u64, event: E) {
        let i = (abs_slot & self.mask) as usize;
        self.slots[i].push((key, event));
        self.occupied[i >> 6] |= 1u64 << (i & 63);
        self.wheel_len += 1;
    }

    /// Next occupied wheel slot strictly after the cursor, as an absolute index.
    fn next_occupied(&self) -> Option<u64> {
        if self.wheel_len == 0 {
            return None;
        }
        let n = self.mask + 1;
        let start = (self.cursor + 1) & self.mask;
        let words = self.occupied.len();
        let mut w = (start >> 6) as usize;
        let mut bits = self.occupied[w] & (!0u64 << (start & 63));
        // At most one full turn plus the partial first word.
        for _ in 0..=words {
            if bits != 0 {
                let i = ((w as u64) << 6) | bits.trailing_zeros() as u64;
                let dist = (i + n - start) & self.mask;
                return Some(self.cursor + 1 + dist);
            }
            w = (w + 1) % words;
            bits = self.occupied[w];
        }
        unreachable!("wheel_len > 0 but no occupied slot")
    }

    /// Moves the cursor to the next non-empty slot and fills `ready`.
    #[cold]
    fn advance(&mut self) -> bool {
        let wheel_next = self.next_occupied();
        let overflow_next = self
            .overflow
            .peek_time()
            .map(|t| t.as_micros() >> self.slot_us_log2);
        let target = match (wheel_next, overflow_next) {
            (None, None) => return false,
            (Some(w), None) => w,
            (None, Some(o)) => o,
            (Some(w), Some(o)) => w.min(o),
        };
        self.cursor = target;
        // Eager migration: everything now within the horizon joins the wheel.
        let horizon = self.horizon();
        while let Some(t) = self.overflow.peek_time() {
            let s = t.as_micros() >> self.slot_us_log2;
            if s >= horizon {
                break;
            }
            let (t, e) = self.overflow.pop().expect("peeked");
            self.place(s, t.as_micros(), e);
        }
        let i = (target & self.mask) as usize;
        let mut slot = std::mem::take(&mut self.slots[i]);
        self.occupied[i >> 6] &= !(1u64 << (i & 63));
        self.wheel_len -= slot.len();
        // Stable: equal times keep their scheduling order. Events often
        // arrive in time order, and a sorted slot needs no sort at all.
        if !slot.is_sorted_by_key(|(k, _)| *k) {
            slot.sort_by_key(|(k, _)| *k);
        }
        // `ready` is empty here: the slot's buffer becomes `ready` and the
        // empty buffer of `ready` goes back to the slot, with no copy (the
        // conversions between `Vec` and `VecDeque` keep the allocation).
        debug_assert!(self.ready.is_empty());
        let spent = std::mem::replace(&mut self.ready, VecDeque::from(slot));
        let mut spent = Vec::from(spent);
        spent.clear();
        self.slots[i] = spent;
        true
    }
}

impl<E> PendingEvents<E> for WheelQueue<E> {
    fn new() -> Self {
        Self::with_geometry(WHEEL_SLOT_US_LOG2, WHEEL_SLOTS_LOG2)
    }

    #[inline]
    fn push(&mut self, at: SimTime, event: E) {
        let key = at.as_micros();
        assert!(
            key >= self.last,
            "event scheduled in the past: at {key} us, queue already at {} us",
            self.last
        );
        let s = key >> self.slot_us_log2;
        if s <= self.cursor {
            // Into the sorted ready list, after every event of equal or
            // earlier time. An event before the cursor's slot (a peek moved
            // the cursor to the next event, then something scheduled an
            // earlier one: a driver feeding the model from outside between
            // runs) is earlier than every event the wheel holds, so it
            // belongs in `ready` too; a wheel slot behind the cursor would
            // only be visited a whole turn later.
            if self.ready.back().is_none_or(|(k, _)| *k <= key) {
                self.ready.push_back((key, event));
            } else {
                let pos = self.ready.partition_point(|(k, _)| *k <= key);
                self.ready.insert(pos, (key, event));
            }
        } else if s < self.horizon() {
            self.place(s, key, event);
        } else {
            self.overflow.push(at, event);
        }
    }

    #[inline]
    fn pop(&mut self) -> Option<(SimTime, E)> {
        if self.ready.is_empty() && !self.advance() {
            return None;
        }
        let (key, event) = self.ready.pop_front().expect("advanced");
        self.last = key;
        Some((SimTime::from_micros(key), event))
    }

    fn peek_time(&mut self) -> Option<SimTime> {
        if self.ready.is_empty() && !self.advance() {
            return None;
        }
        self.ready.front().map(|(k, _)| SimTime::from_micros(*k))
    }

    fn len(&self) -> usize {
        self.ready.len() + self.wheel_len + self.overflow.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Seed;

    fn drain<Q: PendingEvents<u32>>(mut q: Q) -> Vec<(u64, u32)> {
        let mut out = Vec::new();
        while let Some((t, e)) = q.pop() {
            out.push((t.as_micros(), e));
        }
        out
    }

    /// A peek moves the wheel's cursor to the next event; an event pushed
    /// after it, earlier than that one, still pops first.
    #[test]
    fn an_event_pushed_behind_the_cursor_after_a_peek_pops_in_order() {
        let mut q: WheelQueue<u32> = WheelQueue::new();
        q.push(SimTime::from_secs(300), 1);
        assert_eq!(q.peek_time(), Some(SimTime::from_secs(300)));
        q.push(SimTime::from_secs(30), 2);
        q.push(SimTime::from_secs(60), 3);
        assert_eq!(
            drain(q),
            vec![(30_000_000, 2), (60_000_000, 3), (300_000_000, 1)]
        );
    }

    fn ties_in_schedule_order<Q: PendingEvents<u32>>() {
        let mut q = Q::new();
        q.push(SimTime::from_micros(50), 0);
        q.push(SimTime::from_micros(10), 1);
        q.push(SimTime::from_micros(50), 2);
        q.push(SimTime::from_micros(10), 3);
        q.push(SimTime::from_micros(30), 4);
        q.push(SimTime::from_micros(50), 5);
        assert_eq!(
            drain(q),
            vec![(10, 1), (10, 3), (30, 4), (50, 0), (50, 2), (50, 5)]
        );
    }

    #[test]
    fn heap_orders_by_time_then_sequence() {
        ties_in_schedule_order::<HeapQueue<u32>>();
    }

    #[test]
    fn radix_orders_by_time_then_sequence() {
        ties_in_schedule_order::<RadixQueue<u32>>();
    }

    #[test]
    fn wheel_orders_by_time_then_sequence() {
        ties_in_schedule_order::<WheelQueue<u32>>();
    }

    /// Interleaved pushes and pops with many ties and some far-future events:
    /// every queue gives the heap's order.
    fn matches_heap_on_random_workload<Q: PendingEvents<u32>>(seed: u64) {
        let mut rng = Seed(seed).fork("queue-test", 0);
        let mut heap = HeapQueue::<u32>::new();
        let mut other = Q::new();
        let mut now = 0u64;
        let mut id = 0u32;
        let (mut from_heap, mut from_other) = (Vec::new(), Vec::new());
        for _ in 0..50_000 {
            if rng.below(3) > 0 || heap.is_empty() {
                // Coarse times so that ties are frequent; 1 in 50 far beyond a wheel's horizon.
                let at = if rng.below(50) == 0 {
                    now + rng.below(4) * 100_000_000 + rng.below(3) * 1_000
                } else {
                    now + rng.below(8) * 1_000 * rng.below(4) + rng.below(2) * 300
                };
                heap.push(SimTime::from_micros(at), id);
                other.push(SimTime::from_micros(at), id);
                id += 1;
            } else {
                assert_eq!(heap.peek_time(), other.peek_time());
                let a = heap.pop().unwrap();
                let b = other.pop().unwrap();
                now = a.0.as_micros();
                from_heap.push(a);
                from_other.push(b);
            }
            assert_eq!(heap.len(), other.len());
        }
        from_heap.extend(std::iter::from_fn(|| heap.pop()));
        from_other.extend(std::iter::from_fn(|| other.pop()));
        assert_eq!(from_heap.len(), id as usize);
        assert_eq!(from_heap, from_other);
    }

    #[test]
    fn radix_matches_heap_on_random_workload() {
        for seed in 0..4 {
            matches_heap_on_random_workload::<RadixQueue<u32>>(seed);
        }
    }

    #[test]
    fn wheel_matches_heap_on_random_workload() {
        for seed in 0..4 {
            matches_heap_on_random_workload::<WheelQueue<u32>>(seed);
        }
    }

    #[test]
    fn small_wheel_matches_heap_with_heavy_overflow() {
        struct Small(WheelQueue<u32>);
        impl PendingEvents<u32> for Small {
            fn new() -> Self {
                Small(WheelQueue::with_geometry(8, 6))
            }
            fn push(&mut self, at: SimTime, e: u32) {
                self.0.push(at, e)
            }
            fn pop(&mut self) -> Option<(SimTime, u32)> {
                self.0.pop()
            }
            fn peek_time(&mut self) -> Option<SimTime> {
                self.0.peek_time()
            }
            fn len(&self) -> usize {
                self.0.len()
            }
        }
        for seed in 0..4 {
            matches_heap_on_random_workload::<Small>(seed);
        }
    }

    #[test]
    #[should_panic(expected = "event scheduled in the past")]
    fn radix_rejects_time_travel() {
        let mut q = RadixQueue::<u32>::new();
        q.push(SimTime::from_micros(100), 0);
        q.pop();
        q.push(SimTime::from_micros(99), 1);
    }
}
