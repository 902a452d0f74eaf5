//! Template functions: upstream's 16 (`TemplateFuncMap`) and the Go builtins dbprov supports, with Go's
//! semantics (`urlEncode` is `url.QueryEscape`, `quote`/`toJson` escape like `json.Marshal`...).

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::template::parse::Ty;

/// A runtime value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    Nil,
    /// The whole data (`.`), rendered from the fields.
    Data(Vec<(&'static str, Value)>),
}

impl Value {
    pub(crate) fn truthy(&self) -> bool {
        match self {
            Value::Str(value) => !value.is_empty(),
            Value::Int(value) => *value != 0,
            Value::Bool(value) => *value,
            Value::Nil => false,
            Value::Data(_) => true,
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Int(_) => "int",
            Value::Bool(_) => "bool",
            Value::Nil => "nil",
            Value::Data(_) => "secret.TemplateData",
        }
    }

    /// `fmt.Sprint` of one value.
    pub(crate) fn print(&self) -> String {
        match self {
            Value::Str(value) => value.clone(),
            Value::Int(value) => value.to_string(),
            Value::Bool(value) => value.to_string(),
            Value::Nil => "<nil>".to_owned(),
            Value::Data(fields) => {
                let inner: Vec<String> = fields.iter().map(|(_, value)| value.print()).collect();
                format!("{{{}}}", inner.join(" "))
            }
        }
    }

    fn as_str(&self, function: &str) -> Result<&str, String> {
        match self {
            Value::Str(value) => Ok(value),
            other => Err(format!(
                "wrong type for value in {function}: expected string; got {}",
                other.type_name()
            )),
        }
    }
}

/// The signature of a function, for type checking at parse time.
pub(crate) struct Signature {
    pub params: &'static [Ty],
    pub variadic: Option<Ty>,
    pub result: Ty,
}

macro_rules! functions {
    ($($variant:ident => $name:literal,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Function { $($variant,)* }

        impl Function {
            const ALL: &'static [Function] = &[$(Function::$variant,)*];

            pub(crate) fn name(self) -> &'static str {
                match self { $(Function::$variant => $name,)* }
            }
        }
    };
}

functions! {
    UrlEncode => "urlEncode",
    UrlPathEncode => "urlPathEncode",
    Base64Encode => "base64Encode",
    Base64Decode => "base64Decode",
    Upper => "upper",
    Lower => "lower",
    Title => "title",
    Trim => "trim",
    TrimPrefix => "trimPrefix",
    TrimSuffix => "trimSuffix",
    Replace => "replace",
    Quote => "quote",
    Squote => "squote",
    Default => "default",
    ToJson => "toJson",
    Join => "join",
    And => "and",
    Or => "or",
    Not => "not",
    Eq => "eq",
    Ne => "ne",
    Lt => "lt",
    Le => "le",
    Gt => "gt",
    Ge => "ge",
    Len => "len",
    Print => "print",
    Printf => "printf",
    Println => "println",
    Urlquery => "urlquery",
}

const STR1: &[Ty] = &[Ty::Str];
const STR2: &[Ty] = &[Ty::Str, Ty::Str];
const STR3: &[Ty] = &[Ty::Str, Ty::Str, Ty::Str];
const ANY1: &[Ty] = &[Ty::Any];
const ANY2: &[Ty] = &[Ty::Any, Ty::Any];

impl Function {
    pub(crate) fn lookup(name: &str) -> Option<Function> {
        Self::ALL.iter().copied().find(|function| function.name() == name)
    }

    pub(crate) fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|function| function.name()).collect()
    }

    pub(crate) fn signature(self) -> Signature {
        use Function::*;
        let (params, variadic, result) = match self {
            UrlEncode | UrlPathEncode | Base64Encode | Base64Decode | Upper | Lower | Title | Trim
            | Quote | Squote => (STR1, None, Ty::Str),
            TrimPrefix | TrimSuffix | Default => (STR2, None, Ty::Str),
            Replace => (STR3, None, Ty::Str),
            ToJson => (ANY1, None, Ty::Str),
            Join => (&[Ty::StrList, Ty::Str][..], None, Ty::Str),
            And | Or => (ANY1, Some(Ty::Any), Ty::Any),
            Not => (ANY1, None, Ty::Bool),
            Eq => (ANY2, Some(Ty::Any), Ty::Bool),
            Ne | Lt | Le | Gt | Ge => (ANY2, None, Ty::Bool),
            Len => (ANY1, None, Ty::Int),
            Print | Println | Urlquery => (&[][..], Some(Ty::Any), Ty::Str),
            Printf => (STR1, Some(Ty::Any), Ty::Str),
        };
        Signature {
            params,
            variadic,
            result,
        }
    }

    /// Comparisons need operands of one type.
    pub(crate) fn compares(self) -> bool {
        matches!(
            self,
            Function::Eq | Function::Ne | Function::Lt | Function::Le | Function::Gt | Function::Ge
        )
    }

    /// `and`/`or` return one of their arguments.
    pub(crate) fn returns_argument(self) -> bool {
        matches!(self, Function::And | Function::Or)
    }

    pub(crate) fn call(self, args: Vec<Value>) -> Result<Value, String> {
        use Function::*;
        let name = self.name();
        let text = |index: usize| -> Result<&str, String> { args[index].as_str(name) };
        Ok(match self {
            UrlEncode => Value::Str(query_escape(text(0)?)),
            UrlPathEncode => Value::Str(path_escape(text(0)?)),
            Base64Encode => Value::Str(STANDARD.encode(text(0)?)),
            Base64Decode => {
                // Go's decoder skips line breaks; padding is required.
                let input: String = text(0)?.chars().filter(|ch| *ch != '\r' && *ch != '\n').collect();
                let bytes = STANDARD
                    .decode(input.as_bytes())
                    .map_err(|error| format!("base64Decode: {error}"))?;
                Value::Str(
                    String::from_utf8(bytes)
                        .map_err(|_| "base64Decode: the decoded value is not UTF-8 text".to_owned())?,
                )
            }
            Upper => Value::Str(text(0)?.chars().map(simple_upper).collect()),
            Lower => Value::Str(text(0)?.chars().map(simple_lower).collect()),
            Title => {
                let value = text(0)?;
                let mut chars = value.chars();
                Value::Str(match chars.next() {
                    Some(first) => std::iter::once(simple_upper(first)).chain(chars).collect(),
                    None => String::new(),
                })
            }
            Trim => Value::Str(text(0)?.trim().to_owned()),
            TrimPrefix => {
                let value = text(0)?;
                Value::Str(value.strip_prefix(text(1)?).unwrap_or(value).to_owned())
            }
            TrimSuffix => {
                let value = text(0)?;
                Value::Str(value.strip_suffix(text(1)?).unwrap_or(value).to_owned())
            }
            Replace => Value::Str(text(0)?.replace(text(1)?, text(2)?)),
            Quote => Value::Str(json_string(text(0)?)),
            Squote => Value::Str(format!("'{}'", text(0)?.replace('\'', "'\\''"))),
            Default => {
                let value = text(1)?;
                Value::Str(if value.is_empty() { text(0)? } else { value }.to_owned())
            }
            ToJson => Value::Str(to_json(&args[0])),
            Join => return Err("wrong type for value in join: expected []string".to_owned()),
            And => args
                .iter()
                .find(|value| !value.truthy())
                .unwrap_or(&args[args.len() - 1])
                .clone(),
            Or => args
                .iter()
                .find(|value| value.truthy())
                .unwrap_or(&args[args.len() - 1])
                .clone(),
            Not => Value::Bool(!args[0].truthy()),
            Eq => {
                let mut equal = false;
                for other in &args[1..] {
                    equal |= compare(name, &args[0], other)? == std::cmp::Ordering::Equal;
                }
                Value::Bool(equal)
            }
            Ne => Value::Bool(compare(name, &args[0], &args[1])? != std::cmp::Ordering::Equal),
            Lt => Value::Bool(compare(name, &args[0], &args[1])?.is_lt()),
            Le => Value::Bool(compare(name, &args[0], &args[1])?.is_le()),
            Gt => Value::Bool(compare(name, &args[0], &args[1])?.is_gt()),
            Ge => Value::Bool(compare(name, &args[0], &args[1])?.is_ge()),
            Len => match &args[0] {
                Value::Str(value) => Value::Int(i64::try_from(value.len()).unwrap_or(i64::MAX)),
                other => return Err(format!("len of type {}", other.type_name())),
            },
            Print => Value::Str(sprint(&args)),
            Println => {
                let parts: Vec<String> = args.iter().map(Value::print).collect();
                Value::Str(format!("{}\n", parts.join(" ")))
            }
            Urlquery => Value::Str(query_escape(&sprint(&args))),
            Printf => Value::Str(sprintf(text(0)?, &args[1..])?),
        })
    }
}

/// Go's `unicode.ToUpper`: a one-to-one mapping (`ß` stays `ß`).
fn simple_upper(ch: char) -> char {
    let mut upper = ch.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(single), None) => single,
        _ => ch,
    }
}

fn simple_lower(ch: char) -> char {
    let mut lower = ch.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(single), None) => single,
        _ => ch,
    }
}

fn compare(name: &str, left: &Value, right: &Value) -> Result<std::cmp::Ordering, String> {
    match (left, right) {
        (Value::Str(a), Value::Str(b)) => Ok(a.cmp(b)),
        (Value::Int(a), Value::Int(b)) => Ok(a.cmp(b)),
        (Value::Bool(a), Value::Bool(b)) if matches!(name, "eq" | "ne") => Ok(a.cmp(b)),
        (Value::Nil, Value::Nil) if matches!(name, "eq" | "ne") => Ok(std::cmp::Ordering::Equal),
        _ => Err(format!(
            "incompatible types for comparison in {name}: {} and {}",
            left.type_name(),
            right.type_name()
        )),
    }
}

/// `fmt.Sprint`: a space between operands when neither is a string.
fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (index, value) in args.iter().enumerate() {
        if index > 0 && !matches!(value, Value::Str(_)) && !matches!(args[index - 1], Value::Str(_)) {
            out.push(' ');
        }
        out.push_str(&value.print());
    }
    out
}

/// `fmt.Sprintf` for the verbs `%s %v %d %q %x %X %t %%`.
fn sprintf(format: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = format.chars();
    let mut next_arg = args.iter();
    while let Some(ch) = chars.next() {
        if ch != '%' {
            out.push(ch);
            continue;
        }
        let verb = chars.next().ok_or("printf: format ends with %")?;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(value) = next_arg.next() else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        match (verb, value) {
            ('s' | 'v', value) => out.push_str(&value.print()),
            ('d', Value::Int(number)) => out.push_str(&number.to_string()),
            ('t', Value::Bool(flag)) => out.push_str(&flag.to_string()),
            ('q', Value::Str(text)) => out.push_str(&go_quote(text)),
            ('x', Value::Str(text)) => text.bytes().for_each(|byte| {
                let _ = write!(out, "{byte:02x}");
            }),
            ('X', Value::Str(text)) => text.bytes().for_each(|byte| {
                let _ = write!(out, "{byte:02X}");
            }),
            ('x', Value::Int(number)) => {
                let _ = write!(out, "{number:x}");
            }
            ('X', Value::Int(number)) => {
                let _ = write!(out, "{number:X}");
            }
            (verb, value) if "sdvqxXt".contains(verb) => {
                let _ = write!(out, "%!{verb}({}={})", value.type_name(), value.print());
            }
            (verb, _) => {
                return Err(format!(
                    "printf: verb %{verb} is not supported (use %s %v %d %q %x %t)"
                ));
            }
        }
    }
    Ok(out)
}

/// Go's `%q` of a string (`strconv.Quote`).
fn go_quote(text: &str) -> String {
    let mut out = String::from("\"");
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            ch if (ch as u32) < 0x20 || ch == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", ch as u32);
            }
            ch => out.push(ch),
        }
    }
    out.push('"');
    out
}

/// `url.QueryEscape`: unreserved characters stay, space becomes `+`, everything else `%XX`.
pub(crate) fn query_escape(value: &str) -> String {
    escape(
        value,
        |byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~'),
        true,
    )
}

/// `url.PathEscape`: like `QueryEscape`, but space is `%20` and `$ & + : = @` stay.
pub(crate) fn path_escape(value: &str) -> String {
    escape(
        value,
        |byte| {
            byte.is_ascii_alphanumeric()
                || matches!(
                    byte,
                    b'-' | b'_' | b'.' | b'~' | b'$' | b'&' | b'+' | b':' | b'=' | b'@'
                )
        },
        false,
    )
}

/// RFC 3986 userinfo/path-segment escaping for connection URIs: only unreserved characters stay.
pub(crate) fn component_escape(value: &str) -> String {
    escape(
        value,
        |byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~'),
        false,
    )
}

fn escape(value: &str, keep: impl Fn(u8) -> bool, space_as_plus: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if keep(byte) {
            out.push(char::from(byte));
        } else if byte == b' ' && space_as_plus {
            out.push('+');
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// `json.Marshal` of a string: JSON escapes plus Go's HTML-safe escapes of `<`, `>`, `&`, U+2028 and U+2029.
pub(crate) fn json_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for ch in value.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", ch as u32);
            }
            ch if (ch as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", ch as u32);
            }
            ch => out.push(ch),
        }
    }
    out.push('"');
    out
}

fn to_json(value: &Value) -> String {
    match value {
        Value::Str(text) => json_string(text),
        Value::Int(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Nil => "null".to_owned(),
        Value::Data(fields) => {
            let inner: Vec<String> = fields
                .iter()
                .map(|(name, value)| format!("{}:{}", json_string(name), to_json(value)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
    }
}
