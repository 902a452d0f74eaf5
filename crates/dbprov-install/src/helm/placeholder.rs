//! Placeholders: the manifest builders run with these strings in place of the settings a chart user
//! chooses, the objects are written as YAML, and each placeholder is then replaced by a Helm expression.
//! Every placeholder must be found, so a change in the builders that the generator does not know about
//! fails generation instead of producing a chart that silently ignores a value.

use serde_json::Value;

use crate::error::InstallError;

/// Marks every placeholder; none may survive generation.
pub(crate) const MARK: &str = "DBPROV_PLACEHOLDER_";

/// A placeholder and the Helm text that replaces it.
#[derive(Debug, Clone)]
pub(crate) struct Placeholder {
    pub token: String,
    pub replacement: Replacement,
}

/// What replaces a placeholder.
#[derive(Debug, Clone)]
pub(crate) enum Replacement {
    /// The token itself is replaced by this text (a scalar expression).
    Inline(String),
    /// The whole line `key: TOKEN` becomes the key followed by a YAML block that Helm renders from a value:
    /// `{{- toYaml .Values.resources | nindent N }}`.
    Block { values_path: String },
    /// Like [`Replacement::Block`], but the key is left out entirely when the value is empty
    /// (`{{- with .Values.nodeSelector }}`).
    OptionalBlock { values_path: String },
    /// The list item holding the token is kept only when the condition holds, and the token is replaced by
    /// `expression`.
    ConditionalItem { condition: String, expression: String },
}

impl Placeholder {
    pub fn inline(name: &str, expression: impl Into<String>) -> Self {
        Self {
            token: token(name),
            replacement: Replacement::Inline(expression.into()),
        }
    }

    pub fn block(name: &str, values_path: &str) -> Self {
        Self {
            token: token(name),
            replacement: Replacement::Block {
                values_path: values_path.to_owned(),
            },
        }
    }

    pub fn optional_block(name: &str, values_path: &str) -> Self {
        Self {
            token: token(name),
            replacement: Replacement::OptionalBlock {
                values_path: values_path.to_owned(),
            },
        }
    }

    pub fn conditional_item(name: &str, condition: &str, expression: &str) -> Self {
        Self {
            token: token(name),
            replacement: Replacement::ConditionalItem {
                condition: condition.to_owned(),
                expression: expression.to_owned(),
            },
        }
    }

    /// The token as a JSON string, to put into an object before it is written.
    pub fn value(&self) -> Value {
        Value::String(self.token.clone())
    }
}

/// The token of a placeholder name. Tokens end with `_X` so that no token is a prefix of another.
pub(crate) fn token(name: &str) -> String {
    format!("{MARK}{name}_X")
}

/// Replaces every placeholder in `text` (the YAML of one chart file). Each must occur at least once.
pub(crate) fn substitute(
    file: &str,
    text: &str,
    placeholders: &[Placeholder],
) -> Result<String, InstallError> {
    let mut text = text.to_owned();
    for placeholder in placeholders {
        let missing = || InstallError::PlaceholderMissing {
            file: file.to_owned(),
            placeholder: placeholder.token.clone(),
        };
        if !text.contains(&placeholder.token) {
            return Err(missing());
        }
        text = match &placeholder.replacement {
            Replacement::Inline(expression) => text.replace(&placeholder.token, expression),
            Replacement::Block { values_path } => replace_lines(&text, &placeholder.token, |indent, key| {
                vec![
                    format!("{indent}{key}:"),
                    format!(
                        "{indent}  {{{{- toYaml {values_path} | nindent {} }}}}",
                        indent.len() + 2
                    ),
                ]
            }),
            Replacement::OptionalBlock { values_path } => {
                replace_lines(&text, &placeholder.token, |indent, key| {
                    vec![
                        format!("{indent}{{{{- with {values_path} }}}}"),
                        format!("{indent}{key}:"),
                        format!("{indent}  {{{{- toYaml . | nindent {} }}}}", indent.len() + 2),
                        format!("{indent}{{{{- end }}}}"),
                    ]
                })
            }
            Replacement::ConditionalItem {
                condition,
                expression,
            } => wrap_list_item(&text, &placeholder.token, condition)
                .ok_or_else(missing)?
                .replace(&placeholder.token, expression),
        };
    }
    Ok(text)
}

/// Replaces each line `<indent><key>: TOKEN` by the lines `build(indent, key)` returns.
fn replace_lines(text: &str, token: &str, build: impl Fn(&str, &str) -> Vec<String>) -> String {
    let mut out = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        match trimmed
            .strip_suffix(token)
            .and_then(|rest| rest.strip_suffix(": "))
        {
            Some(key) => out.extend(build(indent, key)),
            None => out.push(line.to_owned()),
        }
    }
    join_lines(out)
}

/// Wraps the block-style list item that contains `token` in `{{- if condition }}` … `{{- end }}`.
fn wrap_list_item(text: &str, token: &str, condition: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let token_line = lines.iter().position(|line| line.contains(token))?;
    let indentation = |line: &str| line.len() - line.trim_start().len();
    // The item starts at the token's own line when that line opens an item, else at the nearest item
    // opener above that is less indented than the token (deeper `- ` lines belong to nested lists).
    let opens_item = |index: usize| lines[index].trim_start().starts_with("- ");
    let start = if opens_item(token_line) {
        token_line
    } else {
        (0..token_line)
            .rev()
            .find(|&index| opens_item(index) && indentation(lines[index]) < indentation(lines[token_line]))?
    };
    let dash = indentation(lines[start]);
    let end = (start + 1..lines.len())
        .find(|&index| indentation(lines[index]) <= dash)
        .unwrap_or(lines.len());
    let indent = " ".repeat(dash);
    let mut out: Vec<String> = lines[..start].iter().map(|line| (*line).to_owned()).collect();
    out.push(format!("{indent}{{{{- if {condition} }}}}"));
    out.extend(lines[start..end].iter().map(|line| (*line).to_owned()));
    out.push(format!("{indent}{{{{- end }}}}"));
    out.extend(lines[end..].iter().map(|line| (*line).to_owned()));
    Some(join_lines(out))
}

fn join_lines(lines: Vec<String>) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_the_indentation_of_their_key() {
        let text = format!("spec:\n  resources: {}\n  other: 1\n", token("RES"));
        let out = substitute("t", &text, &[Placeholder::block("RES", ".Values.resources")]).expect("ok");
        assert_eq!(
            out,
            "spec:\n  resources:\n    {{- toYaml .Values.resources | nindent 4 }}\n  other: 1\n"
        );
        let out = substitute(
            "t",
            &text,
            &[Placeholder::optional_block("RES", ".Values.resources")],
        )
        .expect("ok");
        assert_eq!(
            out,
            "spec:\n  {{- with .Values.resources }}\n  resources:\n    {{- toYaml . | nindent 4 }}\n  {{- end }}\n  other: 1\n"
        );
    }

    #[test]
    fn a_conditional_item_wraps_exactly_its_list_entry() {
        let text = format!(
            "env:\n- name: A\n  value: a\n- name: B\n  value: {}\n- name: C\n  value: c\nimage: x\n",
            token("B")
        );
        let out = substitute(
            "t",
            &text,
            &[Placeholder::conditional_item("B", ".Values.b", "{{ .Values.b }}")],
        )
        .expect("ok");
        assert_eq!(
            out,
            "env:\n- name: A\n  value: a\n{{- if .Values.b }}\n- name: B\n  value: {{ .Values.b }}\n{{- end }}\n\
             - name: C\n  value: c\nimage: x\n"
        );
    }

    #[test]
    fn a_missing_placeholder_fails_generation() {
        let error =
            substitute("deployment.yaml", "a: b\n", &[Placeholder::inline("GONE", "x")]).expect_err("fails");
        assert_eq!(error.kind(), "PlaceholderMissing");
        assert!(error.to_string().contains("deployment.yaml"), "{error}");
    }

    #[test]
    fn no_token_is_a_prefix_of_another() {
        let names = ["NAMESPACE", "NAMESPACE_WATCHED", "IMAGE", "IMAGE_PULL"];
        for first in names {
            for second in names {
                if first != second {
                    assert!(!token(second).contains(&token(first)), "{first} in {second}");
                }
            }
        }
    }
}
