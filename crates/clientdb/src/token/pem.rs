//! Minimal PEM: `-----BEGIN <label>-----`, base64 body, `-----END <label>-----`, several blocks per file.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemBlock {
    pub label: String,
    pub der: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PemError {
    #[error("no PEM block found")]
    Empty,
    #[error("PEM block {label:?} has no END line")]
    Unterminated { label: String },
    #[error("PEM block {label:?} is not valid base64")]
    Base64 { label: String },
}

pub fn parse(text: &str) -> Result<Vec<PemBlock>, PemError> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut terminated = false;
        for line in lines.by_ref() {
            if line == end {
                terminated = true;
                break;
            }
            // RFC 1421 headers (`Proc-Type: ...`) only appear in encrypted keys, which are not supported.
            body.push_str(line);
        }
        if !terminated {
            return Err(PemError::Unterminated {
                label: label.to_owned(),
            });
        }
        let der = STANDARD.decode(body.as_bytes()).map_err(|_| PemError::Base64 {
            label: label.to_owned(),
        })?;
        blocks.push(PemBlock {
            label: label.to_owned(),
            der,
        });
    }
    if blocks.is_empty() {
        return Err(PemError::Empty);
    }
    Ok(blocks)
}

pub fn encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("invariant: base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_several_blocks() {
        let text = format!(
            "{}junk\n{}",
            encode("PRIVATE KEY", &[1, 2, 3]),
            encode("EC PRIVATE KEY", &[0; 100])
        );
        let blocks = parse(&text).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(
            blocks[0],
            PemBlock {
                label: "PRIVATE KEY".into(),
                der: vec![1, 2, 3]
            }
        );
        assert_eq!(blocks[1].der.len(), 100);
        assert_eq!(parse("nothing"), Err(PemError::Empty));
        assert!(matches!(
            parse("-----BEGIN X-----\nAAAA\n"),
            Err(PemError::Unterminated { .. })
        ));
        assert!(matches!(
            parse("-----BEGIN X-----\n!!!\n-----END X-----\n"),
            Err(PemError::Base64 { .. })
        ));
    }
}
