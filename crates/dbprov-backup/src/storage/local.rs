//! A directory of artifacts (standalone, or a PersistentVolumeClaim mounted in the backup Job's pod).
//!
//! Artifacts hold database contents, so files are created `0600` and new directories `0700`. A write goes
//! to `<name>.<random>.partial`, is fsynced, and is then linked to its final name — `link(2)` fails when the
//! name exists, so two backups can never overwrite each other — and the directory is fsynced.

use std::io::{self, SeekFrom};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::{ArtifactReader, MAX_SMALL_OBJECT, StorageError, StoredObject};

#[derive(Debug, Clone)]
pub struct LocalStorage {
    root: PathBuf,
    location: String,
}

impl LocalStorage {
    pub fn new(root: PathBuf) -> Result<Self, StorageError> {
        if root.as_os_str().is_empty() {
            return Err(StorageError::InvalidConfig {
                field: "local.path",
                reason: "must not be empty".into(),
            });
        }
        Ok(Self {
            location: root.display().to_string(),
            root,
        })
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    fn io_error(&self, action: &'static str, name: &str, source: io::Error) -> StorageError {
        if source.kind() == io::ErrorKind::NotFound && action.starts_with("open") {
            return StorageError::NotFound {
                name: name.to_owned(),
                location: self.location.clone(),
            };
        }
        StorageError::Io {
            action,
            name: name.to_owned(),
            location: self.location.clone(),
            source,
        }
    }

    async fn ensure_root(&self, name: &str) -> Result<(), StorageError> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&root)
        })
        .await
        .map_err(io::Error::other)
        .and_then(|result| result)
        .map_err(|source| self.io_error("create the directory for", name, source))
    }

    fn partial_path(&self, name: &str) -> PathBuf {
        let random = uuid::Uuid::new_v4().simple().to_string();
        self.root.join(format!("{name}.{}.partial", &random[..12]))
    }

    pub async fn create(&self, name: &str) -> Result<LocalWriter, StorageError> {
        self.ensure_root(name).await?;
        let final_path = self.root.join(name);
        if tokio::fs::try_exists(&final_path).await.unwrap_or(false) {
            return Err(StorageError::AlreadyExists {
                name: name.to_owned(),
                location: self.location.clone(),
            });
        }
        let partial = self.partial_path(name);
        let file = open_new(&partial)
            .await
            .map_err(|source| self.io_error("create a temporary file for", name, source))?;
        Ok(LocalWriter {
            file: Some(file),
            partial,
            final_path,
            name: name.to_owned(),
            location: self.location.clone(),
        })
    }

    pub async fn put_small(&self, name: &str, contents: Bytes) -> Result<(), StorageError> {
        let mut writer = self.create(name).await?;
        writer
            .write_chunk(contents)
            .await
            .map_err(|source| StorageError::Io {
                action: "write",
                name: name.to_owned(),
                location: self.location.clone(),
                source,
            })?;
        writer.commit().await
    }

    pub async fn get_small(&self, name: &str) -> Result<Bytes, StorageError> {
        let path = self.root.join(name);
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|source| self.io_error("open", name, source))?;
        let size = file
            .metadata()
            .await
            .map_err(|source| self.io_error("read the size of", name, source))?
            .len();
        if size > MAX_SMALL_OBJECT {
            return Err(StorageError::TooLarge {
                name: name.to_owned(),
                location: self.location.clone(),
                size,
                limit: MAX_SMALL_OBJECT,
            });
        }
        let mut contents = Vec::with_capacity(size as usize);
        file.take(MAX_SMALL_OBJECT)
            .read_to_end(&mut contents)
            .await
            .map_err(|source| self.io_error("read", name, source))?;
        Ok(Bytes::from(contents))
    }

    pub async fn open(&self, name: &str) -> Result<LocalSource, StorageError> {
        let file = tokio::fs::File::open(self.root.join(name))
            .await
            .map_err(|source| self.io_error("open", name, source))?;
        let metadata = file
            .metadata()
            .await
            .map_err(|source| self.io_error("read the size of", name, source))?;
        if !metadata.is_file() {
            return Err(self.io_error("open", name, io::Error::other("not a regular file")));
        }
        Ok(LocalSource {
            file,
            size: metadata.len(),
            name: name.to_owned(),
            location: self.location.clone(),
        })
    }

    pub async fn head(&self, name: &str) -> Result<Option<StoredObject>, StorageError> {
        match tokio::fs::metadata(self.root.join(name)).await {
            Ok(metadata) if metadata.is_file() => Ok(Some(StoredObject {
                name: name.to_owned(),
                size: metadata.len(),
                last_modified: metadata.modified().ok().map(DateTime::<Utc>::from),
            })),
            Ok(_) => Ok(None),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(self.io_error("read the metadata of", name, source)),
        }
    }

    pub async fn list(&self) -> Result<Vec<StoredObject>, StorageError> {
        let mut entries = match tokio::fs::read_dir(&self.root).await {
            Ok(entries) => entries,
            // Nothing was ever written here.
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(self.io_error("list", "the directory", source)),
        };
        let mut objects = Vec::new();
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|source| self.io_error("list", "the directory", source))?
        {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let Ok(metadata) = entry.metadata().await else {
                // Deleted while listing.
                continue;
            };
            if metadata.is_file() {
                objects.push(StoredObject {
                    name,
                    size: metadata.len(),
                    last_modified: metadata.modified().ok().map(DateTime::<Utc>::from),
                });
            }
        }
        Ok(objects)
    }

    pub async fn delete(&self, name: &str) -> Result<(), StorageError> {
        match tokio::fs::remove_file(self.root.join(name)).await {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(self.io_error("delete", name, source)),
        }
    }
}

async fn open_new(path: &Path) -> io::Result<tokio::fs::File> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true).mode(0o600);
    options.open(path).await
}

/// Writes `<name>.<random>.partial`; removes it unless committed.
#[derive(Debug)]
pub struct LocalWriter {
    file: Option<tokio::fs::File>,
    partial: PathBuf,
    final_path: PathBuf,
    name: String,
    location: String,
}

impl LocalWriter {
    pub async fn write_chunk(&mut self, chunk: Bytes) -> io::Result<()> {
        match self.file.as_mut() {
            Some(file) => file.write_all(&chunk).await,
            None => Err(io::Error::other("the artifact was already committed")),
        }
    }

    fn error(&self, action: &'static str, source: io::Error) -> StorageError {
        StorageError::Io {
            action,
            name: self.name.clone(),
            location: self.location.clone(),
            source,
        }
    }

    pub async fn commit(mut self) -> Result<(), StorageError> {
        let Some(mut file) = self.file.take() else {
            return Err(self.error("commit", io::Error::other("already committed")));
        };
        file.flush().await.map_err(|source| self.error("flush", source))?;
        file.sync_all()
            .await
            .map_err(|source| self.error("sync", source))?;
        drop(file);
        let (partial, final_path) = (self.partial.clone(), self.final_path.clone());
        let linked = tokio::task::spawn_blocking(move || link_no_replace(&partial, &final_path))
            .await
            .map_err(io::Error::other)
            .and_then(|result| result);
        match linked {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                return Err(StorageError::AlreadyExists {
                    name: self.name.clone(),
                    location: self.location.clone(),
                });
            }
            Err(source) => return Err(self.error("rename the temporary file to", source)),
        }
        // From here on the artifact exists under its name; Drop must not remove anything else.
        let partial = std::mem::take(&mut self.partial);
        let _ = tokio::fs::remove_file(&partial).await;
        let directory = self.final_path.parent().map(Path::to_path_buf);
        if let Some(directory) = directory {
            let synced = tokio::task::spawn_blocking(move || std::fs::File::open(&directory)?.sync_all())
                .await
                .map_err(io::Error::other)
                .and_then(|result| result);
            synced.map_err(|source| self.error("sync the directory of", source))?;
        }
        Ok(())
    }

    pub async fn abort(mut self) {
        self.file.take();
        let partial = std::mem::take(&mut self.partial);
        if !partial.as_os_str().is_empty() {
            let _ = tokio::fs::remove_file(&partial).await;
        }
    }
}

impl Drop for LocalWriter {
    fn drop(&mut self) {
        if !self.partial.as_os_str().is_empty() {
            // Synchronous on purpose: Drop may run outside a runtime, and unlink is quick.
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

/// Gives the fully written temporary file its final name, failing when that name exists. `link(2)` is
/// atomic and never replaces; file systems without hard links fall back to check-then-rename.
fn link_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Err(error),
        Err(_) => {
            if to.exists() {
                return Err(io::Error::from(io::ErrorKind::AlreadyExists));
            }
            std::fs::rename(from, to)
        }
    }
}

/// An open artifact file; every reader rewinds the same file descriptor, so a renamed or replaced path
/// cannot change what is read between verification and restore.
#[derive(Debug)]
pub struct LocalSource {
    file: tokio::fs::File,
    size: u64,
    name: String,
    location: String,
}

impl LocalSource {
    pub fn size(&self) -> u64 {
        self.size
    }

    pub async fn reader(&mut self) -> Result<ArtifactReader, StorageError> {
        let error = |action: &'static str, source: io::Error| StorageError::Io {
            action,
            name: self.name.clone(),
            location: self.location.clone(),
            source,
        };
        let mut file = self
            .file
            .try_clone()
            .await
            .map_err(|source| error("reopen", source))?;
        file.seek(SeekFrom::Start(0))
            .await
            .map_err(|source| error("rewind", source))?;
        Ok(Box::new(file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_uncommitted_write_leaves_nothing() {
        let directory = tempfile::tempdir().unwrap();
        let storage = LocalStorage::new(directory.path().join("nested")).unwrap();
        let mut writer = storage.create("a.sql").await.unwrap();
        writer.write_chunk(Bytes::from_static(b"half")).await.unwrap();
        let partials = storage.list().await.unwrap();
        assert_eq!(partials.len(), 1);
        assert!(partials[0].name.starts_with("a.sql.") && partials[0].name.ends_with(".partial"));
        drop(writer);
        assert!(storage.list().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn commit_publishes_and_never_overwrites() {
        let directory = tempfile::tempdir().unwrap();
        let storage = LocalStorage::new(directory.path().to_path_buf()).unwrap();
        let mut first = storage.create("a.sql").await.unwrap();
        let mut second = storage.create("a.sql").await.unwrap();
        first.write_chunk(Bytes::from_static(b"one")).await.unwrap();
        second.write_chunk(Bytes::from_static(b"two")).await.unwrap();
        first.commit().await.unwrap();
        assert!(matches!(
            second.commit().await,
            Err(StorageError::AlreadyExists { .. })
        ));
        let objects = storage.list().await.unwrap();
        assert_eq!(objects.len(), 1, "{objects:?}");
        assert_eq!(
            storage.get_small("a.sql").await.unwrap(),
            Bytes::from_static(b"one")
        );
        let mode = std::fs::metadata(directory.path().join("a.sql")).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
            0o600
        );
    }

    #[tokio::test]
    async fn readers_rewind_the_same_file() {
        let directory = tempfile::tempdir().unwrap();
        let storage = LocalStorage::new(directory.path().to_path_buf()).unwrap();
        storage
            .put_small("a.sql", Bytes::from_static(b"original"))
            .await
            .unwrap();
        let mut source = storage.open("a.sql").await.unwrap();
        let mut first = String::new();
        source
            .reader()
            .await
            .unwrap()
            .read_to_string(&mut first)
            .await
            .unwrap();
        // Replacing the path does not change what an open source reads.
        std::fs::remove_file(directory.path().join("a.sql")).unwrap();
        std::fs::write(directory.path().join("a.sql"), b"replaced").unwrap();
        let mut second = String::new();
        source
            .reader()
            .await
            .unwrap()
            .read_to_string(&mut second)
            .await
            .unwrap();
        assert_eq!((first.as_str(), second.as_str()), ("original", "original"));
        assert!(matches!(
            storage.open("missing").await,
            Err(StorageError::NotFound { .. })
        ));
        storage.delete("missing").await.unwrap();
    }
}
