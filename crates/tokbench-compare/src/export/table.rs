//! Terminal table (comfy-table), one per paired cell.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, Color, ContentArrangement, Table};
use tokbench_stats::Verdict;

use super::{cell_title, header_lines, headers, legend, row_cells, Exporter};
use crate::error::CompareError;
use crate::report::{MetricRow, Report};

/// Renders the header lines, then one table per cell with its notes.
/// With `color`, verdicts are green (faster), red (slower) or yellow
/// (inconclusive) as well as marked by their arrows.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableExporter {
    /// Colour the verdicts (ANSI); for a terminal that wants colour.
    pub color: bool,
}

/// The row's cells, verdict cells coloured when asked.
fn styled(row: &MetricRow, color: bool) -> Vec<Cell> {
    let texts = row_cells(row);
    // Verdicts sit at 2 + 5·j + 3 (metric, BASE, then per side: value,
    // ratio, p, verdict, MDE).
    let verdict_at = |i: usize| i >= 2 && (i - 2) % 5 == 3;
    texts
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let cell = Cell::new(t);
            if !color || !verdict_at(i) {
                return cell;
            }
            match row.versus[(i - 2) / 5].verdict {
                Verdict::Faster => cell.fg(Color::Green),
                Verdict::Slower => cell.fg(Color::Red),
                Verdict::Inconclusive => cell.fg(Color::Yellow),
                Verdict::Same => cell,
            }
        })
        .collect()
}

impl Exporter for TableExporter {
    fn render(&self, report: &Report) -> Result<String, CompareError> {
        let mut out = String::new();
        for line in header_lines(report) {
            out.push_str(&line);
            out.push('\n');
        }
        for t in &report.tables {
            let mut table = Table::new();
            if self.color {
                table.enforce_styling();
            } else {
                table.force_no_tty();
            }
            table
                .load_preset(UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_header(headers(report));
            for row in &t.rows {
                table.add_row(styled(row, self.color));
            }
            out.push_str(&format!("\n{}\n{table}\n", cell_title(report, t)));
            for n in &t.notes {
                out.push_str(&format!("note: {n}\n"));
            }
        }
        if let Some(l) = legend(report) {
            out.push_str(l);
            out.push('\n');
        }
        Ok(out)
    }
}
