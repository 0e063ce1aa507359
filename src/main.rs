//! The `csmarket` binary: parses the command line and hands it to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    csmarket::cli::main_with(csmarket::cli::Cli::parse(), argv)
}
