//! The exit codes of every `cascade` command, defined once: scripts and CI
//! jobs branch on them, so one number never means two things.

use std::fmt::Display;
use std::process::ExitCode;

/// How a `cascade` command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Every expectation holds (`run`, `wire`), no failing seed (`chaos`).
    Ok = 0,
    /// An expectation or invariant failed.
    Failed = 1,
    /// Bad input or usage; the message names the file, flag or field.
    Usage = 2,
    /// `cascade chaos`: a seed broke a safety invariant.
    Safety = 3,
    /// `cascade chaos`: a seed did not recover after its last fault healed.
    Liveness = 4,
    /// `cascade chaos --check-determinism`: a seed ran twice gave two trace hashes.
    Nondeterministic = 5,
    /// The outputs (run folder, events, chaos report, comparison page,
    /// schema) could not be written, or cascade refused to write over
    /// something it did not write (a user's file or folder, a link, fifo,
    /// device, directory or read-only file; the message names it). After
    /// a run, its verdict was printed but not recorded. Whatever was
    /// written does not look complete.
    Output = 6,
    /// The run stopped before its scenario's end (the event budget, the
    /// pending-queue bound, or the model stopped it): its figures are
    /// partial and no verdict is given.
    Incomplete = 7,
    /// The run panicked (`run`), or a seed's run did (`chaos`): an
    /// assertion of the logic under test or a bug of cascade. The message,
    /// place and reproduction line are printed.
    Panic = 8,
}

impl Exit {
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// `Ok` when the run passed, `Failed` otherwise.
    pub fn passed(passed: bool) -> Exit {
        if passed {
            Exit::Ok
        } else {
            Exit::Failed
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

/// Prints `error: {message}` to stderr, its control characters escaped: a
/// message echoes keys, values and paths the user gave, which must not
/// drive the terminal.
pub fn say_error(message: impl Display) {
    eprintln!(
        "error: {}",
        crate::files::terminal_safe(&message.to_string())
    );
}

/// Prints `error: {message}` to stderr and ends with [`Exit::Usage`].
pub fn usage(message: impl Display) -> ExitCode {
    say_error(message);
    Exit::Usage.into()
}

/// Prints `error: {message}` to stderr and ends with [`Exit::Output`].
pub fn output(message: impl Display) -> ExitCode {
    say_error(message);
    Exit::Output.into()
}

/// Prints `error: {message}` to stderr and ends with [`Exit::Failed`].
pub fn failed(message: impl Display) -> ExitCode {
    say_error(message);
    Exit::Failed.into()
}
