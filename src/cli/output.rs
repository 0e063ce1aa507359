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
