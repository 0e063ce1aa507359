//! Writing results: CSV tables and JSON, each file written whole or not at all.
//!
//! Experiments return plain results; here they become files. Every file goes through one trait,
//! [`Exporter`] (a file name from the [`layout`] and its bytes), and one function, [`write`](fn@write),
//! which makes every file's bytes before writing any and writes each through [`atomic`].

pub mod atomic;
pub mod backtest;
pub mod calibration;
pub mod checkpoints;
pub mod column;
pub mod compare;
pub mod layout;
pub mod lock;
pub mod merge;
pub mod sensitivity;
pub mod series;
pub mod study_shard;
pub mod summary;
pub mod sweep;
pub mod tidy;

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use serde::de::DeserializeOwned;

use sha2::{Digest, Sha256};

use crate::engine::ReplicationOutcome;
use crate::experiment::MarketFigure;
#[cfg(doc)]
use crate::experiment::resume::ResumeError;
use crate::experiment::resume::RowsMark;
use crate::experiment::sealed::hex_digest;
pub use crate::experiment::{Figure, Provenance};
use crate::model::Market;
use atomic::AtomicFile;
pub use summary::{
    SummaryExport, SummaryFile, SummaryHeadline, SurvivalFigure, headline, providers_csv,
    services_csv, timeseries_csv, write_summary,
};

/// One output file: its name in the [`layout`] and its bytes.
pub trait Exporter {
    /// The file's name inside the folder it is written to.
    fn file_name(&self) -> String;
    /// The file's bytes.
    fn bytes(&self) -> anyhow::Result<Vec<u8>>;
}

impl<T: Exporter + ?Sized> Exporter for &T {
    fn file_name(&self) -> String {
        (**self).file_name()
    }

    fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        (**self).bytes()
    }
}

/// Writes `files` into `dir` (created when missing): every file's bytes are made before any is
/// written, then each file is written whole or not at all. Returns the paths written, in order.
pub fn write<E: Exporter>(dir: &Path, files: &[E]) -> anyhow::Result<Vec<PathBuf>> {
    let mut made = Vec::with_capacity(files.len());
    for f in files {
        let path = dir.join(f.file_name());
        let bytes = f
            .bytes()
            .with_context(|| format!("cannot make {}", path.display()))?;
        made.push((path, bytes));
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create output folder {}", dir.display()))?;
    for (path, bytes) in &made {
        atomic::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(made.into_iter().map(|(p, _)| p).collect())
}

/// A value as pretty JSON with a final newline, as every JSON file is written.
pub fn json_bytes<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<Vec<u8>> {
    let mut json = serde_json::to_vec_pretty(value)?;
    json.push(b'\n');
    Ok(json)
}

/// Reads back a JSON file this module wrote; `None` when it is missing or not readable as `T`.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Option<T> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// A number for a CSV cell: empty when missing or not finite.
pub fn num(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x}"),
        _ => String::new(),
    }
}

/// Escapes text for HTML (the report and the exploration sections share it).
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Rows to CSV bytes.
pub fn to_csv(rows: Vec<Vec<String>>) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.write_record(&r)?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// The header of `replications.csv`.
pub fn replication_header(market: &Market) -> Vec<String> {
    let mut header: Vec<String> = vec!["config".into(), "replication".into()];
    header.extend(MarketFigure::ALL.map(|f| f.key().to_string()));
    header.push("ccg_spend".into());
    header.extend(market.providers.iter().map(|p| format!("fate_{}", p.id)));
    header.extend(
        market
            .providers
            .iter()
            .map(|p| format!("exit_quarter_{}", p.id)),
    );
    header
}

/// One replication's row of `replications.csv`.
pub fn replication_record(configuration: &str, r: &ReplicationOutcome) -> Vec<String> {
    let mut row = vec![configuration.to_string(), r.replication.to_string()];
    // Every figure prints as Rust prints an f64: a whole number (the open providers) has no point.
    row.extend(MarketFigure::ALL.map(|f| format!("{}", f.of_replication(r))));
    row.push(format!("{}", r.ledger.ccg_spend));
    row.extend(r.providers.iter().map(|p| p.fate.as_str().to_string()));
    row.extend(
        r.providers
            .iter()
            .map(|p| p.exit_period.map_or_else(String::new, |q| q.to_string())),
    );
    row
}

/// Streams `replications.csv`, one row per replication, into a file that appears only when complete.
pub struct ReplicationWriter {
    writer: csv::Writer<AtomicFile>,
    configuration: String,
}

impl ReplicationWriter {
    /// Starts the file and writes its header.
    pub fn create(path: &Path, market: &Market) -> anyhow::Result<ReplicationWriter> {
        let file = AtomicFile::create(path)?;
        let mut writer = csv::Writer::from_writer(file);
        writer.write_record(replication_header(market))?;
        Ok(ReplicationWriter {
            writer,
            configuration: market.configuration.clone(),
        })
    }

    /// Writes one replication's row.
    pub fn write(&mut self, r: &ReplicationOutcome) -> anyhow::Result<()> {
        self.writer
            .write_record(replication_record(&self.configuration, r))?;
        Ok(())
    }

    /// Completes the file.
    pub fn finish(self) -> anyhow::Result<()> {
        let mut file = self
            .writer
            .into_inner()
            .map_err(|e| anyhow::anyhow!("{}", e.error()))?;
        file.flush()?;
        file.commit()?;
        Ok(())
    }
}

/// A file that hashes every byte written to it.
struct HashingFile {
    file: File,
    hasher: Sha256,
    bytes: u64,
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// `replications.csv` kept as a log a long run can resume: rows are appended, [`sync`](Self::sync)
/// makes them durable and says how long the file is and its SHA-256, [`reopen`](Self::reopen)
/// checks the rows saved progress counted and cuts off rows written after them, and
/// [`finish`](Self::finish) moves the complete file into place. Its bytes are those
/// [`ReplicationWriter`] writes.
pub struct ReplicationLog {
    writer: csv::Writer<HashingFile>,
    path: PathBuf,
    configuration: String,
    /// `series.csv` kept in step (`--series`).
    series: Option<series::SeriesLog>,
}

impl ReplicationLog {
    /// Starts a new log at `path` with the header.
    pub fn create(path: &Path, market: &Market) -> anyhow::Result<ReplicationLog> {
        let file = File::create(path)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
        let mut writer = csv::Writer::from_writer(HashingFile {
            file,
            hasher: Sha256::new(),
            bytes: 0,
        });
        writer.write_record(replication_header(market))?;
        Ok(ReplicationLog {
            writer,
            path: path.to_path_buf(),
            configuration: market.configuration.clone(),
            series: None,
        })
    }

    /// Keeps `series.csv` in step with the rows: a new series log beside this one, or, when
    /// `resumed`, the saved one cut back to this log's last row.
    pub fn with_series(mut self, resumed: bool) -> anyhow::Result<ReplicationLog> {
        let path = self.path.with_file_name(layout::SERIES);
        self.series = Some(if resumed {
            self.writer.flush()?;
            let last = series::last_replication(&self.path)?;
            series::SeriesLog::reopen(&path, &self.configuration, last)?
        } else {
            series::SeriesLog::create(&path, &self.configuration)?
        });
        Ok(self)
    }

    /// Opens an existing log, checking that it begins with the rows `mark` counts (refused with
    /// [`ResumeError::Corrupt`] if they were cut short or edited) and cutting off the rest.
    pub fn reopen(path: &Path, market: &Market, mark: &RowsMark) -> anyhow::Result<ReplicationLog> {
        let hasher = mark.check(path, "the saved progress")?;
        let named = |e: std::io::Error| anyhow::anyhow!("cannot reopen {}: {e}", path.display());
        let mut file = OpenOptions::new().write(true).open(path).map_err(named)?;
        file.set_len(mark.bytes).map_err(named)?;
        file.seek(SeekFrom::End(0)).map_err(named)?;
        Ok(ReplicationLog {
            writer: csv::Writer::from_writer(HashingFile {
                file,
                hasher,
                bytes: mark.bytes,
            }),
            path: path.to_path_buf(),
            configuration: market.configuration.clone(),
            series: None,
        })
    }

    /// Appends one replication's row.
    pub fn write(&mut self, r: &ReplicationOutcome) -> anyhow::Result<()> {
        self.writer
            .write_record(replication_record(&self.configuration, r))?;
        if let Some(s) = &mut self.series {
            s.append(r)?;
        }
        Ok(())
    }

    /// Writes every row so far to disk and returns the file's length and SHA-256. The series
    /// goes first, so it always reaches at least the rows the mark counts.
    pub fn sync(&mut self) -> anyhow::Result<RowsMark> {
        if let Some(s) = &mut self.series {
            s.sync()?;
        }
        let named =
            |e: std::io::Error| anyhow::anyhow!("cannot write {}: {e}", self.path.display());
        self.writer.flush().map_err(named)?;
        let log = self.writer.get_ref();
        log.file.sync_data().map_err(named)?;
        Ok(RowsMark {
            bytes: log.bytes,
            sha256: hex_digest(log.hasher.clone()),
        })
    }

    /// Syncs the log and renames it to `target`; returns its length and SHA-256.
    pub fn finish(mut self, target: &Path) -> anyhow::Result<RowsMark> {
        let mark = self.sync()?;
        // Moved before the rows: rows in place mean the series is too.
        if let Some(s) = self.series.take() {
            s.finish(target)?;
        }
        std::fs::rename(&self.path, target).map_err(|e| {
            anyhow::anyhow!(
                "cannot move {} to {}: {e}",
                self.path.display(),
                target.display()
            )
        })?;
        Ok(mark)
    }
}

impl crate::experiment::resumable::RowLog for ReplicationLog {
    fn append(&mut self, r: &ReplicationOutcome) -> anyhow::Result<()> {
        self.write(r)
    }

    fn sync(&mut self) -> anyhow::Result<RowsMark> {
        ReplicationLog::sync(self)
    }

    fn finish(self, target: &Path) -> anyhow::Result<RowsMark> {
        ReplicationLog::finish(self, target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file with fixed bytes, or one whose bytes cannot be made.
    struct Fixed(&'static str, Option<&'static [u8]>);

    impl Exporter for Fixed {
        fn file_name(&self) -> String {
            self.0.into()
        }

        fn bytes(&self) -> anyhow::Result<Vec<u8>> {
            self.1
                .map(<[u8]>::to_vec)
                .ok_or_else(|| anyhow::anyhow!("no bytes"))
        }
    }

    #[test]
    fn write_puts_each_file_under_its_name_whole() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("new");
        let files = [
            Fixed("a.csv", Some(b"x,y\n")),
            Fixed("b.json", Some(b"{}\n")),
        ];
        let written = write(&out, &files).unwrap();
        assert_eq!(written, [out.join("a.csv"), out.join("b.json")]);
        assert_eq!(std::fs::read(out.join("a.csv")).unwrap(), b"x,y\n");
        // No temporary file is left beside them.
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 2);
    }

    #[test]
    fn write_writes_nothing_when_any_file_cannot_be_made() {
        let dir = tempfile::tempdir().unwrap();
        let files = [Fixed("a.csv", Some(b"x\n")), Fixed("b.csv", None)];
        let e = write(dir.path(), &files).unwrap_err();
        assert!(format!("{e:#}").contains("b.csv"), "{e:#}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn summary_files_are_named_by_the_layout() {
        let s = crate::experiment::Summary::new(
            &crate::model::Market::compile(
                &crate::scenario::Scenario::from_text(
                    "small.toml",
                    include_str!("../../tests/fixtures/small.toml"),
                )
                .unwrap()
                .resolve("local")
                .unwrap(),
                "local",
            )
            .unwrap(),
        );
        let names: Vec<String> = [
            SummaryExport::Providers(&s),
            SummaryExport::Services(&s),
            SummaryExport::Timeseries(&s),
            SummaryExport::Checkpoints(&s),
        ]
        .iter()
        .map(Exporter::file_name)
        .collect();
        assert_eq!(
            names,
            [
                layout::PROVIDERS,
                layout::SERVICES,
                layout::TIMESERIES,
                layout::CHECKPOINTS
            ]
        );
    }
}
