//! SCIM filters (RFC 7644 §3.4.2.2): the expressions of `GET /Users?filter=…` and of PATCH
//! paths (`emails[type eq "work"].value`). Parsed here into a `Filter`; `sql` turns one into
//! a `WHERE` clause over a resource's columns (the values always bound, never spliced), and
//! `matches` evaluates one on a JSON object (a multi-valued attribute's element, for PATCH).
//!
//! The grammar: `attrPath op value`, `attrPath pr`, `attr[filter]`, `not (…)`, `(…)`, `and`
//! binding tighter than `or`; operators `eq ne co sw ew gt ge lt le pr`, case-insensitive;
//! values JSON strings, numbers, `true`, `false`, `null`.

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            _ => return None,
        })
    }
}

/// A literal compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    Num(f64),
    Null,
}

/// An attribute path: `name.givenName`, or with its schema,
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN, if written.
    pub uri: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// `urn:…:User:name.givenName`, `name.givenName` or `name`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (uri, rest) = match text.rfind(':') {
            Some(i) if text.to_ascii_lowercase().starts_with("urn:") => {
                (Some(text[..i].to_string()), &text[i + 1..])
            }
            Some(_) => return None,
            None => (None, text),
        };
        let (attr, sub) = match rest.split_once('.') {
            Some((a, s)) => (a, Some(s)),
            None => (rest, None),
        };
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
        };
        if !name_ok(attr) || sub.is_some_and(|s| !name_ok(s)) {
            return None;
        }
        Some(Self {
            uri,
            attr: attr.to_string(),
            sub: sub.map(str::to_string),
        })
    }

    /// The path without its schema, lower case (`name.givenname`): what the attribute
    /// tables are keyed by (attribute names are case-insensitive).
    pub fn key(&self) -> String {
        match &self.sub {
            Some(sub) => format!("{}.{}", self.attr, sub).to_ascii_lowercase(),
            None => self.attr.to_ascii_lowercase(),
        }
    }
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare(AttrPath, Op, Value),
    Present(AttrPath),
    /// `emails[type eq "work"]`: some element of `emails` matches the inner filter.
    ValuePath(AttrPath, Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
}

/// Why a filter was refused (the message goes into the SCIM error's `detail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Word(String),
    Literal(Value),
}

fn tokens(text: &str) -> Result<Vec<Token>, FilterError> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\r' | '\n' => i += 1,
            '(' => {
                out.push(Token::Open);
                i += 1
            }
            ')' => {
                out.push(Token::Close);
                i += 1
            }
            '[' => {
                out.push(Token::OpenBracket);
                i += 1
            }
            ']' => {
                out.push(Token::CloseBracket);
                i += 1
            }
            '"' => {
                // A JSON string: find its end, honouring escapes, and let serde read it.
                let start = i;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(FilterError("A string in the filter is not closed.".into()));
                }
                i += 1;
                let raw: String = chars[start..i].iter().collect();
                let s: String = serde_json::from_str(&raw)
                    .map_err(|_| FilterError(format!("{raw} is not a valid string.")))?;
                out.push(Token::Literal(Value::Str(s)));
            }
            _ => {
                let start = i;
                while i < chars.len() && !" \t\r\n()[]\"".contains(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let lower = word.to_ascii_lowercase();
                out.push(match lower.as_str() {
                    "true" => Token::Literal(Value::Bool(true)),
                    "false" => Token::Literal(Value::Bool(false)),
                    "null" => Token::Literal(Value::Null),
                    _ if word.starts_with(|c: char| c.is_ascii_digit() || c == '-') => {
                        match word.parse::<f64>() {
                            Ok(n) => Token::Literal(Value::Num(n)),
                            Err(_) => Token::Word(word),
                        }
                    }
                    _ => Token::Word(word),
                });
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.at += 1;
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.at += 1;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        if self.keyword("not") {
            self.at += 1;
            return Ok(Filter::Not(Box::new(self.group()?)));
        }
        if self.peek() == Some(&Token::Open) {
            return self.group();
        }
        self.comparison()
    }

    fn group(&mut self) -> Result<Filter, FilterError> {
        if self.next() != Some(Token::Open) {
            return Err(FilterError("Expected \"(\" after not.".into()));
        }
        let inner = self.or()?;
        if self.next() != Some(Token::Close) {
            return Err(FilterError("A \"(\" is not closed.".into()));
        }
        Ok(inner)
    }

    fn comparison(&mut self) -> Result<Filter, FilterError> {
        let Some(Token::Word(word)) = self.next() else {
            return Err(FilterError("Expected an attribute name.".into()));
        };
        let path = AttrPath::parse(&word)
            .ok_or_else(|| FilterError(format!("{word:?} is not an attribute path.")))?;
        if self.peek() == Some(&Token::OpenBracket) {
            self.at += 1;
            let inner = self.or()?;
            if self.next() != Some(Token::CloseBracket) {
                return Err(FilterError("A \"[\" is not closed.".into()));
            }
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        let Some(Token::Word(op)) = self.next() else {
            return Err(FilterError(format!("Expected an operator after {word}.")));
        };
        if op.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = Op::parse(&op).ok_or_else(|| {
            FilterError(format!(
                "{op:?} is not an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)."
            ))
        })?;
        match self.next() {
            Some(Token::Literal(v)) => Ok(Filter::Compare(path, op, v)),
            _ => Err(FilterError(format!(
                "Expected a value (a \"string\", a number, true, false or null) after {word}."
            ))),
        }
    }
}

/// Parses a whole filter.
pub fn parse(text: &str) -> Result<Filter, FilterError> {
    if text.chars().count() > 2000 {
        return Err(FilterError(
            "The filter is longer than 2000 characters.".into(),
        ));
    }
    let mut p = Parser {
        tokens: tokens(text)?,
        at: 0,
    };
    if p.tokens.is_empty() {
        return Err(FilterError("The filter is empty.".into()));
    }
    let f = p.or()?;
    if p.at != p.tokens.len() {
        return Err(FilterError(
            "The filter has more after its end (use and / or between expressions).".into(),
        ));
    }
    Ok(f)
}

/// A PATCH path: `attr`, `attr.sub`, `attr[filter]` or `attr[filter].sub`, any with its
/// schema URN in front.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    /// The sub-attribute after `[filter]`.
    pub sub: Option<String>,
}

pub fn parse_patch_path(text: &str) -> Result<PatchPath, FilterError> {
    let text = text.trim();
    let bad = || FilterError(format!("{text:?} is not a path."));
    match text.find('[') {
        None => Ok(PatchPath {
            attr: AttrPath::parse(text).ok_or_else(bad)?,
            filter: None,
            sub: None,
        }),
        Some(open) => {
            let close = text.rfind(']').ok_or_else(bad)?;
            if close < open {
                return Err(bad());
            }
            let attr = AttrPath::parse(&text[..open]).ok_or_else(bad)?;
            let filter = parse(&text[open + 1..close])?;
            let rest = &text[close + 1..];
            let sub = match rest.strip_prefix('.') {
                Some(s) if !s.is_empty() => Some(s.to_string()),
                None if rest.is_empty() => None,
                _ => return Err(bad()),
            };
            Ok(PatchPath {
                attr,
                filter: Some(filter),
                sub,
            })
        }
    }
}

/// Whether the JSON object `item` (an element of a multi-valued attribute) matches `f`,
/// its attributes compared case-insensitively (strings) as `caseExact: false` says.
pub fn matches(f: &Filter, item: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    let get = |p: &AttrPath| -> Option<&J> {
        let obj = item.as_object()?;
        let v = obj
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&p.attr))
            .map(|(_, v)| v)?;
        match &p.sub {
            None => Some(v),
            Some(sub) => v
                .as_object()?
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(sub))
                .map(|(_, v)| v),
        }
    };
    match f {
        Filter::And(a, b) => matches(a, item) && matches(b, item),
        Filter::Or(a, b) => matches(a, item) || matches(b, item),
        Filter::Not(a) => !matches(a, item),
        Filter::Present(p) => {
            get(p).is_some_and(|v| !v.is_null() && v != &J::String(String::new()))
        }
        Filter::ValuePath(..) => false,
        Filter::Compare(p, op, value) => {
            let actual = get(p);
            match (actual, value) {
                (Some(J::String(a)), Value::Str(b)) => {
                    let (a, b) = (a.to_lowercase(), b.to_lowercase());
                    match op {
                        Op::Eq => a == b,
                        Op::Ne => a != b,
                        Op::Co => a.contains(&b),
                        Op::Sw => a.starts_with(&b),
                        Op::Ew => a.ends_with(&b),
                        Op::Gt => a > b,
                        Op::Ge => a >= b,
                        Op::Lt => a < b,
                        Op::Le => a <= b,
                    }
                }
                (Some(J::Bool(a)), Value::Bool(b)) => match op {
                    Op::Eq => a == b,
                    Op::Ne => a != b,
                    _ => false,
                },
                (None | Some(J::Null), Value::Null) => *op == Op::Eq,
                (Some(v), Value::Null) => *op == Op::Ne && !v.is_null(),
                (None, _) => *op == Op::Ne,
                _ => false,
            }
        }
    }
}

/// The type of a column a filter can compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// Text compared ignoring case (`caseExact: false`).
    Text(&'static str),
    /// Text compared exactly (`id`, `externalId`).
    ExactText(&'static str),
    /// A boolean expression (`active`).
    Bool(&'static str),
    /// A timestamp (`meta.created`, `meta.lastModified`).
    Time(&'static str),
}

/// A value bound to a `$n` placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    Time(chrono::DateTime<chrono::Utc>),
}

/// A `WHERE` clause: SQL with `$1…$n`, and the values for them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sql {
    pub text: String,
    pub binds: Vec<Bind>,
}

impl Sql {
    fn bind(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }
}

/// `value` for a LIKE pattern, its wildcards escaped (with `\`).
fn like_escaped(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The SQL of `f`, with `column` naming each attribute path's column (its key:
/// `AttrPath::key`, the schema dropped) and `multi` the attributes with elements
/// (`emails[…]`, whose sub-attribute `value` is the column of the attribute itself).
pub fn sql(f: &Filter, column: &dyn Fn(&str) -> Option<Column>) -> Result<Sql, FilterError> {
    let mut out = Sql::default();
    out.text = write(f, column, &mut out, None)?;
    Ok(out)
}

fn write(
    f: &Filter,
    column: &dyn Fn(&str) -> Option<Column>,
    out: &mut Sql,
    within: Option<&AttrPath>,
) -> Result<String, FilterError> {
    Ok(match f {
        Filter::And(a, b) => format!(
            "({} AND {})",
            write(a, column, out, within)?,
            write(b, column, out, within)?
        ),
        Filter::Or(a, b) => format!(
            "({} OR {})",
            write(a, column, out, within)?,
            write(b, column, out, within)?
        ),
        Filter::Not(a) => format!("(NOT {})", write(a, column, out, within)?),
        Filter::ValuePath(attr, inner) => {
            if within.is_some() {
                return Err(FilterError(
                    "A filter in brackets cannot hold another.".into(),
                ));
            }
            write(inner, column, out, Some(attr))?
        }
        Filter::Present(p) => {
            let key = full_key(p, within);
            match column(&key).ok_or_else(|| unknown(&key))? {
                Column::Text(c) | Column::ExactText(c) => {
                    format!("({c} IS NOT NULL AND {c} <> '')")
                }
                Column::Bool(c) | Column::Time(c) => format!("({c} IS NOT NULL)"),
            }
        }
        Filter::Compare(p, op, value) => {
            let key = full_key(p, within);
            let col = column(&key).ok_or_else(|| unknown(&key))?;
            compare(col, *op, value, out, &key)?
        }
    })
}

/// The key of `p`, read inside `within`'s brackets (`emails[type eq "work"]` → `emails.type`;
/// `emails[value eq …]` → `emails.value`).
fn full_key(p: &AttrPath, within: Option<&AttrPath>) -> String {
    match within {
        Some(outer) => format!("{}.{}", outer.attr, p.attr).to_ascii_lowercase(),
        None => p.key(),
    }
}

fn unknown(key: &str) -> FilterError {
    FilterError(format!("The attribute {key:?} cannot be filtered on."))
}

fn compare(
    col: Column,
    op: Op,
    value: &Value,
    out: &mut Sql,
    key: &str,
) -> Result<String, FilterError> {
    let wrong = || {
        FilterError(format!(
            "{key:?} cannot be compared that way with that value."
        ))
    };
    Ok(match (col, value) {
        (Column::Text(c) | Column::ExactText(c), Value::Null) => match op {
            Op::Eq => format!("({c} IS NULL OR {c} = '')"),
            Op::Ne => format!("({c} IS NOT NULL AND {c} <> '')"),
            _ => return Err(wrong()),
        },
        (Column::Text(c), Value::Str(s)) => {
            let (c, v) = (format!("lower({c})"), s.to_lowercase());
            text_compare(&c, op, v, out)
        }
        (Column::ExactText(c), Value::Str(s)) => text_compare(c, op, s.clone(), out),
        (Column::Text(c) | Column::ExactText(c), Value::Num(n)) => {
            text_compare(c, op, format_number(*n), out)
        }
        (Column::Bool(c), Value::Bool(b)) => match op {
            Op::Eq if *b => format!("({c})"),
            Op::Eq => format!("(NOT {c})"),
            Op::Ne if *b => format!("(NOT {c})"),
            Op::Ne => format!("({c})"),
            _ => return Err(wrong()),
        },
        (Column::Time(c), Value::Str(s)) => {
            let at = chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|_| FilterError(format!("{s:?} is not a date-time (RFC 3339).")))?
                .with_timezone(&chrono::Utc);
            let sign = match op {
                Op::Eq => "=",
                Op::Ne => "<>",
                Op::Gt => ">",
                Op::Ge => ">=",
                Op::Lt => "<",
                Op::Le => "<=",
                _ => return Err(wrong()),
            };
            let p = out.bind(Bind::Time(at));
            format!("({c} {sign} {p})")
        }
        _ => return Err(wrong()),
    })
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn text_compare(c: &str, op: Op, v: String, out: &mut Sql) -> String {
    let like = |out: &mut Sql, pattern: String| {
        let p = out.bind(Bind::Text(pattern));
        format!("(COALESCE({c}, '') LIKE {p} ESCAPE '\\')")
    };
    match op {
        Op::Eq => {
            let p = out.bind(Bind::Text(v));
            format!("({c} = {p})")
        }
        Op::Ne => {
            let p = out.bind(Bind::Text(v));
            format!("({c} IS DISTINCT FROM {p})")
        }
        Op::Co => like(out, format!("%{}%", like_escaped(&v))),
        Op::Sw => like(out, format!("{}%", like_escaped(&v))),
        Op::Ew => like(out, format!("%{}", like_escaped(&v))),
        Op::Gt | Op::Ge | Op::Lt | Op::Le => {
            let sign = match op {
                Op::Gt => ">",
                Op::Ge => ">=",
                Op::Lt => "<",
                _ => "<=",
            };
            let p = out.bind(Bind::Text(v));
            format!("({c} {sign} {p})")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(key: &str) -> Option<Column> {
        Some(match key {
            "username" => Column::Text("s.user_name"),
            "externalid" => Column::ExactText("s.external_id"),
            "emails" | "emails.value" => Column::Text("u.email"),
            "emails.type" => Column::Text("'work'"),
            "active" => Column::Bool("u.active"),
            "meta.lastmodified" => Column::Time("s.updated_at"),
            _ => return None,
        })
    }

    #[test]
    fn the_filters_identity_providers_send_parse() {
        for text in [
            r#"userName eq "ada@example.com""#,
            r#"UserName EQ "ada@example.com""#,
            r#"externalId eq "00u1" and active eq true"#,
            r#"emails[type eq "work" and value co "@example.com"]"#,
            r#"not (userName sw "a") or emails.value ew ".org""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x""#,
            r#"meta.lastModified gt "2026-01-01T00:00:00Z""#,
            r#"userName pr"#,
        ] {
            let f = parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            sql(&f, &cols).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        }
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let f = parse(r#"userName eq "a" or userName eq "b" and active eq false"#).unwrap();
        assert!(matches!(f, Filter::Or(_, ref right) if matches!(**right, Filter::And(..))));
    }

    #[test]
    fn values_are_bound_never_spliced_and_wildcards_are_escaped() {
        let f = parse(r#"userName co "50%_off'; DROP TABLE users; --""#).unwrap();
        let q = sql(&f, &cols).unwrap();
        assert!(!q.text.contains("DROP"), "{}", q.text);
        assert_eq!(
            q.binds,
            vec![Bind::Text("%50\\%\\_off'; drop table users; --%".into())]
        );
    }

    #[test]
    fn bad_filters_say_why() {
        for text in [
            "",
            "userName",
            r#"userName eq"#,
            r#"userName is "x""#,
            r#"userName eq "x" userName eq "y""#,
            r#"(userName eq "x""#,
            r#"userName eq "unclosed"#,
            r#"password eq "x""#,
            r#"active co true"#,
            r#"meta.lastModified gt "yesterday""#,
        ] {
            let r = parse(text).and_then(|f| sql(&f, &cols));
            assert!(r.is_err(), "{text} should be refused");
        }
    }

    #[test]
    fn patch_paths_with_filters_and_sub_attributes() {
        let p = parse_patch_path(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(p.attr.attr, "emails");
        assert_eq!(p.sub.as_deref(), Some("value"));
        assert!(p.filter.is_some());
        let p =
            parse_patch_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager")
                .unwrap();
        assert_eq!(p.attr.attr, "manager");
        assert!(p.attr.uri.is_some());
        assert!(parse_patch_path("emails[type eq \"work\"]x").is_err());
    }

    #[test]
    fn an_element_matches_ignoring_case() {
        let f = parse(r#"type eq "WORK" and primary eq true"#).unwrap();
        assert!(matches(
            &f,
            &serde_json::json!({"type": "work", "primary": true, "value": "a@b.c"})
        ));
        assert!(!matches(
            &f,
            &serde_json::json!({"type": "home", "primary": true})
        ));
    }
}
