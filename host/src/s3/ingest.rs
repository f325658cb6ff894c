//! Receiving an object's bytes and making it visible: the body streamed into replicated
//! chunk files (or kept inline when small), every digest the client sent verified, then
//! one transaction that commits the object. Shared by every write: PutObject, POST
//! Object, UploadPart, CopyObject.

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use std::sync::Arc;

use super::acl_headers::{AclTarget, CANNED_ACL, acl_from_headers};
use super::body_digest::{BodyDigest, Digests};
use super::context::RequestContext;
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::new_version::VersionAttributes;
use super::payload::{BodySource, parse_content_md5, requested_checksum};
use crate::acl::{Grants, ObjectOwnership};
use crate::auth::checksum::ChecksumAlgorithm;
use crate::state::AppState;
use crate::store::blob::{ChunkStore, ChunkWriter};
use crate::store::buckets::{Bucket, Versioning};
use crate::store::object_write::{self, Committed};
use crate::store::objects::{NewBody, NewObject, ObjectHeaders, WriteCondition};

/// Collects small bodies in memory and spills larger ones to chunk files.
enum Sink {
    Inline(BytesMut, usize, Arc<ChunkStore>),
    Chunks(Box<ChunkWriter>),
}

impl Sink {
    fn new(store: &Arc<ChunkStore>, inline_threshold: usize) -> Self {
        Sink::Inline(BytesMut::new(), inline_threshold, store.clone())
    }

    async fn write(&mut self, data: Bytes) -> S3Result<()> {
        if let Sink::Inline(buf, threshold, store) = self {
            if buf.len() + data.len() <= *threshold {
                buf.extend_from_slice(&data);
                return Ok(());
            }
            // Too big to keep inline: move what we have to chunk files.
            let head = std::mem::take(buf).freeze();
            let writer = store.writer();
            *self = Sink::Chunks(Box::new(writer));
            if let Sink::Chunks(w) = self {
                w.write(head).await?;
            }
        }
        if let Sink::Chunks(w) = self {
            w.write(data).await?;
        }
        Ok(())
    }

    async fn finish(self) -> S3Result<NewBody> {
        match self {
            Sink::Inline(buf, _, _) => Ok(NewBody::Inline(buf.to_vec())),
            Sink::Chunks(w) => Ok(NewBody::Chunks(w.finish().await?)),
        }
    }

    async fn abort(self) {
        if let Sink::Chunks(w) = self {
            w.abort().await;
        }
    }
}

/// What a finished upload produced.
pub struct Received {
    /// Where the bytes are.
    pub body: NewBody,
    /// Total size.
    pub size: u64,
    /// MD5 of the bytes.
    pub md5: [u8; 16],
    /// Verified additional checksum (algorithm name, base64 value).
    pub checksum: Option<(ChecksumAlgorithm, String)>,
}

impl Received {
    /// The ETag: the quoted hex MD5 of the bytes.
    pub fn etag(&self) -> String {
        format!("\"{}\"", hex::encode(self.md5))
    }
}

/// Streams a payload into storage and verifies Content-MD5 and additional checksums.
/// On any failure nothing is left behind.
/// Bodies up to `inline_threshold` bytes stay in memory ([`NewBody::Inline`]); parts of
/// multipart uploads pass 0, so theirs always go to chunk files.
pub async fn receive(
    state: &AppState,
    h: &HeaderMap,
    mut payload: impl BodySource,
    inline_threshold: usize,
) -> S3Result<Received> {
    let content_md5 = parse_content_md5(h)?;
    let wanted = requested_checksum(h)?;
    let mut sink = Sink::new(&state.chunks, inline_threshold);
    let mut digest = BodyDigest::new(wanted.as_ref().map(|(alg, _)| *alg));
    let mut size = 0u64;
    let streamed: S3Result<Digests> = async {
        while let Some(data) = payload.next_piece().await? {
            digest.update(&data).await?;
            size += data.len() as u64;
            sink.write(data).await?;
        }
        digest.finish().await
    }
    .await;
    let verified = streamed.and_then(
        |Digests {
             md5,
             checksum: hasher,
         }| {
            if content_md5.is_some_and(|expected| expected != md5) {
                return Err(S3Error::new(S3ErrorCode::BadDigest));
            }
            let checksum = match (wanted, hasher) {
                (Some((alg, header_value)), Some(hs)) => {
                    let actual = hs.finalize_base64();
                    let expected = header_value.or_else(|| {
                        payload
                            .trailing()
                            .iter()
                            .find(|(k, _)| k == alg.header_name())
                            .map(|(_, v)| v.trim().to_string())
                    });
                    let Some(expected) = expected else {
                        return Err(S3Error::with_message(
                            S3ErrorCode::InvalidRequest,
                            format!("missing trailer {}", alg.header_name()),
                        ));
                    };
                    if expected != actual {
                        return Err(S3Error::with_message(
                            S3ErrorCode::BadDigest,
                            format!(
                                "The {} you specified did not match the calculated checksum.",
                                alg.header_name()
                            ),
                        ));
                    }
                    Some((alg, actual))
                }
                _ => None,
            };
            Ok((md5, checksum))
        },
    );
    match verified {
        Ok((md5, checksum)) => Ok(Received {
            body: sink.finish().await?,
            size,
            md5,
            checksum,
        }),
        Err(e) => {
            sink.abort().await;
            Err(e)
        }
    }
}

/// A new object's name, owner and metadata: everything a [`NewObject`] needs but its
/// bytes, which [`store_upload`] receives.
pub struct Upload<'a> {
    /// Target bucket.
    pub bucket_id: i64,
    /// Key.
    pub key: &'a str,
    /// Owner account.
    pub owner_id: i64,
    /// Standard headers.
    pub headers: &'a ObjectHeaders,
    /// User metadata.
    pub user_metadata: &'a [(String, String)],
    /// The object's ACL.
    pub acl: &'a Grants,
    /// Condition checked again when committing.
    pub condition: WriteCondition,
    /// The bucket's versioning state.
    pub versioning: Versioning,
    /// The new version's tags and lock.
    pub attributes: &'a VersionAttributes,
}

/// What a stored upload answers with.
pub struct Stored {
    /// The quoted ETag.
    pub etag: String,
    /// The verified additional checksum, if the client sent one.
    pub checksum: Option<(ChecksumAlgorithm, String)>,
    /// The new version's id (`None`: the `null` version).
    pub version_id: Option<String>,
    /// The object's size in bytes.
    pub size: u64,
    /// The new version's Last-Modified.
    pub last_modified: time::OffsetDateTime,
}

/// Receives `source` (see [`receive`]) and commits it as `upload`: the one path of
/// PutObject and POST Object from the body to the committed row.
pub async fn store_upload(
    state: &AppState,
    h: &HeaderMap,
    source: impl BodySource,
    upload: Upload<'_>,
) -> S3Result<Stored> {
    let received = receive(state, h, source, state.config.inline_threshold).await?;
    let etag = received.etag();
    let checksum = received
        .checksum
        .as_ref()
        .map(|(alg, v)| (alg.as_str(), v.as_str()));
    let committed = commit(
        state,
        NewObject {
            bucket_id: upload.bucket_id,
            key: upload.key,
            size: received.size,
            etag: &etag,
            owner_id: upload.owner_id,
            headers: upload.headers,
            user_metadata: upload.user_metadata,
            checksum,
            acl: upload.acl,
            body: received.body,
            condition: upload.condition,
            versioning: upload.versioning,
            tags: &upload.attributes.tags,
            retention: upload.attributes.retention,
            legal_hold: upload.attributes.legal_hold,
        },
    )
    .await?;
    Ok(Stored {
        etag,
        checksum: received.checksum,
        version_id: committed.version_id,
        size: received.size,
        last_modified: committed.last_modified,
    })
}

/// Commits an object whose bytes were received. On failure, the chunk files the upload
/// still owns are removed: if the commit happened after all (a lost `COMMIT` answer),
/// it took their intents and nothing is removed (see `store::blob::writer`).
pub async fn commit(state: &AppState, obj: NewObject<'_>) -> S3Result<Committed> {
    let result = object_write::put_object(&state.pool, &state.small_writes, &obj).await;
    if let NewBody::Chunks(written) = obj.body {
        match &result {
            Ok(_) => written.committed(),
            Err(_) => written.discard().await,
        }
    }
    Ok(result?)
}

/// The owner of an object the request creates in `bucket` and its ACL: from
/// `x-amz-acl` or the grant headers, private by default. The owner is the requester (the
/// bucket owner for an anonymous writer), except where the bucket's Object Ownership
/// gives the object to the bucket owner, as S3 does: always with `BucketOwnerEnforced`
/// (the policy module has refused any ACL but the bucket owner's full control), and with
/// `BucketOwnerPreferred` when the write asks for `bucket-owner-full-control`.
pub async fn new_object_owner_and_acl(
    state: &AppState,
    ctx: &RequestContext,
    bucket: &Bucket,
    h: &HeaderMap,
) -> S3Result<(i64, Grants)> {
    let to_bucket_owner = match bucket.ownership() {
        ObjectOwnership::BucketOwnerEnforced => true,
        ObjectOwnership::BucketOwnerPreferred => h
            .get(CANNED_ACL)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "bucket-owner-full-control"),
        ObjectOwnership::ObjectWriter => false,
    };
    if to_bucket_owner {
        return Ok((bucket.owner_id, Grants::private(&bucket.owner_canonical_id)));
    }
    let (owner_id, owner_canonical_id) = match ctx.principal.account() {
        Some(a) => (a.id, a.canonical_id.as_str()),
        None => (bucket.owner_id, bucket.owner_canonical_id.as_str()),
    };
    let acl = acl_from_headers(
        state,
        h,
        owner_canonical_id,
        AclTarget::Object {
            bucket_owner: &bucket.owner_canonical_id,
        },
    )
    .await?
    .unwrap_or_else(|| Grants::private(owner_canonical_id));
    Ok((owner_id, acl))
}
