//! Time parsing and the clock: the one place that reads wall-clock time.
//!
//! Tools accept instants as RFC 3339 (`2026-11-20T14:05:00Z`), dates (`2026-11-20`), `now`,
//! `now-30m`, or a bare negative offset (`-2h`), and durations as `90s`, `15m`, `2h`, `1d`,
//! `1h30m`. Everything is UTC inside. A snapshot-backed server's "now" is the capture time,
//! so relative windows mean the same thing in a post-mortem as they did live.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::error::ToolError;

/// A half-open time window `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    /// Whether unix-ms `t` falls in `[start, end]`.
    pub fn contains_ms(&self, t: i64) -> bool {
        (self.start_ms()..=self.end.timestamp_millis()).contains(&t)
    }

    pub fn duration(&self) -> Duration {
        self.end - self.start
    }

    pub fn start_ms(&self) -> i64 {
        self.start.timestamp_millis()
    }

    pub fn end_ms(&self) -> i64 {
        self.end.timestamp_millis()
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        t >= self.start && t < self.end
    }
}

/// The wall clock. Engine code never calls this; tools get `now` from their source.
pub fn wall_clock_now() -> DateTime<Utc> {
    Utc::now()
}

/// Parses a duration such as `90s`, `15m`, `2h`, `1d`, `1w` or `1h30m`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total = Duration::zero();
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: i64 = digits.parse().ok()?;
        digits.clear();
        let unit = match c {
            's' => Duration::try_seconds(n)?,
            'm' => Duration::try_minutes(n)?,
            'h' => Duration::try_hours(n)?,
            'd' => Duration::try_days(n)?,
            'w' => Duration::try_weeks(n)?,
            _ => return None,
        };
        total = total.checked_add(&unit)?;
    }
    if !digits.is_empty() {
        // A bare number is seconds, as in Kubernetes' sinceSeconds.
        total = total.checked_add(&Duration::try_seconds(digits.parse().ok()?)?)?;
    }
    Some(total)
}

/// Parses an instant relative to `now`; `field` names the argument in the error.
pub fn parse_instant(
    field: &str,
    text: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ToolError> {
    let t = text.trim();
    let bad = || {
        ToolError::invalid(
            field,
            format!(
                "`{text}` is not a time; use RFC 3339 (2026-11-20T14:05:00Z), a date, `now`, `now-30m` or `-2h`"
            ),
        )
    };
    if t.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    let offset = t
        .strip_prefix("now-")
        .or_else(|| t.strip_prefix("now -"))
        .or_else(|| t.strip_prefix('-'));
    if let Some(rest) = offset {
        let d = parse_duration(rest).ok_or_else(bad)?;
        return now.checked_sub_signed(d).ok_or_else(bad);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).ok_or_else(bad)?.and_utc());
    }
    Err(bad())
}

/// Resolves an optional `since` (duration or instant) and `until` into a window ending at or
/// before `now`; `default_since` applies when `since` is absent.
pub fn resolve_window(
    since: Option<&str>,
    until: Option<&str>,
    default_since: Duration,
    now: DateTime<Utc>,
) -> Result<Window, ToolError> {
    let end = match until {
        Some(u) => parse_instant("until", u, now)?,
        None => now,
    };
    let start = match since {
        // A plain duration counts back from `until`, which is what "the hour before" means.
        Some(s) if parse_duration(s).is_some() && !s.trim_start().starts_with('-') => {
            let d = parse_duration(s).unwrap_or(default_since);
            end.checked_sub_signed(d)
                .ok_or_else(|| ToolError::invalid("since", "duration is too large"))?
        }
        Some(s) => parse_instant("since", s, now)?,
        None => end - default_since,
    };
    if start >= end {
        return Err(ToolError::invalid(
            "since",
            format!("window start {start} is not before its end {end}"),
        ));
    }
    Ok(Window { start, end })
}

/// Renders a duration compactly for summaries: `3d4h`, `2h5m`, `45s`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.num_seconds().max(0);
    let (days, hours, mins) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h{m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d{h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-20T14:30:00Z".parse().unwrap()
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Some(Duration::seconds(90)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::minutes(90)));
        assert_eq!(parse_duration("2d"), Some(Duration::days(2)));
        assert_eq!(parse_duration("300"), Some(Duration::seconds(300)));
        assert_eq!(parse_duration("2x"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("99999999999999999999h"), None);
    }

    #[test]
    fn instants() {
        let n = now();
        assert_eq!(parse_instant("t", "now", n).unwrap(), n);
        assert_eq!(
            parse_instant("t", "now-30m", n).unwrap(),
            n - Duration::minutes(30)
        );
        assert_eq!(
            parse_instant("t", "-2h", n).unwrap(),
            n - Duration::hours(2)
        );
        assert_eq!(
            parse_instant("t", "2026-11-20T13:00:00+01:00", n).unwrap(),
            "2026-11-20T12:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            parse_instant("t", "2026-11-19", n).unwrap(),
            "2026-11-19T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        let err = parse_instant("since", "yesterday", n).unwrap_err();
        assert!(err.to_string().contains("`since`"));
    }

    #[test]
    fn windows() {
        let n = now();
        let w = resolve_window(Some("1h"), None, Duration::hours(2), n).unwrap();
        assert_eq!(w.duration(), Duration::hours(1));
        assert_eq!(w.end, n);
        let w = resolve_window(None, Some("now-1h"), Duration::hours(2), n).unwrap();
        assert_eq!(w.end, n - Duration::hours(1));
        assert_eq!(w.duration(), Duration::hours(2));
        assert!(resolve_window(Some("now"), Some("-1h"), Duration::hours(1), n).is_err());
    }

    #[test]
    fn human() {
        assert_eq!(human_duration(Duration::seconds(45)), "45s");
        assert_eq!(human_duration(Duration::minutes(125)), "2h5m");
        assert_eq!(human_duration(Duration::hours(76)), "3d4h");
    }
}
