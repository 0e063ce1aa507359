//! `series.csv` (`--series`): every replication's figures per quarter in long form
//! (configuration, replication, quarter, figure, value). It is written beside the row log in
//! `.progress/` and kept in step with it: synced before the rows are, cut back to the rows' last
//! replication when a run resumes, and moved into place with them, so a resumed run and a merge of
//! shards write the bytes one uninterrupted machine writes.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::column::{Column, column};
use super::layout;
use crate::engine::ReplicationOutcome;
use crate::experiment::resume::ResumeError;

/// The figures per quarter: (name, unit, meaning).
const FIGURES: [(&str, &str, &str); 3] = [
    (
        "open_providers",
        "providers",
        "providers open at the end of the quarter",
    ),
    (
        "in_house_share",
        "share (0 to 1)",
        "in-house share of volume in the quarter (fallback for unmet volume included)",
    ),
    (
        "cost_per_head",
        "£ per head per year",
        "what CCGs paid in the quarter, annualised",
    ),
];

/// The columns of `series.csv`.
pub fn series_columns() -> Vec<Column> {
    let f = layout::SERIES;
    let names: Vec<String> = FIGURES
        .iter()
        .map(|(n, u, m)| format!("{n} ({u}): {m}"))
        .collect();
    vec![
        column(f, "configuration", "name", "the configuration run"),
        column(f, "replication", "index", "replication index"),
        column(
            f,
            "quarter",
            "quarter of the run",
            "1 = the first quarter after the planning quarter 0",
        ),
        column(f, "figure", "name", &names.join("; ")),
        column(
            f,
            "value",
            "the figure's unit",
            "the figure's value in that quarter",
        ),
    ]
}

/// One replication's rows of `series.csv`.
fn rows(configuration: &str, r: &ReplicationOutcome) -> impl Iterator<Item = [String; 5]> {
    let configuration = configuration.to_string();
    let replication = r.replication.to_string();
    r.series
        .iter()
        .enumerate()
        .flat_map(move |(q, p)| {
            let values = [
                f64::from(p.open_providers),
                p.in_house_share,
                p.cost_per_head,
            ];
            let (c, r) = (configuration.clone(), replication.clone());
            FIGURES.iter().zip(values).map(move |((name, ..), v)| {
                [
                    c.clone(),
                    r.clone(),
                    (q + 1).to_string(),
                    (*name).to_string(),
                    format!("{v}"),
                ]
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
}

/// The series log of a resumable run.
pub struct SeriesLog {
    writer: csv::Writer<File>,
    path: PathBuf,
    configuration: String,
}

impl SeriesLog {
    /// Starts a new log with its header.
    pub fn create(path: &Path, configuration: &str) -> anyhow::Result<SeriesLog> {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut writer = csv::Writer::from_writer(file);
        writer.write_record(series_columns().iter().map(|c| c.name.as_str()))?;
        Ok(SeriesLog {
            writer,
            path: path.to_path_buf(),
            configuration: configuration.to_string(),
        })
    }

    /// Reopens a log, keeping the rows of replications up to `last` (the row log's last; none:
    /// only the header) and cutting off the rest. Refused when it does not reach `last`.
    pub fn reopen(
        path: &Path,
        configuration: &str,
        last: Option<u64>,
    ) -> anyhow::Result<SeriesLog> {
        let missing = || ResumeError::Corrupt {
            file: path.display().to_string(),
            message: "the per-quarter series saved does not reach the saved rows (was the run \
                      started without --series?); resume it as it was started, or start afresh \
                      without --resume"
                .into(),
        };
        let file = File::open(path).map_err(|_| missing())?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(std::io::BufReader::new(file));
        let mut record = csv::ByteRecord::new();
        reader.byte_headers().map_err(|_| missing())?;
        let mut keep = reader.position().byte();
        let mut reached = last.is_none();
        loop {
            let at = reader.position().byte();
            if !reader.read_byte_record(&mut record).unwrap_or(false) {
                break;
            }
            let id = std::str::from_utf8(record.get(1).unwrap_or_default())
                .ok()
                .and_then(|s| s.parse::<u64>().ok());
            match (id, last) {
                (Some(id), Some(l)) if id <= l => {
                    reached |= id == l;
                    keep = reader.position().byte();
                }
                _ => {
                    keep = at;
                    break;
                }
            }
        }
        if !reached {
            return Err(missing().into());
        }
        let mut file = OpenOptions::new()
            .write(true)
            .open(path)
            .with_context(|| format!("cannot reopen {}", path.display()))?;
        file.set_len(keep)?;
        file.seek(SeekFrom::End(0))?;
        Ok(SeriesLog {
            writer: csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(file),
            path: path.to_path_buf(),
            configuration: configuration.to_string(),
        })
    }

    /// Appends one replication's rows.
    pub fn append(&mut self, r: &ReplicationOutcome) -> anyhow::Result<()> {
        for row in rows(&self.configuration, r) {
            self.writer.write_record(&row)?;
        }
        Ok(())
    }

    /// Writes every row so far to disk.
    pub fn sync(&mut self) -> anyhow::Result<()> {
        self.writer.flush()?;
        self.writer.get_ref().sync_data()?;
        Ok(())
    }

    /// Syncs the log and moves it to `series.csv` beside `rows_target`.
    pub fn finish(mut self, rows_target: &Path) -> anyhow::Result<()> {
        self.sync()?;
        let target = rows_target.with_file_name(layout::SERIES);
        std::fs::rename(&self.path, &target).with_context(|| {
            format!(
                "cannot move {} to {}",
                self.path.display(),
                target.display()
            )
        })
    }
}

/// The replication of the last row of a rows file (`None`: only a header), read from its end.
pub fn last_replication(path: &Path) -> anyhow::Result<Option<u64>> {
    let mut file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let len = file.metadata()?.len();
    // Read back from the end until the line before the last newline is whole.
    let mut tail = Vec::new();
    let mut chunk = 4096u64;
    loop {
        let from = len.saturating_sub(chunk);
        file.seek(SeekFrom::Start(from))?;
        tail.clear();
        file.read_to_end(&mut tail)?;
        let body = tail.strip_suffix(b"\n").unwrap_or(&tail);
        if let Some(nl) = body.iter().rposition(|&b| b == b'\n') {
            let line = &body[nl + 1..];
            return Ok(field(line, 1));
        }
        if from == 0 {
            return Ok(None);
        }
        chunk *= 4;
    }
}

/// The `k`-th comma-separated field of a CSV line as a replication id (ids are never quoted).
fn field(line: &[u8], k: usize) -> Option<u64> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line);
    let mut rec = csv::ByteRecord::new();
    r.read_byte_record(&mut rec).ok()?;
    std::str::from_utf8(rec.get(k)?).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reopened_series_keeps_the_rows_up_to_the_last_saved_replication() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("series.csv");
        std::fs::write(
            &path,
            "configuration,replication,quarter,figure,value\n\
             a,0,1,cost_per_head,1\na,1,1,cost_per_head,2\na,2,1,cost_per_head,3\na,2,2,cost",
        )
        .unwrap();
        let log = SeriesLog::reopen(&path, "a", Some(1)).unwrap();
        drop(log);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "configuration,replication,quarter,figure,value\n\
             a,0,1,cost_per_head,1\na,1,1,cost_per_head,2\n"
        );
        // A series that stops before the saved rows cannot be resumed.
        let Err(e) = SeriesLog::reopen(&path, "a", Some(5)) else {
            panic!("a series short of the saved rows was reopened");
        };
        assert!(e.to_string().contains("--series"), "{e}");
        let none = SeriesLog::reopen(&path, "a", None).unwrap();
        drop(none);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "configuration,replication,quarter,figure,value\n"
        );
    }

    #[test]
    fn the_last_replication_is_read_from_the_end_of_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.csv");
        let long = "x".repeat(10_000);
        std::fs::write(&path, format!("config,replication\nc,7\nc,8,{long}\n")).unwrap();
        assert_eq!(last_replication(&path).unwrap(), Some(8));
        std::fs::write(&path, "config,replication\n").unwrap();
        assert_eq!(last_replication(&path).unwrap(), None);
    }
}
