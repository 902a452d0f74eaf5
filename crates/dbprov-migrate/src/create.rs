//! `migrate create`: a new, empty pair of `{version}_{name}.up{ext}` / `.down{ext}` files, numbered
//! sequentially (`-seq -digits 6` → `000001`) or by time (`-format 20060102150405 -tz UTC`, Go layout), with
//! golang-migrate's checks and messages.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, FixedOffset, Local, TimeZone as _, Timelike, Utc};

/// golang-migrate's `defaultTimeFormat`.
pub const DEFAULT_TIME_FORMAT: &str = "20060102150405";
/// golang-migrate's default `-digits`.
pub const DEFAULT_DIGITS: usize = 6;

/// How the new version is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Numbering {
    /// One more than the last file's version, zero-padded to `digits`.
    Sequential { digits: usize },
    /// The current time.
    Timestamp { format: TimeFormat, time_zone: TimeZone },
}

impl Numbering {
    /// Builds the numbering from `migrate create`'s flags (`-seq`, `-digits`, `-format`, `-tz`), with its
    /// checks. `None` means the flag was not given.
    pub fn from_flags(
        seq: bool,
        digits: Option<usize>,
        format: Option<&str>,
        time_zone: Option<&str>,
    ) -> Result<Self, CreateError> {
        if seq {
            if format.is_some_and(|format| format != DEFAULT_TIME_FORMAT) {
                return Err(CreateError::SeqAndFormat);
            }
            let digits = digits.unwrap_or(DEFAULT_DIGITS);
            if digits == 0 {
                return Err(CreateError::DigitsNotPositive);
            }
            return Ok(Numbering::Sequential { digits });
        }
        Ok(Numbering::Timestamp {
            format: TimeFormat::parse(format.unwrap_or(DEFAULT_TIME_FORMAT))?,
            time_zone: TimeZone::parse(time_zone.unwrap_or("UTC"))?,
        })
    }
}

/// `-format`: a Go time layout, or `unix` / `unixNano`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeFormat {
    Layout(String),
    Unix,
    UnixNano,
}

impl TimeFormat {
    pub fn parse(format: &str) -> Result<Self, CreateError> {
        match format {
            "" => Err(CreateError::EmptyTimeFormat),
            "unix" => Ok(TimeFormat::Unix),
            "unixNano" => Ok(TimeFormat::UnixNano),
            layout => Ok(TimeFormat::Layout(layout.to_owned())),
        }
    }
}

/// `-tz`: `UTC`, `Local`, or a fixed offset such as `+02:00`. (IANA zone names need a time zone database,
/// which dbprov does not ship; they are refused rather than misread.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeZone {
    Utc,
    Local,
    Fixed(FixedOffset),
}

impl TimeZone {
    pub fn parse(name: &str) -> Result<Self, CreateError> {
        match name {
            "" | "UTC" => Ok(TimeZone::Utc),
            "Local" => Ok(TimeZone::Local),
            offset => offset.parse::<FixedOffset>().map(TimeZone::Fixed).map_err(|_| {
                CreateError::UnsupportedTimeZone {
                    name: offset.to_owned(),
                }
            }),
        }
    }
}

/// What to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOptions {
    /// `-dir`; created when missing.
    pub directory: PathBuf,
    /// The migration's name (`create_users`).
    pub name: String,
    /// `-ext`; `sql` and `.sql` are the same.
    pub extension: String,
    pub numbering: Numbering,
}

/// The files created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedMigration {
    pub version: String,
    pub up: PathBuf,
    pub down: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CreateError {
    #[error("please specify name")]
    MissingName,

    #[error("migration name {name:?} must not contain a path separator or a NUL byte")]
    InvalidName { name: String },

    #[error("-ext flag must be specified")]
    MissingExtension,

    #[error("the seq and format options are mutually exclusive")]
    SeqAndFormat,

    #[error("digits must be positive")]
    DigitsNotPositive,

    #[error("time format may not be empty")]
    EmptyTimeFormat,

    #[error("time zone {name:?} is not supported (use UTC, Local or an offset such as +02:00)")]
    UnsupportedTimeZone { name: String },

    #[error("time format {format:?} gives the version {version:?}, which is not a number")]
    NotANumber { format: String, version: String },

    #[error("malformed migration filename: {}", path.display())]
    MalformedFileName { path: PathBuf },

    #[error("next sequence number {version} too large. At most {digits} digits are allowed")]
    SequenceTooLarge { version: String, digits: usize },

    #[error("duplicate migration version: {version}")]
    DuplicateVersion { version: String },

    #[error("failed to read migration directory {}", path.display())]
    ReadDirectory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("failed to create {}", path.display())]
    CreateFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl CreateError {
    /// A stable identifier for metrics and exit codes.
    pub fn kind(&self) -> &'static str {
        match self {
            CreateError::MissingName
            | CreateError::InvalidName { .. }
            | CreateError::MissingExtension
            | CreateError::SeqAndFormat
            | CreateError::DigitsNotPositive
            | CreateError::EmptyTimeFormat
            | CreateError::UnsupportedTimeZone { .. }
            | CreateError::NotANumber { .. } => "InvalidArguments",
            CreateError::MalformedFileName { .. } => "MalformedFileName",
            CreateError::SequenceTooLarge { .. } => "SequenceTooLarge",
            CreateError::DuplicateVersion { .. } => "DuplicateVersion",
            CreateError::ReadDirectory { .. } | CreateError::CreateFile { .. } => "Io",
        }
    }
}

/// Creates the up and down files. `now` is the time a timestamp version is taken from.
pub fn create(options: &CreateOptions, now: DateTime<Utc>) -> Result<CreatedMigration, CreateError> {
    if options.name.is_empty() {
        return Err(CreateError::MissingName);
    }
    if options.name.contains(['/', '\0']) || options.name.contains(std::path::MAIN_SEPARATOR) {
        return Err(CreateError::InvalidName {
            name: options.name.clone(),
        });
    }
    let extension = options.extension.trim_start_matches('.');
    if extension.is_empty() {
        return Err(CreateError::MissingExtension);
    }
    let extension = format!(".{extension}");
    let directory = if options.directory.as_os_str().is_empty() {
        Path::new(".")
    } else {
        options.directory.as_path()
    };
    std::fs::create_dir_all(directory).map_err(|source| CreateError::CreateFile {
        path: directory.to_owned(),
        source,
    })?;
    let names = file_names(directory)?;

    let version = match &options.numbering {
        Numbering::Sequential { digits } => next_sequence(directory, &names, &extension, *digits)?,
        Numbering::Timestamp { format, time_zone } => timestamp_version(format, *time_zone, now)?,
    };
    let prefix = format!("{version}_");
    if names
        .iter()
        .any(|name| name.starts_with(&prefix) && name.ends_with(&extension))
    {
        return Err(CreateError::DuplicateVersion { version });
    }
    let up = directory.join(format!("{version}_{}.up{extension}", options.name));
    let down = directory.join(format!("{version}_{}.down{extension}", options.name));
    for path in [&up, &down] {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|source| CreateError::CreateFile {
                path: path.clone(),
                source,
            })?;
    }
    Ok(CreatedMigration { version, up, down })
}

fn file_names(directory: &Path) -> Result<Vec<String>, CreateError> {
    let read_error = |source| CreateError::ReadDirectory {
        path: directory.to_owned(),
        source,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(directory).map_err(read_error)? {
        names.push(
            entry
                .map_err(read_error)?
                .file_name()
                .to_string_lossy()
                .into_owned(),
        );
    }
    // `filepath.Glob` returns matches in lexical order.
    names.sort();
    Ok(names)
}

/// golang-migrate's `nextSeqVersion`: the last (lexically) `*<ext>` file's leading number plus one.
fn next_sequence(
    directory: &Path,
    names: &[String],
    extension: &str,
    digits: usize,
) -> Result<String, CreateError> {
    if digits == 0 {
        return Err(CreateError::DigitsNotPositive);
    }
    let next = match names
        .iter()
        .rfind(|name| name.ends_with(extension) && !name.starts_with('.'))
    {
        None => 1,
        Some(last) => {
            let malformed = || CreateError::MalformedFileName {
                path: directory.join(last),
            };
            let number = match last.find('_') {
                Some(index) if index >= 1 => &last[..index],
                _ => return Err(malformed()),
            };
            number
                .parse::<u64>()
                .map_err(|_| malformed())?
                .checked_add(1)
                .ok_or_else(malformed)?
        }
    };
    let version = format!("{next:0digits$}");
    if version.len() > digits {
        return Err(CreateError::SequenceTooLarge { version, digits });
    }
    Ok(version)
}

fn timestamp_version(
    format: &TimeFormat,
    time_zone: TimeZone,
    now: DateTime<Utc>,
) -> Result<String, CreateError> {
    let version = match format {
        TimeFormat::Unix => now.timestamp().to_string(),
        TimeFormat::UnixNano => now
            .timestamp_nanos_opt()
            .map(|nanos| nanos.to_string())
            .unwrap_or_else(|| now.timestamp().to_string()),
        TimeFormat::Layout(layout) => {
            let local = match time_zone {
                TimeZone::Utc => now.fixed_offset(),
                TimeZone::Local => now.with_timezone(&Local).fixed_offset(),
                TimeZone::Fixed(offset) => offset.from_utc_datetime(&now.naive_utc()),
            };
            format_go_layout(layout, &local)
        }
    };
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        let format = match format {
            TimeFormat::Layout(layout) => layout.clone(),
            TimeFormat::Unix => "unix".into(),
            TimeFormat::UnixNano => "unixNano".into(),
        };
        return Err(CreateError::NotANumber { format, version });
    }
    Ok(version)
}

/// Go's `Time.Format` for the numeric layout elements (`2006 06 01 1 02 2 002 15 03 3 04 4 05 5` and
/// fractional seconds `.000`/`.999`); any other text is copied as is.
fn format_go_layout(layout: &str, time: &DateTime<FixedOffset>) -> String {
    let hour12 = match time.hour() % 12 {
        0 => 12,
        hour => hour,
    };
    let mut out = String::new();
    let bytes = layout.as_bytes();
    let mut index = 0;
    let starts = |index: usize, token: &str| layout[index..].starts_with(token);
    while index < bytes.len() {
        let (text, len) = match bytes[index] {
            b'2' if starts(index, "2006") => (format!("{:04}", time.year()), 4),
            b'2' => (time.day().to_string(), 1),
            b'0' if starts(index, "002") => (format!("{:03}", time.ordinal()), 3),
            b'0' if index + 1 < bytes.len() && (b'1'..=b'6').contains(&bytes[index + 1]) => {
                let value = match bytes[index + 1] {
                    b'1' => time.month(),
                    b'2' => time.day(),
                    b'3' => hour12,
                    b'4' => time.minute(),
                    b'5' => time.second(),
                    _ => (time.year().rem_euclid(100)) as u32,
                };
                (format!("{value:02}"), 2)
            }
            b'1' if starts(index, "15") => (format!("{:02}", time.hour()), 2),
            b'1' => (time.month().to_string(), 1),
            b'3' => (hour12.to_string(), 1),
            b'4' => (time.minute().to_string(), 1),
            b'5' => (time.second().to_string(), 1),
            b'.' | b',' if index + 1 < bytes.len() && matches!(bytes[index + 1], b'0' | b'9') => {
                let digit = bytes[index + 1];
                let run = bytes[index + 1..].iter().take_while(|b| **b == digit).count();
                let followed_by_digit = bytes.get(index + 1 + run).is_some_and(u8::is_ascii_digit);
                if followed_by_digit {
                    ((bytes[index] as char).to_string(), 1)
                } else {
                    let nanos = format!("{:09}", time.nanosecond().min(999_999_999));
                    let mut fraction = nanos[..run.min(9)].to_owned();
                    if digit == b'9' {
                        fraction = fraction.trim_end_matches('0').to_owned();
                    }
                    let separator = if fraction.is_empty() {
                        String::new()
                    } else {
                        (bytes[index] as char).to_string()
                    };
                    (format!("{separator}{fraction}"), 1 + run)
                }
            }
            _ => {
                let ch = layout[index..]
                    .chars()
                    .next()
                    .expect("invariant: index is on a char boundary");
                (ch.to_string(), ch.len_utf8())
            }
        };
        out.push_str(&text);
        index += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn options(directory: &Path, numbering: Numbering) -> CreateOptions {
        CreateOptions {
            directory: directory.to_owned(),
            name: "create_users".into(),
            extension: "sql".into(),
            numbering,
        }
    }

    #[test]
    fn default_timestamp_version() {
        let dir = tempfile::tempdir().unwrap();
        let numbering = Numbering::from_flags(false, None, None, None).unwrap();
        let created = create(&options(dir.path(), numbering), at("2024-01-31T23:59:59Z")).unwrap();
        assert_eq!(created.version, "20240131235959");
        assert_eq!(created.up, dir.path().join("20240131235959_create_users.up.sql"));
        assert_eq!(
            created.down,
            dir.path().join("20240131235959_create_users.down.sql")
        );
        assert_eq!(std::fs::read(&created.up).unwrap(), b"");
        assert!(created.down.exists());
    }

    #[test]
    fn time_zones_and_other_formats() {
        let now = at("2024-01-31T23:59:59.123456789Z");
        let version = |format, tz| {
            let numbering = Numbering::from_flags(false, None, Some(format), Some(tz)).unwrap();
            let Numbering::Timestamp { format, time_zone } = numbering else {
                unreachable!()
            };
            timestamp_version(&format, time_zone, now)
        };
        assert_eq!(version("20060102150405", "+02:00").unwrap(), "20240201015959");
        assert_eq!(version("unix", "UTC").unwrap(), "1706745599");
        assert_eq!(version("unixNano", "UTC").unwrap(), "1706745599123456789");
        assert_eq!(version("060102", "UTC").unwrap(), "240131");
        assert_eq!(version("2006010215040599", "UTC").unwrap(), "2024013123595999");
        assert_eq!(
            version("20060102150405.000", "UTC").unwrap_err().to_string(),
            "time format \"20060102150405.000\" gives the version \"20240131235959.123\", which is not a number"
        );
        assert!(version("Jan 2006", "UTC").is_err());
        assert!(matches!(
            Numbering::from_flags(false, None, Some("20060102"), Some("Europe/Berlin")),
            Err(CreateError::UnsupportedTimeZone { .. })
        ));
        assert!(matches!(
            Numbering::from_flags(false, None, Some(""), None),
            Err(CreateError::EmptyTimeFormat)
        ));
    }

    #[test]
    fn sequential_versions() {
        let dir = tempfile::tempdir().unwrap();
        let seq = Numbering::from_flags(true, None, None, None).unwrap();
        let first = create(&options(dir.path(), seq.clone()), Utc::now()).unwrap();
        assert_eq!(first.version, "000001");
        let mut second_options = options(dir.path(), seq);
        second_options.name = "add_email".into();
        second_options.extension = ".sql".into();
        let second = create(&second_options, Utc::now()).unwrap();
        assert_eq!(second.version, "000002");
        assert!(dir.path().join("000002_add_email.down.sql").exists());
    }

    #[test]
    fn sequence_limits_and_malformed_names() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("99_last.up.sql"), "").unwrap();
        let error = create(
            &options(dir.path(), Numbering::Sequential { digits: 2 }),
            Utc::now(),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "next sequence number 100 too large. At most 2 digits are allowed"
        );

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.sql"), "").unwrap();
        let error = create(
            &options(dir.path(), Numbering::Sequential { digits: 6 }),
            Utc::now(),
        )
        .unwrap_err();
        assert!(matches!(error, CreateError::MalformedFileName { .. }), "{error}");

        assert!(matches!(
            Numbering::from_flags(true, Some(0), None, None),
            Err(CreateError::DigitsNotPositive)
        ));
        assert!(matches!(
            Numbering::from_flags(true, None, Some("unix"), None),
            Err(CreateError::SeqAndFormat)
        ));
    }

    #[test]
    fn duplicate_versions_and_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let now = at("2024-01-31T23:59:59Z");
        let numbering = Numbering::from_flags(false, None, None, None).unwrap();
        create(&options(dir.path(), numbering.clone()), now).unwrap();
        let mut again = options(dir.path(), numbering.clone());
        again.name = "other".into();
        assert_eq!(
            create(&again, now).unwrap_err().to_string(),
            "duplicate migration version: 20240131235959"
        );
        let mut nameless = options(dir.path(), numbering.clone());
        nameless.name.clear();
        assert!(matches!(create(&nameless, now), Err(CreateError::MissingName)));
        let mut no_extension = options(dir.path(), numbering.clone());
        no_extension.extension = ".".into();
        assert!(matches!(
            create(&no_extension, now),
            Err(CreateError::MissingExtension)
        ));
        let mut slash = options(dir.path(), numbering);
        slash.name = "../escape".into();
        assert!(matches!(
            create(&slash, now),
            Err(CreateError::InvalidName { .. })
        ));
    }

    #[test]
    fn missing_directories_are_created() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("db/migrations");
        let created = create(&options(&nested, Numbering::Sequential { digits: 3 }), Utc::now()).unwrap();
        assert_eq!(created.version, "001");
        assert!(nested.join("001_create_users.up.sql").exists());
    }
}
