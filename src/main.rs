//! `tidings`: a thin entry point; everything lives in the library.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = tidings::cli::Cli::parse();
    match tidings::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let usage = e.downcast_ref::<tidings::cli::UsageError>().is_some();
            if e.downcast_ref::<tidings::cli::PartlyFailed>().is_some() {
                // Each failed part was printed with what to check.
                ExitCode::from(3)
            } else if usage {
                eprintln!("error: {e}");
                ExitCode::from(2)
            } else {
                eprintln!("error: {e:#}");
                ExitCode::from(1)
            }
        }
    }
}
