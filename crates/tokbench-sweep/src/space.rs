//! Sweep spaces: parameters with value lists, constraints (`follow`,
//! `skip`) and named configurations ([`Space`]), and the configurations
//! they describe ([`Space::configs`], [`Config`]).
//!
//! Built from `--set` arguments ([`Space::from_sets`]) or from a YAML file
//! ([`Space::from_yaml`]):
//!
//! ```yaml
//! params:
//!   threads: [1, 2]          # or a string list "1-4+1"
//!   cache-type-k: [f16, q8_0]
//! follow:                    # cache-type-v takes cache-type-k's value in every configuration
//!   cache-type-v: cache-type-k
//! skip:                      # a configuration matching every pair of an entry is left out
//!   - {threads: "1", cache-type-k: q8_0}
//! configs:                   # named configurations, after the grid (or instead, with no params)
//!   - {name: fast, set: {threads: "2", flash-attn: "on"}}
//! ```

mod yaml;

use crate::error::{SweepError, MAX_CONFIGS};
use crate::values::check_name;

/// A swept parameter and its values, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The parameter's name, e.g. `threads` (mapped to flags by a recipe).
    pub name: String,
    /// Its values, as text, in the order given.
    pub values: Vec<String>,
}

/// A rule applied to every grid configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    /// `follower` takes `leader`'s value (e.g. `cache-type-v` follows
    /// `cache-type-k`); the follower is not a swept parameter itself.
    Follow {
        /// The parameter that is set.
        follower: String,
        /// The swept parameter whose value it takes.
        leader: String,
    },
    /// A configuration having every one of these `(name, value)` pairs is
    /// left out.
    Skip {
        /// The pairs, all of which must match.
        when: Vec<(String, String)>,
    },
}

/// A configuration given by name, added after the grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedConfig {
    /// Its name: the configuration's label.
    pub name: String,
    /// Its `(parameter, value)` pairs, in the order given.
    pub values: Vec<(String, String)>,
}

/// A sweep space: the grid of `params`, `constraints` on it, then `named`
/// configurations.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Space {
    /// Swept parameters; the first varies slowest.
    pub params: Vec<Param>,
    /// `follow` rules and `skip` entries.
    pub constraints: Vec<Constraint>,
    /// Named configurations, after the grid.
    pub named: Vec<NamedConfig>,
}

/// One configuration to launch and measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `threads=1, flash-attn=on` (swept parameters only, not followers),
    /// or a named configuration's name.
    pub label: String,
    /// `(parameter, value)` pairs: parameters in order, then followers.
    pub values: Vec<(String, String)>,
}

impl Config {
    /// The value of `name` in this configuration.
    pub fn get(&self, name: &str) -> Option<&str> {
        (self.values.iter())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Space {
    /// A space from `--set NAME=LIST` arguments (see
    /// [`crate::parse_set`]), in the order given.
    ///
    /// # Errors
    /// [`SweepError::BadSet`] for a bad name,
    /// [`SweepError::DuplicateParam`], [`SweepError::EmptySpace`] for no
    /// sets or an empty list, [`SweepError::TooManyConfigs`].
    pub fn from_sets(sets: &[(String, Vec<String>)]) -> Result<Self, SweepError> {
        let mut params: Vec<Param> = Vec::new();
        for (name, values) in sets {
            check_name(name).map_err(|reason| SweepError::BadSet {
                arg: format!("{name}={}", values.join(",")),
                reason,
            })?;
            if params.iter().any(|p| &p.name == name) {
                return Err(SweepError::DuplicateParam { name: name.clone() });
            }
            params.push(Param {
                name: name.clone(),
                values: values.clone(),
            });
        }
        let space = Self {
            params,
            ..Self::default()
        };
        space.validate()?;
        Ok(space)
    }

    /// Reads a sweep-space YAML file (`--space sweep.yaml`).
    ///
    /// # Errors
    /// [`SweepError::File`] (line 0) when the file cannot be read; then
    /// those of [`Space::from_yaml`].
    pub fn read_yaml(path: &std::path::Path) -> Result<Self, SweepError> {
        let text = std::fs::read_to_string(path).map_err(|e| SweepError::File {
            path: path.to_owned(),
            line: 0,
            message: format!("cannot read the sweep space: {e}"),
        })?;
        Self::from_yaml(&text, path)
    }

    /// A space from a sweep-space YAML file's text; `path` names the file
    /// in errors. A parameter's YAML list is read as one comma list (so a
    /// list item may be a range, `[1, 8-32*2]`); numbers keep their text
    /// (`[0.60]` stays `0.60`).
    ///
    /// # Errors
    /// [`SweepError::File`] naming the file and line: broken YAML, an
    /// unknown key, a bad value list, a `follow` or `skip` naming an
    /// unknown parameter; then those of [`Space::validate`].
    pub fn from_yaml(text: &str, path: &std::path::Path) -> Result<Self, SweepError> {
        let space = yaml::parse(text, path)?;
        space.validate()?;
        Ok(space)
    }

    /// How many configurations the grid has before `skip` (product of
    /// the value counts; 0 without parameters).
    pub fn grid_size(&self) -> u128 {
        if self.params.is_empty() {
            return 0;
        }
        (self.params.iter()).fold(1u128, |n, p| n.saturating_mul(p.values.len() as u128))
    }

    /// Checks that the space has at least one and at most
    /// [`MAX_CONFIGS`] configurations and that every `follow` leader is a
    /// swept parameter.
    ///
    /// # Errors
    /// [`SweepError::TooManyConfigs`], [`SweepError::BadConstraint`],
    /// [`SweepError::EmptySpace`].
    pub fn validate(&self) -> Result<(), SweepError> {
        let count = self.grid_size() + self.named.len() as u128;
        if count > MAX_CONFIGS as u128 {
            return Err(SweepError::TooManyConfigs { count });
        }
        for c in &self.constraints {
            if let Constraint::Follow { follower, leader } = c {
                if !self.params.iter().any(|p| &p.name == leader) {
                    return Err(SweepError::BadConstraint {
                        message: format!("{follower} follows {leader}, which is not swept"),
                    });
                }
            }
        }
        if !self.configs().is_empty() {
            return Ok(());
        }
        let reason = if self.params.is_empty() && self.named.is_empty() {
            "no parameters and no named configurations"
        } else if self.params.iter().any(|p| p.values.is_empty()) {
            "a parameter has no values"
        } else {
            "every combination is skipped"
        };
        Err(SweepError::EmptySpace {
            reason: reason.to_owned(),
        })
    }

    /// Every configuration: the grid in parameter order (first parameter
    /// slowest) with `follow` applied and `skip` entries left out, then
    /// the named configurations. The first is the default reference.
    pub fn configs(&self) -> Vec<Config> {
        let mut out = Vec::new();
        let counts: Vec<usize> = self.params.iter().map(|p| p.values.len()).collect();
        if !counts.is_empty() && !counts.contains(&0) {
            let mut idx = vec![0usize; counts.len()];
            loop {
                let values: Vec<(String, String)> = (self.params.iter().zip(&idx))
                    .map(|(p, i)| (p.name.clone(), p.values[*i].clone()))
                    .collect();
                let label = label_of(&values);
                let values = self.followed(values);
                if !self.skipped(&values) {
                    out.push(Config { label, values });
                }
                if !advance(&mut idx, &counts) {
                    break;
                }
            }
        }
        out.extend(self.named.iter().map(|n| Config {
            label: n.name.clone(),
            values: self.followed(n.values.clone()),
        }));
        out
    }

    /// `values` with every follower whose leader is set (and that is not
    /// set itself) appended.
    fn followed(&self, mut values: Vec<(String, String)>) -> Vec<(String, String)> {
        for c in &self.constraints {
            let Constraint::Follow { follower, leader } = c else {
                continue;
            };
            if values.iter().any(|(n, _)| n == follower) {
                continue;
            }
            let led = values.iter().find(|(n, _)| n == leader).map(|(_, v)| v);
            if let Some(v) = led.cloned() {
                values.push((follower.clone(), v));
            }
        }
        values
    }

    /// Whether a `skip` entry matches `values`.
    fn skipped(&self, values: &[(String, String)]) -> bool {
        self.constraints.iter().any(|c| match c {
            Constraint::Skip { when } => when.iter().all(|pair| values.contains(pair)),
            Constraint::Follow { .. } => false,
        })
    }
}

/// `name=value, name=value`.
fn label_of(values: &[(String, String)]) -> String {
    (values.iter())
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Steps an odometer (last digit fastest); `false` once it wraps around.
fn advance(idx: &mut [usize], counts: &[usize]) -> bool {
    for k in (0..idx.len()).rev() {
        idx[k] += 1;
        if idx[k] < counts[k] {
            return true;
        }
        idx[k] = 0;
    }
    false
}

#[cfg(test)]
mod tests;
