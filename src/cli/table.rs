//! `trainviz table`: the results table of saved runs, and with `--templates` their class
//! templates in one figure.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use super::figure_size::FigureSizeArgs;
use crate::report::export_figure;
use crate::report::table::{TableRun, runs_table};
use crate::runs::SavedRun;

/// Options of `trainviz table`.
#[derive(Debug, Args, Clone)]
pub struct TableArgs {
    /// The runs' folders (under runs/), in the order of the table's rows.
    #[arg(required = true, value_name = "RUN_DIR")]
    pub runs: Vec<PathBuf>,
    /// Folder for table.csv, table.tex and table.md.
    #[arg(long)]
    pub out: PathBuf,
    /// Also write templates_compared.png/.svg/.csv: the runs' class templates, one row per
    /// run.
    #[arg(long)]
    pub templates: bool,
    /// The PNG's size.
    #[command(flatten)]
    pub figure: FigureSizeArgs,
}

/// Writes the table (and the templates figure) and prints the Markdown table.
pub fn table_cmd(a: &TableArgs) -> Result<()> {
    let size = a.figure.size()?;
    let mut runs = Vec::new();
    for dir in &a.runs {
        match SavedRun::load(dir) {
            Ok(r) => runs.push(r),
            Err(e) => bail!("{}: not a saved run: {e}", dir.display()),
        }
    }
    let rows: Vec<TableRun> = runs.iter().map(crate::runs::report::table_run).collect();
    let table = runs_table(&rows, false);
    for path in table.write(&a.out)? {
        println!("wrote {}", path.display());
    }
    if a.templates {
        let chosen: Vec<&SavedRun> = runs.iter().collect();
        let figure = crate::runs::report::compare_saved(&chosen).map_err(anyhow::Error::msg)?;
        for ext in ["png", "svg", "csv"] {
            let path = a.out.join(format!("templates_compared.{ext}"));
            export_figure(&figure, &path, size)?;
            println!("wrote {}", path.display());
        }
    }
    println!("\n{}", table.markdown());
    Ok(())
}
