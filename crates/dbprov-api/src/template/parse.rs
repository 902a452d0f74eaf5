//! Lexing, parsing and type-checking of templates.

use crate::template::TemplateError;
use crate::template::functions::{Function, Signature};
use crate::template::lex::{Item, Token, error, lex};

/// Static types. `Any` is only known at render time (results of `and`/`or`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Str,
    Int,
    Bool,
    Nil,
    Data,
    /// `[]string`: no variable has it; only `join` asks for it.
    StrList,
    Any,
}

impl Ty {
    pub(crate) fn go_name(self) -> &'static str {
        match self {
            Ty::Str => "string",
            Ty::Int => "int",
            Ty::Bool => "bool",
            Ty::Nil => "nil",
            Ty::Data => "secret.TemplateData",
            Ty::StrList => "[]string",
            Ty::Any => "interface {}",
        }
    }
}

/// The variables (fields of the data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Var {
    Username,
    Password,
    Host,
    Port,
    Database,
    SslMode,
    Namespace,
    Name,
    Ca,
    TlsCert,
    TlsKey,
}

impl Var {
    pub(crate) const ALL: [Var; 11] = [
        Var::Username,
        Var::Password,
        Var::Host,
        Var::Port,
        Var::Database,
        Var::SslMode,
        Var::Namespace,
        Var::Name,
        Var::Ca,
        Var::TlsCert,
        Var::TlsKey,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Var::Username => "Username",
            Var::Password => "Password",
            Var::Host => "Host",
            Var::Port => "Port",
            Var::Database => "Database",
            Var::SslMode => "SSLMode",
            Var::Namespace => "Namespace",
            Var::Name => "Name",
            Var::Ca => "CA",
            Var::TlsCert => "TLSCert",
            Var::TlsKey => "TLSKey",
        }
    }

    fn ty(self) -> Ty {
        if self == Var::Port { Ty::Int } else { Ty::Str }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(String),
    Action(Pipeline),
    If {
        branches: Vec<(Pipeline, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
    With {
        value: Pipeline,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    pub line: usize,
    pub commands: Vec<Command>,
}

#[derive(Debug, Clone)]
pub(crate) enum Command {
    Call { function: Function, args: Vec<Operand> },
    Value(Operand),
}

#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Var(Var),
    Dot,
    Str(String),
    Int(i64),
    Bool(bool),
    Nil,
    Pipeline(Box<Pipeline>),
}

/// Parses and type-checks a template.
pub(crate) fn parse(source: &str) -> Result<Vec<Node>, TemplateError> {
    let items = lex(source)?;
    let mut parser = Parser { items, position: 0 };
    let (nodes, end) = parser.list(Ty::Data)?;
    match end {
        None => Ok(nodes),
        Some((keyword, line)) => Err(error(line, format!("unexpected {{{{{keyword}}}}}"))),
    }
}

struct Parser {
    items: Vec<Item>,
    position: usize,
}

/// What ended a node list: `else`/`end` with its line, or the end of the template (`None`).
type Terminator = Option<(String, usize)>;

const UNSUPPORTED_KEYWORDS: &[&str] = &["range", "define", "template", "block", "break", "continue"];

impl Parser {
    /// Parses nodes until `else`/`end` (returned with its line and the rest of its tokens consumed by the caller).
    fn list(&mut self, dot: Ty) -> Result<(Vec<Node>, Terminator), TemplateError> {
        let mut nodes = Vec::new();
        while self.position < self.items.len() {
            let index = self.position;
            self.position += 1;
            let (tokens, line) = match &self.items[index] {
                Item::Text(text) => {
                    nodes.push(Node::Text(text.clone()));
                    continue;
                }
                Item::Action { tokens, line } => (tokens.clone(), *line),
            };
            match tokens.first() {
                Some(Token::Ident(keyword)) if keyword == "end" => {
                    if tokens.len() > 1 {
                        return Err(error(line, "unexpected words after end"));
                    }
                    return Ok((nodes, Some(("end".to_owned(), line))));
                }
                Some(Token::Ident(keyword)) if keyword == "else" => {
                    // The caller reads what follows `else` (an `if` for else-if).
                    self.position = index;
                    return Ok((nodes, Some(("else".to_owned(), line))));
                }
                Some(Token::Ident(keyword)) if keyword == "if" => {
                    nodes.push(self.if_node(&tokens[1..], line, dot)?)
                }
                Some(Token::Ident(keyword)) if keyword == "with" => {
                    nodes.push(self.with_node(&tokens[1..], line, dot)?)
                }
                Some(Token::Ident(keyword)) if UNSUPPORTED_KEYWORDS.contains(&keyword.as_str()) => {
                    return Err(error(
                        line,
                        format!("{keyword} is not supported in secret templates"),
                    ));
                }
                _ => {
                    let (pipeline, _) = pipeline(&tokens, line, dot)?;
                    nodes.push(Node::Action(pipeline));
                }
            }
        }
        Ok((nodes, None))
    }

    /// After the `else` item at the current position: its tokens beyond `else`.
    fn take_else(&mut self) -> (Vec<Token>, usize) {
        let Item::Action { tokens, line } = &self.items[self.position] else {
            unreachable!("invariant: list() stops at an else action");
        };
        let result = (tokens[1..].to_vec(), *line);
        self.position += 1;
        result
    }

    fn if_node(&mut self, condition: &[Token], line: usize, dot: Ty) -> Result<Node, TemplateError> {
        let mut branches = Vec::new();
        let mut condition = pipeline(condition, line, dot)?.0;
        loop {
            let (body, end) = self.list(dot)?;
            branches.push((condition, body));
            match end {
                Some((keyword, _)) if keyword == "end" => {
                    return Ok(Node::If {
                        branches,
                        otherwise: Vec::new(),
                    });
                }
                Some((_, else_line)) => {
                    let (rest, _) = self.take_else();
                    if let Some(Token::Ident(keyword)) = rest.first()
                        && keyword == "if"
                    {
                        condition = pipeline(&rest[1..], else_line, dot)?.0;
                        continue;
                    }
                    if !rest.is_empty() {
                        return Err(error(else_line, "unexpected words after else"));
                    }
                    let (otherwise, end) = self.list(dot)?;
                    return match end {
                        Some((keyword, _)) if keyword == "end" => Ok(Node::If { branches, otherwise }),
                        Some((_, line)) => Err(error(line, "a second else in one if")),
                        None => Err(error(line, "if without end")),
                    };
                }
                None => return Err(error(line, "if without end")),
            }
        }
    }

    fn with_node(&mut self, value: &[Token], line: usize, dot: Ty) -> Result<Node, TemplateError> {
        let (value, ty) = pipeline(value, line, dot)?;
        let (body, end) = self.list(ty)?;
        match end {
            Some((keyword, _)) if keyword == "end" => Ok(Node::With {
                value,
                body,
                otherwise: Vec::new(),
            }),
            Some((_, else_line)) => {
                let (rest, _) = self.take_else();
                if !rest.is_empty() {
                    return Err(error(
                        else_line,
                        "unexpected words after else (else with is not supported)",
                    ));
                }
                let (otherwise, end) = self.list(dot)?;
                match end {
                    Some((keyword, _)) if keyword == "end" => Ok(Node::With {
                        value,
                        body,
                        otherwise,
                    }),
                    Some((_, line)) => Err(error(line, "a second else in one with")),
                    None => Err(error(line, "with without end")),
                }
            }
            None => Err(error(line, "with without end")),
        }
    }
}

/// Parses `command | command ...`, returning the pipeline and its static type.
fn pipeline(tokens: &[Token], line: usize, dot: Ty) -> Result<(Pipeline, Ty), TemplateError> {
    let mut segments = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (index, token) in tokens.iter().enumerate() {
        match token {
            Token::Open => depth += 1,
            Token::Close => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| error(line, "unexpected \")\""))?
            }
            Token::Pipe if depth == 0 => {
                segments.push(&tokens[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    if depth > 0 {
        return Err(error(line, "unclosed \"(\""));
    }
    segments.push(&tokens[start..]);
    let mut commands = Vec::new();
    let mut piped: Option<Ty> = None;
    for segment in segments {
        let (command, ty) = command(segment, line, dot, piped)?;
        commands.push(command);
        piped = Some(ty);
    }
    let ty = piped.unwrap_or(Ty::Nil);
    Ok((Pipeline { line, commands }, ty))
}

fn command(
    tokens: &[Token],
    line: usize,
    dot: Ty,
    piped: Option<Ty>,
) -> Result<(Command, Ty), TemplateError> {
    let Some(first) = tokens.first() else {
        return Err(error(line, "missing value for command"));
    };
    if let Token::Ident(name) = first
        && !matches!(name.as_str(), "true" | "false" | "nil")
    {
        let function = Function::lookup(name).ok_or_else(|| {
            if ["if", "else", "end", "with"].contains(&name.as_str())
                || UNSUPPORTED_KEYWORDS.contains(&name.as_str())
            {
                error(line, format!("unexpected keyword {name}"))
            } else {
                error(
                    line,
                    format!(
                        "function {name:?} not defined (available: {})",
                        Function::names().join(", ")
                    ),
                )
            }
        })?;
        let mut args = Vec::new();
        let mut types = Vec::new();
        let mut index = 1;
        while index < tokens.len() {
            let (operand, ty, next) = operand(tokens, index, line, dot)?;
            args.push(operand);
            types.push(ty);
            index = next;
        }
        if let Some(piped) = piped {
            types.push(piped);
        }
        let ty = check_call(function, &types, line)?;
        return Ok((Command::Call { function, args }, ty));
    }
    let (operand, ty, next) = operand(tokens, 0, line, dot)?;
    if next < tokens.len() {
        return Err(error(line, "can't give argument to non-function"));
    }
    if piped.is_some() {
        return Err(error(line, "can't give argument to non-function"));
    }
    Ok((Command::Value(operand), ty))
}

fn operand(
    tokens: &[Token],
    index: usize,
    line: usize,
    dot: Ty,
) -> Result<(Operand, Ty, usize), TemplateError> {
    match &tokens[index] {
        Token::Dot => Ok((Operand::Dot, dot, index + 1)),
        Token::Field(path) => {
            if dot != Ty::Data {
                return Err(error(
                    line,
                    format!("can't evaluate field {} in type {}", path[0], dot.go_name()),
                ));
            }
            let var = Var::ALL
                .into_iter()
                .find(|var| var.name() == path[0])
                .ok_or_else(|| {
                    let names: Vec<String> = Var::ALL.iter().map(|var| format!(".{}", var.name())).collect();
                    error(
                        line,
                        format!("unknown variable .{} (available: {})", path[0], names.join(" ")),
                    )
                })?;
            if let Some(field) = path.get(1) {
                return Err(error(
                    line,
                    format!("can't evaluate field {field} in type {}", var.ty().go_name()),
                ));
            }
            Ok((Operand::Var(var), var.ty(), index + 1))
        }
        Token::Str(value) => Ok((Operand::Str(value.clone()), Ty::Str, index + 1)),
        Token::Int(value) => Ok((Operand::Int(*value), Ty::Int, index + 1)),
        Token::Ident(name) if name == "true" || name == "false" => {
            Ok((Operand::Bool(name == "true"), Ty::Bool, index + 1))
        }
        Token::Ident(name) if name == "nil" => Ok((Operand::Nil, Ty::Nil, index + 1)),
        Token::Ident(name) => Err(error(
            line,
            format!("{name} used as an argument; call it in parentheses: ({name} ...)"),
        )),
        Token::Open => {
            let mut depth = 0usize;
            let mut end = index;
            for (offset, token) in tokens[index..].iter().enumerate() {
                match token {
                    Token::Open => depth += 1,
                    Token::Close => {
                        depth -= 1;
                        if depth == 0 {
                            end = index + offset;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            if depth != 0 {
                return Err(error(line, "unclosed \"(\""));
            }
            let (inner, ty) = pipeline(&tokens[index + 1..end], line, dot)?;
            Ok((Operand::Pipeline(Box::new(inner)), ty, end + 1))
        }
        Token::Close => Err(error(line, "unexpected \")\"")),
        Token::Pipe => Err(error(line, "missing value for command")),
    }
}

/// Checks argument count and types; returns the result type.
fn check_call(function: Function, args: &[Ty], line: usize) -> Result<Ty, TemplateError> {
    let Signature {
        params,
        variadic,
        result,
    } = function.signature();
    let name = function.name();
    let too_few = args.len() < params.len();
    let too_many = variadic.is_none() && args.len() > params.len();
    if too_few || too_many {
        let expected = if variadic.is_some() {
            format!("at least {}", params.len())
        } else {
            params.len().to_string()
        };
        return Err(error(
            line,
            format!(
                "wrong number of args for {name}: want {expected} got {}",
                args.len()
            ),
        ));
    }
    for (position, arg) in args.iter().enumerate() {
        let param = params.get(position).copied().or(variadic).unwrap_or(Ty::Any);
        let fits = param == Ty::Any || *arg == Ty::Any || *arg == param;
        if !fits {
            return Err(error(
                line,
                format!(
                    "wrong type for value in {name}: expected {}; got {}",
                    param.go_name(),
                    arg.go_name()
                ),
            ));
        }
    }
    if function.compares() {
        let known: Vec<Ty> = args.iter().copied().filter(|ty| *ty != Ty::Any).collect();
        if known.iter().any(|ty| *ty != known[0]) {
            return Err(error(
                line,
                format!("incompatible types for comparison in {name}"),
            ));
        }
    }
    if function.returns_argument() {
        let first = args.first().copied().unwrap_or(Ty::Any);
        return Ok(if args.iter().all(|ty| *ty == first) {
            first
        } else {
            Ty::Any
        });
    }
    Ok(result)
}
