//! Posterior prediction (MODEL.md section 11): a weighted posterior sample (`posterior.csv`, as
//! `calibrate` writes it) read back, and attached to a market so that each replication simulates
//! the parameter vector it draws, keyed by (seed, replication). The draw does not depend on the
//! configuration, so paired differences stay paired; nor on threads or shards.
//!
//! The market of each row a run draws is compiled once, up front and in parallel (never per
//! replication); every other row is validated, so a bad row is refused before anything runs.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;
use toml::Value;

use sha2::{Digest, Sha256};

use crate::experiment::provenance::PosteriorSource;
use crate::explore::NumericField;
use crate::model::rng::{self, Purpose, entity_key};
use crate::model::{Market, Variants};
use crate::scenario::{Edit, Scenario};

/// Most rows a posterior sample may hold.
pub const MAX_ROWS: usize = 100_000;
/// Largest posterior file read, in bytes.
const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// A weighted sample of parameter vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct Posterior {
    /// The file it was read from (for messages).
    pub file: String,
    /// The parameters, as numeric fields of the scenario.
    pub fields: Vec<NumericField>,
    /// Parameter values, one row per particle.
    pub rows: Vec<Vec<f64>>,
    /// Cumulative weights, in row order (the last is the total).
    cumulative: Vec<f64>,
    /// SHA-256 of the text read, for provenance.
    sha256: String,
}

impl Posterior {
    /// Reads a posterior sample: a `weight` column, parameter columns named by numeric fields of
    /// the scenario, and optionally `particle` and `distance` (ignored).
    pub fn from_path(path: &Path, scenario: &Scenario) -> Result<Posterior, String> {
        let file = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| format!("{file}: cannot read: {e}"))?;
        if !meta.is_file() || meta.len() > MAX_BYTES {
            return Err(format!(
                "{file}: a posterior must be a regular CSV file of at most 64 MiB"
            ));
        }
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("{file}: cannot read: {e}"))?;
        Posterior::from_text(&file, &text, scenario)
    }

    /// Reads a posterior sample from CSV text; `file` names it in messages.
    pub fn from_text(file: &str, text: &str, scenario: &Scenario) -> Result<Posterior, String> {
        let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| format!("{file}: line 1: {e}"))?
            .iter()
            .map(str::to_string)
            .collect();
        let weight_at = header
            .iter()
            .position(|h| h == "weight")
            .ok_or_else(|| format!("{file}: line 1: no `weight` column; expected the columns of posterior.csv (particle, parameters..., weight, distance)"))?;
        let mut columns = Vec::new();
        let mut fields = Vec::new();
        for (i, h) in header.iter().enumerate() {
            if matches!(h.as_str(), "weight" | "particle" | "distance") {
                continue;
            }
            let integer = match scenario.value_at(h) {
                Some(Value::Integer(_)) => true,
                Some(Value::Float(_)) => false,
                _ => {
                    return Err(format!(
                        "{file}: line 1, column {}: `{h}` is not a numeric field of {}",
                        i + 1,
                        scenario.file
                    ));
                }
            };
            columns.push(i);
            fields.push(NumericField {
                path: h.clone(),
                value: None,
                integer,
            });
        }
        if fields.is_empty() {
            return Err(format!("{file}: line 1: no parameter columns"));
        }
        let (mut rows, mut cumulative, mut total) = (Vec::new(), Vec::new(), 0.0);
        for (n, record) in reader.records().enumerate() {
            let line = n + 2;
            let record = record.map_err(|e| format!("{file}: line {line}: {e}"))?;
            if rows.len() == MAX_ROWS {
                return Err(format!("{file}: more than {MAX_ROWS} rows"));
            }
            let number = |i: usize| -> Result<f64, String> {
                let cell = record.get(i).unwrap_or("");
                cell.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| {
                        format!(
                            "{file}: line {line}, column {} (`{}`): `{cell}` is not a finite number",
                            i + 1,
                            header[i]
                        )
                    })
            };
            let weight = number(weight_at)?;
            if weight < 0.0 {
                return Err(format!(
                    "{file}: line {line}: weight {weight} is negative; weights are at least 0"
                ));
            }
            rows.push(
                columns
                    .iter()
                    .map(|&i| number(i))
                    .collect::<Result<_, _>>()?,
            );
            total += weight;
            cumulative.push(total);
        }
        if !(total > 0.0 && total.is_finite()) {
            return Err(format!(
                "{file}: the weights sum to {total}; at least one row needs a positive weight"
            ));
        }
        Ok(Posterior {
            file: file.to_string(),
            fields,
            rows,
            cumulative,
            sha256: Sha256::digest(text.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        })
    }

    /// Which sample this is, for provenance: file, SHA-256 of its text and rows.
    pub fn source(&self) -> PosteriorSource {
        PosteriorSource {
            file: self.file.clone(),
            sha256: self.sha256.clone(),
            rows: self.rows.len(),
        }
    }

    /// The row replication `replication` draws under `seed`.
    pub fn draw(&self, seed: u64, replication: u64) -> usize {
        let key = entity_key("posterior");
        let u = rng::uniform(&mut rng::stream(
            seed,
            replication,
            key,
            0,
            Purpose::Posterior,
            0,
        ));
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let at = self.cumulative.partition_point(|&c| c <= u * total);
        at.min(self.rows.len().saturating_sub(1))
    }

    /// The edits of row `i`.
    pub fn edits(&self, i: usize) -> Vec<Edit> {
        self.fields
            .iter()
            .zip(&self.rows[i])
            .map(|(f, &x)| f.edit(if f.integer { x.round() } else { x }))
            .collect()
    }

    /// A row's edits as a configuration keeps them: a value the configuration itself `set`s
    /// (`national-low-locality` sets communications' locality) is part of what the configuration
    /// is, so the row leaves it alone and fills in only what the configuration leaves uncertain.
    pub fn under_configuration(
        row: &[Edit],
        scenario: &Scenario,
        configuration: &str,
    ) -> Vec<Edit> {
        let set = scenario
            .base
            .configurations
            .iter()
            .find(|c| c.name == configuration)
            .map(|c| &c.set);
        row.iter()
            .filter(|e| set.is_none_or(|s| !s.contains_key(&e.path)))
            .cloned()
            .collect()
    }

    /// Row `i`'s weight.
    fn weight(&self, i: usize) -> f64 {
        self.cumulative[i] - if i == 0 { 0.0 } else { self.cumulative[i - 1] }
    }

    /// The row replication `replication` simulates under `seed`: the row it draws, or, should
    /// rounding at the top of the draw land on a row of weight 0, the first row with weight.
    fn row_for(&self, seed: u64, replication: u64) -> usize {
        let i = self.draw(seed, replication);
        if self.weight(i) > 0.0 {
            return i;
        }
        (0..self.rows.len())
            .find(|&j| self.weight(j) > 0.0)
            .unwrap_or(i)
    }

    /// The rows replications `replications` simulate under `seed`, each once, in row order (every
    /// row with weight for a range over 16 times as long as the sample).
    pub fn rows_drawn(&self, seed: u64, replications: Range<u64>) -> Vec<usize> {
        // A range this long draws nearly every row: take them all rather than draw a billion
        // times (which rows are compiled never changes a result).
        if replications.end - replications.start > 16 * self.rows.len() as u64 {
            return (0..self.rows.len())
                .filter(|&i| self.weight(i) > 0.0)
                .collect();
        }
        let mut drawn = vec![false; self.rows.len()];
        for r in replications {
            drawn[self.row_for(seed, r)] = true;
        }
        (0..drawn.len()).filter(|&i| drawn[i]).collect()
    }

    /// Attaches the sample to `market` for any replication: the market of every row with weight
    /// is compiled by `build` (see [`Self::attach_for`]).
    pub fn attach(
        self: &Arc<Self>,
        market: &mut Market,
        build: &(dyn Fn(&[Edit]) -> Result<Market, String> + Sync),
    ) -> Result<(), String> {
        self.attach_rows(market, None, build)
    }

    /// Attaches the sample to `market` for replications `replications`: the market of every row
    /// they draw is compiled by `build` (given the row's edits), up front and in parallel, and
    /// must have the base market's structure. Rows no replication of the range draws are not
    /// compiled (a run of 100 replications needs about 100 of 1,000 rows, a shard only its own);
    /// a row's market depends on the row alone, so results do not depend on the range.
    ///
    /// Every other row with weight is still checked, by `check` (resolved and validated, not
    /// compiled), so a bad value in the file is refused however few replications a run has.
    pub fn attach_for(
        self: &Arc<Self>,
        market: &mut Market,
        replications: Range<u64>,
        build: &(dyn Fn(&[Edit]) -> Result<Market, String> + Sync),
        check: &(dyn Fn(&[Edit]) -> Result<(), String> + Sync),
    ) -> Result<(), String> {
        self.attach_rows(market, Some((replications, check)), build)
    }

    /// [`Self::attach`] (`replications` none) or [`Self::attach_for`].
    fn attach_rows(
        self: &Arc<Self>,
        market: &mut Market,
        replications: Option<(Range<u64>, RowCheck<'_>)>,
        build: &(dyn Fn(&[Edit]) -> Result<Market, String> + Sync),
    ) -> Result<(), String> {
        let weighted: Vec<usize> = (0..self.rows.len())
            .filter(|&i| self.weight(i) > 0.0)
            .collect();
        let mut compile = vec![true; self.rows.len()];
        if let Some((r, _)) = &replications {
            compile.fill(false);
            for i in self.rows_drawn(market.seed, r.clone()) {
                compile[i] = true;
            }
        }
        let at = |i: usize, e: String| format!("{}: row {} (line {}): {e}", self.file, i, i + 2);
        // Every row with weight, in parallel; the first problem in row order is the one reported,
        // whatever the thread count.
        let results: Vec<Result<Option<Market>, String>> = weighted
            .par_iter()
            .map(|&i| {
                if !compile[i] {
                    let check = replications.as_ref().map(|(_, check)| *check);
                    return check.map_or(Ok(None), |check| {
                        check(&self.edits(i)).map(|()| None).map_err(|e| at(i, e))
                    });
                }
                let mut m = build(&self.edits(i)).map_err(|e| at(i, e))?;
                same_structure(market, &m).map_err(|e| at(i, e))?;
                m.seed = market.seed;
                Ok(Some(m))
            })
            .collect();
        let mut markets: Vec<Option<Market>> = (0..self.rows.len()).map(|_| None).collect();
        for (i, result) in weighted.into_iter().zip(results) {
            markets[i] = result?;
        }
        market.variants = Some(Arc::new(PosteriorMarkets {
            posterior: Arc::clone(self),
            seed: market.seed,
            replications: replications.map(|(r, _)| r),
            markets,
        }));
        Ok(())
    }
}

/// A posterior row's market must differ from the base only in values: every summary, chart and
/// row of output is laid out from the base market.
fn same_structure(a: &Market, b: &Market) -> Result<(), String> {
    let ids = |m: &Market| -> Vec<String> { m.providers.iter().map(|p| p.id.clone()).collect() };
    if a.periods != b.periods
        || ids(a) != ids(b)
        || a.services.len() != b.services.len()
        || a.checkpoints.len() != b.checkpoints.len()
        || a.ccgs.len() != b.ccgs.len()
    {
        return Err("its parameters change the market's structure (quarters, providers, services, checkpoints or CCGs); a posterior may only change values".into());
    }
    Ok(())
}

/// Checks a row's values without compiling its market: see [`Posterior::attach_for`].
type RowCheck<'a> = &'a (dyn Fn(&[Edit]) -> Result<(), String> + Sync);

/// The compiled markets of a posterior sample: those of the rows a range of replications draws.
#[derive(Debug)]
struct PosteriorMarkets {
    posterior: Arc<Posterior>,
    seed: u64,
    /// The replications the markets were compiled for (`None`: any).
    replications: Option<Range<u64>>,
    /// By row; `None` for a row no replication of the range draws.
    markets: Vec<Option<Market>>,
}

impl Variants for PosteriorMarkets {
    fn market_for(&self, replication: u64) -> &Market {
        let i = self.posterior.row_for(self.seed, replication);
        match &self.markets[i] {
            Some(m) => m,
            // Every caller attaches the replications it runs.
            None => unreachable!(
                "replication {replication} draws posterior row {i}, not compiled: the markets \
                 were attached for replications {:?}",
                self.replications
            ),
        }
    }
}

#[cfg(test)]
mod tests;
