//! The one integration-test binary: each module is an area of the tool, `util` what they share.

mod calibrate;
mod compare_cmd;
mod core;
mod explore;
mod golden;
mod hostile;
mod io_safety;
mod layers;
mod mutants;
mod outputs;
mod rules;
mod scale;
mod scenario_files;
mod shards;
mod util;
