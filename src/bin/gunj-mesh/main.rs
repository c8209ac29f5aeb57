//! The binary: parse the flags, run the command, exit with its status (0 done, 1 `check`
//! found something or a KRM function reported an error, 2 failure).
#![deny(unsafe_code)]

mod app;
mod cli;
mod output_file;
mod sys;

use clap::Parser;
use cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => app::filter(&cli.filter, cli.output_file.as_deref()),
        Some(Command::Explain {
            filter,
            output,
            wide,
        }) => app::explain(&filter, output, wide),
        Some(Command::Check { filter, gate }) => app::check(&filter, &gate),
        Some(Command::Flows {
            filter,
            output,
            wide,
            as_is,
        }) => app::flows(&filter, output, wide, as_is),
        Some(Command::Kustomize { filter, resources }) => {
            app::kustomize(&filter, resources.as_deref())
        }
        Some(Command::Schema) => app::print(&format!("{:#}\n", gunj_mesh::schema())),
        Some(Command::Init) => app::print(app::EXAMPLE_CONFIG),
        Some(Command::Completions { shell }) => app::completions(shell),
        Some(Command::Man) => app::man(),
    }
}
