//! Reading manifests: files or directories, multi-document YAML (or JSON), each document remembered with
//! where it came from so every error can name the file, the document and the field.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a document came from: `examples/app.yaml#2` (documents count from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub document: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (document {})", self.file.display(), self.document)
    }
}

/// One parsed document.
#[derive(Debug, Clone)]
pub struct Document {
    pub origin: Origin,
    pub value: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid YAML")]
    Yaml {
        path: PathBuf,
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    #[error("{origin}: a manifest must be a mapping with apiVersion and kind")]
    NotAnObject { origin: Origin },
    #[error("no manifests found in {path} (looked for *.yaml, *.yml, *.json)")]
    Empty { path: PathBuf },
}

/// Loads every document from the paths, in order. Directories are read recursively in file-name order;
/// only `*.yaml`, `*.yml` and `*.json` files are read there (an explicitly named file is read whatever its
/// name). `-` reads standard input.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Document>, ManifestError> {
    let mut documents = Vec::new();
    for path in paths {
        let before = documents.len();
        if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|source| {
                ManifestError::Read {
                    path: path.clone(),
                    source,
                }
            })?;
            parse(path, &text, &mut documents)?;
        } else if path.is_dir() {
            for file in manifest_files(path)? {
                read_file(&file, &mut documents)?;
            }
        } else {
            read_file(path, &mut documents)?;
        }
        if documents.len() == before {
            return Err(ManifestError::Empty { path: path.clone() });
        }
    }
    Ok(documents)
}

fn manifest_files(directory: &Path) -> Result<Vec<PathBuf>, ManifestError> {
    let mut files = Vec::new();
    let mut pending = vec![directory.to_owned()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| ManifestError::Read {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| ManifestError::Read {
                path: dir.clone(),
                source,
            })?;
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json")
            ) {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn read_file(path: &Path, documents: &mut Vec<Document>) -> Result<(), ManifestError> {
    let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text, documents)
}

fn parse(path: &Path, text: &str, documents: &mut Vec<Document>) -> Result<(), ManifestError> {
    // Split on document markers ourselves so document numbers match what people count in the file, empty
    // documents included.
    for (index, chunk) in split_documents(text).into_iter().enumerate() {
        let origin = Origin {
            file: path.to_owned(),
            document: index + 1,
        };
        if chunk
            .lines()
            .all(|line| line.trim().is_empty() || line.trim_start().starts_with('#'))
        {
            continue;
        }
        let value: serde_json::Value =
            serde_saphyr::from_str(&chunk).map_err(|source| ManifestError::Yaml {
                path: path.to_owned(),
                source: Box::new(source),
            })?;
        match value {
            serde_json::Value::Null => continue,
            serde_json::Value::Object(_) => documents.push(Document { origin, value }),
            serde_json::Value::Array(items) if path.extension().is_some_and(|e| e == "json") => {
                // A JSON file may hold a list of objects.
                for item in items {
                    if !item.is_object() {
                        return Err(ManifestError::NotAnObject { origin });
                    }
                    documents.push(Document {
                        origin: origin.clone(),
                        value: item,
                    });
                }
            }
            _ => return Err(ManifestError::NotAnObject { origin }),
        }
    }
    Ok(())
}

/// Splits a YAML stream at `---` lines (a `...` end marker is dropped).
fn split_documents(text: &str) -> Vec<String> {
    let mut documents = vec![String::new()];
    for line in text.lines() {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed.starts_with("--- ") {
            documents.push(trimmed.strip_prefix("---").unwrap_or_default().trim().to_owned() + "\n");
        } else if trimmed == "..." {
            continue;
        } else {
            let current = documents.last_mut().expect("starts with one document");
            current.push_str(line);
            current.push('\n');
        }
    }
    documents
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_multi_document_files_and_counts_like_people() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("all.yaml");
        std::fs::write(
            &file,
            "# header\n---\nkind: A\napiVersion: v\n---\n\n---\nkind: B\napiVersion: v\n...\n",
        )
        .unwrap();
        let documents = load(std::slice::from_ref(&file)).unwrap();
        assert_eq!(documents.len(), 2);
        assert_eq!(documents[0].value["kind"], "A");
        assert_eq!(documents[0].origin.document, 2);
        assert_eq!(documents[1].origin.document, 4);
    }

    #[test]
    fn directories_are_read_in_order_and_filtered() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.yaml"), "kind: B\n").unwrap();
        std::fs::write(dir.path().join("a.yml"), "kind: A\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not yaml: [").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub").join("c.json"), "{\"kind\": \"C\"}").unwrap();
        let kinds: Vec<String> = load(&[dir.path().to_owned()])
            .unwrap()
            .into_iter()
            .map(|d| d.value["kind"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kinds, vec!["A", "B", "C"]);
    }

    #[test]
    fn bad_yaml_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.yaml");
        std::fs::write(&file, "kind: [unclosed\n").unwrap();
        let error = load(std::slice::from_ref(&file)).unwrap_err();
        assert!(error.to_string().contains("bad.yaml"), "{error}");
    }

    #[test]
    fn a_scalar_document_is_refused_with_its_position() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.yaml");
        std::fs::write(&file, "kind: A\n---\njust a string\n").unwrap();
        let error = load(std::slice::from_ref(&file)).unwrap_err();
        assert!(
            error
                .to_string()
                .ends_with("x.yaml (document 2): a manifest must be a mapping with apiVersion and kind"),
            "{error}"
        );
    }

    #[test]
    fn empty_inputs_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            load(&[dir.path().to_owned()]),
            Err(ManifestError::Empty { .. })
        ));
    }
}
