//! GetMetricData with an `Expression`, which moto does not evaluate: it returns nothing for math
//! other than a bare id and ignores Metrics Insights `SELECT`. The gateway answers such calls from
//! the samples of every PutMetricData it bridged ([`super::percentile`]), for a documented subset:
//!
//! - metric math: numbers, ids, `+ - * /`, parentheses and unary minus. Two series combine on
//!   the timestamps they share; a point that is not finite (division by zero) is left out.
//! - Metrics Insights: `SELECT AVG|SUM|MIN|MAX|COUNT(metric) FROM SCHEMA("ns"[, key…]) | "ns"
//!   [WHERE key = 'value' [AND …]] [GROUP BY key[, …]] [ORDER BY FUNC() ASC|DESC] [LIMIT n]`.
//!   `SCHEMA` with keys selects metrics with exactly those dimensions; each group is one result,
//!   labelled with its values joined by spaces, all under the query's id, as CloudWatch does.
//!
//! Anything outside the subset is a `ValidationError` that says the stand-in cannot evaluate it,
//! so a test never passes on a silently wrong answer.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::errors::AwsError;
use super::json::{at, epoch_seconds, list_at, number, str_at};
use super::percentile::{Sample, metric_stat_points, statistic};

/// Points by period start (whole seconds), oldest first.
type Points = BTreeMap<i64, f64>;

/// Whether a GetMetricData input has an expression the gateway must answer.
pub fn has_expression(input: &Value) -> bool {
    list_at(input, &["MetricDataQueries"])
        .iter()
        .any(|q| str_at(q, &["Expression"]).is_some())
}

/// Answers a GetMetricData input that has expressions, in query order.
pub fn metric_data(samples: &[Sample], input: &Value) -> Result<Value, AwsError> {
    let queries = list_at(input, &["MetricDataQueries"]);
    let mut by_id: BTreeMap<String, Points> = BTreeMap::new();
    for q in queries.iter().filter(|q| at(q, &["MetricStat"]).is_some()) {
        let id = str_at(q, &["Id"]).unwrap_or_default().to_owned();
        let points = metric_stat_points(samples, input, q)
            .into_iter()
            .map(|(t, v)| (t as i64, v))
            .collect();
        by_id.insert(id, points);
    }
    let descending = str_at(input, &["ScanBy"]) != Some("TimestampAscending");
    let mut results = Vec::new();
    for q in queries {
        let id = str_at(q, &["Id"]).unwrap_or_default();
        let returned = at(q, &["ReturnData"])
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let answers: Vec<(String, Points)> = match str_at(q, &["Expression"]) {
            None => {
                let name = str_at(q, &["MetricStat", "Metric", "MetricName"]).unwrap_or(id);
                vec![(name.to_owned(), by_id.get(id).cloned().unwrap_or_default())]
            }
            Some(text) if text.trim_start().to_ascii_uppercase().starts_with("SELECT") => {
                insights(samples, input, q, text)?
            }
            Some(text) => {
                let points = match Parser::new(text, &by_id)?.expression()? {
                    Operand::Series(points) => points,
                    Operand::Scalar(_) => Points::new(),
                };
                by_id.insert(id.to_owned(), points.clone());
                vec![(id.to_owned(), points)]
            }
        };
        if !returned {
            continue;
        }
        for (label, points) in answers {
            let label = str_at(q, &["Label"]).map_or(label, str::to_owned);
            let mut points: Vec<(i64, f64)> = points.into_iter().collect();
            if descending {
                points.reverse();
            }
            results.push(json!({
                "Id": id,
                "Label": label,
                "Timestamps": points.iter().map(|p| p.0).collect::<Vec<_>>(),
                "Values": points.iter().map(|p| p.1).collect::<Vec<_>>(),
                "StatusCode": "Complete",
            }));
        }
    }
    Ok(json!({ "MetricDataResults": results, "Messages": [] }))
}

fn cannot(what: impl std::fmt::Display) -> AwsError {
    AwsError::bad_request(
        "ValidationError",
        format!("the test gateway's expression stand-in cannot evaluate this: {what}"),
    )
}

#[derive(Debug, Clone)]
enum Operand {
    Scalar(f64),
    Series(Points),
}

/// Recursive descent over `sum := product (('+'|'-') product)*`, `product := unary (('*'|'/')
/// unary)*`, `unary := '-' unary | number | id | '(' sum ')'`.
struct Parser<'a> {
    tokens: Vec<String>,
    next: usize,
    ids: &'a BTreeMap<String, Points>,
}

impl<'a> Parser<'a> {
    fn new(text: &str, ids: &'a BTreeMap<String, Points>) -> Result<Self, AwsError> {
        let mut tokens = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
            } else if "+-*/()".contains(c) {
                tokens.push(c.to_string());
                chars.next();
            } else if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if !(c.is_ascii_alphanumeric() || c == '.' || c == '_') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(word);
            } else {
                return Err(cannot(format!("character `{c}`")));
            }
        }
        Ok(Parser {
            tokens,
            next: 0,
            ids,
        })
    }

    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.next).map(String::as_str)
    }

    fn expression(&mut self) -> Result<Operand, AwsError> {
        let value = self.sum()?;
        match self.peek() {
            None => Ok(value),
            Some(extra) => Err(cannot(format!("unexpected `{extra}`"))),
        }
    }

    fn sum(&mut self) -> Result<Operand, AwsError> {
        let mut left = self.product()?;
        while let Some(op @ ("+" | "-")) = self.peek() {
            let op = op.chars().next().unwrap_or('+');
            self.next += 1;
            left = combine(left, self.product()?, op);
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<Operand, AwsError> {
        let mut left = self.unary()?;
        while let Some(op @ ("*" | "/")) = self.peek() {
            let op = op.chars().next().unwrap_or('*');
            self.next += 1;
            left = combine(left, self.unary()?, op);
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Operand, AwsError> {
        let token = self.peek().map(str::to_owned);
        self.next += 1;
        match token.as_deref() {
            Some("-") => Ok(combine(Operand::Scalar(-1.0), self.unary()?, '*')),
            Some("(") => {
                let inner = self.sum()?;
                if self.peek() != Some(")") {
                    return Err(cannot("a `(` without its `)`"));
                }
                self.next += 1;
                Ok(inner)
            }
            Some(word) if word.starts_with(|c: char| c.is_ascii_digit()) => word
                .parse()
                .map(Operand::Scalar)
                .map_err(|_| cannot(format!("number `{word}`"))),
            Some(word) if word.starts_with(|c: char| c.is_ascii_lowercase()) => self
                .ids
                .get(word)
                .cloned()
                .map(Operand::Series)
                .ok_or_else(|| cannot(format!("unknown id `{word}`"))),
            Some(word) => Err(cannot(format!("`{word}` (only + - * / and ids)"))),
            None => Err(cannot("an expression that ends early")),
        }
    }
}

fn apply(a: f64, b: f64, op: char) -> f64 {
    match op {
        '+' => a + b,
        '-' => a - b,
        '*' => a * b,
        _ => a / b,
    }
}

fn combine(left: Operand, right: Operand, op: char) -> Operand {
    let keep =
        |points: Points| -> Points { points.into_iter().filter(|p| p.1.is_finite()).collect() };
    match (left, right) {
        (Operand::Scalar(a), Operand::Scalar(b)) => Operand::Scalar(apply(a, b, op)),
        (Operand::Series(s), Operand::Scalar(b)) => Operand::Series(keep(
            s.into_iter().map(|(t, a)| (t, apply(a, b, op))).collect(),
        )),
        (Operand::Scalar(a), Operand::Series(s)) => Operand::Series(keep(
            s.into_iter().map(|(t, b)| (t, apply(a, b, op))).collect(),
        )),
        (Operand::Series(l), Operand::Series(r)) => Operand::Series(keep(
            l.into_iter()
                .filter_map(|(t, a)| Some((t, apply(a, *r.get(&t)?, op))))
                .collect(),
        )),
    }
}

/// A parsed Metrics Insights query of the supported subset.
#[derive(Debug, Default)]
struct Insights {
    function: String,
    metric: String,
    namespace: String,
    /// `Some(keys)` for `SCHEMA("ns", keys…)`: only metrics with exactly these dimensions.
    schema: Option<Vec<String>>,
    filters: Vec<(String, String)>,
    group_by: Vec<String>,
    descending: Option<bool>,
    limit: Option<usize>,
}

fn sql_tokens(text: &str) -> Result<Vec<String>, AwsError> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if "(),=".contains(c) {
            tokens.push(c.to_string());
            chars.next();
        } else if c == '\'' || c == '"' {
            chars.next();
            let mut quoted = String::from(c);
            loop {
                match chars.next() {
                    Some(q) if q == c => break,
                    Some(other) => quoted.push(other),
                    None => return Err(cannot("an unterminated quote")),
                }
            }
            tokens.push(quoted);
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || "(),='\"".contains(c) {
                    break;
                }
                word.push(c);
                chars.next();
            }
            tokens.push(word);
        }
    }
    Ok(tokens)
}

/// A name token: bare, or quoted with `"` (kept with its quote by the tokenizer).
fn name_of(token: &str) -> &str {
    token.strip_prefix('"').unwrap_or(token)
}

fn parse_insights(text: &str) -> Result<Insights, AwsError> {
    let tokens = sql_tokens(text)?;
    let mut i = 0;
    let word = |i: usize| tokens.get(i).map(|t| t.to_ascii_uppercase());
    let expect = |i: &mut usize, want: &str| -> Result<(), AwsError> {
        if word(*i).as_deref() == Some(want) {
            *i += 1;
            Ok(())
        } else {
            Err(cannot(format!("expected {want} at token {}", *i + 1)))
        }
    };
    let mut q = Insights::default();
    expect(&mut i, "SELECT")?;
    q.function = word(i).ok_or_else(|| cannot("no function"))?;
    if !["AVG", "SUM", "MIN", "MAX", "COUNT"].contains(&q.function.as_str()) {
        return Err(cannot(format!("function {}", q.function)));
    }
    i += 1;
    expect(&mut i, "(")?;
    q.metric = name_of(tokens.get(i).ok_or_else(|| cannot("no metric"))?).to_owned();
    i += 1;
    expect(&mut i, ")")?;
    expect(&mut i, "FROM")?;
    if word(i).as_deref() == Some("SCHEMA") {
        i += 1;
        expect(&mut i, "(")?;
        q.namespace = name_of(tokens.get(i).ok_or_else(|| cannot("no namespace"))?).to_owned();
        i += 1;
        let mut keys = Vec::new();
        while word(i).as_deref() == Some(",") {
            keys.push(name_of(tokens.get(i + 1).ok_or_else(|| cannot("no key"))?).to_owned());
            i += 2;
        }
        expect(&mut i, ")")?;
        q.schema = Some(keys);
    } else {
        q.namespace = name_of(tokens.get(i).ok_or_else(|| cannot("no namespace"))?).to_owned();
        i += 1;
    }
    if word(i).as_deref() == Some("WHERE") {
        i += 1;
        loop {
            let key = name_of(tokens.get(i).ok_or_else(|| cannot("no WHERE key"))?).to_owned();
            expect(&mut (i + 1), "=")?;
            let value = tokens
                .get(i + 2)
                .and_then(|v| v.strip_prefix('\''))
                .ok_or_else(|| cannot("a WHERE value that is not a 'quoted' string"))?;
            q.filters.push((key, value.to_owned()));
            i += 3;
            if word(i).as_deref() != Some("AND") {
                break;
            }
            i += 1;
        }
    }
    if word(i).as_deref() == Some("GROUP") {
        i += 1;
        expect(&mut i, "BY")?;
        loop {
            q.group_by
                .push(name_of(tokens.get(i).ok_or_else(|| cannot("no GROUP BY key"))?).to_owned());
            i += 1;
            if word(i).as_deref() != Some(",") {
                break;
            }
            i += 1;
        }
    }
    if word(i).as_deref() == Some("ORDER") {
        i += 1;
        expect(&mut i, "BY")?;
        if word(i).as_deref() != Some(q.function.as_str()) {
            return Err(cannot("ORDER BY other than the selected function"));
        }
        i += 1;
        expect(&mut i, "(")?;
        expect(&mut i, ")")?;
        q.descending = match word(i).as_deref() {
            Some("DESC") => Some(true),
            Some("ASC") => Some(false),
            _ => return Err(cannot("ORDER BY without ASC or DESC")),
        };
        i += 1;
    }
    if word(i).as_deref() == Some("LIMIT") {
        q.limit = Some(
            tokens
                .get(i + 1)
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| cannot("LIMIT without a number"))?,
        );
        i += 2;
    }
    match tokens.get(i) {
        None => Ok(q),
        Some(extra) => Err(cannot(format!("`{extra}`"))),
    }
}

fn insights(
    samples: &[Sample],
    input: &Value,
    query: &Value,
    text: &str,
) -> Result<Vec<(String, Points)>, AwsError> {
    let q = parse_insights(text)?;
    let start = at(input, &["StartTime"])
        .and_then(epoch_seconds)
        .unwrap_or(0.0);
    let end = at(input, &["EndTime"])
        .and_then(epoch_seconds)
        .unwrap_or(0.0);
    let period = at(query, &["Period"])
        .and_then(number)
        .filter(|p| *p >= 1.0)
        .ok_or_else(|| {
            AwsError::bad_request(
                "ValidationError",
                "Period must be set for a Metrics Insights query",
            )
        })?;
    let dimension = |s: &Sample, key: &str| {
        s.dimensions
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let mut groups: BTreeMap<Vec<String>, BTreeMap<i64, Vec<&Sample>>> = BTreeMap::new();
    for s in samples {
        let selected = s.namespace == q.namespace
            && s.name == q.metric
            && s.seconds >= start
            && s.seconds < end
            && q.schema.as_ref().is_none_or(|keys| {
                s.dimensions.len() == keys.len() && keys.iter().all(|k| dimension(s, k).is_some())
            })
            && q.filters
                .iter()
                .all(|(k, v)| dimension(s, k).as_deref() == Some(v.as_str()));
        if !selected {
            continue;
        }
        let Some(key) = q
            .group_by
            .iter()
            .map(|k| dimension(s, k))
            .collect::<Option<Vec<String>>>()
        else {
            continue;
        };
        let slot = (start + ((s.seconds - start) / period).floor() * period) as i64;
        groups
            .entry(key)
            .or_default()
            .entry(slot)
            .or_default()
            .push(s);
    }
    let stat = match q.function.as_str() {
        "AVG" => "Average",
        "SUM" => "Sum",
        "MIN" => "Minimum",
        "MAX" => "Maximum",
        _ => "SampleCount",
    };
    let mut out: Vec<(String, Points, f64)> = groups
        .into_iter()
        .map(|(key, slots)| {
            let everything: Vec<&Sample> = slots.values().flatten().copied().collect();
            let overall = statistic(stat, everything).unwrap_or(f64::NAN);
            let points = slots
                .into_iter()
                .filter_map(|(t, bucket)| Some((t, statistic(stat, bucket)?)))
                .collect();
            let label = if key.is_empty() {
                q.metric.clone()
            } else {
                key.join(" ")
            };
            (label, points, overall)
        })
        .collect();
    if let Some(descending) = q.descending {
        out.sort_by(|a, b| a.2.total_cmp(&b.2));
        if descending {
            out.reverse();
        }
    }
    out.truncate(q.limit.unwrap_or(500));
    Ok(out.into_iter().map(|(l, p, _)| (l, p)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::percentile::record;

    fn samples() -> Vec<Sample> {
        let mut s = Vec::new();
        for (instance, requests, errors) in [("i-1", 10.0, 1.0), ("i-2", 20.0, 5.0)] {
            for t in [0, 60] {
                record(
                    &mut s,
                    &json!({"Namespace": "App", "MetricData": [
                        {"MetricName": "Requests", "Timestamp": t, "Value": requests,
                         "Dimensions": [{"Name": "InstanceId", "Value": instance}]},
                        {"MetricName": "Errors", "Timestamp": t, "Value": errors,
                         "Dimensions": [{"Name": "InstanceId", "Value": instance}]}]}),
                );
            }
        }
        s
    }

    fn stat(id: &str, name: &str, instance: &str) -> Value {
        json!({"Id": id, "ReturnData": false, "MetricStat": {"Period": 60, "Stat": "Sum",
            "Metric": {"Namespace": "App", "MetricName": name,
                       "Dimensions": [{"Name": "InstanceId", "Value": instance}]}}})
    }

    #[test]
    fn math_over_ids() {
        let input = json!({"StartTime": 0, "EndTime": 120, "ScanBy": "TimestampAscending",
            "MetricDataQueries": [stat("m1", "Requests", "i-2"), stat("m2", "Errors", "i-2"),
                {"Id": "e1", "Expression": "100 * m2 / (m1 - 0)"}]});
        let out = metric_data(&samples(), &input).unwrap();
        let results = out["MetricDataResults"].as_array().unwrap();
        assert_eq!(results.len(), 1, "metrics with ReturnData false stay out");
        assert_eq!(results[0]["Values"], json!([25.0, 25.0]));
        assert_eq!(results[0]["Timestamps"], json!([0, 60]));
        let bad = json!({"StartTime": 0, "EndTime": 120, "MetricDataQueries": [
            {"Id": "e1", "Expression": "RATE(m1)"}]});
        assert!(metric_data(&samples(), &bad).is_err());
        let zero = json!({"StartTime": 0, "EndTime": 120, "MetricDataQueries": [
            stat("m1", "Requests", "i-1"), {"Id": "e1", "Expression": "m1 / 0"}]});
        let out = metric_data(&samples(), &zero).unwrap();
        assert_eq!(out["MetricDataResults"][0]["Values"], json!([]));
    }

    #[test]
    fn insights_groups_filters_and_orders() {
        let query = |sql: &str| {
            json!({"StartTime": 0, "EndTime": 120, "ScanBy": "TimestampAscending",
                "MetricDataQueries": [{"Id": "q", "Expression": sql, "Period": 120}]})
        };
        let out = metric_data(
            &samples(),
            &query("SELECT SUM(Errors) FROM SCHEMA(\"App\", InstanceId) GROUP BY InstanceId ORDER BY SUM() DESC LIMIT 1"),
        )
        .unwrap();
        let results = out["MetricDataResults"].as_array().unwrap();
        assert_eq!(results.len(), 1);
        assert_eq!(
            (
                results[0]["Label"].as_str(),
                results[0]["Values"][0].as_f64()
            ),
            (Some("i-2"), Some(10.0))
        );
        let out = metric_data(
            &samples(),
            &query("select avg(Requests) from App where InstanceId = 'i-1'"),
        )
        .unwrap();
        assert_eq!(out["MetricDataResults"][0]["Values"], json!([10.0]));
        assert!(metric_data(&samples(), &query("SELECT P99(Requests) FROM App")).is_err());
        let no_period = json!({"StartTime": 0, "EndTime": 120, "MetricDataQueries": [
            {"Id": "q", "Expression": "SELECT AVG(Requests) FROM App"}]});
        assert!(metric_data(&samples(), &no_period).is_err());
    }
}
