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

/// Waits until `path` exists while `child` is still running; fails if the child ends first or
/// nothing appears within 300 s. `what` says what was awaited, for the failure message.
pub fn wait_for_file(child: &mut std::process::Child, path: &std::path::Path, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while !path.exists() {
        assert!(std::time::Instant::now() < deadline, "no {what} appeared");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the process ended before its {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Sends a signal (`TERM`, `INT`, ...) to a child process.
pub fn signal(child: &std::process::Child, name: &str) {
    let sent = std::process::Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// The csmarket temporary files (`.partial-`) left anywhere under `dir`.
pub fn temporaries(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if e.file_name().to_string_lossy().contains(".partial-") {
                found.push(p.display().to_string());
            }
        }
    }
    found
}
