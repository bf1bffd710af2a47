//! Unit tests: round trip, edits, deletions, reordering, refusals.

use std::path::{Path, PathBuf};

use crate::append::utc_date;
use crate::{append, verify, verify_file, Block, PerflogError, Row};

fn row(metric: &str, value: &str, gate: Option<&str>) -> Row {
    Row {
        metric: metric.into(),
        value: value.into(),
        gate: gate.map(Into::into),
    }
}

fn block(title: &str, speedup: &str) -> Block {
    Block {
        title: title.into(),
        date: "2026-05-24".into(),
        hardware: "RTX 5070 12 GB, INT4".into(),
        model: "Qwen3-8B Q4_K_M".into(),
        backend: "llama.cpp b5000".into(),
        command: "tokbench gate --baseline a.yaml b.yaml".into(),
        rows: vec![
            row("Decode tok/s c=1 (baseline)", "32.9", None),
            row("Decode speedup c=1", speedup, Some("≥1.10× ✓")),
            row("ITL p99 (candidate)", "192.3 ms", Some("p99/p50 ≤ 3×")),
            row("GPU mem peak", "5.64 GB", Some("≤ 11.8 GB ✓")),
        ],
        note: Some("fewer steps than baseline = anchor propagation working".into()),
    }
}

/// A temporary folder and the log path in it.
fn log_path() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("PERF_LOG.md");
    (dir, path)
}

/// Three blocks appended to a new log; returns its text.
fn three_blocks(path: &Path) -> String {
    let a = append(path, &block("First gate", "1.77×")).unwrap();
    let b = append(path, &block("Second gate", "1.33×")).unwrap();
    let c = append(path, &block("Third gate", "1.21×")).unwrap();
    assert_eq!((a.block, b.block, c.block), (1, 2, 3));
    let text = std::fs::read_to_string(path).unwrap();
    for app in [&a, &b, &c] {
        let line = text.lines().nth(app.line - 1).unwrap();
        assert!(line.starts_with("## "), "line {}: {line}", app.line);
    }
    text
}

/// The 1-based line of the first line starting with `prefix`, after `skip`
/// such lines.
fn line_of(text: &str, prefix: &str, skip: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with(prefix))
        .nth(skip)
        .unwrap()
        .0
        + 1
}

/// The text of every block (from its leading blank line through its trailer).
fn split_blocks(text: &str) -> (String, Vec<String>) {
    let mut parts: Vec<String> = text.split_inclusive("-->\n").map(str::to_owned).collect();
    let first = parts.remove(0);
    let (header, b1) = first.split_at(first.find("\n## ").unwrap());
    parts.insert(0, b1.to_owned());
    (header.to_owned(), parts)
}

#[test]
fn round_trip_three_blocks() {
    let (_dir, path) = log_path();
    let text = three_blocks(&path);
    let report = verify_file(&path).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.blocks, 3);
    assert!(text.starts_with("# Performance log\n"));
    assert!(text.contains("## First gate — 2026-05-24\n"));
    assert!(text.contains(
        "Hardware: RTX 5070 12 GB, INT4 · Model: Qwen3-8B Q4_K_M · Backend: llama.cpp b5000\n"
    ));
    assert!(text.contains("Command: `tokbench gate --baseline a.yaml b.yaml`\n"));
    assert!(text.contains("| Metric | Value | Gate |\n|---|---|---|\n"));
    assert!(text.contains("| Decode speedup c=1 | 1.77× | ≥1.10× ✓ |\n"));
    assert!(text.contains("| Decode tok/s c=1 (baseline) | 32.9 |  |\n"));
    assert!(text.contains("| GPU mem peak | 5.64 GB | ≤ 11.8 GB ✓ |\n"));
    assert!(text.contains("Note: fewer steps than baseline"));
    assert!(text.contains("<!-- tokbench-perflog v1 prev=genesis hash="));
    assert_eq!(text.matches("<!-- tokbench-perflog v1 prev=").count(), 3);
}

#[test]
fn edited_number_in_first_block_is_named_with_its_line() {
    let (_dir, path) = log_path();
    let text = three_blocks(&path);
    let edited = text.replacen("1.77×", "1.87×", 1);
    assert_ne!(edited, text);
    let report = verify(&edited);
    assert_eq!(report.blocks, 3);
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    let p = &report.problems[0];
    let heading = line_of(&text, "## ", 0);
    assert_eq!((p.block, p.line), (Some(1), heading));
    assert!(
        p.what.starts_with(&format!(
            "block 1 (line {heading}) was edited after it was appended"
        )),
        "{}",
        p.what
    );
}

#[test]
fn edit_in_the_header_or_last_block_is_caught() {
    let (_dir, path) = log_path();
    let text = three_blocks(&path);
    let report = verify(&text.replacen("Append-only", "Appendable", 1));
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].block, Some(1));
    let report = verify(&text.replacen("1.21×", "1.25×", 1));
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].block, Some(3));
    assert_eq!(report.problems[0].line, line_of(&text, "## ", 2));
}

#[test]
fn deleted_middle_block_breaks_the_chain() {
    let (_dir, path) = log_path();
    let text = three_blocks(&path);
    let (header, blocks) = split_blocks(&text);
    assert_eq!(blocks.len(), 3);
    let cut = format!("{header}{}{}", blocks[0], blocks[2]);
    let report = verify(&cut);
    assert_eq!(report.blocks, 2);
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    let p = &report.problems[0];
    assert_eq!((p.block, p.line), (Some(2), line_of(&cut, "## ", 1)));
    assert!(p.what.contains("chain broken"), "{}", p.what);
}

#[test]
fn deleted_first_block_breaks_the_chain() {
    let (_dir, path) = log_path();
    let text = three_blocks(&path);
    let (header, blocks) = split_blocks(&text);
    let report = verify(&format!("{header}{}{}", blocks[1], blocks[2]));
    // Block 1 now holds the header too (edited) and does not start the chain.
    assert!(report
        .problems
        .iter()
        .any(|p| p.block == Some(1) && p.what.contains("genesis")));
}

#[test]
fn reordered_blocks_break_the_chain() {
    let (_dir, path) = log_path();
    let text = three_blocks(&path);
    let (header, blocks) = split_blocks(&text);
    let swapped = format!("{header}{}{}{}", blocks[0], blocks[2], blocks[1]);
    let report = verify(&swapped);
    assert_eq!(report.blocks, 3);
    let broken: Vec<_> = report.problems.iter().map(|p| p.block).collect();
    assert_eq!(broken, vec![Some(2), Some(3)], "{:?}", report.problems);
    assert!(report
        .problems
        .iter()
        .all(|p| p.what.contains("chain broken")));
}

#[test]
fn append_refuses_an_edited_file_and_leaves_it_alone() {
    let (_dir, path) = log_path();
    let text = three_blocks(&path);
    let edited = text.replacen("5.64 GB", "4.64 GB", 1);
    std::fs::write(&path, &edited).unwrap();
    let err = append(&path, &block("Fourth gate", "1.10×")).unwrap_err();
    let PerflogError::Corrupt { line, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(*line, line_of(&text, "## ", 0));
    let msg = err.to_string();
    assert!(
        msg.contains("PERF_LOG.md:") && msg.contains("refusing to append"),
        "{msg}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), edited.as_bytes());
}

#[test]
fn text_after_the_last_block_is_reported_and_refused() {
    let (_dir, path) = log_path();
    let text = three_blocks(&path);
    let extra = format!("{text}\nsneaked in\n");
    let report = verify(&extra);
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].block, None);
    assert_eq!(report.problems[0].line, text.lines().count() + 2);
    std::fs::write(&path, &extra).unwrap();
    assert!(append(&path, &block("Fourth", "1.0×")).is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), extra);
    // Blank lines after the last block are fine.
    assert!(verify(&format!("{text}\n\n")).is_ok());
}

#[test]
fn file_without_final_newline_gets_one_before_the_block() {
    let (_dir, path) = log_path();
    let text = three_blocks(&path);
    let trimmed = text.trim_end_matches('\n');
    std::fs::write(&path, trimmed).unwrap();
    assert!(verify(trimmed).is_ok());
    append(&path, &block("Fourth gate", "1.10×")).unwrap();
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(after.starts_with(trimmed));
    assert!(after[trimmed.len()..].starts_with("\n\n## Fourth gate"));
    let report = verify(&after);
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.blocks, 4);
}

#[test]
fn header_without_newline_or_hand_written_text_is_adopted() {
    let (_dir, path) = log_path();
    std::fs::write(&path, "# My log").unwrap();
    append(&path, &block("First", "1.5×")).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# My log\n\n## First"));
    assert!(verify(&text).is_ok());
    assert_eq!(
        verify(&text.replacen("My log", "Our log", 1))
            .problems
            .len(),
        1
    );
}

#[test]
fn pipes_and_line_breaks_in_fields_cannot_break_the_table_or_forge_a_trailer() {
    let mut b = block("Gate", "1.1×");
    b.rows.push(row("a|b", "1 | 2", Some("x|y")));
    b.note = Some("line one\n<!-- tokbench-perflog v1 prev=genesis hash=00 -->".into());
    b.command = "echo `date` | tee".into();
    let md = b.to_markdown();
    assert!(md.contains("| a\\|b | 1 \\| 2 | x\\|y |\n"), "{md}");
    assert!(md.contains("Note: line one <!-- tokbench"), "{md}");
    assert!(md.contains("Command: ``echo `date` | tee``\n"), "{md}");
    let (_dir, path) = log_path();
    append(&path, &b).unwrap();
    let report = verify_file(&path).unwrap();
    assert!(report.is_ok() && report.blocks == 1, "{report:?}");
}

#[test]
fn malformed_trailer_is_a_problem() {
    let (_dir, path) = log_path();
    let text = three_blocks(&path);
    let broken = text.replacen(
        "tokbench-perflog v1 prev=genesis",
        "tokbench-perflog v1 prev=gen",
        1,
    );
    let report = verify(&broken);
    assert_eq!(report.problems.len(), 1);
    assert!(report.problems[0].what.contains("malformed"));
    assert_eq!(
        report.problems[0].line,
        line_of(&text, "<!-- tokbench-perflog", 0)
    );
}

#[test]
fn crlf_line_endings_are_not_an_edit() {
    let (_dir, path) = log_path();
    let text = three_blocks(&path);
    assert!(verify(&text.replace('\n', "\r\n")).is_ok());
}

#[test]
fn rows_parse_from_the_command_line_form() {
    assert_eq!(
        "Speedup|1.77×|≥1.10× ✓".parse::<Row>().unwrap(),
        row("Speedup", "1.77×", Some("≥1.10× ✓"))
    );
    assert_eq!(
        "Steps | 16".parse::<Row>().unwrap(),
        row("Steps", "16", None)
    );
    assert_eq!("a\\|b|1|".parse::<Row>().unwrap(), row("a|b", "1", None));
    assert!("only metric".parse::<Row>().is_err());
    assert!("a|b|c|d".parse::<Row>().is_err());
}

#[test]
fn bad_date_is_refused_before_touching_the_file() {
    let (_dir, path) = log_path();
    let mut b = block("Gate", "1.1×");
    b.date = "24.05.2026".into();
    assert!(matches!(append(&path, &b), Err(PerflogError::BadDate(_))));
    assert!(!path.exists());
}

#[test]
fn utc_dates() {
    assert_eq!(utc_date(0), "1970-01-01");
    assert_eq!(utc_date(951_782_400), "2000-02-29");
    assert_eq!(utc_date(1_779_580_800), "2026-05-24");
    assert_eq!(crate::utc_date_today().len(), 10);
}
