//! Posterior prediction (MODEL.md section 11): a weighted posterior sample (`posterior.csv`, as
//! `calibrate` writes it) read back, and attached to a market so that each replication simulates
//! the parameter vector it draws, keyed by (seed, replication). The draw does not depend on the
//! configuration, so paired differences stay paired; nor on threads or shards.
//!
//! The market of each row a run draws is compiled once, up front and in parallel (never per
//! replication), so a drawn row that does not give a valid market is refused before anything runs.

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
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        Scenario::from_text(
            "small.toml",
            include_str!("../../../tests/fixtures/small.toml"),
        )
        .unwrap()
    }

    #[test]
    fn draws_follow_the_weights_and_never_pick_a_weightless_row() {
        let s = scenario();
        let text =
            "particle,services.comms.locality,weight,distance\n0,0.1,0,1\n1,0.5,3,1\n2,0.9,1,1\n";
        let p = Posterior::from_text("p.csv", text, &s).unwrap();
        let mut counts = [0u32; 3];
        for r in 0..4000 {
            counts[p.draw(7, r)] += 1;
        }
        assert_eq!(counts[0], 0);
        let share = f64::from(counts[1]) / 4000.0;
        assert!((share - 0.75).abs() < 0.03, "{counts:?}");
        assert_eq!(p.draw(7, 11), p.draw(7, 11));
    }

    #[test]
    fn a_value_the_configuration_sets_is_kept_and_the_rest_of_the_row_applies() {
        let text = include_str!("../../../tests/fixtures/small.toml").replace(
            "name = \"national\"",
            "name = \"national\"\nset = { \"services.comms.locality\" = 0.02 }",
        );
        let s = Scenario::from_text("small.toml", &text).unwrap();
        let p = Posterior::from_text(
            "p.csv",
            "services.comms.locality,services.bi.locality,weight\n0.9,0.5,1\n",
            &s,
        )
        .unwrap();
        let row = p.edits(0);
        let kept = Posterior::under_configuration(&row, &s, "national");
        assert_eq!(
            kept.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
            ["services.bi.locality"]
        );
        assert_eq!(Posterior::under_configuration(&row, &s, "local"), row);
        assert_eq!(p.source().rows, 1);
        assert_eq!(p.source().sha256.len(), 64);
    }

    #[test]
    fn bad_files_are_refused_with_line_and_column() {
        let s = scenario();
        let e = Posterior::from_text("p.csv", "a,weight\n1,1\n", &s).unwrap_err();
        assert!(e.contains("line 1, column 1") && e.contains("`a`"), "{e}");
        let e = Posterior::from_text("p.csv", "services.comms.locality\n1\n", &s).unwrap_err();
        assert!(e.contains("no `weight` column"), "{e}");
        let e = Posterior::from_text("p.csv", "services.comms.locality,weight\n0.5,x\n", &s)
            .unwrap_err();
        assert!(e.contains("line 2, column 2"), "{e}");
        let e = Posterior::from_text("p.csv", "services.comms.locality,weight\n0.5,0\n", &s)
            .unwrap_err();
        assert!(e.contains("positive weight"), "{e}");
    }

    /// Every row's scenario the short way (the configuration made once, the row set on a copy)
    /// and the long way (the scenario's document edited afresh), and their compiled markets, for
    /// every configuration: the same bit for bit (`Debug` prints every float exactly).
    fn short_and_long_ways_agree(scenario: &Scenario, p: &Posterior) {
        for c in scenario.configuration_names() {
            let prepared = scenario.prepare(&c);
            (0..p.rows.len()).into_par_iter().for_each(|i| {
                let row = Posterior::under_configuration(&p.edits(i), scenario, &c);
                let quick = prepared
                    .resolve_quickly(&row)
                    .unwrap_or_else(|| panic!("{c}, row {i}: the short way was not taken"));
                let long = scenario.resolve_with(&c, &row).unwrap();
                assert_eq!(format!("{quick:?}"), format!("{long:?}"), "{c}, row {i}");
                let compile = |s| format!("{:?}", Market::compile(s, &c).unwrap());
                assert_eq!(compile(&quick), compile(&long), "{c}, row {i}");
            });
        }
    }

    #[test]
    fn every_row_of_the_england_2012_posterior_gives_the_same_market_either_way() {
        let s = Scenario::from_text(
            "england-2012.toml",
            include_str!("../../../scenarios/england-2012.toml"),
        )
        .unwrap();
        let p = Posterior::from_text(
            "england-2012.posterior.csv",
            include_str!("../../../scenarios/england-2012.posterior.csv"),
            &s,
        )
        .unwrap();
        assert_eq!(p.rows.len(), 1000);
        short_and_long_ways_agree(&s, &p);
    }

    #[test]
    fn a_scenario_read_whole_gives_the_same_market_either_way() {
        // A quoted table name leaves the file whole (scenario::split): no array split off.
        let text = include_str!("../../../tests/fixtures/small.toml").replacen(
            "[scenario]",
            "[\"scenario\"]",
            1,
        );
        assert!(crate::scenario::split::layout(&text).is_none());
        let s = Scenario::from_text("small.toml", &text).unwrap();
        let mut csv = "services.comms.locality,services.bi.need_per_head,ccgs.list.n2.population,\
                       weight\n"
            .to_string();
        for i in 0..40 {
            let x = f64::from(i) / 40.0;
            csv += &format!("{x},{},{},1\n", 0.5 + x, 100_000.0 + 5_000.3 * x);
        }
        let p = Posterior::from_text("p.csv", &csv, &s).unwrap();
        short_and_long_ways_agree(&s, &p);
        short_and_long_ways_agree(&scenario(), &p);
    }

    #[test]
    fn a_bad_posterior_value_is_reported_as_the_long_way_reports_it() {
        let s = scenario();
        for c in ["national", "local"] {
            let prepared = s.prepare(c);
            for (path, value) in [
                ("services.comms.locality", Value::Float(1.5)),
                ("services.bi.need_per_head", Value::Float(-0.25)),
                ("services.nothing.locality", Value::Float(0.5)),
                ("providers.north-a.services.bi", Value::Float(0.5)),
            ] {
                let row = [Edit {
                    path: path.into(),
                    value,
                }];
                assert!(prepared.resolve_quickly(&row).is_none(), "{c} {path}");
                let long = s.resolve_with(c, &row).unwrap_err().to_string();
                let short = prepared.resolve_with(&row).unwrap_err().to_string();
                assert_eq!(short, long);
                assert!(long.contains(&format!("configuration `{c}`")), "{long}");
            }
        }
        // Through a run: the file, row and line, then the scenario's own message.
        let p = Arc::new(
            Posterior::from_text(
                "p.csv",
                "services.comms.locality,weight\n0.5,1\n1.5,1\n",
                &s,
            )
            .unwrap(),
        );
        let prepared = s.prepare("national");
        let build = |row: &[Edit]| -> Result<Market, String> {
            let r = prepared.resolve_with(row).map_err(|e| e.to_string())?;
            Market::compile(&r, "national").map_err(|e| e.to_string())
        };
        let long = s
            .resolve_with("national", &p.edits(1))
            .unwrap_err()
            .to_string();
        let check = |row: &[Edit]| {
            prepared
                .resolve_with(row)
                .map(drop)
                .map_err(|e| e.to_string())
        };
        let mut m = Market::compile(&s.resolve("national").unwrap(), "national").unwrap();
        let e = p.attach_for(&mut m, 0..50, &build, &check).unwrap_err();
        assert_eq!(e, format!("p.csv: row 1 (line 3): {long}"));
    }

    #[test]
    fn a_bad_row_no_replication_draws_is_refused_all_the_same() {
        let s = scenario();
        let mut csv = "services.comms.locality,weight\n".to_string();
        for i in 0..40 {
            csv += &format!("{},1\n", if i == 17 { 1.5 } else { 0.5 });
        }
        let p = Arc::new(Posterior::from_text("p.csv", &csv, &s).unwrap());
        let mut base = Market::compile(&s.resolve("national").unwrap(), "national").unwrap();
        base.seed = 5;
        let one = (0..40).find(|&r| p.draw(5, r) != 17).unwrap();
        assert!(!p.rows_drawn(5, one..one + 1).contains(&17));
        let prepared = s.prepare("national");
        let compiled = std::sync::atomic::AtomicUsize::new(0);
        let build = |row: &[Edit]| -> Result<Market, String> {
            compiled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let r = prepared.resolve_with(row).map_err(|e| e.to_string())?;
            Market::compile(&r, "national").map_err(|e| e.to_string())
        };
        let check = |row: &[Edit]| {
            prepared
                .resolve_with(row)
                .map(drop)
                .map_err(|e| e.to_string())
        };
        let e = p
            .attach_for(&mut base, one..one + 1, &build, &check)
            .unwrap_err();
        assert!(e.starts_with("p.csv: row 17 (line 19): "), "{e}");
        // Only the drawn row's market was compiled; the other 39 were checked, not compiled.
        assert_eq!(compiled.load(std::sync::atomic::Ordering::Relaxed), 1);
    }

    #[test]
    fn only_the_rows_a_range_draws_are_compiled_and_each_gives_the_market_any_range_gives() {
        let s = scenario();
        let mut csv = "services.comms.locality,weight\n".to_string();
        for i in 0..30 {
            csv += &format!("{},{}\n", f64::from(i) / 30.0, 1 + i % 3);
        }
        let p = Arc::new(Posterior::from_text("p.csv", &csv, &s).unwrap());
        let prepared = s.prepare("national");
        let built = std::sync::atomic::AtomicUsize::new(0);
        let build = |row: &[Edit]| -> Result<Market, String> {
            built.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let r = prepared.resolve_with(row).map_err(|e| e.to_string())?;
            Market::compile(&r, "national").map_err(|e| e.to_string())
        };
        let mut base = Market::compile(&s.resolve("national").unwrap(), "national").unwrap();
        base.seed = 11;
        let mut every = base.clone();
        p.attach(&mut every, &build).unwrap();
        let every = every.variants.unwrap();
        for range in [0..8, 8..40, 0..40, 3..4] {
            built.store(0, std::sync::atomic::Ordering::Relaxed);
            let mut some = base.clone();
            p.attach_for(&mut some, range.clone(), &build, &|_| Ok(()))
                .unwrap();
            let drawn = p.rows_drawn(11, range.clone());
            assert_eq!(
                built.load(std::sync::atomic::Ordering::Relaxed),
                drawn.len()
            );
            assert!(drawn.len() <= (range.end - range.start) as usize);
            let some = some.variants.unwrap();
            for r in range {
                assert!(drawn.contains(&p.draw(11, r)));
                assert_eq!(
                    format!("{:?}", some.market_for(r)),
                    format!("{:?}", every.market_for(r)),
                    "replication {r}"
                );
            }
        }
    }
}
