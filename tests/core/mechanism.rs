//! The mechanism the tool exists for: a national communications service is stopped for lack of
//! customer support when CCGs value closeness for communications, and survives when they do not.

use csmarket::cli::{DEFAULT_SCENARIO, DEFAULT_SCENARIO_NAME};
use csmarket::experiment;
use csmarket::model::Market;
use csmarket::scenario::{Edit, Scenario};

fn national_service(locality: Option<f64>) -> csmarket::experiment::ProviderSummary {
    let s = Scenario::from_text(DEFAULT_SCENARIO_NAME, DEFAULT_SCENARIO).unwrap();
    let edits: Vec<Edit> = locality
        .map(|v| Edit { path: "services.communications.locality".into(), value: toml::Value::Float(v) })
        .into_iter()
        .collect();
    let resolved = s.resolve_with("national-comms", &edits).unwrap();
    let m = Market::compile(&resolved, "national-comms").unwrap();
    let summary = experiment::summarise(&m, 0..200, 0).unwrap();
    summary.provider("national-comms").unwrap().clone()
}

#[test]
fn national_comms_is_stopped_for_lack_of_customers_when_ccgs_value_closeness() {
    let p = national_service(None);
    let stopped = p.stopped.estimate().unwrap();
    assert!(stopped > 0.5, "stopped in {stopped:.2} of runs");
    // Stopped at a checkpoint, by ratings: mostly C at the first one.
    let c_at_first = p.ratings[0][3] as f64 / p.survived.trials() as f64;
    assert!(c_at_first > 0.5, "rated C at the first checkpoint in {c_at_first:.2} of runs");
}

#[test]
fn national_comms_survives_when_communications_locality_is_near_zero() {
    let p = national_service(Some(0.02));
    let survived = p.survived.estimate().unwrap();
    assert!(survived > 0.5, "survived in {survived:.2} of runs");
}
