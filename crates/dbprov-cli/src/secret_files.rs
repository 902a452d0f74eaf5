//! Generated credentials as Kubernetes `Secret` YAML files under `<state-dir>/secrets/`, mode 0600, written
//! atomically (temporary file, fsync, rename) so a crash never leaves half a credential behind.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SecretMetadata {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A `v1/Secret` as written to disk: values base64-encoded under `data`, exactly as `kubectl apply` expects.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretDocument {
    pub api_version: String,
    pub kind: String,
    pub metadata: SecretMetadata,
    #[serde(rename = "type", default = "opaque")]
    pub secret_type: String,
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

fn opaque() -> String {
    "Opaque".to_owned()
}

impl std::fmt::Debug for SecretDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretDocument")
            .field("metadata", &self.metadata)
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SecretDocument {
    pub fn new(metadata: SecretMetadata, secret_type: &str, values: &BTreeMap<String, Vec<u8>>) -> Self {
        Self {
            api_version: "v1".into(),
            kind: "Secret".into(),
            metadata,
            secret_type: secret_type.to_owned(),
            data: values
                .iter()
                .map(|(key, value)| {
                    (
                        key.clone(),
                        base64::engine::general_purpose::STANDARD.encode(value),
                    )
                })
                .collect(),
        }
    }

    /// The decoded values.
    pub fn values(&self) -> Result<BTreeMap<String, Vec<u8>>, SecretFileError> {
        self.data
            .iter()
            .map(|(key, value)| {
                base64::engine::general_purpose::STANDARD
                    .decode(value)
                    .map(|bytes| (key.clone(), bytes))
                    .map_err(|_| SecretFileError::Malformed {
                        name: self.metadata.name.clone(),
                        key: key.clone(),
                    })
            })
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a Secret manifest")]
    Parse {
        path: PathBuf,
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    #[error("cannot render secret {name}")]
    Render {
        name: String,
        #[source]
        source: serde_saphyr::ser::Error,
    },
    #[error("secret {name}: key {key} is not valid base64")]
    Malformed { name: String, key: String },
}

/// The `secrets/` directory of the state directory.
#[derive(Debug, Clone)]
pub struct SecretFiles {
    dir: PathBuf,
}

impl SecretFiles {
    pub fn new(state_dir: &Path) -> Self {
        Self {
            dir: state_dir.join("secrets"),
        }
    }

    pub fn path(&self, namespace: &str, name: &str) -> PathBuf {
        self.dir.join(format!("{namespace}.{name}.yaml"))
    }

    pub fn read(&self, namespace: &str, name: &str) -> Result<Option<SecretDocument>, SecretFileError> {
        let path = self.path(namespace, name);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(SecretFileError::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        };
        serde_saphyr::from_str(&text)
            .map(Some)
            .map_err(|source| SecretFileError::Parse {
                path,
                source: Box::new(source),
            })
    }

    /// Writes the Secret durably before returning: temporary file (0600), fsync, rename, fsync the directory.
    /// Generated credentials go through here: their password is set on a server right after.
    pub fn write(&self, namespace: &str, document: &SecretDocument) -> Result<PathBuf, SecretFileError> {
        self.write_file(namespace, document, true)
    }

    /// Writes a private copy of a Secret the user supplied in a manifest (so a later `delete` still finds the
    /// admin credentials). Atomic but not synced: the manifest remains the source, and a run with hundreds of
    /// Secrets should not pay hundreds of fsyncs.
    pub fn write_copy(&self, namespace: &str, document: &SecretDocument) -> Result<PathBuf, SecretFileError> {
        if self
            .read(namespace, &document.metadata.name)
            .ok()
            .flatten()
            .as_ref()
            == Some(document)
        {
            return Ok(self.path(namespace, &document.metadata.name));
        }
        self.write_file(namespace, document, false)
    }

    fn write_file(
        &self,
        namespace: &str,
        document: &SecretDocument,
        durable: bool,
    ) -> Result<PathBuf, SecretFileError> {
        use std::os::unix::fs::OpenOptionsExt;
        crate::state::create_private_dir(&self.dir).map_err(|error| SecretFileError::Io {
            action: "create",
            path: self.dir.clone(),
            source: std::io::Error::other(error.to_string()),
        })?;
        let path = self.path(namespace, &document.metadata.name);
        let temporary = path.with_extension("yaml.tmp");
        let text = serde_saphyr::to_string(document).map_err(|source| SecretFileError::Render {
            name: document.metadata.name.clone(),
            source,
        })?;
        let io = |action, source| SecretFileError::Io {
            action,
            path: temporary.clone(),
            source,
        };
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)
            .map_err(|e| io("create", e))?;
        file.write_all(text.as_bytes()).map_err(|e| io("write", e))?;
        if durable {
            file.sync_all().map_err(|e| io("sync", e))?;
        }
        std::fs::rename(&temporary, &path).map_err(|source| SecretFileError::Io {
            action: "rename",
            path: path.clone(),
            source,
        })?;
        if durable && let Ok(dir) = std::fs::File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(path)
    }

    pub fn remove(&self, namespace: &str, name: &str) -> Result<(), SecretFileError> {
        let path = self.path(namespace, name);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(SecretFileError::Io {
                action: "remove",
                path,
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_private_kubectl_compatible_files() {
        let dir = tempfile::tempdir().unwrap();
        let files = SecretFiles::new(dir.path());
        let values = BTreeMap::from([
            ("password".to_owned(), b"p@ss:w/rd".to_vec()),
            ("username".to_owned(), b"app".to_vec()),
        ]);
        let metadata = SecretMetadata {
            name: "app-credentials".into(),
            namespace: Some("default".into()),
            ..Default::default()
        };
        let path = files
            .write("default", &SecretDocument::new(metadata, "Opaque", &values))
            .unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("kind: Secret") && !text.contains("p@ss"), "{text}");
        let read = files.read("default", "app-credentials").unwrap().unwrap();
        assert_eq!(read.values().unwrap(), values);
        assert!(!format!("{read:?}").contains("cEBz"), "Debug must not show data");
        files.remove("default", "app-credentials").unwrap();
        assert!(files.read("default", "app-credentials").unwrap().is_none());
    }
}
