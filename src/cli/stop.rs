//! Stopping on SIGINT and SIGTERM without leaving half-written files.
//!
//! `run` stops cooperatively: at the next block of replications it saves its progress, removes
//! nothing that `--resume` needs, says what finished and prints the exact command that resumes,
//! and exits 130 (SIGINT) or 143 (SIGTERM). Every other command, and `run` on a second signal,
//! stops at once: the signal thread removes every temporary file the process has open and exits
//! with the same status.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use crate::export::atomic;
use crate::export::lock::shell_words;

/// The first stopping signal received, 0 while none.
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// The running command stops by itself at safe points.
static COOPERATIVE: AtomicBool = AtomicBool::new(false);
/// What a cooperative command finishes before it stops, for the message on the first signal
/// (the current block of replications unless [`cooperate_after`] says otherwise).
static FINISHES: OnceLock<&'static str> = OnceLock::new();
/// The command line, for the message that says how to run it again.
static COMMAND_LINE: OnceLock<Vec<String>> = OnceLock::new();

/// A signal's name.
pub fn name(signal: i32) -> String {
    match signal {
        2 => "SIGINT".into(),
        15 => "SIGTERM".into(),
        s => format!("signal {s}"),
    }
}

/// The exit status of a process stopped by `signal`, as a shell reports it: 128 + the number.
pub fn exit_status(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(1)
}

/// The command line again, with `--resume` (added if it was not there).
pub fn resume_command(argv: &[String]) -> String {
    let mut words = argv.to_vec();
    if !words.iter().any(|w| w == "--resume") {
        words.push("--resume".into());
    }
    shell_words(&words)
}

/// Catches SIGINT and SIGTERM for the rest of the process (where the system has them).
pub fn install(argv: &[String]) {
    let _ = COMMAND_LINE.set(argv.to_vec());
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
            // Without the handler the default applies: the process dies, and the next run
            // cleans its temporary files when it takes the output folder's lock.
            return;
        };
        std::thread::spawn(move || {
            for signal in signals.forever() {
                let first = SIGNAL.swap(signal, Ordering::SeqCst) == 0;
                let mut err = std::io::stderr().lock();
                if first && COOPERATIVE.load(Ordering::SeqCst) {
                    let _ = writeln!(
                        err,
                        "\n{}: stopping after {}, with progress saved (send it again to stop at \
                         once)",
                        name(signal),
                        FINISHES
                            .get()
                            .unwrap_or(&"the current block of replications")
                    );
                    continue;
                }
                let _held = atomic::remove_temporaries();
                let argv = COMMAND_LINE.get().cloned().unwrap_or_default();
                let again = if COOPERATIVE.load(Ordering::SeqCst) {
                    format!(
                        "Progress saved before the signal is kept; resume with:\n  {}",
                        resume_command(&argv)
                    )
                } else {
                    format!(
                        "Nothing of this run is kept; run it again with:\n  {}",
                        shell_words(&argv)
                    )
                };
                let _ = writeln!(
                    err,
                    "\nStopped by {}; unfinished files removed.\n{again}",
                    name(signal)
                );
                std::process::exit(i32::from(exit_status(signal)));
            }
        });
    }
}

/// The running command stops by itself at safe points when [`requested`] says so.
pub fn cooperate() {
    COOPERATIVE.store(true, Ordering::SeqCst);
}

/// As [`cooperate`], for a command that finishes `what` (such as "the particles it is running")
/// before it stops.
pub fn cooperate_after(what: &'static str) {
    let _ = FINISHES.set(what);
    cooperate();
}

/// The stopping signal received, if any.
pub fn requested() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resume_command_is_the_command_with_resume_once() {
        let argv: Vec<String> = ["csmarket", "run", "a b.toml", "-n", "9"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            resume_command(&argv),
            "csmarket run 'a b.toml' -n 9 --resume"
        );
        let mut again = argv.clone();
        again.push("--resume".into());
        assert_eq!(resume_command(&again), resume_command(&argv));
    }

    #[test]
    fn exit_status_is_128_plus_the_signal() {
        assert_eq!(exit_status(2), 130);
        assert_eq!(exit_status(15), 143);
        assert_eq!(name(15), "SIGTERM");
    }
}
