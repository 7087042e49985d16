//! Turns one log line into tokens with its variable parts masked as `<*>`.
//!
//! Masking happens before clustering so that lines differing only in an id, a number or a time
//! land in the same template at once, instead of waiting for the clusterer to learn each position.
//! Masked: numbers (with short units such as `12ms`), hex ids and UUIDs, IPv4/IPv6 addresses,
//! timestamps and dates, paths and URLs, and quoted strings. A quoted string right after `key=`
//! (logfmt) is kept as words, because there it usually *is* the message. JSON object lines are
//! flattened into `key=value` tokens first.

use std::borrow::Cow;

/// The wildcard that stands for any one token.
pub const WILDCARD: &str = "<*>";

/// Splits `line` into at most `max_tokens` tokens, with variables masked.
pub fn tokenize(line: &str, max_tokens: usize) -> Vec<Cow<'_, str>> {
    let mut out = Vec::new();
    let trimmed = line.trim();
    if trimmed.starts_with('{')
        && trimmed.ends_with('}')
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_str(trimmed)
    {
        flatten_json("", &map, &mut out, max_tokens);
        return out;
    }
    tokenize_text(trimmed, &mut out, max_tokens);
    out
}

/// Flattens a JSON object into `key=value` tokens (nested keys joined with `.`), so that one
/// structured event gives one stable token sequence whatever its values are.
fn flatten_json<'a>(
    prefix: &str,
    map: &serde_json::Map<String, serde_json::Value>,
    out: &mut Vec<Cow<'a, str>>,
    max: usize,
) {
    // Sorted explicitly: serde_json keeps insertion order when another crate in the build
    // turns on its `preserve_order` feature, and templates must not depend on that.
    let mut fields: Vec<_> = map.iter().collect();
    fields.sort_unstable_by_key(|(key, _)| key.as_str());
    for (key, value) in fields {
        if out.len() >= max {
            return;
        }
        let key = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            serde_json::Value::Object(inner) => flatten_json(&key, inner, out, max),
            serde_json::Value::String(text) => push_words(&key, text, out, max),
            serde_json::Value::Bool(b) => out.push(Cow::Owned(format!("{key}={b}"))),
            serde_json::Value::Null => out.push(Cow::Owned(format!("{key}=null"))),
            _ => out.push(Cow::Owned(format!("{key}={WILDCARD}"))),
        }
    }
}

/// Emits `key=<first word>` then the remaining words of `text`, each masked on its own.
fn push_words<'a>(key: &str, text: &str, out: &mut Vec<Cow<'a, str>>, max: usize) {
    let mut words = text.split_whitespace();
    let first = words.next().map_or(Cow::Borrowed(""), mask_token);
    out.push(Cow::Owned(format!("{key}={first}")));
    for word in words {
        if out.len() >= max {
            return;
        }
        out.push(Cow::Owned(mask_token(word).into_owned()));
    }
}

fn tokenize_text<'a>(text: &'a str, out: &mut Vec<Cow<'a, str>>, max: usize) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() && out.len() < max {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        i = next_token(text, i, out, max);
    }
}

/// Reads the token starting at `start`, pushes what it yields and returns where it ended.
fn next_token<'a>(text: &'a str, start: usize, out: &mut Vec<Cow<'a, str>>, max: usize) -> usize {
    let bytes = text.as_bytes();
    if bytes[start] == b'"'
        && let Some(close) = closing_quote(bytes, start + 1)
    {
        out.push(Cow::Borrowed(WILDCARD));
        return token_end(bytes, close + 1);
    }
    let end = token_end(bytes, start);
    let token = &text[start..end];
    if let Some(eq) = token.find("=\"") {
        let open = start + eq + 2;
        if let Some(close) = closing_quote(bytes, open) {
            push_words(&text[start..start + eq], &text[open..close], out, max);
            return token_end(bytes, close + 1);
        }
    }
    out.push(mask_token(token));
    end
}

/// Index of the `"` closing a string that starts at `from`, honouring backslash escapes.
fn closing_quote(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

fn token_end(bytes: &[u8], from: usize) -> usize {
    let from = from.min(bytes.len());
    bytes[from..]
        .iter()
        .position(u8::is_ascii_whitespace)
        .map_or(bytes.len(), |p| from + p)
}

/// Masks one whitespace-free token; `key=value` keeps the key and masks only the value.
pub fn mask_token(token: &str) -> Cow<'_, str> {
    if let Some((key, value)) = split_key_value(token) {
        return if is_variable(strip_punctuation(value)) {
            Cow::Owned(format!("{key}={WILDCARD}"))
        } else {
            Cow::Borrowed(token)
        };
    }
    if is_variable(strip_punctuation(token)) {
        Cow::Borrowed(WILDCARD)
    } else {
        Cow::Borrowed(token)
    }
}

fn split_key_value(token: &str) -> Option<(&str, &str)> {
    let (key, value) = token.split_once('=')?;
    let identifier = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    (identifier && !value.is_empty()).then_some((key, value))
}

fn strip_punctuation(token: &str) -> &str {
    token.trim_matches(|c: char| "()[]{}<>,;:.\"'!?".contains(c))
}

/// Whether a token (punctuation stripped) is a value rather than part of the message.
pub fn is_variable(core: &str) -> bool {
    !core.is_empty()
        && core != WILDCARD
        && (is_path(core) || is_numeric(core) || is_hex_id(core) || is_ipv6(core))
}

fn is_path(s: &str) -> bool {
    (s.starts_with('/') && s.len() > 1)
        || s.starts_with("./")
        || s.starts_with("~/")
        || s.contains("://")
}

/// Digits make up at least half of the alphanumerics: numbers with units (`12ms`, `512Mi`),
/// dates and times (`2026-11-20T14:05:01Z`, `20/Nov/2026:14:05:01`), IPv4 with port, versions.
/// Identifiers with a digit or two (`HTTP/1.1`, `k8s`, `nio-8080-exec-1`) stay, and the
/// clusterer turns them into wildcards if they do vary.
fn is_numeric(s: &str) -> bool {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    let alnum = s.bytes().filter(u8::is_ascii_alphanumeric).count();
    digits > 0 && digits * 2 >= alnum
}

/// `0x1f`, commit and trace ids, UUIDs: hex digits (and dashes) with at least one digit.
fn is_hex_id(s: &str) -> bool {
    if let Some(rest) = s.strip_prefix("0x") {
        return !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_hexdigit());
    }
    s.len() >= 6
        && s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

fn is_ipv6(s: &str) -> bool {
    s.len() >= 3
        && s.bytes().filter(|&b| b == b':').count() >= 2
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(line: &str) -> String {
        tokenize(line, 100).join(" ")
    }

    #[test]
    fn masks_each_kind_of_variable() {
        let cases = [
            ("took 1234 ms", "took <*> ms"),
            ("took 12ms, retry 3.5s", "took <*> retry <*>"),
            ("trace 4bf92f3577b34da6 span 0x7ffd", "trace <*> span <*>"),
            (
                "order 550e8400-e29b-41d4-a716-446655440000 placed",
                "order <*> placed",
            ),
            ("peer 10.0.1.23:8080 and fe80::1ff:fe23", "peer <*> and <*>"),
            ("at 2026-11-20T14:05:01.123Z done", "at <*> done"),
            ("[20/Nov/2026:14:05:01 +0000]", "<*> <*>"),
            ("open /var/lib/data/x.db failed", "open <*> failed"),
            ("fetch https://api.example.com/v1 ok", "fetch <*> ok"),
            ("user \"alice smith\" logged in", "user <*> logged in"),
            ("retries=5 host=db", "retries=<*> host=db"),
        ];
        for (line, want) in cases {
            assert_eq!(masked(line), want, "line: {line}");
        }
    }

    #[test]
    fn keeps_identifiers_that_only_contain_a_digit() {
        assert_eq!(
            masked("HTTP/1.1 k8s nio-8080-exec-1 Bar.java:42"),
            "HTTP/1.1 k8s nio-8080-exec-1 Bar.java:42"
        );
        assert_eq!(masked("deadbeef facade"), "deadbeef facade");
    }

    #[test]
    fn logfmt_quoted_values_stay_words() {
        let line = r#"level=error msg="dial failed" err="dial tcp 10.0.0.5:5432: connect: connection refused""#;
        assert_eq!(
            masked(line),
            "level=error msg=dial failed err=dial tcp <*> connect: connection refused"
        );
    }

    #[test]
    fn json_lines_become_key_value_tokens() {
        let line = r#"{"level":"info","msg":"order placed","order":{"id":"a1b2c3d4e5","total":12.5},"ok":true}"#;
        assert_eq!(
            masked(line),
            "level=info msg=order placed ok=true order.id=<*> order.total=<*>"
        );
    }

    #[test]
    fn hostile_input_does_not_panic() {
        for line in [
            "",
            "\"",
            "\"unterminated",
            "k=\"open",
            "=\"",
            "\\\"",
            "{not json}",
            "{}",
            "é\"ü\" ß=\"ñ",
            "a\"b\"c",
        ] {
            let _ = tokenize(line, 100);
        }
        assert_eq!(tokenize(&"word ".repeat(1000), 10).len(), 10);
    }
}
