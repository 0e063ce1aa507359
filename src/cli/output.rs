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
/// best value per column marked) folded to the terminal's width, then what its columns mean and a
/// plain sentence per configuration, wrapped.
pub fn headline_table(summaries: &[Summary]) -> String {
    use super::terminal::{self, TerminalTable};
    use crate::report::verdict;
    let t = verdict::table(summaries, None);
    let split = verdict::FIRST_COST_COLUMN.min(t.header.len());
    let table = TerminalTable {
        header: verdict::short_header(&t),
        groups: vec![(1..split).collect(), (split..t.header.len()).collect()],
        rows: t.rows,
    };
    let prose = terminal::prose_width();
    let mut s = terminal::wrap(&t.caption, prose, "", "");
    s.push_str(&table.render(terminal::width()));
    s.push('\n');
    s.push_str(&terminal::wrap(
        &verdict::definition(summaries),
        prose,
        "",
        "",
    ));
    for sentence in verdict::sentences(summaries) {
        s.push_str(&terminal::wrap(&sentence, prose, "- ", "  "));
    }
    s
}
