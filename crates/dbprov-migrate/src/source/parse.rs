//! golang-migrate's file name rule: `^([0-9]+)_(.*)\.(down|up)\.(.*)$` (`source/parse.go`), evaluated the way
//! Go's RE2 evaluates it, without a regex engine: the version is the leading run of digits, the identifier is
//! greedy (so the *last* `.up.`/`.down.` decides the direction), `.` never matches a newline and the extension
//! is not checked.

use std::fmt;

/// Which way a migration file goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }

    /// golang-migrate's one-letter log form (`1/u create_users`).
    pub fn letter(self) -> char {
        match self {
            Direction::Up => 'u',
            Direction::Down => 'd',
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parts of a migration file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedName {
    pub version: u64,
    pub identifier: String,
    pub direction: Direction,
    pub extension: String,
}

/// Why a name that looks like a migration is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameMismatch {
    /// The name does not match the pattern at all: golang-migrate ignores such files.
    NoMatch,
    /// The digits do not fit a u64 (`strconv.ParseUint` fails): golang-migrate ignores these files too.
    VersionOverflow,
}

/// Parses `{version}_{identifier}.{up|down}.{extension}`.
pub fn parse_file_name(name: &str) -> Result<ParsedName, NameMismatch> {
    // RE2's `.` does not match `\n` and `$` (without the m flag) only matches at the very end.
    if name.contains('\n') {
        return Err(NameMismatch::NoMatch);
    }
    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || name.as_bytes().get(digits) != Some(&b'_') {
        return Err(NameMismatch::NoMatch);
    }
    let rest = &name[digits + 1..];
    // The greedy identifier makes the match with the right-most `.up.`/`.down.` win.
    let (split, direction, marker_len) = rest
        .char_indices()
        .rev()
        .filter(|&(index, _)| rest.as_bytes()[index] == b'.')
        .find_map(|(index, _)| {
            let tail = &rest[index..];
            if tail.starts_with(".down.") {
                Some((index, Direction::Down, ".down.".len()))
            } else if tail.starts_with(".up.") {
                Some((index, Direction::Up, ".up.".len()))
            } else {
                None
            }
        })
        .ok_or(NameMismatch::NoMatch)?;
    let version = name[..digits]
        .parse::<u64>()
        .map_err(|_| NameMismatch::VersionOverflow)?;
    Ok(ParsedName {
        version,
        identifier: rest[..split].to_owned(),
        direction,
        extension: rest[split + marker_len..].to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(name: &str) -> (u64, String, Direction, String) {
        let p = parse_file_name(name).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        (p.version, p.identifier, p.direction, p.extension)
    }

    #[test]
    fn plain_names() {
        assert_eq!(
            parsed("1_create_users.up.sql"),
            (1, "create_users".into(), Direction::Up, "sql".into())
        );
        assert_eq!(
            parsed("20240131235959_add.down.sql"),
            (20240131235959, "add".into(), Direction::Down, "sql".into())
        );
    }

    #[test]
    fn leading_zeros_and_version_zero() {
        assert_eq!(parsed("000001_x.up.sql").0, 1);
        assert_eq!(parsed("0_x.up.sql").0, 0);
        assert_eq!(parsed("18446744073709551615_max.up.sql").0, u64::MAX);
    }

    #[test]
    fn overflowing_versions_are_not_migrations() {
        assert_eq!(
            parse_file_name("18446744073709551616_x.up.sql"),
            Err(NameMismatch::VersionOverflow)
        );
    }

    #[test]
    fn identifier_and_extension_may_be_empty() {
        assert_eq!(parsed("1_.up.sql"), (1, "".into(), Direction::Up, "sql".into()));
        assert_eq!(parsed("1_x.up."), (1, "x".into(), Direction::Up, "".into()));
    }

    #[test]
    fn the_last_direction_marker_wins() {
        assert_eq!(
            parsed("1_a.up.sql.down.bak"),
            (1, "a.up.sql".into(), Direction::Down, "bak".into())
        );
        assert_eq!(
            parsed("1_x.up.up.sql"),
            (1, "x.up".into(), Direction::Up, "sql".into())
        );
        assert_eq!(
            parsed("2_with.dots.in.name.down.sql"),
            (2, "with.dots.in.name".into(), Direction::Down, "sql".into())
        );
    }

    #[test]
    fn the_extension_is_not_checked() {
        assert_eq!(parsed("1_x.up.txt").3, "txt");
        assert_eq!(parsed("1_x.up.sql.gz").3, "sql.gz");
    }

    #[test]
    fn non_matching_names() {
        for name in [
            "1.up.sql",
            "x_1.up.sql",
            "_1.up.sql",
            "1_x.sql",
            "1_x.up",
            "1_x.UP.sql",
            "1_x.upsql",
            "README.md",
            "1_x\n.up.sql",
            "1_x.up.sql\n",
            "",
        ] {
            assert_eq!(parse_file_name(name), Err(NameMismatch::NoMatch), "{name:?}");
        }
    }

    #[test]
    fn non_ascii_identifiers() {
        assert_eq!(parsed("3_crée_ü.up.sql").1, "crée_ü");
    }
}
