//! The reasoning switch of a run (`--reasoning on|off|auto`,
//! docs/methodology.md#reasoning): which switch a target's model gets, and
//! the record's `run.reasoning` section with whether the model obeyed.

use tokbench_client::{reasoning_switch, Endpoint, ReasoningMode, ReasoningSwitch};
use tokbench_record::{Cell, ReasoningSection};

use crate::target::Target;

/// The switch for `mode` on `target`'s model (family, architecture, model
/// id) through `endpoint`, or `None` for [`ReasoningMode::Auto`]. The
/// completions endpoint applies no chat template, so nothing is sent there
/// (the description says so).
pub fn switch_for(
    mode: ReasoningMode,
    endpoint: Endpoint,
    target: &Target,
) -> Option<ReasoningSwitch> {
    let arch = target.model.architecture.as_deref().unwrap_or_default();
    let switch = reasoning_switch(mode, &[&target.model.family, arch, &target.model_id])?;
    Some(match endpoint {
        Endpoint::Chat => switch,
        Endpoint::Completions => ReasoningSwitch {
            description: "nothing sent: /v1/completions applies no chat template".into(),
            ..ReasoningSwitch::default()
        },
    })
}

/// The `run.reasoning` section after measuring `cells`, and the run note
/// to add when the model did not obey.
///
/// `obeyed`: `off` → no reasoning token in any successful measured
/// request; `on` → some; `null` for `auto` or when no request succeeded.
pub fn section(
    mode: ReasoningMode,
    switch: Option<&ReasoningSwitch>,
    cells: &[Cell],
) -> (ReasoningSection, Option<String>) {
    let metrics = cells.iter().filter_map(|c| c.metrics.as_ref());
    let ok: u64 = metrics.clone().map(|m| m.ok).sum();
    let reasoning_tokens: u64 = metrics.map(|m| m.total_reasoning_tokens).sum();
    let obeyed = match mode {
        _ if ok == 0 => None,
        ReasoningMode::Auto => None,
        ReasoningMode::Off => Some(reasoning_tokens == 0),
        ReasoningMode::On => Some(reasoning_tokens > 0),
    };
    let described = switch.map(|s| s.description.clone());
    let note = (obeyed == Some(false)).then(|| {
        let asked = described.as_deref().unwrap_or("nothing");
        match mode {
            ReasoningMode::Off => format!(
                "--reasoning off was not obeyed: {reasoning_tokens} reasoning tokens streamed \
                 despite {asked}; gen tok/s includes thinking"
            ),
            _ => format!("--reasoning on was not obeyed: no reasoning token despite {asked}"),
        }
    });
    let section = ReasoningSection {
        mode: mode.as_str().to_owned(),
        switch: described,
        obeyed,
        reasoning_tokens,
    };
    (section, note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokbench_record::fixture::{example_record, ExampleSpec};

    fn cells(reasoning: u64) -> Vec<Cell> {
        let mut cells = example_record(&ExampleSpec::default()).cells;
        for m in cells.iter_mut().filter_map(|c| c.metrics.as_mut()) {
            m.total_reasoning_tokens = reasoning;
        }
        cells
    }

    #[test]
    fn obeyed_follows_the_mode_and_the_tokens() {
        let sw = ReasoningSwitch {
            description: "chat_template_kwargs: {\"enable_thinking\": false}".into(),
            ..ReasoningSwitch::default()
        };
        let (s, note) = section(ReasoningMode::Off, Some(&sw), &cells(0));
        assert_eq!((s.obeyed, note), (Some(true), None));
        assert_eq!(s.mode, "off");
        let (s, note) = section(ReasoningMode::Off, Some(&sw), &cells(3));
        assert_eq!(s.obeyed, Some(false));
        assert!(note.unwrap().contains("enable_thinking"));
        assert!(s.reasoning_tokens >= 3);
        let (s, _) = section(ReasoningMode::Auto, None, &cells(3));
        assert_eq!((s.obeyed, s.switch), (None, None));
        let (s, note) = section(ReasoningMode::On, Some(&sw), &cells(0));
        assert_eq!(s.obeyed, Some(false));
        assert!(note.is_some());
        let (s, _) = section(ReasoningMode::Off, Some(&sw), &[]);
        assert_eq!(s.obeyed, None, "nothing measured: unknown");
    }
}
