//! `sqlite3://` (golang-migrate's mattn driver) and `sqlite://` (its modernc driver): golang-migrate strips the
//! scheme and passes the rest to the driver, so `sqlite3://path/to/db` is the relative path `path/to/db`
//! and `sqlite3:///abs/db` the absolute `/abs/db`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::escape::{Mode, unescape};
use super::{DEFAULT_MIGRATIONS_TABLE, UrlError, bool_parameter, unique_parameters};

const SCHEME: &str = "sqlite";

/// How the database file is opened (mattn's `mode` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteOpenMode {
    /// `rwc`, the default: read-write, created when missing.
    #[default]
    ReadWriteCreate,
    /// `rw`: read-write, the file must exist.
    ReadWrite,
    /// `ro`.
    ReadOnly,
    /// `memory`: a private in-memory database (lost when the runner disconnects).
    Memory,
}

/// A SQLite migration target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteTarget {
    pub path: PathBuf,
    pub mode: SqliteOpenMode,
    pub migrations_table: String,
    /// `x-no-tx-wrap`: run each file as it is instead of inside `BEGIN`/`COMMIT`.
    pub no_tx_wrap: bool,
    /// `_foreign_keys` / `_fk`; `None` leaves SQLite's default (off).
    pub foreign_keys: Option<bool>,
    /// `_busy_timeout` / `_timeout` in milliseconds; default 5000 ms, as mattn's.
    pub busy_timeout: Duration,
    /// Other `PRAGMA`s: `_journal_mode`, `_synchronous`, and modernc's `_pragma=name(value)`.
    pub pragmas: Vec<(String, String)>,
    display: String,
}

impl SqliteTarget {
    /// A target for the database file `path` (the `DatabaseMigration` kind).
    pub fn from_path(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        Self {
            display: format!("sqlite3://{}", path.display()),
            path,
            mode: SqliteOpenMode::ReadWriteCreate,
            migrations_table: DEFAULT_MIGRATIONS_TABLE.to_owned(),
            no_tx_wrap: false,
            foreign_keys: None,
            busy_timeout: Duration::from_millis(5000),
            pragmas: Vec::new(),
        }
    }

    pub(crate) fn parse(raw: &str) -> Result<Self, UrlError> {
        let rest = raw
            .strip_prefix("sqlite3://")
            .or_else(|| raw.strip_prefix("sqlite://"))
            .ok_or_else(|| malformed("expected sqlite3:// or sqlite://".into()))?;
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        let path =
            unescape(path, Mode::Path).map_err(|error| malformed(format!("path: {}", error.reason())))?;
        if path.is_empty() {
            return Err(malformed("the database file path is empty".into()));
        }
        let mut target = Self::from_path(path);
        target.display = raw.to_owned();
        let pairs = match query {
            Some(query) => ::url::form_urlencoded::parse(query.as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
            None => Vec::new(),
        };
        for (name, value) in unique_parameters(SCHEME, pairs)? {
            match name.as_str() {
                "x-migrations-table" => target.migrations_table = value,
                "x-no-tx-wrap" => target.no_tx_wrap = bool_parameter(SCHEME, &name, &value)?,
                _ if name.starts_with("x-") => {
                    return Err(UrlError::UnknownParameter { scheme: SCHEME, name });
                }
                "_foreign_keys" | "_fk" => target.foreign_keys = Some(bool_parameter(SCHEME, &name, &value)?),
                "_busy_timeout" | "_timeout" => {
                    let millis: u64 = value
                        .parse()
                        .map_err(|_| invalid(&name, &value, "expected milliseconds"))?;
                    target.busy_timeout = Duration::from_millis(millis);
                }
                "_journal_mode" | "_journal" => {
                    let mode = value.to_ascii_uppercase();
                    if !matches!(
                        mode.as_str(),
                        "DELETE" | "TRUNCATE" | "PERSIST" | "MEMORY" | "WAL" | "OFF"
                    ) {
                        return Err(invalid(
                            &name,
                            &value,
                            "expected DELETE, TRUNCATE, PERSIST, MEMORY, WAL or OFF",
                        ));
                    }
                    target.pragmas.push(("journal_mode".into(), mode));
                }
                "_synchronous" | "_sync" => {
                    let level = value.to_ascii_uppercase();
                    if !matches!(
                        level.as_str(),
                        "0" | "1" | "2" | "3" | "OFF" | "NORMAL" | "FULL" | "EXTRA"
                    ) {
                        return Err(invalid(&name, &value, "expected OFF, NORMAL, FULL or EXTRA"));
                    }
                    target.pragmas.push(("synchronous".into(), level));
                }
                "_pragma" => target.pragmas.push(parse_modernc_pragma(&value)?),
                "mode" => {
                    target.mode = match value.as_str() {
                        "rwc" => SqliteOpenMode::ReadWriteCreate,
                        "rw" => SqliteOpenMode::ReadWrite,
                        "ro" => SqliteOpenMode::ReadOnly,
                        "memory" => SqliteOpenMode::Memory,
                        _ => return Err(invalid(&name, &value, "expected ro, rw, rwc or memory")),
                    };
                }
                _ => {
                    return Err(unsupported(
                        &name,
                        "this SQLite driver parameter is not implemented",
                    ));
                }
            }
        }
        if target.migrations_table.is_empty() {
            target.migrations_table = DEFAULT_MIGRATIONS_TABLE.to_owned();
        }
        Ok(target)
    }
}

impl fmt::Display for SqliteTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// modernc's `_pragma=name(value)`. Names and values are restricted to words and numbers, because a pragma
/// value cannot be passed as a bound parameter.
fn parse_modernc_pragma(value: &str) -> Result<(String, String), UrlError> {
    let reason = "expected name(value) with a word or number as the value";
    let (name, rest) = value
        .split_once('(')
        .ok_or_else(|| invalid("_pragma", value, reason))?;
    let argument = rest
        .strip_suffix(')')
        .ok_or_else(|| invalid("_pragma", value, reason))?;
    let plain = |text: &str| {
        !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if !plain(name) || !plain(argument) {
        return Err(invalid("_pragma", value, reason));
    }
    Ok((name.to_ascii_lowercase(), argument.to_owned()))
}

fn malformed(reason: String) -> UrlError {
    UrlError::Malformed {
        scheme: SCHEME,
        reason,
    }
}

fn invalid(name: &str, value: &str, reason: &str) -> UrlError {
    UrlError::InvalidParameter {
        scheme: SCHEME,
        name: name.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

fn unsupported(name: &str, reason: &'static str) -> UrlError {
    UrlError::UnsupportedParameter {
        scheme: SCHEME,
        name: name.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> SqliteTarget {
        SqliteTarget::parse(url).unwrap_or_else(|error| panic!("{url}: {error}"))
    }

    #[test]
    fn relative_and_absolute_paths() {
        assert_eq!(
            parse("sqlite3://path/to/db.sqlite").path,
            PathBuf::from("path/to/db.sqlite")
        );
        assert_eq!(
            parse("sqlite3:///abs/db.sqlite").path,
            PathBuf::from("/abs/db.sqlite")
        );
        assert_eq!(
            parse("sqlite://my%20db.sqlite").path,
            PathBuf::from("my db.sqlite")
        );
        assert!(SqliteTarget::parse("sqlite3://").is_err());
        assert!(SqliteTarget::parse("sqlite3://?x-no-tx-wrap=true").is_err());
    }

    #[test]
    fn parameters() {
        let target = parse(
            "sqlite3://db.sqlite?x-migrations-table=m&x-no-tx-wrap=true&_foreign_keys=1&_busy_timeout=100&_journal_mode=wal&_pragma=cache_size(-2000)&mode=rw",
        );
        assert_eq!(target.migrations_table, "m");
        assert!(target.no_tx_wrap);
        assert_eq!(target.foreign_keys, Some(true));
        assert_eq!(target.busy_timeout, Duration::from_millis(100));
        assert_eq!(target.mode, SqliteOpenMode::ReadWrite);
        assert_eq!(
            target.pragmas,
            vec![
                ("journal_mode".to_string(), "WAL".to_string()),
                ("cache_size".to_string(), "-2000".to_string())
            ]
        );
        assert_eq!(
            target.to_string(),
            "sqlite3://db.sqlite?x-migrations-table=m&x-no-tx-wrap=true&_foreign_keys=1&_busy_timeout=100&_journal_mode=wal&_pragma=cache_size(-2000)&mode=rw"
        );
    }

    #[test]
    fn refused_parameters() {
        assert_eq!(
            SqliteTarget::parse("sqlite3://db?x-migrations-tabel=m").unwrap_err(),
            UrlError::UnknownParameter {
                scheme: "sqlite",
                name: "x-migrations-tabel".into()
            }
        );
        for url in [
            "sqlite3://db?x-no-tx-wrap=yes",
            "sqlite3://db?_pragma=key('x')",
            "sqlite3://db?_journal_mode=fast",
            "sqlite3://db?mode=rwx",
        ] {
            assert!(
                matches!(
                    SqliteTarget::parse(url).unwrap_err(),
                    UrlError::InvalidParameter { .. }
                ),
                "{url}"
            );
        }
        assert!(matches!(
            SqliteTarget::parse("sqlite3://db?_txlock=immediate").unwrap_err(),
            UrlError::UnsupportedParameter { .. }
        ));
    }
}
