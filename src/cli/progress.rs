//! A progress bar with an estimated time to finish; indicatif draws nothing when stderr is not a
//! terminal, so tests and pipes stay quiet.

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar over `total` replications.
pub fn bar(total: u64, label: &str) -> ProgressBar {
    bar_of(total, label, "replications")
}

/// A progress bar over `total` things of a kind (`replications`, `particles`).
pub fn bar_of(total: u64, label: &str, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(&format!(
        "{{prefix:>24}} [{{bar:30}}] {{pos}}/{{len}} {unit}, {{per_sec}}, ETA {{eta}}"
    ))
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(label.to_string());
    bar
}
