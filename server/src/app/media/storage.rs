//! Where media bytes live, through `object_store`: a local folder by default,
//! or an S3-compatible bucket named by URL. With S3 the store itself issues
//! the presigned upload and download URLs; with the local folder the server
//! signs its own and serves the bytes.

use std::path::Path as FsPath;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::Method;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{
    Attribute, Attributes, GetResult, ObjectStore, ObjectStoreExt, PutOptions, PutPayload,
    WriteMultipart,
};
use url::Url;

/// Bytes buffered per part of a streamed upload.
const PART_SIZE: usize = 5 * 1024 * 1024;
/// Parts of a streamed upload written at once; with [`PART_SIZE`], bounds
/// the memory one upload holds.
pub const PART_CONCURRENCY: usize = 2;

/// The media store of a server.
#[derive(Debug, Clone)]
pub struct MediaStorage {
    store: Arc<dyn ObjectStore>,
    /// Set for S3: the store presigns URLs and clients upload to it directly.
    s3: Option<Arc<AmazonS3>>,
    /// Prepended to every object key (the path of an `s3://bucket/prefix` URL).
    prefix: String,
}

impl MediaStorage {
    /// A store in a local folder, created if missing.
    pub fn local(dir: &FsPath) -> anyhow::Result<MediaStorage> {
        std::fs::create_dir_all(dir).map_err(|e| {
            anyhow::anyhow!("cannot create the media folder {}: {e}", dir.display())
        })?;
        let fs = LocalFileSystem::new_with_prefix(dir)?.with_automatic_cleanup(true);
        Ok(MediaStorage {
            store: Arc::new(fs),
            s3: None,
            prefix: String::new(),
        })
    }

    /// An S3-compatible store from a URL such as
    /// `s3://bucket/optional/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1`.
    /// Query parameters are `object_store` S3 options (`endpoint`, `region`,
    /// `access_key_id`, `secret_access_key`, `virtual_hosted_style_request`,
    /// ...); credentials otherwise come from the standard `AWS_*` variables.
    pub fn s3(url: &str) -> anyhow::Result<MediaStorage> {
        let parsed = Url::parse(url).map_err(|e| anyhow::anyhow!("media store URL: {e}"))?;
        anyhow::ensure!(
            parsed.scheme() == "s3",
            "media store URL must start with s3:// (got {}://)",
            parsed.scheme()
        );
        let bucket = parsed
            .host_str()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| anyhow::anyhow!("media store URL names no bucket"))?;
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        let mut http_endpoint = false;
        for (key, value) in parsed.query_pairs() {
            let config = AmazonS3ConfigKey::from_str(&key)
                .map_err(|_| anyhow::anyhow!("media store URL: unknown S3 option {key:?}"))?;
            if config == AmazonS3ConfigKey::Endpoint {
                http_endpoint = value.starts_with("http://");
            }
            builder = builder.with_config(config, value.into_owned());
        }
        if http_endpoint {
            builder = builder.with_allow_http(true);
        }
        let s3 = Arc::new(builder.build()?);
        let prefix = parsed.path().trim_matches('/');
        Ok(MediaStorage {
            store: s3.clone(),
            s3: Some(s3),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        })
    }

    /// Opens the configured store: S3 when `url` is given, else `dir`.
    pub fn open(url: Option<&str>, dir: &FsPath) -> anyhow::Result<MediaStorage> {
        match url {
            Some(url) => Self::s3(url),
            None => Self::local(dir),
        }
    }

    /// Whether clients upload straight to the store (S3) rather than to this
    /// server; such uploads are verified after the fact.
    pub fn direct_uploads(&self) -> bool {
        self.s3.is_some()
    }

    fn path(&self, key: &str) -> Path {
        Path::from(format!("{}{key}", self.prefix))
    }

    /// A URL presigned by the store for `method` on the object, or None for
    /// the local folder (the server signs its own).
    pub async fn presigned_url(
        &self,
        method: Method,
        key: &str,
        expires_in: Duration,
    ) -> object_store::Result<Option<Url>> {
        match &self.s3 {
            Some(s3) => Ok(Some(
                s3.signed_url(method, &self.path(key), expires_in).await?,
            )),
            None => Ok(None),
        }
    }

    /// Stores a whole object.
    pub async fn put(
        &self,
        key: &str,
        bytes: Bytes,
        content_type: &str,
    ) -> object_store::Result<()> {
        let mut opts = PutOptions::default();
        if self.s3.is_some() {
            // The local folder keeps no attributes; the database has the type.
            let mut attributes = Attributes::new();
            attributes.insert(Attribute::ContentType, content_type.to_string().into());
            opts.attributes = attributes;
        }
        self.store
            .put_opts(&self.path(key), PutPayload::from(bytes), opts)
            .await?;
        Ok(())
    }

    /// Starts a streamed upload; feed it with `put` after
    /// `wait_for_capacity(PART_CONCURRENCY)`, then `finish` or `abort`.
    pub async fn writer(&self, key: &str) -> object_store::Result<WriteMultipart> {
        let upload = self.store.put_multipart(&self.path(key)).await?;
        Ok(WriteMultipart::new_with_chunk_size(upload, PART_SIZE))
    }

    /// The object's size, or None when it does not exist.
    pub async fn size(&self, key: &str) -> object_store::Result<Option<u64>> {
        match self.store.head(&self.path(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The first `n` bytes of the object (fewer if it is shorter).
    pub async fn head_bytes(&self, key: &str, n: u64) -> object_store::Result<Bytes> {
        self.store.get_range(&self.path(key), 0..n).await
    }

    /// Reads the object.
    pub async fn get(&self, key: &str) -> object_store::Result<GetResult> {
        self.store.get(&self.path(key)).await
    }

    /// Deletes the object; a missing one is not an error.
    pub async fn delete(&self, key: &str) -> object_store::Result<()> {
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_parse_bucket_prefix_and_options() {
        let s = MediaStorage::s3(
            "s3://media-bucket/uploads/v1?endpoint=http://127.0.0.1:9/&region=eu-west-1\
             &access_key_id=k&secret_access_key=s",
        )
        .unwrap();
        assert!(s.direct_uploads());
        assert_eq!(s.path("a/b.png").as_ref(), "uploads/v1/a/b.png");
        assert!(MediaStorage::s3("gs://bucket").is_err());
        assert!(MediaStorage::s3("s3://bucket?no_such_option=1").is_err());
    }

    #[tokio::test]
    async fn local_store_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let s = MediaStorage::local(&dir.path().join("media")).unwrap();
        assert!(!s.direct_uploads());
        assert_eq!(s.size("x/y.png").await.unwrap(), None);
        s.put("x/y.png", Bytes::from_static(b"hello"), "image/png")
            .await
            .unwrap();
        assert_eq!(s.size("x/y.png").await.unwrap(), Some(5));
        assert_eq!(&s.head_bytes("x/y.png", 3).await.unwrap()[..], b"hel");
        assert!(dir.path().join("media/x/y.png").exists());
        assert_eq!(
            s.presigned_url(Method::GET, "x/y.png", Duration::from_secs(1))
                .await
                .unwrap(),
            None
        );
        s.delete("x/y.png").await.unwrap();
        s.delete("x/y.png").await.unwrap();
        assert_eq!(s.size("x/y.png").await.unwrap(), None);
    }
}
