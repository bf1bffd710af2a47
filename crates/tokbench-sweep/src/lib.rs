//! Plans parameter sweeps for `tokbench sweep`: which server
//! configurations to launch and the flags of each. Pure planning: nothing
//! here launches, measures or ranks.
//!
//! | item | what it does |
//! |---|---|
//! | [`parse_values`] | `1,2,4`, `on,off`, `1-8+1`, `0.5-0.7+0.1`, `16-512*2` → values |
//! | [`parse_set`] | `--set NAME=LIST` → `(name, values)` |
//! | [`Space`] | parameters, constraints, named configurations; [`Space::from_sets`], [`Space::from_yaml`], [`Space::read_yaml`] |
//! | [`Space::configs`] | the [`Config`]s: grid (first parameter slowest), `follow`, `skip`, then named ones |
//! | [`Param`], [`Constraint`], [`NamedConfig`] | the parts of a [`Space`] |
//! | [`Recipe`] | llama.cpp, vLLM or a command-template engine |
//! | [`flag_args`], [`config_args`], [`check_configs`] | a parameter / a configuration → the server's flags |
//! | [`dry_run_text`] | `--dry-run` output: each configuration and its command line |
//! | [`SweepError`] | every failure, naming the bad item or file and line |
//!
//! ```
//! use tokbench_sweep::{config_args, parse_set, Recipe, Space};
//!
//! let sets = [parse_set("threads=1-2")?, parse_set("flash-attn=on,off")?];
//! let configs = Space::from_sets(&sets)?.configs();
//! assert_eq!(configs[1].label, "threads=1, flash-attn=off");
//! assert_eq!(
//!     config_args(&Recipe::LlamaCpp, &configs[1])?,
//!     ["--threads", "1", "--flash-attn", "off"]
//! );
//! # Ok::<(), tokbench_sweep::SweepError>(())
//! ```

mod dry_run;
mod error;
mod recipe;
mod space;
mod values;

pub use dry_run::dry_run_text;
pub use error::{SweepError, MAX_CONFIGS, MAX_VALUES};
pub use recipe::{check_configs, config_args, flag_args, Recipe};
pub use space::{Config, Constraint, NamedConfig, Param, Space};
pub use values::{parse_set, parse_values};
