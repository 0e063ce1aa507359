//! Writing results: CSV tables and JSON, each file written whole or not at all.

pub mod atomic;
pub mod lock;
pub mod merge;

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use sha2::{Digest, Sha256};

use crate::engine::ReplicationOutcome;
#[cfg(doc)]
use crate::experiment::resume::ResumeError;
use crate::experiment::resume::RowsMark;
use crate::experiment::sealed::hex_digest;
use crate::experiment::{CATEGORIES, Summary};
use crate::model::Market;
use crate::stats::{Proportion, Stat};
use atomic::AtomicFile;

/// Where a run came from, written into `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// csmarket version.
    pub csmarket_version: String,
    /// Scenario name.
    pub scenario: String,
    /// Scenario file as given (or `<built-in>`).
    pub scenario_file: String,
    /// SHA-256 of the scenario file.
    pub scenario_sha256: String,
    /// Configuration.
    pub configuration: String,
    /// Master seed.
    pub seed: u64,
    /// First global replication index.
    pub first_replication: u64,
    /// Replications run.
    pub replications: u64,
    /// Worker threads.
    pub threads: usize,
    /// Start time (RFC 3339).
    pub started: String,
    /// End time (RFC 3339).
    pub finished: String,
    /// Command line.
    pub command_line: Vec<String>,
}

/// A figure with its mean and quantiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// Mean.
    pub mean: Option<f64>,
    /// 5% quantile.
    pub p05: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 95% quantile.
    pub p95: Option<f64>,
}

impl From<&Stat> for Figure {
    fn from(s: &Stat) -> Figure {
        Figure {
            mean: s.mean(),
            p05: s.quantile(0.05),
            p50: s.quantile(0.5),
            p95: s.quantile(0.95),
        }
    }
}

/// A provider's headline survival.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurvivalFigure {
    /// Provider id.
    pub provider: String,
    /// Survival probability.
    pub p_survive: Option<f64>,
    /// 95% Wilson interval, low.
    pub lo: Option<f64>,
    /// 95% Wilson interval, high.
    pub hi: Option<f64>,
}

/// The headline figures in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadlineFigures {
    /// £ per head per year paid by CCGs (last year).
    pub cost_per_head: Figure,
    /// In-house share of volume at the end.
    pub in_house_share: Figure,
    /// Providers open at the end.
    pub open_providers: Figure,
    /// Unmet share of provider-contracted volume.
    pub unmet_share: Figure,
    /// Share of intended volume going to CCGs' own host CSUs (quarter 0).
    pub intended_host_share: Figure,
    /// Each provider's survival.
    pub survival: Vec<SurvivalFigure>,
}

/// The contents of `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryFile {
    /// Where the run came from.
    pub provenance: Provenance,
    /// Headline figures.
    pub headline: HeadlineFigures,
}

/// Headline figures of a summary.
pub fn headline(s: &Summary) -> HeadlineFigures {
    HeadlineFigures {
        cost_per_head: (&s.headline.cost_per_head).into(),
        in_house_share: (&s.headline.in_house_share).into(),
        open_providers: (&s.headline.open_providers).into(),
        unmet_share: (&s.headline.unmet_share).into(),
        intended_host_share: (&s.headline.intended_host_share).into(),
        survival: s
            .providers
            .iter()
            .map(|p| {
                let ci = p.survived.wilson(Proportion::Z95);
                SurvivalFigure {
                    provider: p.id.clone(),
                    p_survive: p.survived.estimate(),
                    lo: ci.map(|c| c.0),
                    hi: ci.map(|c| c.1),
                }
            })
            .collect(),
    }
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

fn stat_cells(s: &Stat, quantiles: &[f64]) -> Vec<String> {
    let mut out = vec![num(s.mean())];
    out.extend(quantiles.iter().map(|&q| num(s.quantile(q))));
    out
}

fn stat_headers(name: &str, quantiles: &[&str]) -> Vec<String> {
    let mut out = vec![format!("{name}_mean")];
    out.extend(quantiles.iter().map(|q| format!("{name}_{q}")));
    out
}

fn to_csv(rows: Vec<Vec<String>>) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.write_record(&r)?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

const Q3: [f64; 3] = [0.05, 0.5, 0.95];
const Q3N: [&str; 3] = ["p05", "p50", "p95"];

/// `providers.csv`: survival with its Wilson interval, fates, ratings per checkpoint, and figures.
pub fn providers_csv(s: &Summary) -> anyhow::Result<Vec<u8>> {
    let mut header: Vec<String> = [
        "config",
        "provider",
        "name",
        "kind",
        "region",
        "replications",
        "p_survive",
        "p_survive_lo",
        "p_survive_hi",
    ]
    .map(String::from)
    .to_vec();
    header.extend(["p_stopped", "p_failed", "p_merged", "p_ended"].map(String::from));
    for cp in &s.checkpoints {
        for r in ["A", "B", "C", "unrated"] {
            header.push(format!("p_{cp}_{r}"));
        }
    }
    for f in [
        "margin",
        "customers",
        "population",
        "staff",
        "reserves",
        "revenue",
    ] {
        header.extend(stat_headers(f, &Q3N));
    }
    let mut rows = vec![header];
    for p in &s.providers {
        let ci = p.survived.wilson(Proportion::Z95);
        let mut r = vec![
            s.configuration.clone(),
            p.id.clone(),
            p.name.clone(),
            p.kind.clone(),
            p.region.clone(),
            p.survived.trials().to_string(),
            num(p.survived.estimate()),
            num(ci.map(|c| c.0)),
            num(ci.map(|c| c.1)),
            num(p.stopped.estimate()),
            num(p.failed.estimate()),
            num(p.merged.estimate()),
            num(p.ended.estimate()),
        ];
        let n = s.replications.max(1) as f64;
        for counts in &p.ratings {
            for k in [1, 2, 3, 0] {
                r.push(num(Some(counts[k] as f64 / n)));
            }
        }
        for st in [
            &p.margin,
            &p.customers,
            &p.population,
            &p.staff,
            &p.reserves,
            &p.revenue,
        ] {
            r.extend(stat_cells(st, &Q3));
        }
        rows.push(r);
    }
    to_csv(rows)
}

/// `services.csv`: volume shares by kind of supplier, with quantiles, and concentration.
pub fn services_csv(s: &Summary) -> anyhow::Result<Vec<u8>> {
    let mut header = vec!["config".to_string(), "service".to_string()];
    for c in CATEGORIES {
        header.extend(stat_headers(c, &Q3N));
    }
    header.extend(stat_headers("hhi", &Q3N));
    let mut rows = vec![header];
    for sv in &s.services {
        let mut r = vec![s.configuration.clone(), sv.id.clone()];
        for st in &sv.shares {
            r.extend(stat_cells(st, &Q3));
        }
        r.extend(stat_cells(&sv.hhi, &Q3));
        rows.push(r);
    }
    to_csv(rows)
}

/// `timeseries.csv`: per quarter, mean and 5-95% band of open providers, in-house share and cost per head.
pub fn timeseries_csv(s: &Summary) -> anyhow::Result<Vec<u8>> {
    let q = [0.05, 0.95];
    let qn = ["p05", "p95"];
    let mut header = vec!["config".to_string(), "period".to_string()];
    for f in ["open_providers", "in_house_share", "cost_per_head"] {
        header.extend(stat_headers(f, &qn));
    }
    let mut rows = vec![header];
    for p in &s.series {
        let mut r = vec![s.configuration.clone(), p.period.to_string()];
        for st in [&p.open_providers, &p.in_house_share, &p.cost_per_head] {
            r.extend(stat_cells(st, &q));
        }
        rows.push(r);
    }
    to_csv(rows)
}

/// The header of `replications.csv`.
pub fn replication_header(market: &Market) -> Vec<String> {
    let mut header: Vec<String> = [
        "config",
        "replication",
        "cost_per_head",
        "in_house_share",
        "open_providers",
        "unmet_share",
        "intended_host_share",
        "ccg_spend",
    ]
    .map(String::from)
    .to_vec();
    header.extend(market.providers.iter().map(|p| format!("fate_{}", p.id)));
    header
}

/// One replication's row of `replications.csv`.
pub fn replication_record(configuration: &str, r: &ReplicationOutcome) -> Vec<String> {
    let mut row = vec![
        configuration.to_string(),
        r.replication.to_string(),
        format!("{}", r.cost_per_head),
        format!("{}", r.in_house_share),
        r.open_providers.to_string(),
        format!("{}", r.unmet_share),
        format!("{}", r.intended_host_share),
        format!("{}", r.ledger.ccg_spend),
    ];
    row.extend(r.providers.iter().map(|p| p.fate.as_str().to_string()));
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
        })
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
        })
    }

    /// Appends one replication's row.
    pub fn write(&mut self, r: &ReplicationOutcome) -> anyhow::Result<()> {
        self.writer
            .write_record(replication_record(&self.configuration, r))?;
        Ok(())
    }

    /// Writes every row so far to disk and returns the file's length and SHA-256.
    pub fn sync(&mut self) -> anyhow::Result<RowsMark> {
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

/// Writes the summary tables and `summary.json` of one configuration into `dir`.
pub fn write_summary(dir: &Path, s: &Summary, provenance: &Provenance) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    atomic::write(&dir.join("providers.csv"), &providers_csv(s)?)?;
    atomic::write(&dir.join("services.csv"), &services_csv(s)?)?;
    atomic::write(&dir.join("timeseries.csv"), &timeseries_csv(s)?)?;
    let file = SummaryFile {
        provenance: provenance.clone(),
        headline: headline(s),
    };
    let mut json = serde_json::to_vec_pretty(&file)?;
    json.push(b'\n');
    atomic::write(&dir.join("summary.json"), &json)?;
    Ok(())
}
