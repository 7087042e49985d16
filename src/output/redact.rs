//! Redaction: the single filter every tool result passes through before it leaves the server.
//!
//! Two layers. Structure: in JSON, string values under credential-like keys (`password`,
//! `secretAccessKey`, `token`, ...) and `value`s of env entries whose `name` looks like a
//! credential are replaced. Text: known credential shapes anywhere in any string (AWS access keys,
//! bearer and EKS tokens, JWTs, private key blocks, passwords in URLs, `password=...` pairs) are
//! masked. Secret objects are handled before this, by the Kubernetes tools, which drop their values
//! and keep keys and sizes. `--allow-sensitive-data` turns all of it off.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex, RegexSet};
use serde_json::Value;

/// What replaces a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// Applies redaction unless the operator opted out.
#[derive(Debug, Clone, Copy)]
pub struct Redactor {
    enabled: bool,
}

impl Redactor {
    pub fn new(allow_sensitive_data: bool) -> Self {
        Redactor {
            enabled: !allow_sensitive_data,
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Masks credential shapes in free text.
    pub fn redact_text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.enabled {
            return Cow::Borrowed(text);
        }
        redact_text(text)
    }

    /// Redacts a JSON value in place: sensitive keys, env entries, and text patterns.
    pub fn redact_value(&self, value: &mut Value) {
        if self.enabled {
            redact_value(value);
        }
    }
}

static PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    RULES
        .iter()
        .map(|(re, rep)| (Regex::new(re).expect("redaction pattern compiles"), *rep))
        .collect()
});

/// All of [`RULES`] in one automaton. Most strings (names, statuses, ages) match none, and one
/// scan proves that where eight separate searches would each walk the string.
static ANY_PATTERN: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new(RULES.iter().map(|(re, _)| re)).expect("redaction set compiles")
});

/// (pattern, replacement), applied in order; an empty replacement means the key=value rule.
const RULES: [(&str, &str); 8] = [
    // PEM private keys, whole block.
    (
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)",
        "-----BEGIN PRIVATE KEY----- [REDACTED] -----END PRIVATE KEY-----",
    ),
    // EKS tokens (base64url of a presigned STS URL).
    (r"k8s-aws-v1\.[A-Za-z0-9_\-]+", "k8s-aws-v1.[REDACTED]"),
    // Authorization headers and bearer tokens.
    (
        r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]{8,}=*",
        "$1 [REDACTED]",
    ),
    // JSON Web Tokens, e.g. service-account tokens.
    (
        r"\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}",
        "[REDACTED-JWT]",
    ),
    // AWS access key ids.
    (r"\b(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b", "$1[REDACTED]"),
    // Passwords in URLs: scheme://user:password@host.
    (
        r"([a-zA-Z][a-zA-Z0-9+.\-]*://[^/\s:@]+):[^@/\s]+@",
        "$1:[REDACTED]@",
    ),
    // key=value / key: value pairs with a credential-like key.
    (
        r#"(?i)\b([A-Za-z0-9_.\-]*(?:password|passwd|pwd|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key|credentials?|auth)[A-Za-z0-9_.\-]*)(["']?\s*[:=]\s*["']?)([^\s"',;&}]{3,})"#,
        "",
    ),
    // A 40-character AWS secret key right after an access-key-like context.
    (
        r"(?i)(aws.{0,20}?(?:secret|key).{0,5}?[:=]\s*[\x22']?)[A-Za-z0-9/+=]{40}",
        "$1[REDACTED]",
    ),
];

/// Whether some rule of [`RULES`] could match `text`: each needs a byte or literal checked here
/// (`[:=]`, `://`, whitespace, the `A` of AWS key ids, `eyJ`, `k8s-aws-v1.`; PEM blocks hold a
/// space). Non-ASCII text is left to the regexes, whose `\s` and `(?i)` are Unicode-aware. Most
/// strings in a result (names, statuses, ages, readiness) have none, and this byte scan is far
/// cheaper than starting a regex search for each of them.
fn may_hold_credential(text: &str) -> bool {
    text.bytes().any(|b| {
        matches!(b, b':' | b'=' | b'A') || b.is_ascii_whitespace() || b == 0x0b || !b.is_ascii()
    }) || text.contains("eyJ")
        || text.contains("k8s-aws-v1.")
}

fn redact_text(text: &str) -> Cow<'_, str> {
    // No rule matches the original text, so none applies and none can match a later stage.
    if !may_hold_credential(text) || !ANY_PATTERN.is_match(text) {
        return Cow::Borrowed(text);
    }
    let mut out: Cow<'_, str> = Cow::Borrowed(text);
    for (re, replacement) in PATTERNS.iter() {
        if !re.is_match(&out) {
            continue;
        }
        let replaced = if replacement.is_empty() {
            re.replace_all(&out, |c: &Captures| {
                // Keep references like `secretName: db` and placeholders readable.
                if is_reference_key(&c[1]) || c[3].eq_ignore_ascii_case("[REDACTED]") {
                    c[0].to_string()
                } else {
                    format!("{}{}{REDACTED}", &c[1], &c[2])
                }
            })
            .into_owned()
        } else {
            re.replace_all(&out, *replacement).into_owned()
        };
        out = Cow::Owned(replaced);
    }
    out
}

/// Keys that name a credential without holding one (`secretName`, `tokenExpirationSeconds`).
fn is_reference_key(key: &str) -> bool {
    with_normalized(key, is_normalized_reference_key)
}

fn is_normalized_reference_key(k: &str) -> bool {
    [
        "name",
        "ref",
        "path",
        "file",
        "seconds",
        "expiration",
        "type",
        "kind",
        "mode",
        "length",
        "count",
        "provider",
        "endpoint",
    ]
    .iter()
    .any(|suffix| k.ends_with(suffix))
        || k.starts_with("tokenurl")
        || k == "auth"
}

fn normalize(key: &str) -> String {
    key.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Runs `check` on [`normalize`]d `key`, built on the stack when short: redaction asks this of
/// every key and every `name` in a result.
fn with_normalized<R>(key: &str, check: impl FnOnce(&str) -> R) -> R {
    let mut buf = [0u8; 64];
    let mut len = 0;
    for byte in key.bytes().filter(u8::is_ascii_alphanumeric) {
        if len == buf.len() {
            return check(&normalize(key));
        }
        buf[len] = byte.to_ascii_lowercase();
        len += 1;
    }
    check(std::str::from_utf8(&buf[..len]).expect("ASCII alphanumerics are UTF-8"))
}

/// Whether a JSON key or env var name holds a credential.
pub fn is_sensitive_key(key: &str) -> bool {
    with_normalized(key, is_normalized_sensitive_key)
}

fn is_normalized_sensitive_key(k: &str) -> bool {
    if k.is_empty() || is_normalized_reference_key(k) {
        return false;
    }
    has_credential_marker(k) || k == "pwd" || k.ends_with("pass")
}

/// Fragments of a normalized key that mark a credential.
const CREDENTIAL_MARKERS: [&str; 14] = [
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
    "credential",
    "authorization",
    "sessionkey",
    "clientsecret",
    "connectionstring",
    "dsn",
    "cookie",
];

/// Whether a [`CREDENTIAL_MARKERS`] fragment occurs in `k`. Every key of every result is checked:
/// one pass comparing only at positions whose byte starts some marker costs a fraction of both
/// fourteen substring searches and a regex search per key.
fn has_credential_marker(k: &str) -> bool {
    let bytes = k.as_bytes();
    (0..bytes.len()).any(|i| {
        matches!(bytes[i], b'p' | b's' | b't' | b'a' | b'c' | b'd')
            && CREDENTIAL_MARKERS
                .iter()
                .any(|m| bytes[i..].starts_with(m.as_bytes()))
    })
}

fn redact_value(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Cow::Owned(r) = redact_text(s) {
                *s = r;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        Value::Object(map) => {
            // Env entries: {"name": "DB_PASSWORD", "value": "..."}.
            let env_like = map
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(is_sensitive_key);
            for (key, item) in map.iter_mut() {
                let sensitive = is_sensitive_key(key) || (env_like && key == "value");
                match item {
                    // Values already masked upstream (Secret sizes) keep their note.
                    Value::String(s)
                        if sensitive && !s.is_empty() && !s.starts_with("[REDACTED") =>
                    {
                        *s = REDACTED.to_string();
                    }
                    _ => redact_value(item),
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn red(text: &str) -> String {
        Redactor::new(false).redact_text(text).into_owned()
    }

    #[test]
    fn masks_credential_shapes_in_text() {
        let cases = [
            ("key AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"),
            (
                "Authorization: Bearer abcdefghijklmnop.qrs",
                "abcdefghijklmnop",
            ),
            (
                "token k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbQ",
                "aHR0cHM6Ly9zdHMu",
            ),
            ("connect postgres://app:hunter2@db:5432/app", "hunter2"),
            ("DB_PASSWORD=hunter2 started", "hunter2"),
            ("{\"password\": \"hunter2\"}", "hunter2"),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "wJalrXUtnFEMI",
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
                "MIIEpAIBAAKCAQEA",
            ),
            (
                "sa eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlX2hlcmU",
                "eyJzdWIi",
            ),
        ];
        for (input, secret) in cases {
            let out = red(input);
            assert!(
                !out.contains(secret),
                "{input:?} leaked {secret:?}: {out:?}"
            );
            assert!(out.contains("REDACTED"), "{out}");
        }
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        for text in [
            "secretName: db-credentials",
            "OOMKilled: container checkout exceeded memory limit 512Mi",
            "GET /api/orders?page=2 200 12ms",
            "tokenExpirationSeconds: 3600",
        ] {
            assert_eq!(red(text), text);
        }
    }

    #[test]
    fn redacts_sensitive_keys_and_env_values_in_json() {
        let mut v = json!({
            "env": [
                {"name": "AWS_SECRET_ACCESS_KEY", "value": "abc123abc123"},
                {"name": "LOG_LEVEL", "value": "debug"},
                {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}
            ],
            "password": "hunter2",
            "secretName": "db-credentials",
            "message": "login with Bearer abcdefghijklmnopqrst"
        });
        Redactor::new(false).redact_value(&mut v);
        assert_eq!(v["env"][0]["value"], REDACTED);
        assert_eq!(v["env"][1]["value"], "debug");
        assert_eq!(v["env"][2]["valueFrom"]["secretKeyRef"]["name"], "db");
        assert_eq!(v["password"], REDACTED);
        assert_eq!(v["secretName"], "db-credentials");
        assert!(
            !v["message"]
                .as_str()
                .unwrap()
                .contains("abcdefghijklmnopqrst")
        );
    }

    #[test]
    fn long_keys_are_judged_like_short_ones() {
        let padding = "x_".repeat(80);
        assert!(is_sensitive_key(&format!("{padding}DB_PASSWORD")));
        assert!(!is_sensitive_key(&format!(
            "{padding}DB_PASSWORD_SECRET_NAME"
        )));
        assert!(!is_sensitive_key(&padding));
        assert!(is_sensitive_key("Db-Password"));
        assert!(!is_sensitive_key("--"));
    }

    #[test]
    fn marker_scan_agrees_with_substring_search() {
        for k in [
            "dbpassword",
            "xsecretx",
            "mytoken",
            "awsaccesskeyid",
            "dsn",
            "cookies",
            "name",
            "status",
            "restarts",
            "apikeyx",
            "authorizationheader",
            "clientsecre",
            "",
        ] {
            let expected = CREDENTIAL_MARKERS.iter().any(|m| k.contains(m));
            assert_eq!(has_credential_marker(k), expected, "{k}");
        }
        for m in CREDENTIAL_MARKERS {
            assert!(has_credential_marker(m), "{m}");
        }
    }

    #[test]
    fn prefilter_passes_every_rule_shape() {
        let shapes = [
            "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----",
            "k8s-aws-v1.aHR0cHM6Ly9zdHMu",
            "Bearer abcdefghijklmnop",
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlX2hlcmU",
            "AKIAIOSFODNN7EXAMPLE",
            "postgres://app:hunter2@db",
            "DB_PASSWORD=hunter2",
            "aws_secret_access_key:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "bearer\u{a0}abcdefghijklmnop",
        ];
        for text in shapes {
            assert!(ANY_PATTERN.is_match(text), "{text}");
            assert!(may_hold_credential(text), "{text}");
        }
        for text in [
            "checkout-7d9f8b-x2x",
            "Running",
            "1/1",
            "5d3h",
            "ip-10-0-1-2.ec2.internal",
        ] {
            assert!(!may_hold_credential(text), "{text}");
        }
    }

    #[test]
    fn opt_out_returns_everything() {
        let r = Redactor::new(true);
        assert_eq!(r.redact_text("DB_PASSWORD=hunter2"), "DB_PASSWORD=hunter2");
        let mut v = json!({"password": "hunter2"});
        r.redact_value(&mut v);
        assert_eq!(v["password"], "hunter2");
    }
}
