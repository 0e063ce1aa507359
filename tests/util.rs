//! What every integration test shares: the binary under test and the small fixture market.

use assert_cmd::Command;

/// The `csmarket` binary built for these tests.
pub fn csmarket() -> Command {
    Command::cargo_bin("csmarket").unwrap()
}

/// Path of the small test market (`tests/fixtures/small.toml`).
pub fn fixture() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/small.toml")
}
