//! Human (`-o table`, the default) and machine (`-o json`) output.

use clap::ValueEnum;
use clientdb::ClientRecord;
use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum Output {
    #[default]
    Table,
    Json,
}

pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub fn client_details(client: &ClientRecord) {
    let optional = |value: Option<String>| value.unwrap_or_else(|| "-".into());
    let rows = [
        ("client_id", client.client_id.clone()),
        ("client_name", client.client_name.clone()),
        ("active", client.is_active.to_string()),
        ("grant_types", client.grant_types.join(" ")),
        ("scopes", client.scopes.join(" ")),
        ("redirect_uris", client.redirect_uris.join(" ")),
        ("secret_version", client.secret_version.to_string()),
        (
            "secret_expires_at",
            optional(client.secret_expires_at.map(|at| at.to_rfc3339())),
        ),
        ("created_at", client.created_at.to_rfc3339()),
        ("updated_at", client.updated_at.to_rfc3339()),
        ("created_by", optional(client.created_by.clone())),
    ];
    for (name, value) in rows {
        println!("{:<18} {value}", format!("{name}:"));
    }
}

pub fn client_table(clients: &[ClientRecord]) {
    let rows: Vec<[String; 6]> = clients
        .iter()
        .map(|client| {
            [
                client.client_id.clone(),
                client.client_name.clone(),
                if client.is_active { "yes" } else { "no" }.to_owned(),
                client.scopes.join(" "),
                client.secret_version.to_string(),
                client.created_at.format("%Y-%m-%d %H:%M").to_string(),
            ]
        })
        .collect();
    let header = ["CLIENT_ID", "NAME", "ACTIVE", "SCOPES", "SECRET", "CREATED"].map(str::to_owned);
    let mut widths = header.clone().map(|cell| cell.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
}
