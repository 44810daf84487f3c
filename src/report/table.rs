//! The results table of several runs (the first assignment's table of settings): one row per
//! run, a column for each setting that differs between them, then training, validation and
//! test accuracy and cost; written as CSV, a booktabs LaTeX table and Markdown. The one
//! builder behind `trainviz table`, the Runs tab's "Export table", a finished sweep's ranked
//! table and the Race tab's table.

use std::path::{Path, PathBuf};

use super::{ExportError, write_atomic};
use crate::train::config::setting_label;
use crate::train::record::differing_keys;
use crate::train::{RunSettings, RunStatus, Summary};

/// The numbers of one run in the table; NaN where a number is not known (no test set
/// evaluation yet, no epoch done).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunResults {
    /// Training-set accuracy, 0..1.
    pub train_acc: f64,
    /// Training-set cost (loss + λ‖W‖²).
    pub train_cost: f64,
    /// Validation-set accuracy.
    pub val_acc: f64,
    /// Validation-set cost.
    pub val_cost: f64,
    /// Test-set accuracy.
    pub test_acc: f64,
    /// Test-set cost.
    pub test_cost: f64,
}

impl RunResults {
    /// Nothing known.
    pub const UNKNOWN: RunResults = RunResults {
        train_acc: f64::NAN,
        train_cost: f64::NAN,
        val_acc: f64::NAN,
        val_cost: f64::NAN,
        test_acc: f64::NAN,
        test_cost: f64::NAN,
    };

    /// The final numbers of a run's summary.
    pub fn of_summary(s: &Summary) -> Self {
        RunResults {
            train_acc: s.train_acc,
            train_cost: s.train_cost,
            val_acc: s.val_acc,
            val_cost: s.val_cost,
            test_acc: s.test_acc,
            test_cost: s.test_cost,
        }
    }

    /// The six numbers in table order, with their CSV column names.
    fn columns(&self) -> [(&'static str, f64); 6] {
        [
            ("train_acc", self.train_acc),
            ("val_acc", self.val_acc),
            ("test_acc", self.test_acc),
            ("train_cost", self.train_cost),
            ("val_cost", self.val_cost),
            ("test_cost", self.test_cost),
        ]
    }
}

/// One run going into a table: its name, its settings record and its numbers.
#[derive(Debug, Clone)]
pub struct TableRun {
    /// The run's name (used when no setting tells the runs apart).
    pub name: String,
    /// Its settings as trained (changes made while training included).
    pub settings: RunSettings,
    /// Its numbers.
    pub results: RunResults,
    /// How it ended; rows of runs that did not finish say so.
    pub status: RunStatus,
}

/// A results table across runs, ready to be written in the three formats.
#[derive(Debug, Clone, PartialEq)]
pub struct RunsTable {
    /// Keys of the settings that differ (one column each), in the order of the settings.
    pub keys: Vec<String>,
    /// True when a "run" column names each run (no setting tells them apart).
    pub named: bool,
    /// True when a first "rank" column numbers the rows (a sweep's ranked table).
    pub ranked: bool,
    /// True when a "status" column says how each run ended (some did not finish).
    pub with_status: bool,
    /// The rows, in the order given.
    pub rows: Vec<TableRow>,
}

/// One row of a [`RunsTable`].
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    /// The run's name.
    pub name: String,
    /// The value of each differing setting over the run ("0.001 → 0.05 at epoch 10" when it
    /// changed while training; "—" where the setting did nothing in this run).
    pub values: Vec<String>,
    /// Its numbers.
    pub results: RunResults,
    /// How it ended.
    pub status: RunStatus,
}

/// What the table writes for a setting a run's table does not hold: the settings whose
/// absence is itself a value say it ("none" hidden layers: a linear classifier; "all"
/// training images: no limit); any other did nothing in that run ("—").
fn absent_value(key: &str) -> &'static str {
    match key {
        "hidden" => "none",
        "train_limit" => "all",
        _ => "—",
    }
}

/// The word for how a run ended, as the table prints it.
fn status_word(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Running => "not finished",
        RunStatus::Stopped => "stopped",
        RunStatus::Finished => "finished",
        RunStatus::Diverged => "diverged",
    }
}

/// The table of `runs`, rows in the order given; `ranked` adds a rank column (the order is
/// then the ranking).
pub fn runs_table(runs: &[TableRun], ranked: bool) -> RunsTable {
    let settings: Vec<&RunSettings> = runs.iter().map(|r| &r.settings).collect();
    let keys = if runs.len() > 1 {
        differing_keys(&settings)
    } else {
        Vec::new()
    };
    let rows = runs
        .iter()
        .map(|r| {
            let table = r.settings.settings_table();
            let values = keys
                .iter()
                .map(|k| {
                    table
                        .iter()
                        .find(|(key, _)| key == k)
                        .map_or_else(|| absent_value(k).to_string(), |(_, v)| v.clone())
                })
                .collect();
            TableRow {
                name: r.name.clone(),
                values,
                results: r.results,
                status: r.status,
            }
        })
        .collect();
    RunsTable {
        named: keys.is_empty(),
        keys,
        ranked,
        with_status: runs.iter().any(|r| r.status != RunStatus::Finished),
        rows,
    }
}

/// A fraction as a percentage with two decimals, "—" when unknown.
fn percent(x: f64) -> String {
    if x.is_finite() {
        format!("{:.2}", 100.0 * x)
    } else {
        "—".into()
    }
}

/// A cost with four decimals, "—" when unknown.
fn cost(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.4}")
    } else {
        "—".into()
    }
}

/// Text for a LaTeX table cell: special characters escaped, the Greek letters and arrows of
/// setting names and values in math mode.
pub fn latex_text(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            'η' => out.push_str("$\\eta$"),
            'λ' => out.push_str("$\\lambda$"),
            'σ' => out.push_str("$\\sigma$"),
            'μ' => out.push_str("$\\mu$"),
            'β' => out.push_str("$\\beta$"),
            'ε' => out.push_str("$\\varepsilon$"),
            '₁' => out.push_str("$_1$"),
            '₂' => out.push_str("$_2$"),
            '→' => out.push_str("$\\to$"),
            '×' => out.push_str("$\\times$"),
            '·' => out.push_str("$\\cdot$"),
            '—' => out.push_str("---"),
            '–' => out.push_str("--"),
            '…' => out.push_str("\\dots{}"),
            '‖' => out.push_str("$\\|$"),
            '²' => out.push_str("$^2$"),
            _ => out.push(c),
        }
    }
    out
}

impl RunsTable {
    /// Headers of the leading text columns, in words.
    fn text_headers(&self) -> Vec<String> {
        let mut h = Vec::new();
        if self.ranked {
            h.push("rank".to_string());
        }
        if self.named {
            h.push("run".to_string());
        }
        h.extend(self.keys.iter().map(|k| setting_label(k).to_string()));
        if self.with_status {
            h.push("status".to_string());
        }
        h
    }

    /// The leading text cells of row `i`.
    fn text_cells(&self, i: usize) -> Vec<String> {
        let row = &self.rows[i];
        let mut c = Vec::new();
        if self.ranked {
            c.push((i + 1).to_string());
        }
        if self.named {
            c.push(row.name.clone());
        }
        c.extend(row.values.iter().cloned());
        if self.with_status {
            c.push(status_word(row.status).to_string());
        }
        c
    }

    /// As CSV: setting columns by their keys (`eta`, `lambda`), accuracies as fractions,
    /// unknown numbers empty.
    pub fn csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<String> = Vec::new();
        if self.ranked {
            header.push("rank".into());
        }
        if self.named {
            header.push("run".into());
        }
        header.extend(self.keys.iter().cloned());
        if self.with_status {
            header.push("status".into());
        }
        header.extend(
            RunResults::UNKNOWN
                .columns()
                .iter()
                .map(|(name, _)| name.to_string()),
        );
        // Writing to a Vec cannot fail; a failure would only lose this one record.
        if let Err(e) = w.write_record(&header) {
            log::error!("results table header: {e}");
        }
        for (i, row) in self.rows.iter().enumerate() {
            let mut record = self.text_cells(i);
            record.extend(row.results.columns().iter().map(|(_, v)| {
                if v.is_finite() {
                    v.to_string()
                } else {
                    String::new()
                }
            }));
            if let Err(e) = w.write_record(&record) {
                log::error!("results table row {}: {e}", i + 1);
            }
        }
        w.into_inner()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// As a LaTeX `tabular` with booktabs rules, ready for `\input`.
    pub fn latex(&self) -> String {
        let headers = self.text_headers();
        let mut s =
            String::from("% Results table written by trainviz; needs \\usepackage{booktabs}.\n");
        crate::format::putln!(
            s,
            "\\begin{{tabular}}{{{}rrrrrr}}\n\\toprule",
            "l".repeat(headers.len())
        );
        let mut head: Vec<String> = headers.iter().map(|h| latex_text(h)).collect();
        head.extend(
            [
                "Train acc.\\ (\\%)",
                "Val.\\ acc.\\ (\\%)",
                "Test acc.\\ (\\%)",
                "Train cost",
                "Val.\\ cost",
                "Test cost",
            ]
            .map(String::from),
        );
        crate::format::putln!(s, "{} \\\\\n\\midrule", head.join(" & "));
        for (i, row) in self.rows.iter().enumerate() {
            let mut cells: Vec<String> = self.text_cells(i).iter().map(|c| latex_text(c)).collect();
            cells.extend(numbers(&row.results).into_iter().map(|c| latex_text(&c)));
            crate::format::putln!(s, "{} \\\\", cells.join(" & "));
        }
        s.push_str("\\bottomrule\n\\end{tabular}\n");
        s
    }

    /// As a Markdown table.
    pub fn markdown(&self) -> String {
        let mut head = self.text_headers();
        let texts = head.len();
        head.extend(
            [
                "train acc. (%)",
                "val. acc. (%)",
                "test acc. (%)",
                "train cost",
                "val. cost",
                "test cost",
            ]
            .map(String::from),
        );
        let cell = |c: &str| c.replace('|', "\\|");
        let mut s = format!(
            "| {} |\n|{}{}\n",
            head.iter().map(|h| cell(h)).collect::<Vec<_>>().join(" | "),
            "---|".repeat(texts),
            "---:|".repeat(6)
        );
        for (i, row) in self.rows.iter().enumerate() {
            let mut cells = self.text_cells(i);
            cells.extend(numbers(&row.results));
            crate::format::putln!(
                s,
                "| {} |",
                cells
                    .iter()
                    .map(|c| cell(c))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
        s
    }

    /// Writes `table.csv`, `table.tex` and `table.md` into `dir` (created when missing);
    /// returns the files written.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ExportError> {
        let mut written = Vec::new();
        for (name, text) in [
            ("table.csv", self.csv()),
            ("table.tex", self.latex()),
            ("table.md", self.markdown()),
        ] {
            let path = dir.join(name);
            write_atomic(&path, text.as_bytes())?;
            written.push(path);
        }
        Ok(written)
    }
}

/// The six numbers of a row as the LaTeX and Markdown tables print them.
fn numbers(r: &RunResults) -> Vec<String> {
    vec![
        percent(r.train_acc),
        percent(r.val_acc),
        percent(r.test_acc),
        cost(r.train_cost),
        cost(r.val_cost),
        cost(r.test_cost),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::TrainConfig;

    fn run(lambda: f64, eta: f64, test_acc: f64) -> TableRun {
        TableRun {
            name: format!("λ {lambda}"),
            settings: RunSettings::new(TrainConfig {
                lambda,
                eta,
                ..TrainConfig::default()
            }),
            results: RunResults {
                train_acc: 0.45,
                train_cost: 1.6,
                val_acc: 0.38,
                val_cost: 1.8,
                test_acc,
                test_cost: 1.79,
            },
            status: RunStatus::Finished,
        }
    }

    #[test]
    fn the_course_table_in_three_formats() {
        let runs = [
            run(0.0, 0.1, 0.2812),
            run(0.0, 0.001, 0.3891),
            run(0.1, 0.001, 0.3935),
        ];
        let t = runs_table(&runs, false);
        assert_eq!(t.keys, vec!["eta".to_string(), "lambda".to_string()]);
        assert!(!t.named && !t.ranked && !t.with_status);
        let csv = t.csv();
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("eta,lambda,train_acc,val_acc,test_acc,train_cost,val_cost,test_cost")
        );
        assert_eq!(lines.next(), Some("0.1,0,0.45,0.38,0.2812,1.6,1.8,1.79"));
        assert_eq!(csv.lines().count(), 4);
        let tex = t.latex();
        assert!(
            tex.contains("\\toprule") && tex.contains("\\bottomrule"),
            "{tex}"
        );
        assert!(tex.contains("\\begin{tabular}{llrrrrrr}"), "{tex}");
        assert!(
            tex.contains("$\\eta$ & $\\lambda$ & Train acc."),
            "Greek in math mode: {tex}"
        );
        assert!(
            tex.contains("0.001 & 0.1 & 45.00 & 38.00 & 39.35 & 1.6000"),
            "{tex}"
        );
        let md = t.markdown();
        assert!(md.starts_with("| η | λ | train acc. (%)"), "{md}");
        assert!(md.contains("|---|---|---:|"), "{md}");
        assert!(md.contains("| 0.1 | 0 | 45.00 | 38.00 | 28.12 |"), "{md}");
    }

    #[test]
    fn a_run_without_a_limit_or_hidden_layers_says_so() {
        let mut limited = run(0.1, 0.001, 0.3);
        limited.settings = RunSettings::new(TrainConfig {
            train_limit: Some(2000),
            hidden: vec![50],
            ..TrainConfig::default()
        });
        let whole = run(0.1, 0.001, 0.3);
        let t = runs_table(&[limited, whole], false);
        let md = t.markdown();
        assert!(md.contains("| all | none |"), "{md}");
        assert!(md.contains("| 2000 | 50 |"), "{md}");
    }

    #[test]
    fn ranks_status_and_unknown_numbers() {
        let mut a = run(0.0, 0.1, f64::NAN);
        a.status = RunStatus::Diverged;
        let b = run(0.0, 0.1, 0.3);
        let t = runs_table(&[b, a], true);
        // Same settings: the runs are named instead.
        assert!(t.named && t.ranked && t.with_status);
        let md = t.markdown();
        assert!(md.starts_with("| rank | run | status |"), "{md}");
        assert!(
            md.contains("| 2 | λ 0 | diverged | 45.00 | 38.00 | — |"),
            "{md}"
        );
        let csv = t.csv();
        assert!(csv.contains("2,λ 0,diverged,0.45,0.38,,"), "{csv}");
    }

    #[test]
    fn latex_special_characters_are_escaped() {
        assert_eq!(latex_text("a_b & 5%"), "a\\_b \\& 5\\%");
        assert_eq!(latex_text("η 0.1 → 0.01"), "$\\eta$ 0.1 $\\to$ 0.01");
    }
}
