//! End-to-end tests of `csmarket compare`: its files, charts, report and paired differences.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::util::{csmarket, fixture};

const CONFIGS: [&str; 3] = ["local", "collaborative", "national"];
const CHARTS: [&str; 6] = [
    "survival",
    "ratings",
    "structure",
    "over-time",
    "cost",
    "differences",
];

/// Runs `compare` on the small market into `dir` and returns `dir/compare`.
fn compare_into(dir: &Path, extra: &[&str]) -> PathBuf {
    csmarket()
        .args(["compare", fixture(), "-n", "40", "--seed", "3", "--out"])
        .arg(dir)
        .args(extra)
        .assert()
        .success();
    dir.join("compare")
}

/// Width and height from a PNG's IHDR chunk, after checking the signature.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR", "first chunk is not IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

/// Width and height attributes of an SVG's root element.
fn svg_size(svg: &str) -> (u32, u32) {
    let start = svg.find("<svg").expect("no <svg> element");
    let tag = &svg[start..start + svg[start..].find('>').unwrap()];
    let attr = |name: &str| -> u32 {
        let from = tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        tag[from..from + tag[from..].find('"').unwrap()]
            .parse()
            .unwrap()
    };
    assert!(svg.trim_end().ends_with("</svg>"), "SVG is not complete");
    (attr("width"), attr("height"))
}

/// The text of every `<text>` element of an SVG, trimmed.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

/// Rows of a CSV file as maps from header to cell.
fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

fn provider_ids(dir: &Path) -> Vec<String> {
    let mut ids = Vec::new();
    for c in CONFIGS {
        for row in csv_rows(&dir.join(c).join("providers.csv")) {
            if !ids.contains(&row["provider"]) {
                ids.push(row["provider"].clone());
            }
        }
    }
    ids
}

#[test]
fn compare_writes_per_configuration_outputs_comparison_charts_and_report() {
    let tmp = tempfile::tempdir().unwrap();
    let out = compare_into(tmp.path(), &[]);
    for f in ["comparison.csv", "report.html", "report.md"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    for c in CHARTS {
        for ext in ["svg", "png"] {
            assert!(
                out.join(format!("{c}.{ext}")).is_file(),
                "{c}.{ext} missing"
            );
        }
    }
    for config in CONFIGS {
        let d = out.join(config);
        for f in [
            "providers.csv",
            "services.csv",
            "timeseries.csv",
            "replications.csv",
            "summary.json",
            "survival.png",
            "ratings.svg",
            "structure.png",
            "over-time.svg",
            "cost.png",
        ] {
            assert!(d.join(f).is_file(), "{config}/{f} missing");
        }
        assert_eq!(csv_rows(&d.join("replications.csv")).len(), 40);
    }
    let leftovers: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn charts_are_valid_png_and_svg_of_the_same_stated_size() {
    let tmp = tempfile::tempdir().unwrap();
    let out = compare_into(tmp.path(), &[]);
    for c in CHARTS {
        let png = fs::read(out.join(format!("{c}.png"))).unwrap();
        let svg = fs::read_to_string(out.join(format!("{c}.svg"))).unwrap();
        let (w, h) = png_size(&png);
        assert!(w >= 800 && h >= 300, "{c}: {w}x{h} is too small to read");
        assert_eq!(svg_size(&svg), (w, h), "{c}: SVG and PNG sizes differ");
        assert!(svg.contains(&format!(r#"viewBox="0 0 {w} {h}""#)), "{c}");
    }
}

#[test]
fn survival_and_ratings_charts_show_every_provider_and_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    let out = compare_into(tmp.path(), &[]);
    let ids = provider_ids(&out);
    assert_eq!(ids.len(), 5);
    for chart in ["survival", "ratings"] {
        let texts = svg_texts(&fs::read_to_string(out.join(format!("{chart}.svg"))).unwrap());
        for id in &ids {
            assert!(texts.contains(id), "{chart}.svg lacks provider {id}");
        }
        for c in CONFIGS {
            assert!(
                texts.iter().any(|t| t == c),
                "{chart}.svg lacks configuration {c}"
            );
        }
    }
    let structure = svg_texts(&fs::read_to_string(out.join("structure.svg")).unwrap());
    for s in ["bi", "comms", "support"] {
        assert!(
            structure.iter().any(|t| t == s),
            "structure.svg lacks service {s}"
        );
    }
    let differences = fs::read_to_string(out.join("differences.svg")).unwrap();
    assert!(differences.contains("collaborative minus local"));
    assert!(differences.contains("national minus local"));
}

#[test]
fn comparison_differences_equal_the_mean_of_paired_replication_differences() {
    let tmp = tempfile::tempdir().unwrap();
    let out = compare_into(tmp.path(), &[]);
    let rows = csv_rows(&out.join("comparison.csv"));
    let base = csv_rows(&out.join("local").join("replications.csv"));
    for other in ["collaborative", "national"] {
        let reps = csv_rows(&out.join(other).join("replications.csv"));
        assert_eq!(reps.len(), base.len());
        let mean_diff = |value: &dyn Fn(&BTreeMap<String, String>) -> Option<f64>| {
            let mut sum = 0.0;
            let mut n = 0;
            for (a, b) in base.iter().zip(&reps) {
                assert_eq!(a["replication"], b["replication"], "rows are not paired");
                if let (Some(x), Some(y)) = (value(a), value(b)) {
                    sum += y - x;
                    n += 1;
                }
            }
            (sum / f64::from(n), n)
        };
        let row = |figure: &str, provider: &str| {
            rows.iter()
                .find(|r| {
                    r["config"] == other && r["figure"] == figure && r["provider"] == provider
                })
                .unwrap_or_else(|| panic!("no row for {other} {figure} {provider}"))
        };
        for figure in [
            "cost_per_head",
            "in_house_share",
            "open_providers",
            "unmet_share",
        ] {
            let (want, n) = mean_diff(&|r| r[figure].parse().ok());
            let r = row(figure, "");
            let got: f64 = r["diff_mean"].parse().unwrap();
            assert!(
                (got - want).abs() < 1e-8,
                "{other} {figure}: {got} vs {want}"
            );
            assert_eq!(r["pairs"], n.to_string());
            let (lo, hi): (f64, f64) =
                (r["diff_lo"].parse().unwrap(), r["diff_hi"].parse().unwrap());
            assert!(lo <= got && got <= hi);
            assert_eq!(r["baseline"], "local");
        }
        // Providers present in both configurations: survival as a 0/1 difference per replication.
        for id in ["north-a", "north-b", "south-a"] {
            let col = format!("fate_{id}");
            let (want, _) =
                mean_diff(&|r| Some(f64::from(u8::from(r[col.as_str()] == "survived"))));
            let got: f64 = row("survival", id)["diff_mean"].parse().unwrap();
            assert!((got - want).abs() < 1e-12, "{other} {id}: {got} vs {want}");
        }
        // A provider missing from either configuration has no survival difference.
        assert!(
            !rows
                .iter()
                .any(|r| r["config"] == other && r["provider"] == "national-comms")
        );
    }
}

#[test]
fn comparison_and_charts_are_byte_identical_for_one_and_four_threads() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let one = compare_into(a.path(), &["--threads", "1"]);
    let four = compare_into(b.path(), &["--threads", "4"]);
    for f in [
        "comparison.csv",
        "survival.svg",
        "differences.svg",
        "over-time.png",
    ] {
        assert_eq!(
            fs::read(one.join(f)).unwrap(),
            fs::read(four.join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn report_contains_every_section_and_no_external_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let out = compare_into(tmp.path(), &[]);
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    for (id, heading) in csmarket::report::SECTIONS {
        assert!(
            html.contains(&format!("<section id=\"{id}\">\n<h2>{heading}</h2>")),
            "section {id} missing"
        );
    }
    // The verdict comes first after what was run, the method last.
    let at = |id: &str| html.find(&format!("<section id=\"{id}\">")).unwrap();
    assert!(at("run") < at("verdict") && at("verdict") < at("findings"));
    assert!(at("tables") < at("method"));
    assert!(html.contains("Verdict: is each configuration viable?"));
    assert!(html.contains("<details>"), "per-provider tables are folded");
    for c in CHARTS {
        assert!(
            html.contains(&format!("<figure id=\"chart-{c}\">")),
            "chart {c} not inlined"
        );
    }
    assert_eq!(html.matches("<svg").count(), CHARTS.len());
    for fact in [
        "Small test market",
        "Seed",
        "Runs per configuration",
        "0.1.0",
        "--seed 3",
    ] {
        assert!(html.contains(fact), "run facts lack {fact}");
    }
    // Findings are sentences computed from the results.
    assert!(html.contains("In national, ") && html.contains("of runs"));
    assert!(html.contains("Paired run by run against local"));
    for bad in [
        "http://", "https://", "src=", "<script", "<link", "@import", "url(",
    ] {
        assert!(
            !html.contains(bad),
            "report holds an external reference: {bad}"
        );
    }
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    for (_, heading) in csmarket::report::SECTIONS {
        assert!(
            md.contains(&format!("## {heading}")),
            "report.md lacks {heading}"
        );
    }
    assert!(md.contains("![Provider survival](survival.png)"));
}

#[test]
fn unknown_configuration_gets_status_2_and_the_list_of_those_that_exist() {
    for args in [vec!["--configs", "local,nope"], vec!["--baseline", "nope"]] {
        let tmp = tempfile::tempdir().unwrap();
        let out = csmarket()
            .args(["compare", fixture(), "-n", "2", "--out"])
            .arg(tmp.path())
            .args(&args)
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(stderr.contains("unknown configuration `nope`"), "{stderr}");
        assert!(
            stderr.contains("local, collaborative, national"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            !tmp.path().join("compare").exists(),
            "nothing should be written"
        );
    }
}

#[test]
fn baseline_option_sets_the_reference_and_joins_the_configurations() {
    let tmp = tempfile::tempdir().unwrap();
    let out = compare_into(
        tmp.path(),
        &["--configs", "local", "--baseline", "national"],
    );
    let rows = csv_rows(&out.join("comparison.csv"));
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r["baseline"] == "national" && r["config"] == "local")
    );
    assert!(out.join("national").join("summary.json").is_file());
    assert!(!out.join("collaborative").exists());
}

#[test]
fn run_draws_the_charts_of_its_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    csmarket()
        .args([
            "run",
            fixture(),
            "--config",
            "national",
            "-n",
            "20",
            "--out",
        ])
        .arg(tmp.path())
        .assert()
        .success();
    let d = tmp.path().join("national");
    for c in ["survival", "ratings", "structure", "over-time", "cost"] {
        let png = fs::read(d.join(format!("{c}.png"))).unwrap();
        let svg = fs::read_to_string(d.join(format!("{c}.svg"))).unwrap();
        assert_eq!(svg_size(&svg), png_size(&png), "{c}");
    }
    let survival = svg_texts(&fs::read_to_string(d.join("survival.svg")).unwrap());
    for id in [
        "north-a",
        "north-b",
        "south-a",
        "bi-north",
        "national-comms",
    ] {
        assert!(survival.iter().any(|t| t == id), "survival.svg lacks {id}");
    }
}

#[test]
fn report_gains_sweep_and_backtest_sections_when_present_and_stays_self_contained() {
    let dir = tempfile::tempdir().unwrap();
    csmarket()
        .args([
            "sweep",
            fixture(),
            "--config",
            "national",
            "--param",
            "services.comms.locality=0:1:3",
            "-n",
            "20",
            "--out",
        ])
        .arg(dir.path())
        .assert()
        .success();
    csmarket()
        .args(["backtest", fixture(), "-n", "20", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let report = fs::read_to_string(compare_into(dir.path(), &[]).join("report.html")).unwrap();
    assert!(report.contains("id=\"sweep\""), "sweep section missing");
    assert!(
        report.contains("id=\"backtest\""),
        "back-test section missing"
    );
    assert!(report.contains("Parameter sweep"));
    assert!(!report.contains("src="), "charts must be inlined");
    assert!(
        !report.contains("not found"),
        "every chart of the sections is inlined"
    );
    // The report draws the sweep's charts again in memory from sweep.json; they are the charts
    // the sweep wrote (the body after the opening <svg ...> tag, which the report rewrites).
    let svg = fs::read_to_string(dir.path().join("sweep/survival.svg")).unwrap();
    let body = &svg[svg.find("<svg").unwrap()..];
    let body = &body[body.find('>').unwrap() + 1..];
    assert!(
        report.contains(body),
        "the inlined survival chart differs from sweep/survival.svg"
    );
}

/// The value at 0-based rank `floor(q * (n - 1))` of the sorted values: the rule every quantile
/// of the results follows.
fn rank_quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[(q * (sorted.len() - 1) as f64).floor() as usize]
}

#[test]
fn quantiles_in_summary_json_are_exact_values_of_replications_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let out = compare_into(tmp.path(), &[]);
    for config in ["local", "national"] {
        let dir = out.join(config);
        let rows = csv_rows(&dir.join("replications.csv"));
        let text = fs::read_to_string(dir.join("summary.json")).unwrap();
        let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
        let headline = &text[text.find("\"headline\"").unwrap()..];
        for figure in ["cost_per_head", "in_house_share", "unmet_share"] {
            let values: Vec<f64> = rows.iter().map(|r| r[figure].parse().unwrap()).collect();
            let at = &headline[headline.find(&format!("\"{figure}\"")).unwrap()..];
            for (key, q) in [("p05", 0.05), ("p50", 0.5), ("p95", 0.95)] {
                // The number as written, parsed by Rust (serde_json's default float parsing may
                // miss the last bit).
                let from = at.find(&format!("\"{key}\":")).unwrap() + key.len() + 3;
                let end = at[from..].find([',', '}']).unwrap() + from;
                let written: f64 = at[from..end].trim().parse().unwrap();
                // Bit for bit: the quantile is one of the values, not a bucket's representative.
                assert_eq!(
                    written.to_bits(),
                    rank_quantile(&values, q).to_bits(),
                    "{config} {figure} {key}"
                );
            }
            assert!(summary["headline"][figure].get("approximate").is_none());
        }
    }
}

#[test]
fn report_and_terminal_open_with_the_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    let assert = csmarket()
        .args(["compare", fixture(), "-n", "20", "--seed", "3", "--out"])
        .arg(tmp.path())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(
        stdout.contains("Verdict: is each configuration viable?"),
        "{stdout}"
    );
    for config in ["local", "national"] {
        assert!(
            stdout.lines().any(|l| l.starts_with(config)),
            "no verdict row for {config}: {stdout}"
        );
    }
    // One plain sentence per configuration, viable or not, with the headline statistic.
    assert!(stdout.contains("- national is "), "{stdout}");
    let md = fs::read_to_string(tmp.path().join("compare/report.md")).unwrap();
    let verdict = md.find("## Verdict").unwrap();
    assert!(verdict < md.find("## Findings that matter").unwrap());
    assert!(md[verdict..].contains("| configuration | viable |"), "{md}");
}

#[test]
fn the_terminals_paired_differences_show_each_interval_that_is_not_a_point() {
    let tmp = tempfile::tempdir().unwrap();
    let assert = csmarket()
        .args(["compare", fixture(), "-n", "3000", "--seed", "5", "--out"])
        .arg(tmp.path())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    let table = &stdout[stdout.find("paired differences against").expect(&stdout)..];
    let csv = fs::read_to_string(tmp.path().join("compare/comparison.csv")).unwrap();
    let mut checked = 0;
    for row in csv.lines().skip(1) {
        let f: Vec<&str> = row.split(',').collect();
        let (config, figure, provider) = (f[1], f[2], f[3]);
        if !provider.is_empty() || figure != "cost_per_head" {
            continue;
        }
        let (lo, hi): (f64, f64) = (f[9].parse().unwrap(), f[10].parse().unwrap());
        // The configuration's heading, then its measures indented beneath.
        let line = table
            .lines()
            .skip_while(|l| *l != config)
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .find(|l| l.contains("cost per head"))
            .unwrap_or_else(|| panic!("no cost line for {config}: {table}"));
        // Money is shown as money, and an interval with width shows two different ends.
        assert!(line.contains('£'), "{line}");
        let ends = &line[line.rfind('(').unwrap() + 1..line.len() - 1];
        let (a, b) = ends.split_once(" to ").expect(line);
        if lo != hi {
            assert_ne!(a, b, "{line}");
        }
        checked += 1;
    }
    assert!(checked > 0, "{csv}");
    // The table fits an 80-column terminal.
    for l in table.lines() {
        assert!(
            l.chars().count() <= 80,
            "{} columns: {l}",
            l.chars().count()
        );
    }
}
