//! Printing results: a table by default, or JSON or YAML with `-o`.

use clap::ValueEnum;
use serde::Serialize;

/// How to print results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns.
    Table,
    /// JSON, as the API returns it.
    Json,
    /// YAML.
    Yaml,
}

/// A table: a header and rows of cells.
#[derive(Debug)]
pub struct Table {
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: Vec<&'static str>) -> Self {
        Table { header, rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.len()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let line = |cells: Vec<&str>| {
            let mut s = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i + 1 == cells.len() {
                    s.push_str(cell);
                } else {
                    s.push_str(&format!("{cell:<width$}   ", width = widths[i]));
                }
            }
            s.trim_end().to_owned()
        };
        let mut out = line(self.header.clone());
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
            out.push('\n');
        }
        out
    }
}

/// Prints `value` as `format`; `table` builds the table form.
pub fn print<T: Serialize>(format: Format, value: &T, table: impl FnOnce(&T) -> Table) -> anyhow::Result<()> {
    match format {
        Format::Table => print!("{}", table(value).render()),
        Format::Json => println!("{}", serde_json::to_string_pretty(value)?),
        Format::Yaml => print!("{}", yaml_serde::to_string(value)?),
    }
    Ok(())
}

/// A time for a table cell.
pub fn time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// An optional time for a table cell.
pub fn opt_time(t: &Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.as_ref().map(time).unwrap_or_else(|| "-".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_aligned_to_the_widest_cell() {
        let mut t = Table::new(vec!["NAME", "TYPE"]);
        t.row(vec!["a-long-name".into(), "tls".into()]);
        t.row(vec!["b".into(), "generic".into()]);
        assert_eq!(t.render(), "NAME          TYPE\na-long-name   tls\nb             generic\n");
    }
}
