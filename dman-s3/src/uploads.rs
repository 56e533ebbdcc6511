//! Incomplete multipart uploads under the backend's prefix: the leftovers
//! of killed saves on S3.
//!
//! `object_store` starts, completes and aborts uploads but cannot list
//! them, so the listing is S3's `ListMultipartUploads` request, signed with
//! `object_store`'s own [`AwsAuthorizer`] and the store's credentials, sent
//! with `object_store`'s HTTP client; removing one is its
//! [`MultipartStore::abort_multipart`].

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use dman_core::storage::{Leftover, LeftoverKind};
use object_store::aws::{AmazonS3, AwsAuthorizer};
use object_store::client::{HttpClient, HttpConnector, HttpRequestBody, ReqwestConnector};
use object_store::multipart::MultipartStore;
use object_store::path::Path;
use object_store::ClientOptions;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What lists and aborts the multipart uploads of one bucket.
#[derive(Debug)]
pub(crate) struct Uploads {
    store: Arc<AmazonS3>,
    client: HttpClient,
    /// The URL of the bucket, ending in `/` (`http://127.0.0.1:9000/bucket/`,
    /// `https://bucket.s3.eu-west-1.amazonaws.com/`).
    bucket_url: String,
    region: String,
}

impl Uploads {
    pub(crate) fn new(
        store: Arc<AmazonS3>,
        bucket: &str,
        endpoint: Option<&str>,
        region: &str,
        virtual_hosted: bool,
        allow_http: bool,
    ) -> Result<Self, object_store::Error> {
        let bucket_url = match endpoint {
            // object_store's rule: a virtual-hosted endpoint already names
            // the bucket.
            Some(endpoint) if virtual_hosted => format!("{}/", endpoint.trim_end_matches('/')),
            Some(endpoint) => format!("{}/{bucket}/", endpoint.trim_end_matches('/')),
            None => format!("https://{bucket}.s3.{region}.amazonaws.com/"),
        };
        let client = ReqwestConnector::default()
            .connect(&ClientOptions::new().with_allow_http(allow_http))?;
        Ok(Uploads {
            store,
            client,
            bucket_url,
            region: region.to_owned(),
        })
    }

    /// Every incomplete upload whose key starts with `prefix`, following
    /// the pages of the listing.
    pub(crate) async fn list(&self, prefix: &str) -> Result<Vec<Leftover>, BoxError> {
        let mut found = Vec::new();
        let mut markers: Option<(String, String)> = None;
        loop {
            let mut query = format!("uploads=&prefix={}", encode(prefix));
            if let Some((key, upload)) = &markers {
                query.push_str(&format!(
                    "&key-marker={}&upload-id-marker={}",
                    encode(key),
                    encode(upload)
                ));
            }
            let body = self.get(&query).await?;
            let page = parse_page(&body)?;
            found.extend(page.uploads);
            match page.next {
                Some(next) if page.truncated => markers = Some(next),
                _ => break,
            }
        }
        Ok(found)
    }

    /// Aborts one upload (gone already is fine).
    pub(crate) async fn abort(&self, key: &str, id: &str) -> Result<(), object_store::Error> {
        let path = Path::parse(key)?;
        match self.store.abort_multipart(&path, &id.to_owned()).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err),
        }
    }

    async fn get(&self, query: &str) -> Result<String, BoxError> {
        let url = format!("{}?{query}", self.bucket_url);
        let mut request = http::Request::builder()
            .method(http::Method::GET)
            .uri(&url)
            .body(HttpRequestBody::empty())?;
        let credential = self.store.credentials().get_credential().await?;
        AwsAuthorizer::new(&credential, "s3", &self.region).try_authorize(&mut request, None)?;
        let response = self.client.execute(request).await?;
        let status = response.status();
        let body: Bytes = response.into_body().bytes().await?;
        let text = String::from_utf8_lossy(&body).into_owned();
        if status == http::StatusCode::NOT_IMPLEMENTED {
            return Err(Box::new(NotImplemented(text)));
        }
        if !status.is_success() {
            return Err(format!("ListMultipartUploads answered {status}: {text}").into());
        }
        Ok(text)
    }
}

/// The server does not implement `ListMultipartUploads` (s3s-fs).
#[derive(Debug, thiserror::Error)]
#[error("the server does not implement ListMultipartUploads: {0}")]
pub(crate) struct NotImplemented(String);

/// Percent-encodes a query value as SigV4 wants it (everything but
/// `A-Z a-z 0-9 - _ . ~`).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// One page of a `ListMultipartUploadsResult`.
struct Page {
    uploads: Vec<Leftover>,
    truncated: bool,
    next: Option<(String, String)>,
}

/// The parts of a `ListMultipartUploadsResult` used here.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListResult {
    #[serde(default)]
    is_truncated: bool,
    next_key_marker: Option<String>,
    next_upload_id_marker: Option<String>,
    #[serde(default, rename = "Upload")]
    uploads: Vec<UploadEntry>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UploadEntry {
    key: String,
    upload_id: String,
    initiated: Option<String>,
}

fn parse_page(xml: &str) -> Result<Page, BoxError> {
    // The reader does not check the root element's name: an `<Error>` body
    // would read as an empty page.
    if !xml.contains("<ListMultipartUploadsResult") {
        return Err(format!("not a ListMultipartUploadsResult: {xml:.200}").into());
    }
    let result: ListResult = quick_xml::de::from_str(xml)?;
    let uploads = result
        .uploads
        .into_iter()
        .map(|upload| Leftover {
            name: upload.key,
            kind: LeftoverKind::MultipartUpload,
            // The parts' sizes need one more request per upload
            // (ListParts); the age is what `gc` decides on.
            size: 0,
            last_modified: upload.initiated.as_deref().and_then(parse_time),
            id: upload.upload_id,
        })
        .collect();
    let next = match (result.next_key_marker, result.next_upload_id_marker) {
        (Some(key), Some(upload)) if !key.is_empty() => Some((key, upload)),
        _ => None,
    };
    Ok(Page {
        uploads,
        truncated: result.is_truncated,
        next,
    })
}

fn parse_time(text: &str) -> Option<SystemTime> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| SystemTime::from(time.with_timezone(&chrono::Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_parsed() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>b</Bucket><IsTruncated>true</IsTruncated>
  <NextKeyMarker>p/b&amp;c</NextKeyMarker><NextUploadIdMarker>u2</NextUploadIdMarker>
  <Upload><Key>p/a.npy</Key><UploadId>u1</UploadId><Initiated>2026-11-29T12:00:00.000Z</Initiated></Upload>
  <Upload><Key>p/b&amp;c</Key><UploadId>u2</UploadId><Initiated>2026-11-29T12:00:01Z</Initiated></Upload>
</ListMultipartUploadsResult>"#;
        let page = parse_page(xml).unwrap();
        assert_eq!(page.uploads.len(), 2);
        assert_eq!(page.uploads[1].name, "p/b&c");
        assert_eq!(page.uploads[0].id, "u1");
        assert_eq!(
            page.uploads[0].last_modified,
            Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_953_600))
        );
        assert!(page.truncated);
        assert_eq!(page.next, Some(("p/b&c".to_owned(), "u2".to_owned())));
        assert!(parse_page("<Error><Code>AccessDenied</Code></Error>").is_err());
        assert_eq!(encode("a b/é"), "a%20b%2F%C3%A9");
    }
}
