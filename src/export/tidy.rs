//! Tidy tables an analyst loads without reshaping, one row per observation and snake_case column
//! names with no ids inside them:
//!
//! - `runs.csv` (beside the configuration folders): configuration, replication, every varied
//!   parameter, every figure of the registry ([`MarketFigure::ALL`]);
//! - `fates.csv` (in each configuration folder): configuration, replication, provider, fate and
//!   exit quarter, one row per provider per replication;
//! - `columns.csv`: the data dictionary (file, column, unit, meaning) of these files and of the
//!   configuration folders' summaries (`providers.csv`, `services.csv`, `timeseries.csv`,
//!   `checkpoints.csv`) and `compare`'s `comparison.csv`, made from the registry and the column
//!   declarations beside each writer.
//!
//! All of them are made from the configurations' `replications.csv`, which stays: it is the row
//! log that `--resume` reopens and `merge` concatenates (its bytes and SHA-256 are sealed in the
//! saved progress and the shard state). Deriving the tidy tables from it means a resumed run and a
//! merge write them byte for byte as one uninterrupted machine does.

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::atomic::AtomicFile;
use super::column::{Column, column, columns_csv};
use super::layout;
use crate::compare::Comparison;
use crate::experiment::MarketFigure;

/// The figure columns of a file: one per registry figure.
fn figure_columns(file: &'static str) -> impl Iterator<Item = Column> {
    MarketFigure::ALL
        .into_iter()
        .map(move |f| column(file, f.key(), f.unit().file_unit(), f.meaning()))
}

/// The columns of `runs.csv`, with the varied parameters (`(name, meaning)`) between the
/// replication and the figures.
pub fn runs_columns(parameters: &[(String, String)]) -> Vec<Column> {
    let f = layout::RUNS;
    let mut c = vec![
        column(f, "configuration", "name", "the configuration run"),
        column(
            f,
            "replication",
            "index",
            "replication index; the same index in every configuration draws the same random numbers",
        ),
    ];
    c.extend(
        parameters
            .iter()
            .map(|(name, meaning)| column(f, name, "as in the scenario", meaning)),
    );
    c.extend(figure_columns(f));
    c
}

/// The columns of `fates.csv`.
pub fn fates_columns() -> Vec<Column> {
    let f = layout::FATES;
    vec![
        column(f, "configuration", "name", "the configuration run"),
        column(f, "replication", "index", "replication index"),
        column(f, "provider", "id", "the provider (its id in the scenario)"),
        column(
            f,
            "fate",
            "survived, stopped, failed, merged or ended",
            "how the provider ended: open at the end, stopped at a checkpoint, failed and left, \
             failed and merged into another CSU, or a collaborative left without members",
        ),
        column(
            f,
            "exit_quarter",
            "quarter of the run (1 = the first after the planning quarter 0)",
            "when it stopped, failed, merged or ended; empty when it survived",
        ),
    ]
}

/// The columns of `replications.csv`, the wide row log (one column per provider).
pub fn replications_columns() -> Vec<Column> {
    let f = layout::REPLICATIONS;
    let mut c = vec![
        column(f, "config", "name", "the configuration run"),
        column(f, "replication", "index", "replication index"),
    ];
    c.extend(figure_columns(f));
    c.push(column(
        f,
        "ccg_spend",
        "£",
        "what CCGs paid providers over the run",
    ));
    c.push(column(
        f,
        "fate_<provider>",
        "survived, stopped, failed, merged or ended",
        "one column per provider; the same as fates.csv in wide form (kept because --resume and \
         merge work on this file)",
    ));
    c.push(column(
        f,
        "exit_quarter_<provider>",
        "quarter of the run",
        "one column per provider; when it left, empty when it survived",
    ));
    c
}

/// Every column of the files of this module, in file order.
pub fn dictionary(parameters: &[(String, String)]) -> Vec<Column> {
    let mut all = runs_columns(parameters);
    all.extend(fates_columns());
    all.extend(super::series::series_columns());
    all.extend(replications_columns());
    all.extend(super::summary::providers_columns());
    all.extend(super::summary::services_columns());
    all.extend(super::summary::timeseries_columns());
    all.extend(super::checkpoints::checkpoints_columns());
    all.extend(super::compare::comparison_columns());
    all
}

/// Where each field of a `replications.csv` row is, found from its header.
struct WideColumns {
    figures: Vec<usize>,
    /// Provider id, fate column, exit quarter column.
    providers: Vec<(String, usize, Option<usize>)>,
}

impl WideColumns {
    fn of(header: &csv::StringRecord, file: &Path) -> anyhow::Result<WideColumns> {
        let at = |name: &str| header.iter().position(|h| h == name);
        let figures = MarketFigure::ALL
            .iter()
            .map(|f| {
                at(f.key()).with_context(|| format!("{}: no column {}", file.display(), f.key()))
            })
            .collect::<anyhow::Result<_>>()?;
        let providers = header
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.strip_prefix("fate_").map(|id| (id.to_string(), i)))
            .map(|(id, i)| {
                let exit = at(&format!("exit_quarter_{id}"));
                (id, i, exit)
            })
            .collect();
        Ok(WideColumns { figures, providers })
    }
}

fn open_rows(file: &Path) -> anyhow::Result<(csv::Reader<BufReader<File>>, WideColumns)> {
    let f = File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut reader = csv::Reader::from_reader(BufReader::with_capacity(1 << 20, f));
    let header = reader
        .headers()
        .with_context(|| format!("cannot read {}", file.display()))?
        .clone();
    let columns = WideColumns::of(&header, file)?;
    Ok((reader, columns))
}

/// Writes a CSV file whole or not at all, row by row.
fn stream(
    target: &Path,
    fill: impl FnOnce(&mut csv::Writer<AtomicFile>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let file =
        AtomicFile::create(target).with_context(|| format!("cannot write {}", target.display()))?;
    let mut w = csv::Writer::from_writer(file);
    fill(&mut w)?;
    let mut file = w
        .into_inner()
        .map_err(|e| anyhow::anyhow!("{}", e.error()))?;
    file.flush()?;
    file.commit()
        .with_context(|| format!("cannot write {}", target.display()))?;
    Ok(())
}

/// Writes `fates.csv` of a configuration folder from its `replications.csv`.
pub fn write_fates(dir: &Path, configuration: &str) -> anyhow::Result<()> {
    let source = dir.join(layout::REPLICATIONS);
    let (mut reader, cols) = open_rows(&source)?;
    stream(&dir.join(layout::FATES), |w| {
        w.write_record(fates_columns().iter().map(|c| c.name.as_str()))?;
        let mut row = csv::StringRecord::new();
        while reader
            .read_record(&mut row)
            .with_context(|| format!("cannot read {}", source.display()))?
        {
            let replication = row.get(1).unwrap_or_default();
            for (id, fate, exit) in &cols.providers {
                let exit = exit.and_then(|i| row.get(i)).unwrap_or_default();
                w.write_record([
                    configuration,
                    replication,
                    id,
                    row.get(*fate).unwrap_or_default(),
                    exit,
                ])?;
            }
        }
        Ok(())
    })
}

/// One configuration's part of `runs.csv`: its folder and the values of the varied parameters.
#[derive(Debug, Clone)]
pub struct RunsPart {
    /// The configuration.
    pub configuration: String,
    /// Its folder (holding `replications.csv`).
    pub dir: PathBuf,
    /// The varied parameters' values, in the order of the parameter columns.
    pub parameters: Vec<String>,
}

/// Writes `runs.csv` and `columns.csv` into `dir` from the parts' `replications.csv`, with rows in
/// configuration-name order (so one machine, a resumed run and a merge write the same bytes) and
/// replication order within each. `parameters` are the varied parameters' names and meanings.
pub fn write_runs(
    dir: &Path,
    parts: &[RunsPart],
    parameters: &[(String, String)],
) -> anyhow::Result<()> {
    let mut parts: Vec<&RunsPart> = parts.iter().collect();
    parts.sort_by(|a, b| a.configuration.cmp(&b.configuration));
    stream(&dir.join(layout::RUNS), |w| {
        w.write_record(runs_columns(parameters).iter().map(|c| c.name.as_str()))?;
        for part in parts {
            let source = part.dir.join(layout::REPLICATIONS);
            let (mut reader, cols) = open_rows(&source)?;
            let mut row = csv::StringRecord::new();
            while reader
                .read_record(&mut row)
                .with_context(|| format!("cannot read {}", source.display()))?
            {
                let mut out = vec![part.configuration.as_str(), row.get(1).unwrap_or_default()];
                out.extend(part.parameters.iter().map(String::as_str));
                out.extend(cols.figures.iter().map(|&i| row.get(i).unwrap_or_default()));
                w.write_record(out)?;
            }
        }
        Ok(())
    })?;
    super::atomic::write(
        &dir.join(layout::COLUMNS),
        &columns_csv(&dictionary(parameters))?,
    )
    .with_context(|| format!("cannot write {}", dir.join(layout::COLUMNS).display()))?;
    Ok(())
}

/// `runs.csv` written row by row as replications arrive (a sweep's grid points), into any file.
pub struct RunsWriter<W: Write> {
    writer: csv::Writer<W>,
    configuration: String,
}

impl<W: Write> RunsWriter<W> {
    /// Starts writing rows into `file`, with the header first when `header`; `parameters` as in
    /// [`runs_columns`].
    pub fn new(
        file: W,
        configuration: &str,
        parameters: &[(String, String)],
        header: bool,
    ) -> anyhow::Result<RunsWriter<W>> {
        let mut writer = csv::Writer::from_writer(file);
        if header {
            writer.write_record(runs_columns(parameters).iter().map(|c| c.name.as_str()))?;
        }
        Ok(RunsWriter {
            writer,
            configuration: configuration.to_string(),
        })
    }

    /// One replication at a point with parameter values `values`.
    pub fn write(
        &mut self,
        values: &[f64],
        r: &crate::engine::ReplicationOutcome,
    ) -> anyhow::Result<()> {
        let mut row = vec![self.configuration.clone(), r.replication.to_string()];
        row.extend(values.iter().map(|v| format!("{v}")));
        row.extend(MarketFigure::ALL.map(|f| format!("{}", f.of_replication(r))));
        self.writer.write_record(row)?;
        Ok(())
    }

    /// Writes every row so far into the file.
    pub fn flush(&mut self) -> anyhow::Result<()> {
        self.writer.flush()?;
        Ok(())
    }

    /// The file, every row written into it.
    pub fn get_ref(&self) -> &W {
        self.writer.get_ref()
    }

    /// Hands back the file, every row written into it.
    pub fn into_inner(self) -> anyhow::Result<W> {
        self.writer
            .into_inner()
            .map_err(|e| anyhow::anyhow!("{}", e.error()))
    }
}

/// A parameter path as a snake_case column name: `services.communications.locality` becomes
/// `services_communications_locality`.
pub fn parameter_column(path: &str) -> String {
    path.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes the tidy tables of a command that ran `configurations` in folders under `root`:
/// `fates.csv` in each folder, `runs.csv` and `columns.csv` in `root`.
pub fn write_tidy(root: &Path, configurations: &[String]) -> anyhow::Result<()> {
    let mut parts = Vec::with_capacity(configurations.len());
    for c in configurations {
        let dir = root.join(c);
        write_fates(&dir, c)?;
        parts.push(RunsPart {
            configuration: c.clone(),
            dir,
            parameters: Vec::new(),
        });
    }
    write_runs(root, &parts, &[])
}

/// The paired comparison of configurations that ran one after another, read back from their
/// `replications.csv` in replication order: the pairs `compare::run` forms in memory, so the
/// same [`Comparison`]. `dirs` are the markets' folders, in the markets' order.
pub fn comparison_from_rows(
    markets: &[crate::model::Market],
    baseline: usize,
    dirs: &[PathBuf],
) -> anyhow::Result<Comparison> {
    let mut comparison = Comparison::new(markets, baseline);
    let mut readers = Vec::with_capacity(dirs.len());
    for d in dirs {
        let file = d.join(layout::REPLICATIONS);
        let (reader, cols) = open_rows(&file)?;
        let headline = MarketFigure::HEADLINE.map(|f| {
            let k = MarketFigure::ALL.iter().position(|&x| x == f).unwrap_or(0);
            cols.figures[k]
        });
        readers.push((reader, cols, headline, file, csv::StringRecord::new()));
    }
    loop {
        let mut rows = Vec::with_capacity(readers.len());
        for (reader, cols, headline, file, row) in &mut readers {
            if !reader
                .read_record(row)
                .with_context(|| format!("cannot read {}", file.display()))?
            {
                rows.push(None);
                continue;
            }
            let figure = |i: usize| -> anyhow::Result<f64> {
                let cell = row.get(i).unwrap_or_default();
                cell.parse()
                    .with_context(|| format!("{}: `{cell}` is not a number", file.display()))
            };
            let mut values = [0.0; 4];
            for (v, &i) in values.iter_mut().zip(headline.iter()) {
                *v = figure(i)?;
            }
            let alive: Vec<bool> = cols
                .providers
                .iter()
                .map(|(_, fate, _)| row.get(*fate) == Some("survived"))
                .collect();
            rows.push(Some((
                row.get(1).unwrap_or_default().to_string(),
                values,
                alive,
            )));
        }
        if rows.iter().all(Option::is_none) {
            break;
        }
        let Some(Some((replication, a, a_alive))) = rows.get(baseline) else {
            anyhow::bail!(
                "the configurations' replications.csv files hold different numbers of rows"
            );
        };
        let others = (0..rows.len()).filter(|&c| c != baseline);
        for (contrast, c) in comparison.contrasts.iter_mut().zip(others) {
            match &rows[c] {
                Some((r, b, b_alive)) if r == replication => {
                    contrast.push_figures(a, b, a_alive, b_alive);
                }
                _ => anyhow::bail!(
                    "{}: replication {replication} has no partner in the baseline's rows",
                    dirs[c].join(layout::REPLICATIONS).display()
                ),
            }
        }
        comparison.replications += 1;
    }
    Ok(comparison)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_column_names_are_snake_case_without_ids() {
        for c in runs_columns(&[]).iter().chain(&fates_columns()) {
            assert!(
                c.name
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_'),
                "{}",
                c.name
            );
        }
        // Every registry figure is a column of runs.csv with its unit and meaning.
        let runs = runs_columns(&[]);
        for f in MarketFigure::ALL {
            let c = runs.iter().find(|c| c.name == f.key()).unwrap();
            assert_eq!(c.meaning, f.meaning());
        }
    }

    #[test]
    fn fates_and_runs_are_the_wide_rows_in_long_form() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("b-config");
        std::fs::create_dir_all(&a).unwrap();
        let mut header = "config,replication".to_string();
        for f in MarketFigure::ALL {
            header += &format!(",{}", f.key());
        }
        header += ",ccg_spend,fate_north,fate_south,exit_quarter_north,exit_quarter_south\n";
        std::fs::write(
            a.join(layout::REPLICATIONS),
            header + "b-config,0,1.5,0.25,2,0,0.5,9,survived,stopped,,3\n",
        )
        .unwrap();
        write_tidy(dir.path(), &["b-config".into()]).unwrap();
        let fates = std::fs::read_to_string(a.join(layout::FATES)).unwrap();
        assert_eq!(
            fates,
            "configuration,replication,provider,fate,exit_quarter\n\
             b-config,0,north,survived,\nb-config,0,south,stopped,3\n"
        );
        let runs = std::fs::read_to_string(dir.path().join(layout::RUNS)).unwrap();
        assert_eq!(runs.lines().nth(1).unwrap(), "b-config,0,1.5,0.25,2,0,0.5");
        let columns = std::fs::read_to_string(dir.path().join(layout::COLUMNS)).unwrap();
        assert!(columns.starts_with("file,column,unit,meaning\n"));
        assert!(columns.contains("fates.csv,exit_quarter,"), "{columns}");
    }
}
