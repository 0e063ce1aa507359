//! The mechanism the tool exists for: a national communications service is stopped for lack of
//! customer support when CCGs value closeness for communications, and survives when they do not.

use csmarket::cli::{DEFAULT_SCENARIO, DEFAULT_SCENARIO_NAME};
use csmarket::experiment;
use csmarket::model::Market;
use csmarket::scenario::{Edit, Scenario};

fn national_comms_summary(locality: Option<f64>) -> csmarket::experiment::Summary {
    let s = Scenario::from_text(DEFAULT_SCENARIO_NAME, DEFAULT_SCENARIO).unwrap();
    let edits: Vec<Edit> = locality
        .map(|v| Edit {
            path: "services.communications.locality".into(),
            value: toml::Value::Float(v),
        })
        .into_iter()
        .collect();
    let resolved = s.resolve_with("national-comms", &edits).unwrap();
    let m = Market::compile(&resolved, "national-comms").unwrap();
    experiment::summarise(&m, 0..200, 0).unwrap()
}

fn national_service(locality: Option<f64>) -> csmarket::experiment::ProviderSummary {
    national_comms_summary(locality)
        .provider("national-comms")
        .unwrap()
        .clone()
}

#[test]
fn national_comms_is_stopped_for_lack_of_customers_when_ccgs_value_closeness() {
    let p = national_service(None);
    let stopped = p.stopped.estimate().unwrap();
    assert!(stopped > 0.5, "stopped in {stopped:.2} of runs");
    // Stopped at a checkpoint, by ratings: mostly C at the first one.
    let c_at_first = p.ratings[0][3] as f64 / p.survived.trials() as f64;
    assert!(
        c_at_first > 0.5,
        "rated C at the first checkpoint in {c_at_first:.2} of runs"
    );
}

#[test]
fn national_comms_survives_when_communications_locality_is_near_zero() {
    let p = national_service(Some(0.02));
    let survived = p.survived.estimate().unwrap();
    assert!(survived > 0.5, "survived in {survived:.2} of runs");
}

#[test]
fn national_comms_is_stopped_because_its_customer_domain_fails() {
    let s = national_comms_summary(None);
    // The checkpoint that stops it most often.
    let (k, c) = (0..s.checkpoints.len())
        .filter_map(|k| s.diagnostics.get("national-comms", k).map(|c| (k, c)))
        .max_by_key(|(_, c)| c.ratings[2])
        .unwrap();
    let stopped = c.ratings[2] as f64 / s.replications as f64;
    assert!(stopped > 0.5, "stopped at checkpoint {k} in {stopped:.2}");
    // The reason is the customer domain: it fails in (nearly) every run rated there, with a
    // customer share far below the threshold, and it is part of the most common failure.
    let (customer_failed, _) = c.domain_shares(0).unwrap();
    assert!(
        customer_failed > 0.9,
        "customer domain failed in {customer_failed:.2}"
    );
    let customer = &c.domains[0];
    assert!(customer.value.quantile(0.95).unwrap() < customer.threshold);
    let (names, share) = c.most_common_failure().unwrap();
    assert!(
        names.contains(&"customer") && share > 0.5,
        "{names:?} {share}"
    );
    // And the report says so in words.
    let labels = csmarket::charts::Labels::from_markets(&[]);
    let why = csmarket::report::why::why_findings(&s, &labels);
    let first = &why.first().unwrap().1;
    assert!(
        first.contains("NHS Communications and Engagement Service is stopped at")
            && first.contains("too few customers"),
        "{first}"
    );
}

/// A configuration of the built-in scenario on the calibrated model: each replication draws its
/// parameter values from the shipped posterior, as the default job runs it.
fn calibrated_summary(configuration: &str) -> csmarket::experiment::Summary {
    use csmarket::cli::{DEFAULT_POSTERIOR, DEFAULT_POSTERIOR_NAME};
    use csmarket::explore::calibrate::posterior::Posterior;
    let s = Scenario::from_text(DEFAULT_SCENARIO_NAME, DEFAULT_SCENARIO).unwrap();
    let posterior = std::sync::Arc::new(
        Posterior::from_text(DEFAULT_POSTERIOR_NAME, DEFAULT_POSTERIOR, &s).unwrap(),
    );
    let mut m = Market::compile(&s.resolve(configuration).unwrap(), configuration).unwrap();
    let build = |row: &[Edit]| -> Result<Market, String> {
        let row = Posterior::under_configuration(row, &s, configuration);
        let resolved = s
            .resolve_with(configuration, &row)
            .map_err(|e| e.to_string())?;
        Market::compile(&resolved, configuration).map_err(|e| e.to_string())
    };
    posterior.attach(&mut m, &build).unwrap();
    experiment::summarise(&m, 0..200, 0).unwrap()
}

#[test]
fn on_the_calibrated_model_national_comms_is_stopped_for_lack_of_customers() {
    let s = calibrated_summary("national-comms");
    let p = s.provider("national-comms").unwrap();
    let stopped = p.stopped.estimate().unwrap();
    assert!(stopped > 0.5, "stopped in {stopped:.2} of runs");
    let c = s.diagnostics.get("national-comms", 0).unwrap();
    let (customer_failed, _) = c.domain_shares(0).unwrap();
    assert!(
        customer_failed > 0.9,
        "customer domain failed in {customer_failed:.2} at the first checkpoint"
    );
}

#[test]
fn on_the_calibrated_model_national_comms_survives_when_communications_locality_is_near_zero() {
    // `national-low-locality` sets communications' locality to 0.02; the posterior's own value
    // of that parameter gives way to the configuration's.
    let s = calibrated_summary("national-low-locality");
    let p = s.provider("national-comms").unwrap();
    let survived = p.survived.estimate().unwrap();
    assert!(survived > 0.5, "survived in {survived:.2} of runs");
}
