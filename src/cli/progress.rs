//! The progress bar: one line, at most 80 columns, over every replication a command runs. It says
//! which configuration is running (k of n), how many replications are done of all, the rate
//! (rounded) and the time left for the whole command. indicatif draws nothing when stderr is not a
//! terminal, so tests and pipes stay quiet; `--quiet` hides it everywhere.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

/// Widest configuration label shown; longer names are cut (the line must fit 80 columns).
const LABEL: usize = 26;

/// A count in at most 5 characters: 999, 12.3k, 4.56M, 1.00G.
pub fn count(n: u64) -> String {
    let x = n as f64;
    match n {
        0..1_000 => n.to_string(),
        1_000..100_000 => format!("{:.1}k", x / 1e3),
        100_000..1_000_000 => format!("{:.0}k", x / 1e3),
        1_000_000..100_000_000 => format!("{:.1}M", x / 1e6),
        100_000_000..1_000_000_000 => format!("{:.0}M", x / 1e6),
        _ => format!("{:.1}G", x / 1e9),
    }
}

/// A rate of replications per second, rounded: `35/s`, `1.2k/s` (at most 8 characters).
pub fn rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        return "-/s".into();
    }
    if per_sec < 10.0 {
        format!("{per_sec:.1}/s")
    } else {
        format!("{}/s", count(per_sec.round().min(9e12) as u64))
    }
}

/// Time left in at most 7 characters: `45s`, `12m05s`, `3h20m`, `>99d`.
pub fn time_left(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m{:02}s", s / 60, s % 60),
        3_600..86_400 => format!("{}h{:02}m", s / 3_600, (s % 3_600) / 60),
        86_400..8_640_000 => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3_600),
        _ => ">99d".into(),
    }
}

/// The label of configuration `k` (from 0) of `n`: `2/3 national-comms`, cut to fit.
pub fn label(k: usize, n: usize, name: &str) -> String {
    let mut s = format!("{}/{n} {name}", k + 1);
    if s.chars().count() > LABEL {
        s = s.chars().take(LABEL - 1).collect::<String>() + "~";
    }
    s
}

/// One status line as the bar draws it (used to hold the layout to 80 columns in tests).
pub fn line(label: &str, done: u64, total: u64, per_sec: f64, left: Duration) -> String {
    let filled = (done.min(total).saturating_mul(16))
        .checked_div(total)
        .unwrap_or(0) as usize;
    format!(
        "{label:<LABEL$} [{}{}] {}/{} {} {} left",
        "=".repeat(filled),
        " ".repeat(16 - filled),
        count(done),
        count(total),
        rate(per_sec),
        time_left(left)
    )
}

/// A plain bar over `total` things of a kind (`particles` of a calibration), in the same layout
/// as [`Progress`]'s; hidden under `--quiet`.
pub fn bar_of(total: u64, label: &str, unit: &str) -> ProgressBar {
    let bar = if super::quiet() {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total)
    };
    let style = ProgressStyle::with_template(&format!(
        "{{prefix:<20}} [{{bar:16}}] {{done}}/{{all}} {unit} {{rate}} {{left}} left"
    ))
    .map(with_keys)
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(label.to_string());
    bar
}

/// The style's own keys: counts and rate rounded, the time left in a few characters.
fn with_keys(s: ProgressStyle) -> ProgressStyle {
    s.progress_chars("=> ")
        .with_key("done", |st: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = w.write_str(&count(st.pos()));
        })
        .with_key("all", |st: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = w.write_str(&count(st.len().unwrap_or(0)));
        })
        .with_key("rate", |st: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = w.write_str(&rate(st.per_sec()));
        })
        .with_key("left", |st: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = w.write_str(&time_left(st.eta()));
        })
}

/// A bar over `total` replications of a whole command (every configuration); positions only move
/// forward, though worker threads report out of order.
pub struct Progress {
    bar: ProgressBar,
    /// Replications of the configurations before the current one.
    before: AtomicU64,
    /// The furthest position reported.
    high: AtomicU64,
}

impl Progress {
    /// A bar over `total` replications (hidden under `--quiet`).
    pub fn new(total: u64) -> Progress {
        let bar = if super::quiet() {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(total)
        };
        let style =
            ProgressStyle::with_template("{prefix:<26} [{bar:16}] {done}/{all} {rate} {left} left")
                .map(with_keys)
                .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        Progress {
            bar,
            before: AtomicU64::new(0),
            high: AtomicU64::new(0),
        }
    }

    /// Configuration `k` (from 0) of `n` starts, after `before` replications of the whole command.
    pub fn configuration(&self, k: usize, n: usize, name: &str, before: u64) {
        self.before.store(before, Ordering::SeqCst);
        self.bar.set_prefix(label(k, n, name));
    }

    /// A labelled bar with no configurations (the exploration tools).
    pub fn labelled(&self, name: &str) {
        self.bar.set_prefix(name.to_string());
    }

    /// `done` replications of the current configuration are finished.
    pub fn done(&self, done: u64) {
        let at = self.before.load(Ordering::SeqCst) + done;
        if self.high.fetch_max(at, Ordering::SeqCst) < at {
            self.bar.set_position(at);
        }
    }

    /// The replications resumed from saved progress are counted as done without counting towards
    /// the rate, so the time left is not thrown by the jump.
    pub fn resumed(&self, done: u64) {
        self.done(done);
        self.bar.reset_eta();
    }

    /// The total changes (an exploration that adds points).
    pub fn set_total(&self, total: u64) {
        self.bar.set_length(total);
    }

    /// Position and total, as drawn.
    pub fn position(&self) -> (u64, u64) {
        (self.bar.position(), self.bar.length().unwrap_or(0))
    }

    /// Clears the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_line_fits_80_columns_at_its_widest() {
        let name = "a-configuration-with-a-very-long-name-indeed";
        let widest = line(
            &label(998, 999, name),
            987_654_321_987,
            999_999_999_999,
            987_654.0,
            Duration::from_secs(86_399 * 99),
        );
        assert!(widest.chars().count() <= 80, "{} {widest}", widest.len());
        assert!(label(1, 3, name).starts_with("2/3 a-configuration"));
    }

    #[test]
    fn the_rate_and_the_time_left_are_rounded() {
        assert_eq!(rate(1234.5678), "1.2k/s");
        assert_eq!(rate(35.4), "35/s");
        assert_eq!(rate(2.345), "2.3/s");
        assert_eq!(rate(0.0), "-/s");
        assert_eq!(time_left(Duration::from_secs(725)), "12m05s");
        assert_eq!(time_left(Duration::from_secs(45)), "45s");
        assert_eq!(count(1_000_000), "1.0M");
    }

    #[test]
    fn the_bar_counts_across_configurations_and_never_moves_back() {
        let p = Progress::new(30);
        p.configuration(0, 3, "a", 0);
        p.done(4);
        p.done(3);
        assert_eq!(p.position(), (4, 30));
        p.configuration(1, 3, "b", 10);
        p.done(1);
        assert_eq!(p.position(), (11, 30));
    }
}
