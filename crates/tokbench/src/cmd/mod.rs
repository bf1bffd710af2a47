//! One module per subcommand.

pub mod compare;
pub mod crossval;
pub mod emulate;
pub mod gate;
pub mod history;
pub mod inspect;
pub mod perflog;
pub mod probe;
pub mod run;
pub mod selftest;
pub mod site;
pub mod sweep;
pub mod validate;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Runs the chosen subcommand and maps its result to an exit code.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run::run(*args),
        Command::Emulate(args) => emulate::run(args),
        Command::Selftest(args) => selftest::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Probe(args) => probe::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Site(args) => site::run(args),
        Command::Perflog(args) => perflog::run(args),
        Command::Compare(args) => compare::run(*args),
        Command::Crossval(args) => crossval::run(*args),
        Command::Gate(args) => gate::run(*args),
        Command::History(args) => history::run(args),
        Command::Sweep(args) => sweep::run(*args),
    }
}
