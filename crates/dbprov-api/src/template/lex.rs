//! Splitting a template into text and action tokens: trim markers, comments, literals.

use crate::template::TemplateError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    Field(Vec<String>),
    Dot,
    Ident(String),
    Str(String),
    Int(i64),
    Pipe,
    Open,
    Close,
}

pub(crate) enum Item {
    Text(String),
    Action { tokens: Vec<Token>, line: usize },
}

pub(crate) fn error(line: usize, message: impl Into<String>) -> TemplateError {
    TemplateError {
        line,
        message: message.into(),
    }
}

fn is_space(ch: char) -> bool {
    matches!(ch, ' ' | '\t' | '\r' | '\n')
}

/// Splits the source into text and actions, applying trim markers and dropping comments.
pub(crate) fn lex(source: &str) -> Result<Vec<Item>, TemplateError> {
    let mut items = Vec::new();
    let mut rest = source;
    let mut line = 1;
    let mut trim_next = false;
    while !rest.is_empty() {
        let Some(start) = rest.find("{{") else {
            push_text(&mut items, rest, trim_next);
            break;
        };
        let mut text = &rest[..start];
        if trim_next {
            text = text.trim_start_matches(is_space);
        }
        line += rest[..start].matches('\n').count();
        let mut body = &rest[start + 2..];
        let trim_left = body.starts_with('-') && body[1..].starts_with(is_space);
        if trim_left {
            text = text.trim_end_matches(is_space);
            body = &body[1..];
        }
        if !text.is_empty() {
            items.push(Item::Text(text.to_owned()));
        }
        let action_line = line;
        let (tokens, consumed, trim_right) = lex_action(body, action_line)?;
        line += body[..consumed].matches('\n').count();
        if let Some(tokens) = tokens {
            items.push(Item::Action {
                tokens,
                line: action_line,
            });
        }
        trim_next = trim_right;
        rest = &body[consumed..];
    }
    Ok(items)
}

fn push_text(items: &mut Vec<Item>, text: &str, trim: bool) {
    let text = if trim {
        text.trim_start_matches(is_space)
    } else {
        text
    };
    if !text.is_empty() {
        items.push(Item::Text(text.to_owned()));
    }
}

/// Lexes one action after `{{` (and a left trim marker). Returns the tokens (`None` for a comment), the
/// bytes consumed including `}}`, and whether a right trim marker ended it.
fn lex_action(body: &str, line: usize) -> Result<(Option<Vec<Token>>, usize, bool), TemplateError> {
    let chars: Vec<(usize, char)> = body.char_indices().collect();
    let at = |index: usize| chars.get(index).map(|(_, ch)| *ch);
    let offset = |index: usize| chars.get(index).map_or(body.len(), |(offset, _)| *offset);
    let mut index = 0;
    while at(index).is_some_and(is_space) {
        index += 1;
    }
    if body[offset(index)..].starts_with("/*") {
        let comment_start = offset(index);
        let end = body[comment_start..]
            .find("*/")
            .ok_or_else(|| error(line, "unclosed comment"))?
            + comment_start
            + 2;
        let after = &body[end..];
        let trimmed = after.trim_start_matches(is_space);
        if let Some(rest) = trimmed.strip_prefix("-}}") {
            if trimmed.len() == after.len() {
                return Err(error(line, "a trim marker needs a space before it: \" -}}\""));
            }
            return Ok((None, body.len() - rest.len(), true));
        }
        if let Some(rest) = after.strip_prefix("}}") {
            return Ok((None, body.len() - rest.len(), false));
        }
        return Err(error(line, "comment ends without \"}}\""));
    }
    let mut tokens = Vec::new();
    loop {
        let had_space = at(index).is_some_and(is_space);
        while at(index).is_some_and(is_space) {
            index += 1;
        }
        let Some(ch) = at(index) else {
            return Err(error(line, "unclosed action: missing \"}}\""));
        };
        let here = offset(index);
        if body[here..].starts_with("}}") {
            return Ok((Some(tokens), here + 2, false));
        }
        if had_space && body[here..].starts_with("-}}") {
            return Ok((Some(tokens), here + 3, true));
        }
        match ch {
            '|' => {
                tokens.push(Token::Pipe);
                index += 1;
            }
            '(' => {
                tokens.push(Token::Open);
                index += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                index += 1;
            }
            '.' => {
                index += 1;
                if at(index).is_some_and(|ch| ch.is_alphabetic() || ch == '_') {
                    let mut path = Vec::new();
                    loop {
                        let start = index;
                        while at(index).is_some_and(|ch| ch.is_alphanumeric() || ch == '_') {
                            index += 1;
                        }
                        path.push(body[offset(start)..offset(index)].to_owned());
                        if at(index) == Some('.')
                            && at(index + 1).is_some_and(|ch| ch.is_alphabetic() || ch == '_')
                        {
                            index += 1;
                        } else {
                            break;
                        }
                    }
                    tokens.push(Token::Field(path));
                } else {
                    tokens.push(Token::Dot);
                }
            }
            '"' => {
                let (value, next) = lex_string(&chars, index + 1, line)?;
                tokens.push(Token::Str(value));
                index = next;
            }
            '`' => {
                let start = index + 1;
                let mut end = start;
                while at(end).is_some_and(|ch| ch != '`') {
                    end += 1;
                }
                if at(end).is_none() {
                    return Err(error(line, "unterminated raw string"));
                }
                tokens.push(Token::Str(body[offset(start)..offset(end)].to_owned()));
                index = end + 1;
            }
            '$' => return Err(error(line, "variables ($name) are not supported")),
            '\'' => {
                return Err(error(
                    line,
                    "character constants are not supported; use a \"string\"",
                ));
            }
            ch if ch.is_ascii_digit()
                || ((ch == '-' || ch == '+') && at(index + 1).is_some_and(|ch| ch.is_ascii_digit())) =>
            {
                let start = index;
                index += 1;
                while at(index).is_some_and(|ch| ch.is_ascii_alphanumeric() || ch == '.' || ch == '_') {
                    index += 1;
                }
                let text = &body[offset(start)..offset(index)];
                let value: i64 = text.parse().map_err(|_| {
                    error(
                        line,
                        format!("{text:?} is not a supported number (decimal integers only)"),
                    )
                })?;
                tokens.push(Token::Int(value));
            }
            ch if ch.is_alphabetic() || ch == '_' => {
                let start = index;
                while at(index).is_some_and(|ch| ch.is_alphanumeric() || ch == '_') {
                    index += 1;
                }
                tokens.push(Token::Ident(body[offset(start)..offset(index)].to_owned()));
            }
            ':' | '=' => return Err(error(line, "variable assignment is not supported")),
            other => return Err(error(line, format!("unexpected {other:?} in action"))),
        }
    }
}

fn lex_string(
    chars: &[(usize, char)],
    mut index: usize,
    line: usize,
) -> Result<(String, usize), TemplateError> {
    let mut out = String::new();
    let at = |index: usize| chars.get(index).map(|(_, ch)| *ch);
    loop {
        let Some(ch) = at(index) else {
            return Err(error(line, "unterminated string"));
        };
        index += 1;
        match ch {
            '"' => return Ok((out, index)),
            '\n' => return Err(error(line, "unterminated string")),
            '\\' => {
                let escape = at(index).ok_or_else(|| error(line, "unterminated string"))?;
                index += 1;
                let hex = |count: usize, index: &mut usize| -> Result<char, TemplateError> {
                    let digits: String = (0..count).filter_map(|offset| at(*index + offset)).collect();
                    *index += count;
                    u32::from_str_radix(&digits, 16)
                        .ok()
                        .filter(|_| digits.len() == count)
                        .and_then(char::from_u32)
                        .ok_or_else(|| error(line, format!("invalid escape in string: \\{escape}{digits}")))
                };
                out.push(match escape {
                    '\\' => '\\',
                    '"' => '"',
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'v' => '\u{b}',
                    'x' => hex(2, &mut index)?,
                    'u' => hex(4, &mut index)?,
                    'U' => hex(8, &mut index)?,
                    other => return Err(error(line, format!("unknown escape sequence \\{other}"))),
                });
            }
            ch => out.push(ch),
        }
    }
}
