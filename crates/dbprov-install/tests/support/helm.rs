//! A small Helm renderer for the tests: Go `text/template` with the constructs and Sprig functions the
//! generated chart uses, evaluated with Helm's semantics (`.` rebinds inside `range`/`with`, `$` is the
//! root, missing map keys print nothing, a field of nil or of a scalar is an error). The `helm` binary is
//! not installable from the package registries the project uses, so the chart is rendered here.
//! Anything outside the subset is an error, never ignored, so a template the subset cannot judge fails
//! the test instead of passing it.

use std::path::Path;

use serde_json::{Map, Value};

/// A chart read from disk.
pub struct Chart {
    /// `values.yaml`.
    pub values: Value,
    /// `Chart.yaml`.
    pub metadata: Value,
    /// `(file name, source)` of every file in `templates/`.
    pub templates: Vec<(String, String)>,
    /// The documents of every file in `crds/`.
    pub crds: Vec<Value>,
}

impl Chart {
    pub fn load(directory: &Path) -> Chart {
        let read = |path: &Path| {
            std::fs::read_to_string(path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
        };
        let values =
            serde_saphyr::from_str(&read(&directory.join("values.yaml"))).expect("values.yaml parses");
        let metadata =
            serde_saphyr::from_str(&read(&directory.join("Chart.yaml"))).expect("Chart.yaml parses");
        let mut templates = Vec::new();
        for path in sorted_files(&directory.join("templates")) {
            let name = path
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            templates.push((name, read(&path)));
        }
        let mut crds = Vec::new();
        for path in sorted_files(&directory.join("crds")) {
            crds.extend(
                documents(&read(&path)).unwrap_or_else(|error| panic!("{}: {error}", path.display())),
            );
        }
        Chart {
            values,
            metadata,
            templates,
            crds,
        }
    }

    /// Renders every template as `helm template --namespace NAMESPACE --values OVERRIDES` would:
    /// `(file name, output)`, or the first error.
    pub fn render(&self, namespace: &str, overrides: &Value) -> Result<Vec<(String, String)>, String> {
        let mut values = self.values.clone();
        merge(&mut values, overrides);
        let root = serde_json::json!({
            "Values": values,
            "Release": { "Namespace": namespace, "Name": "dbprov", "Service": "Helm" },
            "Chart": {
                "Name": self.metadata["name"],
                "Version": self.metadata["version"],
                "AppVersion": self.metadata["appVersion"],
            },
        });
        self.templates
            .iter()
            .map(|(name, source)| {
                render(source, &root)
                    .map(|output| (name.clone(), output))
                    .map_err(|error| format!("{name}: {error}"))
            })
            .collect()
    }

    /// The Kubernetes objects of a render (YAML templates only, empty documents dropped, as Helm does).
    pub fn objects(&self, namespace: &str, overrides: &Value) -> Result<Vec<Value>, String> {
        let mut objects = Vec::new();
        for (name, output) in self.render(namespace, overrides)? {
            if name.ends_with(".yaml") {
                objects.extend(documents(&output).map_err(|error| format!("{name}: {error}\n{output}"))?);
            }
        }
        Ok(objects)
    }
}

/// The non-empty documents of a YAML stream.
pub fn documents(yaml: &str) -> Result<Vec<Value>, String> {
    let documents: Vec<Value> = serde_saphyr::from_multiple(yaml).map_err(|error| error.to_string())?;
    Ok(documents
        .into_iter()
        .filter(|document| !document.is_null())
        .collect())
}

fn sorted_files(directory: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(directory)
        .unwrap_or_else(|error| panic!("read {}: {error}", directory.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Helm's value merge: maps merge key by key, anything else replaces.
fn merge(base: &mut Value, overrides: &Value) {
    match (base, overrides) {
        (Value::Object(base), Value::Object(overrides)) => {
            for (key, value) in overrides {
                merge(base.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (base, overrides) => *base = overrides.clone(),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Lexing: text and actions, with `{{-`/`-}}` trimming and comments.

#[derive(Debug)]
enum Piece {
    Text(String),
    Action(String),
}

fn lex(source: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = source;
    let mut trim_next = false;
    while let Some(open) = rest.find("{{") {
        let mut text = rest[..open].to_owned();
        if trim_next {
            text = text.trim_start().to_owned();
        }
        let mut body = &rest[open + 2..];
        if body.starts_with("- ") || body.starts_with("-\n") || body.starts_with("-\t") {
            text = text.trim_end().to_owned();
            body = &body[1..];
        }
        pieces.push(Piece::Text(text));
        let close = find_close(body).ok_or("an action is not closed with }}")?;
        let mut action = &body[..close];
        trim_next = false;
        if action.ends_with(" -") || action.ends_with("\n-") || action.ends_with("\t-") {
            action = &action[..action.len() - 1];
            trim_next = true;
        }
        let action = action.trim();
        if !(action.starts_with("/*") && action.ends_with("*/")) {
            pieces.push(Piece::Action(action.to_owned()));
        }
        rest = &body[close + 2..];
    }
    let mut text = rest.to_owned();
    if trim_next {
        text = text.trim_start().to_owned();
    }
    pieces.push(Piece::Text(text));
    Ok(pieces)
}

/// The position of the `}}` that closes an action, skipping quoted strings.
fn find_close(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut quote: Option<u8> = None;
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        match quote {
            Some(b'"') if byte == b'\\' => index += 1,
            Some(open) if byte == open => quote = None,
            Some(_) => {}
            None if byte == b'"' || byte == b'`' => quote = Some(byte),
            None if byte == b'}' && bytes.get(index + 1) == Some(&b'}') => return Some(index),
            None => {}
        }
        index += 1;
    }
    None
}

// ---------------------------------------------------------------------------------------------------------
// Parsing: a tree of text, output actions and control structures; pipelines of commands.

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Output(Pipeline),
    If {
        branches: Vec<(Pipeline, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
    Range {
        pipeline: Pipeline,
        body: Vec<Node>,
    },
    With {
        pipeline: Pipeline,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

#[derive(Debug, Clone)]
struct Pipeline {
    declare: Option<String>,
    commands: Vec<Vec<Operand>>,
}

#[derive(Debug, Clone)]
enum Operand {
    /// `.A.B` (empty: `.`).
    Field(Vec<String>),
    /// `$name.A.B` (`$` alone: the root).
    Variable(String, Vec<String>),
    Function(String),
    Literal(Value),
    Nested(Pipeline),
}

/// How a list of nodes ended.
enum Closer {
    Eof,
    End,
    Else,
    ElseIf(Pipeline),
}

fn parse(source: &str) -> Result<Vec<Node>, String> {
    let pieces = lex(source)?;
    let mut position = 0;
    let (nodes, end) = parse_list(&pieces, &mut position)?;
    match end {
        Closer::Eof => Ok(nodes),
        _ => Err("{{ end }} or {{ else }} without an opening action".to_owned()),
    }
}

fn parse_list(pieces: &[Piece], position: &mut usize) -> Result<(Vec<Node>, Closer), String> {
    let mut nodes = Vec::new();
    while *position < pieces.len() {
        let piece = &pieces[*position];
        *position += 1;
        let action = match piece {
            Piece::Text(text) => {
                nodes.push(Node::Text(text.clone()));
                continue;
            }
            Piece::Action(action) => action.as_str(),
        };
        let (keyword, rest) = action.split_once(char::is_whitespace).unwrap_or((action, ""));
        match keyword {
            "end" => return Ok((nodes, Closer::End)),
            "else" if rest.trim().is_empty() => return Ok((nodes, Closer::Else)),
            "else" => {
                let condition = rest
                    .trim()
                    .strip_prefix("if ")
                    .ok_or_else(|| format!("unsupported action {{{{ {action} }}}}"))?;
                return Ok((nodes, Closer::ElseIf(parse_pipeline(condition)?)));
            }
            "if" => {
                let mut branches = Vec::new();
                let mut condition = parse_pipeline(rest)?;
                let otherwise = loop {
                    let (body, end) = parse_list(pieces, position)?;
                    branches.push((condition, body));
                    match end {
                        Closer::End => break Vec::new(),
                        Closer::ElseIf(next) => condition = next,
                        Closer::Else => {
                            let (otherwise, end) = parse_list(pieces, position)?;
                            if !matches!(end, Closer::End) {
                                return Err("{{ if }} … {{ else }} not closed by {{ end }}".to_owned());
                            }
                            break otherwise;
                        }
                        Closer::Eof => return Err("{{ if }} not closed by {{ end }}".to_owned()),
                    }
                };
                nodes.push(Node::If { branches, otherwise });
            }
            "range" => {
                let pipeline = parse_pipeline(rest)?;
                let (body, end) = parse_list(pieces, position)?;
                if !matches!(end, Closer::End) {
                    return Err("{{ range }} must be closed by {{ end }} (no else in this subset)".to_owned());
                }
                nodes.push(Node::Range { pipeline, body });
            }
            "with" => {
                let pipeline = parse_pipeline(rest)?;
                let (body, end) = parse_list(pieces, position)?;
                let otherwise = match end {
                    Closer::End => Vec::new(),
                    Closer::Else => {
                        let (otherwise, end) = parse_list(pieces, position)?;
                        if !matches!(end, Closer::End) {
                            return Err("{{ with }} … {{ else }} not closed by {{ end }}".to_owned());
                        }
                        otherwise
                    }
                    _ => return Err("{{ with }} not closed by {{ end }}".to_owned()),
                };
                nodes.push(Node::With {
                    pipeline,
                    body,
                    otherwise,
                });
            }
            "define" | "template" | "block" | "include" | "break" | "continue" => {
                return Err(format!("unsupported action {{{{ {action} }}}}"));
            }
            _ => nodes.push(Node::Output(parse_pipeline(action)?)),
        }
    }
    Ok((nodes, Closer::Eof))
}

#[derive(Debug, Clone, PartialEq)]
enum Word {
    Open,
    Close,
    Pipe,
    Declare,
    Text(String),
    Quoted(String),
}

fn words(source: &str) -> Result<Vec<Word>, String> {
    let mut words = Vec::new();
    let chars: Vec<char> = source.chars().collect();
    let mut index = 0;
    while index < chars.len() {
        let char = chars[index];
        match char {
            _ if char.is_whitespace() => index += 1,
            '(' => {
                words.push(Word::Open);
                index += 1;
            }
            ')' => {
                words.push(Word::Close);
                index += 1;
            }
            '|' => {
                words.push(Word::Pipe);
                index += 1;
            }
            ':' if chars.get(index + 1) == Some(&'=') => {
                words.push(Word::Declare);
                index += 2;
            }
            '"' => {
                let mut text = String::new();
                index += 1;
                loop {
                    match chars.get(index) {
                        None => return Err(format!("unterminated string in {source:?}")),
                        Some('"') => break,
                        Some('\\') => {
                            let escaped = chars.get(index + 1).ok_or("dangling escape")?;
                            text.push(match escaped {
                                'n' => '\n',
                                't' => '\t',
                                other => *other,
                            });
                            index += 2;
                        }
                        Some(other) => {
                            text.push(*other);
                            index += 1;
                        }
                    }
                }
                index += 1;
                words.push(Word::Quoted(text));
            }
            _ => {
                let start = index;
                while index < chars.len() && !chars[index].is_whitespace() && !"()|\"".contains(chars[index])
                {
                    index += 1;
                }
                words.push(Word::Text(chars[start..index].iter().collect()));
            }
        }
    }
    Ok(words)
}

fn parse_pipeline(source: &str) -> Result<Pipeline, String> {
    let words = words(source)?;
    let mut position = 0;
    let pipeline = pipeline_of(&words, &mut position)?;
    if position != words.len() {
        return Err(format!("unexpected {:?} in {source:?}", words[position]));
    }
    Ok(pipeline)
}

fn pipeline_of(words: &[Word], position: &mut usize) -> Result<Pipeline, String> {
    let mut declare = None;
    if let (Some(Word::Text(name)), Some(Word::Declare)) = (words.get(*position), words.get(*position + 1))
        && name.starts_with('$')
    {
        declare = Some(name.clone());
        *position += 2;
    }
    let mut commands = vec![Vec::new()];
    while let Some(word) = words.get(*position) {
        *position += 1;
        let operand = match word {
            Word::Close => {
                *position -= 1;
                break;
            }
            Word::Pipe => {
                commands.push(Vec::new());
                continue;
            }
            Word::Declare => return Err("unexpected :=".to_owned()),
            Word::Open => {
                let nested = pipeline_of(words, position)?;
                if words.get(*position) != Some(&Word::Close) {
                    return Err("unbalanced parenthesis".to_owned());
                }
                *position += 1;
                Operand::Nested(nested)
            }
            Word::Quoted(text) => Operand::Literal(Value::String(text.clone())),
            Word::Text(text) => operand(text)?,
        };
        commands
            .last_mut()
            .expect("invariant: at least one command")
            .push(operand);
    }
    if commands.iter().any(Vec::is_empty) {
        return Err("empty command in a pipeline".to_owned());
    }
    Ok(Pipeline { declare, commands })
}

fn operand(text: &str) -> Result<Operand, String> {
    let fields = |path: &str| -> Vec<String> {
        path.split('.')
            .filter(|field| !field.is_empty())
            .map(str::to_owned)
            .collect()
    };
    Ok(match text {
        "true" => Operand::Literal(Value::Bool(true)),
        "false" => Operand::Literal(Value::Bool(false)),
        "nil" => Operand::Literal(Value::Null),
        _ if text.starts_with('.') => Operand::Field(fields(text)),
        _ if text.starts_with('$') => {
            let (name, path) = text.split_once('.').unwrap_or((text, ""));
            Operand::Variable(name.to_owned(), fields(path))
        }
        _ if text.chars().all(|char| char.is_ascii_digit() || char == '-') => Operand::Literal(Value::from(
            text.parse::<i64>().map_err(|error| format!("{text}: {error}"))?,
        )),
        _ if text.chars().all(|char| char.is_ascii_alphanumeric()) => Operand::Function(text.to_owned()),
        _ => return Err(format!("unsupported operand {text:?}")),
    })
}

// ---------------------------------------------------------------------------------------------------------
// Evaluation.

#[derive(Clone)]
struct Scope {
    dot: Value,
    variables: Vec<(String, Value)>,
}

impl Scope {
    fn variable(&self, name: &str) -> Result<Value, String> {
        self.variables
            .iter()
            .rev()
            .find(|(variable, _)| variable == name)
            .map(|(_, value)| value.clone())
            .ok_or_else(|| format!("undefined variable {name}"))
    }
}

/// Renders one template against the root data (`Values`, `Release`, `Chart`).
pub fn render(source: &str, root: &Value) -> Result<String, String> {
    let nodes = parse(source)?;
    let mut scope = Scope {
        dot: root.clone(),
        variables: vec![("$".to_owned(), root.clone())],
    };
    let mut out = String::new();
    execute(&nodes, &mut scope, &mut out)?;
    Ok(out)
}

fn execute(nodes: &[Node], scope: &mut Scope, out: &mut String) -> Result<(), String> {
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(text),
            Node::Output(pipeline) => {
                let value = evaluate(pipeline, scope)?;
                if pipeline.declare.is_none() {
                    out.push_str(&print(&value)?);
                }
            }
            Node::If { branches, otherwise } => {
                let mut taken = false;
                for (condition, body) in branches {
                    if truthy(&evaluate(condition, scope)?) {
                        execute(body, &mut scope.clone(), out)?;
                        taken = true;
                        break;
                    }
                }
                if !taken {
                    execute(otherwise, &mut scope.clone(), out)?;
                }
            }
            Node::Range { pipeline, body } => {
                let items = match evaluate_undeclared(pipeline, scope)? {
                    Value::Array(items) => items,
                    Value::Null => Vec::new(),
                    other => return Err(format!("range over {other} is not supported")),
                };
                for item in items {
                    let mut inner = scope.clone();
                    inner.dot = item.clone();
                    if let Some(name) = &pipeline.declare {
                        inner.variables.push((name.clone(), item));
                    }
                    execute(body, &mut inner, out)?;
                }
            }
            Node::With {
                pipeline,
                body,
                otherwise,
            } => {
                let value = evaluate(pipeline, scope)?;
                if truthy(&value) {
                    let mut inner = scope.clone();
                    inner.dot = value;
                    execute(body, &mut inner, out)?;
                } else {
                    execute(otherwise, &mut scope.clone(), out)?;
                }
            }
        }
    }
    Ok(())
}

/// A pipeline's value, declaring its variable in `scope` when it has one.
fn evaluate(pipeline: &Pipeline, scope: &mut Scope) -> Result<Value, String> {
    let value = evaluate_undeclared(pipeline, scope)?;
    if let Some(name) = &pipeline.declare {
        scope.variables.push((name.clone(), value.clone()));
    }
    Ok(value)
}

fn evaluate_undeclared(pipeline: &Pipeline, scope: &Scope) -> Result<Value, String> {
    let mut piped: Option<Value> = None;
    for command in &pipeline.commands {
        piped = Some(match &command[0] {
            Operand::Function(name) => {
                let mut arguments = command[1..]
                    .iter()
                    .map(|operand| value_of(operand, scope))
                    .collect::<Result<Vec<_>, _>>()?;
                arguments.extend(piped.take());
                call(name, arguments)?
            }
            _ if command.len() > 1 => return Err(format!("{:?} is not a function", command[0])),
            _ if piped.is_some() => return Err("only a function can take a piped value".to_owned()),
            operand => value_of(operand, scope)?,
        });
    }
    Ok(piped.unwrap_or(Value::Null))
}

fn value_of(operand: &Operand, scope: &Scope) -> Result<Value, String> {
    match operand {
        Operand::Field(path) => walk(&scope.dot, path),
        Operand::Variable(name, path) => walk(&scope.variable(name)?, path),
        Operand::Literal(value) => Ok(value.clone()),
        Operand::Nested(pipeline) => evaluate_undeclared(pipeline, scope),
        Operand::Function(name) => call(name, Vec::new()),
    }
}

/// Field access as Go templates do it on Helm's data: a missing key is nil, a field of nil or of a scalar
/// is an error.
fn walk(value: &Value, path: &[String]) -> Result<Value, String> {
    let mut current = value.clone();
    for field in path {
        current = match current {
            Value::Object(map) => map.get(field).cloned().unwrap_or(Value::Null),
            Value::Null => return Err(format!("nil pointer evaluating .{field}")),
            other => return Err(format!("can't evaluate field {field} in {other}")),
        };
    }
    Ok(current)
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(value) => *value,
        Value::Number(number) => number.as_f64() != Some(0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

fn print(value: &Value) -> Result<String, String> {
    Ok(match value {
        Value::Null => String::new(),
        Value::Bool(value) => value.to_string(),
        Value::Number(number) => match (number.as_i64(), number.as_f64()) {
            (Some(integer), _) => integer.to_string(),
            (None, Some(float)) if float.fract() == 0.0 => format!("{float:.0}"),
            _ => number.to_string(),
        },
        Value::String(text) => text.clone(),
        other => return Err(format!("printing {other} directly is not supported; use toYaml")),
    })
}

fn text_of(value: &Value) -> Result<String, String> {
    print(value)
}

fn integer(value: &Value) -> Result<i64, String> {
    match value {
        Value::Null => Ok(0),
        Value::Number(number) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|float| float as i64))
            .ok_or_else(|| format!("int of {number}")),
        Value::String(text) => text
            .trim()
            .parse()
            .map_err(|error| format!("int of {text:?}: {error}")),
        Value::Bool(_) => Ok(0),
        other => Err(format!("int of {other}")),
    }
}

fn call(name: &str, arguments: Vec<Value>) -> Result<Value, String> {
    let arity = |count: usize| -> Result<(), String> {
        if arguments.len() == count {
            Ok(())
        } else {
            Err(format!("{name} takes {count} arguments, got {}", arguments.len()))
        }
    };
    match name {
        "quote" => {
            arity(1)?;
            Ok(Value::String(
                serde_json::to_string(&Value::String(text_of(&arguments[0])?)).expect("a string serializes"),
            ))
        }
        "default" => {
            arity(2)?;
            Ok(if truthy(&arguments[1]) {
                arguments[1].clone()
            } else {
                arguments[0].clone()
            })
        }
        "join" => {
            arity(2)?;
            let separator = text_of(&arguments[0])?;
            let items = match &arguments[1] {
                Value::Array(items) => items.iter().map(text_of).collect::<Result<Vec<_>, _>>()?,
                Value::Null => Vec::new(),
                other => vec![text_of(other)?],
            };
            Ok(Value::String(items.join(&separator)))
        }
        "toYaml" => {
            arity(1)?;
            let yaml = serde_saphyr::to_string(&arguments[0]).map_err(|error| error.to_string())?;
            Ok(Value::String(yaml.trim_end_matches('\n').to_owned()))
        }
        "nindent" | "indent" => {
            arity(2)?;
            let pad =
                " ".repeat(usize::try_from(integer(&arguments[0])?).map_err(|error| error.to_string())?);
            let indented = format!(
                "{pad}{}",
                text_of(&arguments[1])?.replace('\n', &format!("\n{pad}"))
            );
            Ok(Value::String(if name == "nindent" {
                format!("\n{indented}")
            } else {
                indented
            }))
        }
        "int" => {
            arity(1)?;
            Ok(Value::from(integer(&arguments[0])?))
        }
        "gt" | "lt" => {
            arity(2)?;
            let (left, right) = (integer(&arguments[0])?, integer(&arguments[1])?);
            Ok(Value::Bool(if name == "gt" {
                left > right
            } else {
                left < right
            }))
        }
        "eq" => {
            arity(2)?;
            Ok(Value::Bool(arguments[0] == arguments[1]))
        }
        "not" => {
            arity(1)?;
            Ok(Value::Bool(!truthy(&arguments[0])))
        }
        "and" => Ok(arguments
            .iter()
            .find(|value| !truthy(value))
            .or(arguments.last())
            .cloned()
            .unwrap_or(Value::Null)),
        "or" => Ok(arguments
            .iter()
            .find(|value| truthy(value))
            .or(arguments.last())
            .cloned()
            .unwrap_or(Value::Null)),
        "fail" => {
            arity(1)?;
            Err(format!("fail: {}", text_of(&arguments[0])?))
        }
        "append" => {
            arity(2)?;
            match &arguments[0] {
                Value::Array(items) => {
                    let mut items = items.clone();
                    items.push(arguments[1].clone());
                    Ok(Value::Array(items))
                }
                other => Err(format!("cannot append to {other}")),
            }
        }
        "uniq" => {
            arity(1)?;
            match &arguments[0] {
                Value::Array(items) => {
                    let mut unique: Vec<Value> = Vec::new();
                    for item in items {
                        if !unique.contains(item) {
                            unique.push(item.clone());
                        }
                    }
                    Ok(Value::Array(unique))
                }
                other => Err(format!("uniq of {other}")),
            }
        }
        "dict" if arguments.is_empty() => Ok(Value::Object(Map::new())),
        _ => Err(format!("function {name} is not in this renderer's subset")),
    }
}
