//! The one pool that runs a list of jobs (seeds, scenarios) on a few
//! threads: `run --seeds`, `compare` and `cascade chaos` all drive their
//! runs through it.
//!
//! What it owns: the threads, the order of the results, panic containment
//! and the stop flag. What it leaves to the caller: what one job does, and
//! what a result or a panic means. Each run is single-threaded and
//! deterministic on its own, so the only thing threads could change is the
//! order in which results arrive; the pool hands them back in the order of
//! the jobs, whatever order they finished in.

use crate::run::{catch_panic, Panicked};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Asks the pool to start no further job; jobs already running finish.
#[derive(Debug, Default)]
pub struct Stop(AtomicBool);

impl Stop {
    /// No job starts after this call.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A job's outcome: what it returned, or the panic it raised (caught, so
/// one bad run does not take the others down).
pub type Ran<T> = Result<T, Panicked>;

/// How many threads run the jobs, and what is told after each job ends.
pub struct Pool<'p> {
    jobs: usize,
    after_each: Option<&'p (dyn Fn() + Sync)>,
    stop_after_panic: bool,
}

impl<'p> Pool<'p> {
    /// A pool of `jobs` threads (at least one, and no more than there are
    /// jobs to run).
    pub fn new(jobs: usize) -> Pool<'p> {
        Pool {
            jobs,
            after_each: None,
            stop_after_panic: false,
        }
    }

    /// A job that panics stops the pool, as [`Stop::request`] would (for
    /// callers whose later jobs mean nothing without the earlier ones).
    pub fn stop_after_panic(mut self) -> Pool<'p> {
        self.stop_after_panic = true;
        self
    }

    /// Calls `tick` after each job ends (a progress bar).
    pub fn after_each(mut self, tick: &'p (dyn Fn() + Sync)) -> Pool<'p> {
        self.after_each = Some(tick);
        self
    }

    /// Runs `job` on each of `items` and returns each item with its
    /// outcome, in the order of `items`. A job may call [`Stop::request`]
    /// on the handle it is given; items not yet started then never start
    /// and are absent from the result.
    pub fn run<'i, I, T>(
        &self,
        items: &'i [I],
        job: impl Fn(&I, &Stop) -> T + Sync,
    ) -> Vec<(&'i I, Ran<T>)>
    where
        I: Sync,
        T: Send,
    {
        let next = AtomicUsize::new(0);
        let stop = Stop::default();
        let done: Mutex<Vec<(usize, Ran<T>)>> = Mutex::new(Vec::with_capacity(items.len()));
        std::thread::scope(|s| {
            for _ in 0..self.jobs.clamp(1, items.len().max(1)) {
                s.spawn(|| loop {
                    if stop.requested() {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    let ran = catch_panic(|| job(item, &stop));
                    if ran.is_err() && self.stop_after_panic {
                        stop.request();
                    }
                    done.lock()
                        .expect("no panic while holding the lock")
                        .push((i, ran));
                    if let Some(tick) = self.after_each {
                        tick();
                    }
                });
            }
        });
        let mut done = done.into_inner().expect("no panic while holding the lock");
        done.sort_by_key(|(i, _)| *i);
        done.into_iter().map(|(i, ran)| (&items[i], ran)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_the_order_of_the_jobs_whatever_order_they_end_in() {
        let items: Vec<u64> = (0..40).collect();
        // Early items take longest, so they end last.
        let ran = Pool::new(4).run(&items, |&n, _| {
            std::thread::sleep(std::time::Duration::from_micros(40 - n));
            n * 10
        });
        let got: Vec<(u64, u64)> = ran.into_iter().map(|(&i, r)| (i, r.unwrap())).collect();
        let want: Vec<(u64, u64)> = (0..40).map(|n| (n, n * 10)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_panicking_job_is_contained_and_the_others_still_run() {
        let items = [1u64, 2, 3];
        let ran = Pool::new(2).run(&items, |&n, _| {
            assert!(n != 2, "job two fails");
            n
        });
        assert_eq!(ran.len(), 3);
        assert_eq!(ran[0].1.as_ref().ok(), Some(&1));
        let p = ran[1].1.as_ref().unwrap_err();
        assert!(p.message.contains("job two fails"), "{p:?}");
        assert_eq!(ran[2].1.as_ref().ok(), Some(&3));
    }

    #[test]
    fn after_a_stop_no_further_job_starts() {
        let items: Vec<u64> = (0..100).collect();
        let ran = Pool::new(1).run(&items, |&n, stop| {
            if n == 4 {
                stop.request();
            }
            n
        });
        let got: Vec<u64> = ran.into_iter().map(|(&i, _)| i).collect();
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_pool_told_so_stops_after_a_panic() {
        let items: Vec<u64> = (0..10).collect();
        let ran = Pool::new(1).stop_after_panic().run(&items, |&n, _| {
            assert!(n != 3, "job three fails");
        });
        assert_eq!(ran.len(), 4);
        assert!(ran[3].1.is_err());
    }

    #[test]
    fn the_tick_is_called_once_per_job() {
        let items = [0u8; 7];
        let ticks = AtomicUsize::new(0);
        let tick = || {
            ticks.fetch_add(1, Ordering::SeqCst);
        };
        Pool::new(3).after_each(&tick).run(&items, |_, _| ());
        assert_eq!(ticks.load(Ordering::SeqCst), 7);
    }

    #[test]
    fn no_jobs_no_results() {
        let items: [u8; 0] = [];
        assert!(Pool::new(4).run(&items, |_, _| ()).is_empty());
    }
}
