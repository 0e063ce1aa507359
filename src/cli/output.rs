//! How commands write what the library returns: results files through [`export::write`] and
//! charts drawn in memory by [`charts`], every file whole or not at all, every name from the
//! [`layout`](crate::export::layout).

use std::path::Path;

use anyhow::Context;

use crate::charts::{self, Rendered};
use crate::experiment::{Labels, Summary};
use crate::export::{self, Exporter};

/// Writes files into `dir`, naming the folder when that fails.
pub fn write_files<E: Exporter>(dir: &Path, files: &[E]) -> anyhow::Result<()> {
    export::write(dir, files)
        .with_context(|| format!("cannot write results in {}", dir.display()))?;
    Ok(())
}

/// Writes drawn charts into `dir`, each as `<name>.svg` and `<name>.png`.
pub fn write_charts(dir: &Path, drawn: &[Rendered]) -> anyhow::Result<()> {
    export::write(dir, &Rendered::all_files(drawn))
        .with_context(|| format!("cannot write charts in {}", dir.display()))?;
    Ok(())
}

/// Draws and writes the charts of one configuration, as `run`, `compare` and `merge` all do.
pub fn write_configuration_charts(
    dir: &Path,
    summary: &Summary,
    labels: &Labels,
) -> anyhow::Result<()> {
    let drawn = charts::configuration_charts(std::slice::from_ref(summary), labels)?;
    write_charts(dir, &drawn)
}

/// The verdict printed at the end of a run: the viability table (a row per configuration, the
/// best value per column marked) and one plain sentence per configuration.
pub fn headline_table(summaries: &[Summary]) -> String {
    let t = crate::report::verdict::table(summaries, None);
    let widths: Vec<usize> = (0..t.header.len())
        .map(|k| {
            t.rows
                .iter()
                .map(|r| r.get(k).map_or(0, |c| c.chars().count()))
                .chain([t.header[k].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (k, c) in cells.iter().enumerate() {
            let pad = widths[k].saturating_sub(c.chars().count());
            if k == 0 {
                l.push_str(c);
                l.push_str(&" ".repeat(pad));
            } else {
                l.push_str("  ");
                l.push_str(&" ".repeat(pad));
                l.push_str(c);
            }
        }
        l.trim_end().to_string() + "\n"
    };
    let mut s = format!("{}\n", t.caption);
    s.push_str(&line(&t.header));
    for r in &t.rows {
        s.push_str(&line(r));
    }
    s.push_str(&crate::report::verdict::definition(summaries));
    s.push('\n');
    for sentence in crate::report::verdict::sentences(summaries) {
        s.push_str(&format!("- {sentence}\n"));
    }
    s
}
