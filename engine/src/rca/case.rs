//! The labelled RCA case format, parsed from and written to text (no file system access here).
//!
//! A case is a directory; the benchmark reads the files and hands their text to [`Case::parse`]:
//!
//! ```text
//! <case_dir>/metrics.csv       header `time,<component>_<metric>,...`; `time` in unix seconds,
//!                              one row per sample; empty or non-numeric cells are missing (NaN)
//! <case_dir>/inject_time.txt   the inject (anomaly) time, unix seconds
//! <case_dir>/graph.csv         optional `caller,callee` edges, one per line (a header line
//!                              `caller,callee` is skipped)
//! <case_dir>/root_cause.txt    line 1: the labelled root-cause component;
//!                              optional line 2: the root-cause indicator, `<component>_<metric>`
//! <case_dir>/fault.txt         optional fault type; otherwise the parent folder name is used
//! ```
//!
//! Case directories may be nested (`<suite>/<fault>/<n>/`). A column's component is the text
//! before its first `_`; for scoring, [`service_of`] also strips a `-db` suffix, as RCAEval does,
//! so a database container counts as its service.

use crate::series::Series;
use std::collections::BTreeMap;
use std::fmt;

/// Why a case file could not be parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseError {
    /// `metrics.csv` has no header or no `time` column.
    MissingTimeColumn,
    /// A `time` cell is not an integer or decimal number of seconds.
    BadTime { line: usize, text: String },
    /// `inject_time.txt` does not hold a number.
    BadInjectTime(String),
    /// `root_cause.txt` is empty.
    MissingRootCause,
}

impl fmt::Display for CaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingTimeColumn => write!(f, "metrics.csv has no `time` column in its header"),
            Self::BadTime { line, text } => {
                write!(f, "metrics.csv line {line}: time `{text}` is not a number")
            }
            Self::BadInjectTime(t) => write!(f, "inject_time.txt: `{t}` is not a unix time"),
            Self::MissingRootCause => write!(f, "root_cause.txt is empty (expected a component)"),
        }
    }
}

impl std::error::Error for CaseError {}

/// One metric column of a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// `<component>_<metric>`, e.g. `carts_cpu`.
    pub name: String,
    /// One value per row of [`Case::times`]; NaN = missing.
    pub values: Vec<f64>,
}

/// A labelled fault case.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Case {
    /// Identifier, usually the case directory relative to the suite root.
    pub name: String,
    /// Fault type (cpu, mem, disk, delay, loss, socket, ...).
    pub fault: String,
    /// Row times, unix seconds.
    pub times: Vec<i64>,
    pub columns: Vec<Column>,
    /// Inject time, unix seconds.
    pub inject_time: i64,
    /// `(caller, callee)` edges between components.
    pub graph: Vec<(String, String)>,
    /// Labelled root-cause component.
    pub root_cause: String,
    /// Labelled root-cause indicator (`<component>_<metric>`), when known.
    pub root_metric: Option<String>,
}

/// The text files of a case, as read from (or to be written to) its directory.
#[derive(Debug, Clone, Copy)]
pub struct CaseTexts<'a> {
    pub metrics_csv: &'a str,
    pub inject_time: &'a str,
    pub graph_csv: Option<&'a str>,
    pub root_cause: &'a str,
}

/// Component of a column: the text before the first `_` (the whole name without one).
pub fn component_of(column: &str) -> &str {
    column.split_once('_').map_or(column, |(c, _)| c)
}

/// Service of a column or component for scoring: [`component_of`] with `-db` stripped.
pub fn service_of(column: &str) -> &str {
    let c = component_of(column);
    c.strip_suffix("-db").unwrap_or(c)
}

/// Parses `metrics.csv` into row times and columns. Rows are kept in file order.
pub fn parse_metrics_csv(text: &str) -> Result<(Vec<i64>, Vec<Column>), CaseError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or(CaseError::MissingTimeColumn)?;
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let time_idx = names
        .iter()
        .position(|n| n.eq_ignore_ascii_case("time"))
        .ok_or(CaseError::MissingTimeColumn)?;
    let mut times = Vec::new();
    let mut columns: Vec<Column> = names
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != time_idx)
        .map(|(_, n)| Column {
            name: (*n).to_string(),
            values: Vec::new(),
        })
        .collect();
    for (line_no, line) in lines {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let t_text = cells.get(time_idx).copied().unwrap_or("");
        let t = parse_seconds(t_text).ok_or_else(|| CaseError::BadTime {
            line: line_no + 1,
            text: t_text.to_string(),
        })?;
        times.push(t);
        let values = cells.iter().enumerate().filter(|(i, _)| *i != time_idx);
        let mut values = values.map(|(_, c)| c.parse::<f64>().unwrap_or(f64::NAN));
        for col in &mut columns {
            let v = values.next().unwrap_or(f64::NAN);
            col.values.push(if v.is_finite() { v } else { f64::NAN });
        }
    }
    Ok((times, columns))
}

fn parse_seconds(text: &str) -> Option<i64> {
    let t = text.trim();
    t.parse::<i64>().ok().or_else(|| {
        let f = t.parse::<f64>().ok()?;
        (f.is_finite() && f.abs() < 1e15).then_some(f.round() as i64)
    })
}

/// Parses `inject_time.txt` (first token, unix seconds).
pub fn parse_inject_time(text: &str) -> Result<i64, CaseError> {
    let token = text.split_whitespace().next().unwrap_or("");
    parse_seconds(token).ok_or_else(|| CaseError::BadInjectTime(token.to_string()))
}

/// Parses `graph.csv` into `(caller, callee)` edges; malformed lines and the header are skipped.
pub fn parse_graph(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once(','))
        .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
        .filter(|(a, b)| !a.is_empty() && !b.is_empty() && (a != "caller" || b != "callee"))
        .collect()
}

/// Parses `root_cause.txt`: the component, and the indicator metric when a second line has one.
pub fn parse_root_cause(text: &str) -> Result<(String, Option<String>), CaseError> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let component = lines.next().ok_or(CaseError::MissingRootCause)?;
    Ok((component.to_string(), lines.next().map(str::to_string)))
}

impl Case {
    /// Builds a case from its files' text; `name` and `fault` come from the directory layout.
    pub fn parse(name: &str, fault: &str, texts: CaseTexts<'_>) -> Result<Case, CaseError> {
        let (times, columns) = parse_metrics_csv(texts.metrics_csv)?;
        let (root_cause, root_metric) = parse_root_cause(texts.root_cause)?;
        Ok(Case {
            name: name.to_string(),
            fault: fault.trim().to_string(),
            times,
            columns,
            inject_time: parse_inject_time(texts.inject_time)?,
            graph: texts.graph_csv.map(parse_graph).unwrap_or_default(),
            root_cause,
            root_metric,
        })
    }

    /// The case's files as `(file name, text)`, ready to be written into its directory.
    pub fn to_files(&self) -> Vec<(&'static str, String)> {
        let mut files = vec![
            ("metrics.csv", self.metrics_csv()),
            ("inject_time.txt", format!("{}\n", self.inject_time)),
            ("fault.txt", format!("{}\n", self.fault)),
        ];
        let mut root = format!("{}\n", self.root_cause);
        if let Some(m) = &self.root_metric {
            root.push_str(&format!("{m}\n"));
        }
        files.push(("root_cause.txt", root));
        if !self.graph.is_empty() {
            let edges: String = self
                .graph
                .iter()
                .map(|(a, b)| format!("{a},{b}\n"))
                .collect();
            files.push(("graph.csv", format!("caller,callee\n{edges}")));
        }
        files
    }

    fn metrics_csv(&self) -> String {
        let mut out = String::from("time");
        for c in &self.columns {
            out.push(',');
            out.push_str(&c.name);
        }
        out.push('\n');
        for (row, t) in self.times.iter().enumerate() {
            out.push_str(&t.to_string());
            for c in &self.columns {
                out.push(',');
                match c.values.get(row) {
                    Some(v) if v.is_finite() => out.push_str(&v.to_string()),
                    _ => {}
                }
            }
            out.push('\n');
        }
        out
    }

    /// The columns grouped by component as [`Series`] (timestamps in ms, name = metric part).
    pub fn candidates(&self) -> BTreeMap<String, Vec<Series>> {
        let ts: Vec<i64> = self.times.iter().map(|t| t.saturating_mul(1000)).collect();
        let mut out: BTreeMap<String, Vec<Series>> = BTreeMap::new();
        for c in &self.columns {
            let comp = component_of(&c.name).to_string();
            let metric = c.name.get(comp.len() + 1..).unwrap_or(&c.name);
            let series = Series::new(metric, ts.clone(), c.values.clone())
                .with_label("component", comp.clone());
            out.entry(comp).or_default().push(series);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "time,carts_cpu,carts-db_mem,front-end_lat_90\n\
                       100,1.0,5,0.1\n101,2.5,,0.2\n102,x,7,0.3\n";

    #[test]
    fn parses_a_case_and_round_trips_its_files() {
        let texts = CaseTexts {
            metrics_csv: CSV,
            inject_time: "101\n",
            graph_csv: Some("caller,callee\nfront-end,carts\ncarts,carts-db\n"),
            root_cause: "carts\ncarts_cpu\n",
        };
        let case = Case::parse("ss/cpu/1", "cpu", texts).unwrap();
        assert_eq!(case.times, vec![100, 101, 102]);
        assert_eq!(case.columns.len(), 3);
        assert_eq!(case.columns[0].values[1], 2.5);
        assert!(case.columns[0].values[2].is_nan());
        assert!(case.columns[1].values[1].is_nan());
        assert_eq!(case.inject_time, 101);
        assert_eq!(case.graph.len(), 2);
        assert_eq!(case.root_metric.as_deref(), Some("carts_cpu"));
        let files = case.to_files();
        let get = |n: &str| files.iter().find(|f| f.0 == n).map(|f| f.1.as_str());
        let again = Case::parse(
            "ss/cpu/1",
            get("fault.txt").unwrap(),
            CaseTexts {
                metrics_csv: get("metrics.csv").unwrap(),
                inject_time: get("inject_time.txt").unwrap(),
                graph_csv: get("graph.csv"),
                root_cause: get("root_cause.txt").unwrap(),
            },
        )
        .unwrap();
        assert_eq!(again.times, case.times);
        assert_eq!(again.graph, case.graph);
        assert_eq!(again.columns[0].values[0], 1.0);
        assert!(again.columns[1].values[1].is_nan());
    }

    #[test]
    fn components_and_services_follow_rcaeval() {
        assert_eq!(component_of("carts-db_mem"), "carts-db");
        assert_eq!(service_of("carts-db_mem"), "carts");
        assert_eq!(service_of("queue-master_cpu"), "queue-master");
        assert_eq!(service_of("front-end_lat_90"), "front-end");
        let case = Case::parse(
            "c",
            "cpu",
            CaseTexts {
                metrics_csv: CSV,
                inject_time: "101",
                graph_csv: None,
                root_cause: "carts",
            },
        )
        .unwrap();
        let cands = case.candidates();
        assert_eq!(cands["front-end"][0].name, "lat_90");
        assert_eq!(cands["carts"][0].timestamps[0], 100_000);
    }

    #[test]
    fn rejects_malformed_files() {
        assert_eq!(
            parse_metrics_csv("a,b\n1,2\n"),
            Err(CaseError::MissingTimeColumn)
        );
        assert!(matches!(
            parse_metrics_csv("time,a\nnope,1\n"),
            Err(CaseError::BadTime { .. })
        ));
        assert!(parse_inject_time("soon").is_err());
        assert_eq!(parse_inject_time("1652812675.0\n"), Ok(1652812675));
        assert_eq!(parse_root_cause("\n\n"), Err(CaseError::MissingRootCause));
        assert!(parse_metrics_csv("").is_err());
    }
}
