//! Evaluation of parsed templates.

use crate::template::functions::Value;
use crate::template::parse::{Command, Node, Operand, Pipeline, Var};
use crate::template::{TemplateData, TemplateError};

pub(crate) fn render(nodes: &[Node], data: &TemplateData, out: &mut String) -> Result<(), TemplateError> {
    walk(nodes, data, &Value::Data(fields(data)), out)
}

fn fields(data: &TemplateData) -> Vec<(&'static str, Value)> {
    Var::ALL
        .iter()
        .map(|var| (var.name(), variable(*var, data)))
        .collect()
}

fn variable(var: Var, data: &TemplateData) -> Value {
    Value::Str(match var {
        Var::Username => data.username.clone(),
        Var::Password => data.password.expose().to_owned(),
        Var::Host => data.host.clone(),
        Var::Port => return Value::Int(i64::from(data.port)),
        Var::Database => data.database.clone(),
        Var::SslMode => data.ssl_mode.clone(),
        Var::Namespace => data.namespace.clone(),
        Var::Name => data.name.clone(),
        Var::Ca => data.ca.clone(),
        Var::TlsCert => data.tls_cert.clone(),
        Var::TlsKey => data.tls_key.expose().to_owned(),
    })
}

fn walk(nodes: &[Node], data: &TemplateData, dot: &Value, out: &mut String) -> Result<(), TemplateError> {
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(text),
            Node::Action(pipeline) => {
                let value = evaluate(pipeline, data, dot)?;
                // Go prints a missing value as "<no value>"; an explicit nil prints the same.
                match value {
                    Value::Nil => out.push_str("<no value>"),
                    value => out.push_str(&value.print()),
                }
            }
            Node::If { branches, otherwise } => {
                let mut taken = false;
                for (condition, body) in branches {
                    if evaluate(condition, data, dot)?.truthy() {
                        walk(body, data, dot, out)?;
                        taken = true;
                        break;
                    }
                }
                if !taken {
                    walk(otherwise, data, dot, out)?;
                }
            }
            Node::With {
                value,
                body,
                otherwise,
            } => {
                let value = evaluate(value, data, dot)?;
                if value.truthy() {
                    walk(body, data, &value, out)?;
                } else {
                    walk(otherwise, data, dot, out)?;
                }
            }
        }
    }
    Ok(())
}

fn evaluate(pipeline: &Pipeline, data: &TemplateData, dot: &Value) -> Result<Value, TemplateError> {
    let mut piped: Option<Value> = None;
    for command in &pipeline.commands {
        let value = match command {
            Command::Value(operand) => operand_value(operand, data, dot)?,
            Command::Call { function, args } => {
                let mut values = Vec::with_capacity(args.len() + 1);
                for arg in args {
                    values.push(operand_value(arg, data, dot)?);
                }
                if let Some(value) = piped.take() {
                    values.push(value);
                }
                function.call(values).map_err(|message| TemplateError {
                    line: pipeline.line,
                    message: format!("error calling {}: {message}", function.name()),
                })?
            }
        };
        piped = Some(value);
    }
    Ok(piped.unwrap_or(Value::Nil))
}

fn operand_value(operand: &Operand, data: &TemplateData, dot: &Value) -> Result<Value, TemplateError> {
    Ok(match operand {
        Operand::Var(var) => variable(*var, data),
        Operand::Dot => dot.clone(),
        Operand::Str(value) => Value::Str(value.clone()),
        Operand::Int(value) => Value::Int(*value),
        Operand::Bool(value) => Value::Bool(*value),
        Operand::Nil => Value::Nil,
        Operand::Pipeline(inner) => evaluate(inner, data, dot)?,
    })
}
