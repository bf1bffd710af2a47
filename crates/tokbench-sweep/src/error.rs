//! [`SweepError`]: every way planning a sweep can fail, each message naming
//! the bad item, parameter or file and line.

use std::path::PathBuf;

/// The most values one list or range may expand to.
pub const MAX_VALUES: usize = 1000;

/// The most configurations a space may describe.
pub const MAX_CONFIGS: usize = 10_000;

/// Why a value list, a sweep space or a configuration's flags are unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SweepError {
    /// An empty item in a comma list (`1,,2`, a trailing comma, or nothing).
    #[error(
        "{list:?}: an empty item (two commas in a row, a comma at an end, or no value at all)"
    )]
    EmptyItem {
        /// The whole list as given.
        list: String,
    },
    /// A range item (`A-B+S`, `A-B*F`) that cannot be expanded.
    #[error("{item:?}: {reason}")]
    BadRange {
        /// The item as given, e.g. `"8-1+1"`.
        item: String,
        /// What is wrong, e.g. `the range ends before it starts`.
        reason: String,
    },
    /// A list or range with more than [`MAX_VALUES`] values.
    #[error("{item:?}: more than {MAX_VALUES} values; use a coarser step")]
    TooManyValues {
        /// The item (or the whole list) as given.
        item: String,
    },
    /// A value that occurs twice in one list.
    #[error("{item:?}: the value {value:?} is already in the list")]
    Duplicate {
        /// The item that repeats it.
        item: String,
        /// The repeated value.
        value: String,
    },
    /// A `--set` argument that is not `NAME=LIST` with a valid name.
    #[error("--set {arg:?}: {reason}")]
    BadSet {
        /// The argument as given.
        arg: String,
        /// What is wrong.
        reason: String,
    },
    /// A parameter given twice (two `--set`s with one name).
    #[error("the parameter {name} is given twice; give all its values in one list")]
    DuplicateParam {
        /// The parameter.
        name: String,
    },
    /// A sweep-space file problem, at a line.
    #[error("{}{}: {message}", path.display(), at_line(*line))]
    File {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when none applies).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A space that yields no configuration at all.
    #[error("the sweep space has no configuration: {reason}")]
    EmptySpace {
        /// Why (no parameters, or every combination skipped).
        reason: String,
    },
    /// A constraint that names a parameter the space does not sweep.
    #[error("{message}")]
    BadConstraint {
        /// What is wrong, naming the parameters.
        message: String,
    },
    /// A space with more than [`MAX_CONFIGS`] configurations.
    #[error(
        "the sweep space has {count} configurations, more than {MAX_CONFIGS}; sweep fewer values"
    )]
    TooManyConfigs {
        /// How many the grid would have.
        count: u128,
    },
    /// A parameter the backend's recipe does not know.
    #[error("{recipe} has no sweep parameter {name:?}; known: {}", known.join(", "))]
    UnknownParam {
        /// The parameter as given.
        name: String,
        /// The recipe's display name, e.g. `llama.cpp`.
        recipe: String,
        /// The names the recipe knows.
        known: Vec<String>,
    },
    /// A parameter the recipe knows but that tokbench sets itself.
    #[error("{name} cannot be swept with {recipe}: {reason}")]
    Refused {
        /// The parameter.
        name: String,
        /// The recipe's display name.
        recipe: String,
        /// Why, and what to use instead.
        reason: String,
    },
    /// A value a parameter does not take (e.g. `flash-attn=maybe`).
    #[error("{name}={value:?}: {recipe} takes one of {}", allowed.join(", "))]
    BadValue {
        /// The parameter.
        name: String,
        /// The value as given.
        value: String,
        /// The recipe's display name.
        recipe: String,
        /// The values it takes.
        allowed: Vec<String>,
    },
}

/// `:LINE`, or nothing for line 0 (no line applies).
fn at_line(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}")
    }
}
