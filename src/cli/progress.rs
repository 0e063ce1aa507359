//! A progress bar with an estimated time to finish; indicatif draws nothing when stderr is not a
//! terminal, so tests and pipes stay quiet.

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar over `total` replications.
pub fn bar(total: u64, label: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(
        "{prefix:>24} [{bar:30}] {pos}/{len} replications, {per_sec}, ETA {eta}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(label.to_string());
    bar
}
