use std::process::ExitCode;

use clap::Parser;
use hangar::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match hangar::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("hangar: error: {err:#}");
            ExitCode::from(err.exit_code())
        }
    }
}
