//! Parsers for NAB's files: text in, plain data out, so callers choose where the bytes come from.
//!
//! NAB's CSVs are simple (no quoting), so a split on commas reads them exactly; its JSON is read
//! with serde_json. Timestamps are NAB's `YYYY-MM-DD HH:MM:SS[.ffffff]`, taken as UTC.

use super::{CostMatrix, NabError, Profile};
use crate::series::Series;
use serde::Deserialize;
use std::collections::BTreeMap;

/// NAB's profile order in its tables; other names follow alphabetically.
const PROFILE_ORDER: [&str; 3] = ["standard", "reward_low_FP_rate", "reward_low_FN_rate"];

/// Parses `YYYY-MM-DD HH:MM:SS`, optionally with a fraction, a `T` separator or a trailing `Z`,
/// into Unix milliseconds (UTC; sub-millisecond digits are dropped).
pub fn parse_timestamp(text: &str) -> Result<i64, NabError> {
    let bad = || NabError::BadTimestamp {
        text: text.to_string(),
    };
    let trimmed = text.trim();
    let trimmed = trimmed.strip_suffix('Z').unwrap_or(trimmed);
    let (date, time) = trimmed.split_once([' ', 'T']).ok_or_else(bad)?;
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let [year, month, day] = fields::<3>(date, '-').ok_or_else(bad)?;
    let [hour, minute, second] = fields::<3>(clock, ':').ok_or_else(bad)?;
    let in_range = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 61;
    if !in_range || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let millis = fraction.bytes().chain(std::iter::repeat(b'0')).take(3);
    let millis = millis.fold(0, |acc, b| acc * 10 + i64::from(b - b'0'));
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second;
    Ok(seconds * 1_000 + millis)
}

/// Splits `text` on `sep` into exactly `N` small non-negative integers.
fn fields<const N: usize>(text: &str, sep: char) -> Option<[i64; N]> {
    let mut out = [0; N];
    let mut parts = text.split(sep);
    for slot in &mut out {
        let part = parts.next()?;
        let plain = !part.is_empty() && part.len() <= 4 && part.bytes().all(|b| b.is_ascii_digit());
        *slot = if plain {
            part.parse().ok()?
        } else {
            return None;
        };
    }
    parts.next().is_none().then_some(out)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (eras of 400 years, March-based years,
/// so the leap day falls at the end of the year).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let march_month = (month + 9) % 12;
    let day_of_year = (153 * march_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Parses `combined_windows.json`: file key (`category/file.csv`) → `(start, end)` in Unix ms.
pub fn parse_windows(json: &str) -> Result<BTreeMap<String, Vec<(i64, i64)>>, NabError> {
    let raw: BTreeMap<String, Vec<[String; 2]>> =
        serde_json::from_str(json).map_err(|source| NabError::Json {
            what: "windows",
            source,
        })?;
    raw.into_iter()
        .map(|(file, windows)| {
            let parsed = windows
                .iter()
                .map(|[start, end]| Ok((parse_timestamp(start)?, parse_timestamp(end)?)))
                .collect::<Result<Vec<_>, NabError>>()?;
            Ok((file, parsed))
        })
        .collect()
}

#[derive(Deserialize)]
struct ProfileJson {
    #[serde(rename = "CostMatrix")]
    cost_matrix: CostMatrix,
}

/// Parses `config/profiles.json` into profiles, standard / low-FP / low-FN first.
pub fn parse_profiles(json: &str) -> Result<Vec<Profile>, NabError> {
    let raw: BTreeMap<String, ProfileJson> =
        serde_json::from_str(json).map_err(|source| NabError::Json {
            what: "profiles",
            source,
        })?;
    let mut profiles: Vec<Profile> = raw
        .into_iter()
        .map(|(name, p)| Profile {
            name,
            costs: p.cost_matrix,
        })
        .collect();
    let rank = |name: &str| {
        PROFILE_ORDER
            .iter()
            .position(|&p| p == name)
            .unwrap_or(PROFILE_ORDER.len())
    };
    profiles.sort_by(|a, b| {
        rank(&a.name)
            .cmp(&rank(&b.name))
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(profiles)
}

/// Parses a NAB data file (`timestamp,value`) into a [`Series`] named `name`, one point per row.
///
/// Rows stay in file order and are not normalised: NAB scores row by row, and six of its files
/// repeat or step back a timestamp (clock changes). An empty value reads as NaN.
pub fn parse_data_csv(name: &str, text: &str) -> Result<Series, NabError> {
    let mut rows = csv_rows(text);
    let header = rows.next().map(|(_, fields)| fields).unwrap_or_default();
    let ts_col = column_index(&header, "timestamp")?;
    let value_col = column_index(&header, "value")?;
    let (mut timestamps, mut values) = (Vec::new(), Vec::new());
    for (line, fields) in rows {
        timestamps.push(parse_timestamp(field(&fields, ts_col, line)?)?);
        values.push(parse_number(field(&fields, value_col, line)?, line)?);
    }
    Ok(Series {
        name: name.to_string(),
        timestamps,
        values,
        ..Default::default()
    })
}

/// Reads one numeric column (e.g. `anomaly_score`) of a CSV with a header, one value per row.
pub fn parse_score_column(text: &str, column: &str) -> Result<Vec<f64>, NabError> {
    let mut rows = csv_rows(text);
    let header = rows.next().map(|(_, fields)| fields).unwrap_or_default();
    let col = column_index(&header, column)?;
    rows.map(|(line, fields)| parse_number(field(&fields, col, line)?, line))
        .collect()
}

/// Non-blank lines with their 1-based line numbers, split on commas.
fn csv_rows(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim_end_matches('\r')))
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| (n, line.split(',').map(str::trim).collect()))
}

fn column_index(header: &[&str], column: &str) -> Result<usize, NabError> {
    header
        .iter()
        .position(|h| *h == column)
        .ok_or_else(|| NabError::MissingColumn {
            column: column.to_string(),
        })
}

fn field<'a>(fields: &[&'a str], index: usize, line: usize) -> Result<&'a str, NabError> {
    fields.get(index).copied().ok_or_else(|| NabError::Csv {
        line,
        message: format!(
            "expected at least {} fields, found {}",
            index + 1,
            fields.len()
        ),
    })
}

fn parse_number(text: &str, line: usize) -> Result<f64, NabError> {
    if text.is_empty() {
        return Ok(f64::NAN);
    }
    text.parse().map_err(|_| NabError::Csv {
        line,
        message: format!("not a number: {text:?}"),
    })
}
