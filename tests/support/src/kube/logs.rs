//! `GET /api/v1/namespaces/{ns}/pods/{name}/log`, with the API server's and kubelet's semantics.
//!
//! The API server resolves the container (and refuses an ambiguous request); the kubelet then
//! reads the file, keeps the last `tailLines`, drops lines before `sinceTime`/`sinceSeconds`,
//! prefixes timestamps on request and stops after `limitBytes`. The order matters: tail is taken
//! before the time filter, so `tailLines=10&sinceSeconds=60` can return fewer than 10 lines, as it
//! does on a real node.

use std::collections::HashMap;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::Value;

use super::bundle::LogFile;
use super::query::Query;
use super::status::ApiError;

/// One log line: when it was written (if the file says) and its text.
#[derive(Debug, Clone)]
struct Line {
    at: Option<DateTime<Utc>>,
    text: String,
}

type LogKey = (String, String, String, bool);

/// Every container log of a bundle, parsed into lines.
#[derive(Debug, Default)]
pub struct Logs {
    files: HashMap<LogKey, Vec<Line>>,
}

/// The kubelet-side options of one request, already validated.
#[derive(Debug, Default, Clone)]
pub struct LogOptions {
    pub previous: bool,
    pub timestamps: bool,
    pub tail: Option<usize>,
    pub since: Option<DateTime<Utc>>,
    pub limit_bytes: Option<usize>,
}

/// Splits `<RFC 3339> <text>`; a line without a timestamp inherits the previous line's.
fn parse_lines(text: &str) -> Vec<Line> {
    let mut last: Option<DateTime<Utc>> = None;
    text.lines()
        .map(|raw| {
            let (head, rest) = raw.split_once(' ').unwrap_or((raw, ""));
            match DateTime::parse_from_rfc3339(head) {
                Ok(t) => {
                    last = Some(t.with_timezone(&Utc));
                    Line {
                        at: last,
                        text: rest.to_string(),
                    }
                }
                Err(_) => Line {
                    at: last,
                    text: raw.to_string(),
                },
            }
        })
        .collect()
}

impl Logs {
    pub fn new(files: &[LogFile]) -> Self {
        let files = files
            .iter()
            .map(|f| {
                let key = (
                    f.namespace.clone(),
                    f.pod.clone(),
                    f.container.clone(),
                    f.previous,
                );
                (key, parse_lines(&f.text))
            })
            .collect();
        Self { files }
    }

    fn lines(&self, ns: &str, pod: &str, container: &str, previous: bool) -> Option<&[Line]> {
        let key = (ns.into(), pod.into(), container.into(), previous);
        self.files.get(&key).map(Vec::as_slice)
    }
}

/// Parses and validates the log options, as `ValidatePodLogOptions` does.
pub fn options(q: &Query, now: DateTime<Utc>) -> Result<LogOptions, ApiError> {
    if q.flag("follow")? {
        return Err(ApiError::bad_request(
            "follow=true is not supported: the stand-in serves a finished snapshot",
        ));
    }
    q.flag("insecureSkipTLSVerifyBackend")?;
    let since_seconds = q.int("sinceSeconds")?;
    let since_time = q.get("sinceTime").filter(|s| !s.is_empty());
    if since_seconds.is_some() && since_time.is_some() {
        return Err(ApiError::bad_request(
            "at most one of `sinceTime` or `sinceSeconds` may be specified",
        ));
    }
    let since = match (since_seconds, since_time) {
        (Some(s), _) => Some(since_seconds_to_time(s, now)?),
        (None, Some(t)) => Some(parse_since_time(t)?),
        (None, None) => None,
    };
    Ok(LogOptions {
        previous: q.flag("previous")?,
        timestamps: q.flag("timestamps")?,
        tail: non_negative(q, "tailLines", 0, "must be greater than or equal to 0")?,
        since,
        limit_bytes: non_negative(q, "limitBytes", 1, "must be greater than 0")?,
    })
}

fn non_negative(q: &Query, key: &str, min: i64, rule: &str) -> Result<Option<usize>, ApiError> {
    match q.int(key)? {
        None => Ok(None),
        Some(v) if v < min => Err(ApiError::bad_request(format!(
            "{key}: Invalid value: {v}: {rule}"
        ))),
        Some(v) => Ok(Some(usize::try_from(v).unwrap_or(usize::MAX))),
    }
}

fn since_seconds_to_time(seconds: i64, now: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
    if seconds < 1 {
        return Err(ApiError::bad_request(format!(
            "sinceSeconds: Invalid value: {seconds}: must be greater than 0"
        )));
    }
    let back = Duration::try_seconds(seconds).unwrap_or(Duration::MAX);
    Ok(now
        .checked_sub_signed(back)
        .unwrap_or(DateTime::<Utc>::MIN_UTC))
}

fn parse_since_time(raw: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ApiError::bad_request(format!("sinceTime: Invalid value: \"{raw}\": {e}")))
}

/// The container a request reads: the named one, or the only one.
pub fn resolve_container(pod: &Value, name: &str, asked: Option<&str>) -> Result<String, ApiError> {
    let names = |field: &str| -> Vec<String> {
        pod.pointer(&format!("/spec/{field}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str().map(String::from))
            .collect()
    };
    let (main, init, ephemeral) = (
        names("containers"),
        names("initContainers"),
        names("ephemeralContainers"),
    );
    if let Some(asked) = asked.filter(|c| !c.is_empty()) {
        let known = main
            .iter()
            .chain(&init)
            .chain(&ephemeral)
            .any(|c| c == asked);
        return if known {
            Ok(asked.to_string())
        } else {
            Err(ApiError::bad_request(format!(
                "container {asked} is not valid for pod {name}"
            )))
        };
    }
    match main.as_slice() {
        [only] => Ok(only.clone()),
        [] => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}"
        ))),
        _ => Err(ApiError::bad_request(ambiguous(
            name, &main, &init, &ephemeral,
        ))),
    }
}

fn ambiguous(pod: &str, main: &[String], init: &[String], ephemeral: &[String]) -> String {
    let mut message = format!(
        "a container name must be specified for pod {pod}, choose one of: [{}]",
        main.join(" ")
    );
    if !init.is_empty() {
        message += &format!(" or one of the init containers: [{}]", init.join(" "));
    }
    if !ephemeral.is_empty() {
        message += &format!(
            " or one of the ephemeral containers: [{}]",
            ephemeral.join(" ")
        );
    }
    message
}

/// The kubelet's answer for a resolved container.
pub fn read(
    logs: &Logs,
    pod: &Value,
    container: &str,
    opts: &LogOptions,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, ApiError> {
    let ns = pod
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = pod
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        // An unscheduled pod has no kubelet to ask; the API server answers with nothing.
        return Ok(Vec::new());
    }
    match logs.lines(ns, name, container, opts.previous) {
        Some(lines) => Ok(render(lines, opts, now)),
        None if opts.previous => Err(ApiError::bad_request(format!(
            "previous terminated container \"{container}\" in pod \"{name}\" not found"
        ))),
        None => match waiting_reason(pod, container) {
            Some(reason) => Err(ApiError::bad_request(format!(
                "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
            ))),
            None => Ok(Vec::new()),
        },
    }
}

/// `state.waiting.reason` of a container that never ran (no `lastState` either).
fn waiting_reason(pod: &Value, container: &str) -> Option<String> {
    let statuses = ["containerStatuses", "initContainerStatuses"]
        .iter()
        .filter_map(|f| {
            pod.pointer(&format!("/status/{f}"))
                .and_then(Value::as_array)
        })
        .flatten();
    let status = statuses.into_iter().find(|s| s["name"] == container)?;
    let never_ran = status.pointer("/lastState/terminated").is_none();
    let reason = status.pointer("/state/waiting/reason")?.as_str()?;
    never_ran.then(|| reason.to_string())
}

fn render(lines: &[Line], opts: &LogOptions, now: DateTime<Utc>) -> Vec<u8> {
    let start = opts.tail.map_or(0, |t| lines.len().saturating_sub(t));
    let mut out = Vec::new();
    for line in &lines[start..] {
        let at = line.at.unwrap_or(now);
        if opts.since.is_some_and(|since| at < since) {
            continue;
        }
        if opts.timestamps {
            out.extend_from_slice(at.to_rfc3339_opts(SecondsFormat::Nanos, true).as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(line.text.as_bytes());
        out.push(b'\n');
        if opts.limit_bytes.is_some_and(|limit| out.len() >= limit) {
            break;
        }
    }
    if let Some(limit) = opts.limit_bytes {
        out.truncate(limit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn sample() -> Vec<Line> {
        parse_lines(
            "2026-11-20T14:00:00Z one\n2026-11-20T14:10:00.5Z two\n  at Foo.bar\n2026-11-20T14:20:00Z three\n",
        )
    }

    #[test]
    fn continuation_lines_inherit_the_timestamp() {
        let lines = sample();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[2].text, "  at Foo.bar");
        assert_eq!(lines[2].at, lines[1].at);
    }

    #[test]
    fn tail_is_taken_before_the_time_filter() {
        let now = at("2026-11-20T14:30:00Z");
        let opts = LogOptions {
            tail: Some(3),
            since: Some(at("2026-11-20T14:15:00Z")),
            ..Default::default()
        };
        assert_eq!(render(&sample(), &opts, now), b"three\n");
    }

    #[test]
    fn timestamps_are_rfc3339_nano() {
        let opts = LogOptions {
            timestamps: true,
            tail: Some(1),
            ..Default::default()
        };
        let out = render(&sample(), &opts, at("2026-11-20T14:30:00Z"));
        assert_eq!(out, b"2026-11-20T14:20:00.000000000Z three\n");
    }

    #[test]
    fn limit_bytes_cuts_mid_line() {
        let opts = LogOptions {
            limit_bytes: Some(6),
            ..Default::default()
        };
        assert_eq!(render(&sample(), &opts, Utc::now()), b"one\ntw");
    }

    #[test]
    fn ambiguous_container_message_lists_init_containers() {
        let pod = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}],
                                  "initContainers": [{"name": "c"}]}});
        let err = resolve_container(&pod, "web", None).unwrap_err();
        assert_eq!(
            err.status.message.as_deref(),
            Some(
                "a container name must be specified for pod web, choose one of: [a b] or one of the init containers: [c]"
            )
        );
        assert_eq!(resolve_container(&pod, "web", Some("c")).unwrap(), "c");
        assert!(resolve_container(&pod, "web", Some("zz")).is_err());
    }

    #[test]
    fn option_validation() {
        let now = at("2026-11-20T14:30:00Z");
        let bad = |q: &str| options(&Query::parse(Some(q)), now).unwrap_err().code;
        assert_eq!(bad("sinceSeconds=0"), 400);
        assert_eq!(bad("tailLines=-1"), 400);
        assert_eq!(bad("limitBytes=0"), 400);
        assert_eq!(bad("follow=true"), 400);
        assert_eq!(bad("sinceSeconds=5&sinceTime=2026-11-20T14:00:00Z"), 400);
        assert_eq!(bad("sinceTime=yesterday"), 400);
        let ok = options(&Query::parse(Some("sinceSeconds=600")), now).unwrap();
        assert_eq!(ok.since, Some(at("2026-11-20T14:20:00Z")));
        let huge = options(&Query::parse(Some("sinceSeconds=9223372036854775807")), now);
        assert!(huge.unwrap().since.is_some());
    }
}
