//! `labelSelector` and `fieldSelector` parsing and matching, with the API server's grammar.
//!
//! Label selectors support `=`, `==`, `!=`, `in`, `notin`, existence (`key`, `!key`) and the
//! numeric `>`/`<`; field selectors support `=`, `==`, `!=` with backslash escapes. Which field
//! labels a resource accepts is the store's concern, so this module stays kind-agnostic.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Comma,
    Open,
    Close,
    Not,
    Eq,
    DoubleEq,
    NotEq,
    Gt,
    Lt,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Self::Ident(s) => s.clone(),
            Self::Comma => ",".into(),
            Self::Open => "(".into(),
            Self::Close => ")".into(),
            Self::Not => "!".into(),
            Self::Eq => "=".into(),
            Self::DoubleEq => "==".into(),
            Self::NotEq => "!=".into(),
            Self::Gt => ">".into(),
            Self::Lt => "<".into(),
        }
    }
}

fn is_special(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | '(' | ')' | '!' | '=' | '<' | '>')
}

fn lex(input: &str) -> Vec<Token> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let (token, width) = match (c, next) {
            (c, _) if c.is_whitespace() => (None, 1),
            ('!', Some('=')) => (Some(Token::NotEq), 2),
            ('=', Some('=')) => (Some(Token::DoubleEq), 2),
            ('!', _) => (Some(Token::Not), 1),
            ('=', _) => (Some(Token::Eq), 1),
            (',', _) => (Some(Token::Comma), 1),
            ('(', _) => (Some(Token::Open), 1),
            (')', _) => (Some(Token::Close), 1),
            ('>', _) => (Some(Token::Gt), 1),
            ('<', _) => (Some(Token::Lt), 1),
            _ => {
                let len = chars[i..].iter().take_while(|c| !is_special(**c)).count();
                let word: String = chars[i..i + len].iter().collect();
                (Some(Token::Ident(word)), len)
            }
        };
        tokens.extend(token);
        i += width;
    }
    tokens
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Exists,
    NotExists,
    Eq(String),
    NotEq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Gt(i64),
    Lt(i64),
}

#[derive(Debug, Clone, PartialEq)]
struct Requirement {
    key: String,
    op: Op,
}

/// A parsed `labelSelector`; the empty selector matches everything.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LabelSelector(Vec<Requirement>);

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn advance(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn found(t: Option<&Token>, expected: &str) -> String {
        let found = t.map_or_else(|| "EOS".to_string(), Token::describe);
        format!("found '{found}', expected: {expected}")
    }

    fn ident(&mut self, expected: &str) -> Result<String, String> {
        match self.advance() {
            Some(Token::Ident(s)) => Ok(s),
            other => Err(Self::found(other.as_ref(), expected)),
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        if self.peek() == Some(&Token::Not) {
            self.pos += 1;
            let key = valid_key(self.ident("identifier")?)?;
            return Ok(Requirement {
                key,
                op: Op::NotExists,
            });
        }
        let key = valid_key(self.ident("identifier")?)?;
        let op = match self.peek() {
            None | Some(Token::Comma) => Op::Exists,
            Some(_) => self.operator()?,
        };
        Ok(Requirement { key, op })
    }

    fn operator(&mut self) -> Result<Op, String> {
        let expected = "=, ==, !=, in, notin, >, <";
        match self.advance() {
            Some(Token::Eq | Token::DoubleEq) => Ok(Op::Eq(self.value()?)),
            Some(Token::NotEq) => Ok(Op::NotEq(self.value()?)),
            Some(Token::Gt) => Ok(Op::Gt(self.integer()?)),
            Some(Token::Lt) => Ok(Op::Lt(self.integer()?)),
            Some(Token::Ident(w)) if w == "in" => Ok(Op::In(self.set()?)),
            Some(Token::Ident(w)) if w == "notin" => Ok(Op::NotIn(self.set()?)),
            other => Err(Self::found(other.as_ref(), expected)),
        }
    }

    /// A single value; `key=` (empty value) is allowed, as the API server allows it.
    fn value(&mut self) -> Result<String, String> {
        match self.peek() {
            None | Some(Token::Comma) => Ok(String::new()),
            _ => valid_value(self.ident("identifier")?),
        }
    }

    fn integer(&mut self) -> Result<i64, String> {
        let word = self.ident("integer")?;
        word.parse()
            .map_err(|_| format!("for 'Gt', 'Lt' operators, the value must be an integer: {word}"))
    }

    fn set(&mut self) -> Result<Vec<String>, String> {
        match self.advance() {
            Some(Token::Open) => {}
            other => return Err(Self::found(other.as_ref(), "(")),
        }
        let mut values = Vec::new();
        loop {
            values.push(valid_value(self.ident("identifier")?)?);
            match self.advance() {
                Some(Token::Comma) => continue,
                Some(Token::Close) => return Ok(values),
                other => return Err(Self::found(other.as_ref(), ", or )")),
            }
        }
    }
}

/// `name`: 1–63 characters, alphanumeric at both ends, `-`, `_`, `.` inside.
fn valid_name(s: &str) -> bool {
    let bytes = s.as_bytes();
    let edge = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
    !s.is_empty()
        && s.len() <= 63
        && edge(bytes.first())
        && edge(bytes.last())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn valid_key(key: String) -> Result<String, String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key.as_str()),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.')
                .all(|part| valid_name(part) && !part.contains('_'))
    });
    if valid_name(name) && prefix_ok {
        Ok(key)
    } else {
        Err(format!(
            "key: Invalid value: \"{key}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ))
    }
}

fn valid_value(value: String) -> Result<String, String> {
    if value.is_empty() || valid_name(&value) {
        Ok(value)
    } else {
        Err(format!(
            "values[0]: Invalid value: \"{value}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ))
    }
}

impl LabelSelector {
    /// Parses a selector; the error is the message the API server returns with 400.
    pub fn parse(input: &str) -> Result<Self, String> {
        let mut parser = Parser {
            tokens: lex(input),
            pos: 0,
        };
        let mut reqs = Vec::new();
        while parser.peek().is_some() {
            let req = parser
                .requirement()
                .map_err(|e| format!("unable to parse requirement: {e}"))?;
            reqs.push(req);
            match parser.advance() {
                None | Some(Token::Comma) => {}
                Some(t) => {
                    let detail = Parser::found(Some(&t), ",");
                    return Err(format!("unable to parse requirement: {detail}"));
                }
            }
        }
        Ok(Self(reqs))
    }

    /// Whether an object with these `metadata.labels` is selected.
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| {
            let v = get(&r.key);
            match &r.op {
                Op::Exists => v.is_some(),
                Op::NotExists => v.is_none(),
                Op::Eq(x) => v == Some(x.as_str()),
                Op::NotEq(x) => v != Some(x.as_str()),
                Op::In(set) => v.is_some_and(|v| set.iter().any(|x| x == v)),
                Op::NotIn(set) => v.is_none_or(|v| set.iter().all(|x| x != v)),
                Op::Gt(n) => v
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v > *n),
                Op::Lt(n) => v
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v < *n),
            }
        })
    }
}

/// One `field=value` or `field!=value` term.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldTerm {
    pub field: String,
    pub equal: bool,
    pub value: String,
}

/// A parsed `fieldSelector`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldSelector(pub Vec<FieldTerm>);

/// Splits on `sep` where it is not escaped by a backslash.
fn split_unescaped(input: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in input.chars() {
        if escaped {
            current.push('\\');
            current.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    if escaped {
        current.push('\\');
    }
    parts.push(current);
    parts
}

fn unescape(value: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(e @ ('\\' | ',' | '=')) => out.push(e),
            Some(e) => return Err(format!("invalid escape sequence: \\{e}")),
            None => return Err("unterminated escape sequence".into()),
        }
    }
    Ok(out)
}

fn term(raw: &str) -> Result<FieldTerm, String> {
    let ops: [(&str, bool); 3] = [("!=", false), ("==", true), ("=", true)];
    for (i, _) in raw.char_indices() {
        if raw[..i].ends_with('\\') {
            continue;
        }
        if let Some((op, equal)) = ops.iter().find(|(op, _)| raw[i..].starts_with(op)) {
            return Ok(FieldTerm {
                field: raw[..i].to_string(),
                equal: *equal,
                value: unescape(&raw[i + op.len()..])?,
            });
        }
    }
    Err(format!(
        "invalid selector: '{raw}'; can't understand '{raw}'"
    ))
}

impl FieldSelector {
    /// Parses a selector; the error is the message the API server returns with 400.
    pub fn parse(input: &str) -> Result<Self, String> {
        if input.trim().is_empty() {
            return Ok(Self::default());
        }
        let terms = split_unescaped(input, ',')
            .iter()
            .map(|t| term(t.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(terms))
    }

    /// Whether the values `lookup` gives for each field satisfy every term.
    pub fn matches(&self, lookup: impl Fn(&str) -> String) -> bool {
        self.0
            .iter()
            .all(|t| (lookup(&t.field) == t.value) == t.equal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn selects(selector: &str, l: &Map<String, Value>) -> bool {
        LabelSelector::parse(selector).unwrap().matches(Some(l))
    }

    #[test]
    fn label_operators() {
        let l = labels(json!({"app": "checkout", "tier": "backend", "rev": "7"}));
        assert!(selects("app=checkout", &l));
        assert!(selects("app==checkout,tier", &l));
        assert!(selects("app!=frontend", &l));
        assert!(selects("missing!=x", &l));
        assert!(selects("tier in (backend, web)", &l));
        assert!(!selects("tier notin (backend)", &l));
        assert!(selects("missing notin (x)", &l));
        assert!(selects("!missing", &l));
        assert!(!selects("!app", &l));
        assert!(selects("rev>5,rev<8", &l));
        assert!(selects("", &l));
        assert!(!selects("app.kubernetes.io/name=checkout", &l));
    }

    #[test]
    fn label_syntax_errors() {
        for bad in [
            "app in backend",
            "app=(",
            "=x",
            "app in (a b)",
            "app=x y",
            "a/b/=c",
        ] {
            let err = LabelSelector::parse(bad).unwrap_err();
            assert!(
                err.starts_with("unable to parse requirement"),
                "{bad}: {err}"
            );
        }
        let missing = LabelSelector::parse("app").unwrap();
        assert!(!missing.matches(None));
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic() {
        let long = "a".repeat(10_000);
        let inputs = [
            "!",
            "(((",
            "a in (",
            "a notin ()",
            "\\",
            "=",
            "a=b\\",
            "ключ=значение",
            ",,,",
            "a>b",
            "a<",
            "!=x",
            long.as_str(),
        ];
        for input in inputs {
            let _ = LabelSelector::parse(input);
            let _ = FieldSelector::parse(input);
        }
        assert!(LabelSelector::parse("ключ=x").is_err());
        assert!(
            LabelSelector::parse(&long).is_err(),
            "names are at most 63 characters"
        );
    }

    #[test]
    fn field_terms_and_escapes() {
        let sel = FieldSelector::parse("status.phase!=Running,metadata.name==a\\,b").unwrap();
        assert_eq!(sel.0.len(), 2);
        assert_eq!(sel.0[1].value, "a,b");
        let lookup = |f: &str| match f {
            "status.phase" => "Pending".to_string(),
            "metadata.name" => "a,b".to_string(),
            _ => String::new(),
        };
        assert!(sel.matches(lookup));
        assert!(FieldSelector::parse("status.phase").is_err());
        assert!(FieldSelector::parse("a=b\\q").is_err());
        assert_eq!(FieldSelector::parse(" ").unwrap(), FieldSelector::default());
    }
}
