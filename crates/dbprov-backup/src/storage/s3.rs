//! Artifacts in an S3 bucket (AWS or S3-compatible), through `object_store`.
//!
//! An artifact is always a multipart upload: parts are uploaded while the dump runs, at most
//! `upload_concurrency` at a time, and the object appears only when the upload is completed at commit. An
//! upload that is dropped or fails is aborted so S3 discards its parts (a killed process cannot abort; a
//! bucket lifecycle rule "abort incomplete multipart uploads after N days" cleans those up).

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload};
use tokio::task::JoinSet;

use super::{ArtifactReader, MAX_SMALL_OBJECT, S3Config, StorageError, StoredObject};

/// S3 allows 10 000 parts; part sizes double every this many parts.
const PARTS_PER_SIZE_STEP: usize = 1000;
/// S3's largest part.
const MAX_PART_SIZE: usize = 5 << 30;

#[derive(Debug, Clone)]
pub struct S3Storage {
    store: Arc<dyn ObjectStore>,
    prefix: Vec<String>,
    location: String,
    part_size: usize,
    concurrency: usize,
}

impl S3Storage {
    pub fn new(config: &S3Config) -> Result<Self, StorageError> {
        let invalid = |field: &'static str, reason: &str| StorageError::InvalidConfig {
            field,
            reason: reason.to_owned(),
        };
        if config.bucket.is_empty() {
            return Err(invalid("s3.bucket", "must not be empty"));
        }
        if config.region.is_empty() {
            return Err(invalid("s3.region", "must not be empty"));
        }
        if config.part_size < S3Config::MIN_PART_SIZE {
            return Err(invalid(
                "s3.partSize",
                "must be at least 5 MiB (S3's minimum part size)",
            ));
        }
        let prefix: Vec<String> = config
            .prefix
            .as_deref()
            .unwrap_or_default()
            .split('/')
            .filter(|part| !part.is_empty())
            .map(str::to_owned)
            .collect();
        if prefix.iter().any(|part| part == "." || part == "..") {
            return Err(invalid("s3.prefix", "must not contain `.` or `..` segments"));
        }

        // Credentials and settings from the environment (AWS_*) first, then what the spec says.
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region);
        match config.endpoint.as_deref() {
            Some(endpoint) => {
                builder = builder
                    .with_endpoint(endpoint)
                    .with_allow_http(endpoint.starts_with("http://"))
                    .with_virtual_hosted_style_request(false);
                if !config.force_path_style {
                    // object_store expects a virtual-hosted endpoint to name the bucket already.
                    let virtual_host = virtual_hosted_endpoint(endpoint, &config.bucket)
                        .ok_or_else(|| invalid("s3.endpoint", "must be an http:// or https:// URL"))?;
                    builder = builder
                        .with_endpoint(virtual_host)
                        .with_virtual_hosted_style_request(true);
                }
            }
            None => builder = builder.with_virtual_hosted_style_request(!config.force_path_style),
        }
        if let Some(credentials) = &config.credentials {
            builder = builder
                .with_access_key_id(&credentials.access_key_id)
                .with_secret_access_key(credentials.secret_access_key.expose());
            if let Some(token) = &credentials.session_token {
                builder = builder.with_token(token.expose());
            }
        }
        let store = builder.build().map_err(|source| StorageError::InvalidConfig {
            field: "s3",
            reason: source.to_string(),
        })?;
        let location = if prefix.is_empty() {
            format!("s3://{}", config.bucket)
        } else {
            format!("s3://{}/{}", config.bucket, prefix.join("/"))
        };
        Ok(Self {
            store: Arc::new(store),
            prefix,
            location,
            part_size: config.part_size,
            concurrency: config.upload_concurrency.max(1),
        })
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    fn path(&self, name: &str) -> ObjectPath {
        ObjectPath::from_iter(self.prefix.iter().map(String::as_str).chain([name]))
    }

    fn prefix_path(&self) -> Option<ObjectPath> {
        (!self.prefix.is_empty()).then(|| ObjectPath::from_iter(self.prefix.iter().map(String::as_str)))
    }

    fn error(&self, action: &'static str, name: &str, source: object_store::Error) -> StorageError {
        match source {
            object_store::Error::NotFound { .. } => StorageError::NotFound {
                name: name.to_owned(),
                location: self.location.clone(),
            },
            object_store::Error::AlreadyExists { .. } => StorageError::AlreadyExists {
                name: name.to_owned(),
                location: self.location.clone(),
            },
            object_store::Error::Precondition { .. } => StorageError::Changed {
                name: name.to_owned(),
                location: self.location.clone(),
            },
            source => StorageError::ObjectStore {
                action,
                name: name.to_owned(),
                location: self.location.clone(),
                source: Box::new(source),
            },
        }
    }

    pub async fn create(&self, name: &str) -> Result<S3Writer, StorageError> {
        if self.head(name).await?.is_some() {
            return Err(StorageError::AlreadyExists {
                name: name.to_owned(),
                location: self.location.clone(),
            });
        }
        let upload = self
            .store
            .put_multipart(&self.path(name))
            .await
            .map_err(|source| self.error("start a multipart upload of", name, source))?;
        Ok(S3Writer {
            upload: Some(upload),
            buffer: Vec::new(),
            buffered: 0,
            parts: 0,
            tasks: JoinSet::new(),
            part_size: self.part_size,
            concurrency: self.concurrency,
            name: name.to_owned(),
            location: self.location.clone(),
        })
    }

    pub async fn put_small(&self, name: &str, contents: Bytes) -> Result<(), StorageError> {
        self.store
            .put(&self.path(name), PutPayload::from(contents))
            .await
            .map(|_| ())
            .map_err(|source| self.error("upload", name, source))
    }

    pub async fn get_small(&self, name: &str) -> Result<Bytes, StorageError> {
        let result = self
            .store
            .get(&self.path(name))
            .await
            .map_err(|source| self.error("download", name, source))?;
        if result.meta.size > MAX_SMALL_OBJECT {
            return Err(StorageError::TooLarge {
                name: name.to_owned(),
                location: self.location.clone(),
                size: result.meta.size,
                limit: MAX_SMALL_OBJECT,
            });
        }
        result
            .bytes()
            .await
            .map_err(|source| self.error("download", name, source))
    }

    pub async fn open(&self, name: &str) -> Result<S3Source, StorageError> {
        let meta = self
            .store
            .head(&self.path(name))
            .await
            .map_err(|source| self.error("read the metadata of", name, source))?;
        Ok(S3Source {
            store: Arc::clone(&self.store),
            path: self.path(name),
            size: meta.size,
            e_tag: meta.e_tag,
            name: name.to_owned(),
            location: self.location.clone(),
        })
    }

    pub async fn head(&self, name: &str) -> Result<Option<StoredObject>, StorageError> {
        match self.store.head(&self.path(name)).await {
            Ok(meta) => Ok(Some(StoredObject {
                name: name.to_owned(),
                size: meta.size,
                last_modified: Some(meta.last_modified),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(self.error("read the metadata of", name, source)),
        }
    }

    pub async fn list(&self) -> Result<Vec<StoredObject>, StorageError> {
        // With a delimiter: only objects directly under the prefix, not those of nested "folders".
        let listing = self
            .store
            .list_with_delimiter(self.prefix_path().as_ref())
            .await
            .map_err(|source| self.error("list", "objects", source))?;
        Ok(listing
            .objects
            .into_iter()
            .filter_map(|meta| {
                let name = meta.location.filename()?.to_owned();
                Some(StoredObject {
                    name,
                    size: meta.size,
                    last_modified: Some(meta.last_modified),
                })
            })
            .collect())
    }

    pub async fn delete(&self, name: &str) -> Result<(), StorageError> {
        match self.store.delete(&self.path(name)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(self.error("delete", name, source)),
        }
    }
}

/// `https://host:port/path` → `https://bucket.host:port/path`.
fn virtual_hosted_endpoint(endpoint: &str, bucket: &str) -> Option<String> {
    let (scheme, rest) = endpoint.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    Some(format!("{scheme}://{bucket}.{rest}"))
}

/// A multipart upload in progress.
pub struct S3Writer {
    upload: Option<Box<dyn MultipartUpload>>,
    buffer: Vec<Bytes>,
    buffered: usize,
    parts: usize,
    tasks: JoinSet<object_store::Result<()>>,
    part_size: usize,
    concurrency: usize,
    name: String,
    location: String,
}

impl std::fmt::Debug for S3Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Writer")
            .field("name", &self.name)
            .field("location", &self.location)
            .field("parts", &self.parts)
            .finish_non_exhaustive()
    }
}

impl S3Writer {
    fn current_part_size(&self) -> usize {
        let doublings = (self.parts / PARTS_PER_SIZE_STEP).min(20) as u32;
        self.part_size.saturating_mul(1 << doublings).min(MAX_PART_SIZE)
    }

    async fn wait_for_capacity(&mut self, limit: usize) -> io::Result<()> {
        while self.tasks.len() > limit {
            match self.tasks.join_next().await {
                Some(Ok(Ok(()))) | None => {}
                Some(Ok(Err(error))) => return Err(io::Error::other(error)),
                Some(Err(error)) => return Err(io::Error::other(error)),
            }
        }
        Ok(())
    }

    async fn upload_part(&mut self) -> io::Result<()> {
        // At most `concurrency` parts in flight, plus the one being filled.
        self.wait_for_capacity(self.concurrency - 1).await?;
        let Some(upload) = self.upload.as_mut() else {
            return Err(io::Error::other("the upload was already finished"));
        };
        let payload: PutPayload = std::mem::take(&mut self.buffer).into_iter().collect();
        self.buffered = 0;
        self.parts += 1;
        self.tasks.spawn(upload.put_part(payload));
        Ok(())
    }

    pub async fn write_chunk(&mut self, mut chunk: Bytes) -> io::Result<()> {
        while !chunk.is_empty() {
            let room = self.current_part_size() - self.buffered;
            let piece = chunk.split_to(room.min(chunk.len()));
            self.buffered += piece.len();
            self.buffer.push(piece);
            if self.buffered == self.current_part_size() {
                self.upload_part().await?;
            }
        }
        Ok(())
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
        if self.buffered > 0 || self.parts == 0 {
            self.upload_part()
                .await
                .map_err(|source| self.error("upload the last part of", source))?;
        }
        if let Err(source) = self.wait_for_capacity(0).await {
            let error = self.error("upload a part of", source);
            self.abort_upload().await;
            return Err(error);
        }
        let Some(mut upload) = self.upload.take() else {
            return Err(self.error("complete", io::Error::other("the upload was already finished")));
        };
        if let Err(source) = upload.complete().await {
            let _ = upload.abort().await;
            return Err(StorageError::ObjectStore {
                action: "complete the multipart upload of",
                name: self.name.clone(),
                location: self.location.clone(),
                source: Box::new(source),
            });
        }
        Ok(())
    }

    async fn abort_upload(&mut self) {
        self.tasks.shutdown().await;
        if let Some(mut upload) = self.upload.take()
            && let Err(error) = upload.abort().await
        {
            tracing::warn!(artifact = %self.name, location = %self.location, %error, "failed to abort a multipart upload; a lifecycle rule must clean it up");
        }
    }

    pub async fn abort(mut self) {
        self.abort_upload().await;
    }
}

impl Drop for S3Writer {
    fn drop(&mut self) {
        // A dropped future cannot await the abort: hand it to the runtime when there is one.
        if let Some(mut upload) = self.upload.take() {
            self.tasks.abort_all();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let name = std::mem::take(&mut self.name);
                runtime.spawn(async move {
                    if let Err(error) = upload.abort().await {
                        tracing::warn!(artifact = %name, %error, "failed to abort a multipart upload; a lifecycle rule must clean it up");
                    }
                });
            }
        }
    }
}

/// An S3 object pinned to the ETag it had when opened.
#[derive(Debug)]
pub struct S3Source {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    size: u64,
    e_tag: Option<String>,
    name: String,
    location: String,
}

impl S3Source {
    pub fn size(&self) -> u64 {
        self.size
    }

    pub async fn reader(&mut self) -> Result<ArtifactReader, StorageError> {
        let options = GetOptions {
            if_match: self.e_tag.clone(),
            ..GetOptions::default()
        };
        let result = self
            .store
            .get_opts(&self.path, options)
            .await
            .map_err(|source| match source {
                object_store::Error::Precondition { .. } => StorageError::Changed {
                    name: self.name.clone(),
                    location: self.location.clone(),
                },
                object_store::Error::NotFound { .. } => StorageError::NotFound {
                    name: self.name.clone(),
                    location: self.location.clone(),
                },
                source => StorageError::ObjectStore {
                    action: "download",
                    name: self.name.clone(),
                    location: self.location.clone(),
                    source: Box::new(source),
                },
            })?;
        let stream = result.into_stream().map_err(io::Error::other);
        Ok(Box::new(tokio_util::io::StreamReader::new(stream)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_hosted_endpoints_name_the_bucket() {
        assert_eq!(
            virtual_hosted_endpoint("https://s3.example.com:9000", "backups").as_deref(),
            Some("https://backups.s3.example.com:9000")
        );
        assert_eq!(virtual_hosted_endpoint("s3.example.com", "b"), None);
    }

    #[test]
    fn configuration_is_checked() {
        let mut config = S3Config::new("bucket", "us-east-1");
        config.endpoint = Some("http://127.0.0.1:9000".into());
        config.force_path_style = true;
        config.prefix = Some("/team//orders/".into());
        let storage = S3Storage::new(&config).unwrap();
        assert_eq!(storage.location(), "s3://bucket/team/orders");
        assert_eq!(storage.path("a.sql").as_ref(), "team/orders/a.sql");
        config.part_size = 1 << 20;
        assert!(S3Storage::new(&config).is_err());
        config.part_size = S3Config::DEFAULT_PART_SIZE;
        config.prefix = Some("a/../b".into());
        assert!(S3Storage::new(&config).is_err());
        assert!(S3Storage::new(&S3Config::new("", "us-east-1")).is_err());
    }
}
