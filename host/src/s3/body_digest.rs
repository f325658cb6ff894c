//! The digests of an object's bytes (MD5 for the ETag, and the `x-amz-checksum-*` the
//! client asked for), computed beside the upload rather than in its way.
//!
//! MD5 cannot be split: its bytes go through one core in order, at about 600 MiB/s
//! (the `md-5` crate's assembly on the development VM). Computed on the request's task,
//! as the bytes arrive, it added its time to everything else that task does with them
//! (receiving, copying into the write buffer, handing buffers to the copies' writers):
//! a large PUT ran at a third of MD5's speed (docs/performance.md). Past [`INLINE_BYTES`] the digests
//! move to a thread of their own and the request's task only hands them the bytes, so
//! hashing overlaps receiving and writing; small bodies, where waking a thread would
//! cost more than the hashing, stay on the task.
//!
//! Memory stays bounded: at most [`QUEUED_BATCHES`] batches of [`BATCH_BYTES`] wait for
//! the hashing thread (the `Bytes` are shared with the chunk writer, not copied), and
//! the request's task waits when they are all queued.

use bytes::Bytes;
use md5::{Digest, Md5};
use tokio::sync::mpsc;

use super::error::{S3Error, S3ErrorCode, S3Result};
use crate::auth::checksum::{ChecksumAlgorithm, ChecksumHasher};

/// Bodies up to this size are hashed on the request's task.
const INLINE_BYTES: u64 = 1 << 20;
/// Bytes handed to the hashing thread at once (fewer wake-ups than one piece each).
const BATCH_BYTES: usize = 256 << 10;
/// Batches that may wait for the hashing thread.
const QUEUED_BATCHES: usize = 4;

/// The hashers themselves.
struct Hashers {
    md5: Md5,
    checksum: Option<ChecksumHasher>,
}

impl Hashers {
    fn new(checksum: Option<ChecksumAlgorithm>) -> Self {
        Hashers {
            md5: Md5::new(),
            checksum: checksum.map(ChecksumHasher::new),
        }
    }

    fn update(&mut self, data: &[u8]) {
        self.md5.update(data);
        if let Some(hasher) = &mut self.checksum {
            hasher.update(data);
        }
    }
}

/// Where the hashing happens.
enum Place {
    /// On the request's task, so far.
    Here(Hashers),
    /// On a thread of the blocking pool, fed through a bounded queue.
    Thread {
        queue: mpsc::Sender<Vec<Bytes>>,
        batch: Vec<Bytes>,
        batched: usize,
        done: tokio::task::JoinHandle<Hashers>,
    },
}

/// MD5 and the requested checksum of a body, fed piece by piece in order.
pub struct BodyDigest {
    place: Place,
    size: u64,
}

/// What [`BodyDigest::finish`] returns.
pub struct Digests {
    /// MD5 of the bytes.
    pub md5: [u8; 16],
    /// The requested checksum's hasher, over the bytes.
    pub checksum: Option<ChecksumHasher>,
}

impl BodyDigest {
    /// Digests over no bytes yet: MD5, and `checksum` if the client asked for one.
    pub fn new(checksum: Option<ChecksumAlgorithm>) -> Self {
        BodyDigest {
            place: Place::Here(Hashers::new(checksum)),
            size: 0,
        }
    }

    /// Adds the next piece of the body.
    pub async fn update(&mut self, data: &Bytes) -> S3Result<()> {
        self.size += data.len() as u64;
        if let Place::Here(hashers) = &mut self.place {
            if self.size <= INLINE_BYTES {
                hashers.update(data);
                return Ok(());
            }
            let seen = std::mem::replace(hashers, Hashers::new(None));
            self.place = on_a_thread(seen);
        }
        let Place::Thread {
            queue,
            batch,
            batched,
            ..
        } = &mut self.place
        else {
            return Ok(());
        };
        batch.push(data.clone());
        *batched += data.len();
        if *batched >= BATCH_BYTES {
            *batched = 0;
            let full = std::mem::take(batch);
            queue.send(full).await.map_err(|_| hashing_stopped())?;
        }
        Ok(())
    }

    /// The digests over every piece given.
    pub async fn finish(self) -> S3Result<Digests> {
        let hashers = match self.place {
            Place::Here(hashers) => hashers,
            Place::Thread {
                queue, batch, done, ..
            } => {
                if !batch.is_empty() {
                    queue.send(batch).await.map_err(|_| hashing_stopped())?;
                }
                // Closing the queue ends the thread's loop.
                drop(queue);
                done.await.map_err(|_| hashing_stopped())?
            }
        };
        Ok(Digests {
            md5: hashers.md5.finalize().into(),
            checksum: hashers.checksum,
        })
    }
}

/// Moves `hashers`, with what they have seen, to a thread of their own.
fn on_a_thread(mut hashers: Hashers) -> Place {
    let (queue, mut batches) = mpsc::channel::<Vec<Bytes>>(QUEUED_BATCHES);
    let done = tokio::task::spawn_blocking(move || {
        while let Some(batch) = batches.blocking_recv() {
            for piece in &batch {
                hashers.update(piece);
            }
        }
        hashers
    });
    Place::Thread {
        queue,
        batch: Vec::new(),
        batched: 0,
        done,
    }
}

/// The hashing thread is gone (it panicked): the upload cannot be verified.
fn hashing_stopped() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::InternalError,
        "the upload's digests could not be computed",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same digests whether the body stays on the task or moves to the thread, in
    /// pieces of any size.
    #[tokio::test]
    async fn digests_do_not_depend_on_where_they_are_computed() {
        let body: Vec<u8> = (0..(3 * INLINE_BYTES as usize + 12345))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let expected_md5: [u8; 16] = Md5::digest(&body).into();
        let mut whole = ChecksumHasher::new(ChecksumAlgorithm::Sha256);
        whole.update(&body);
        let expected_sha = whole.finalize_base64();
        for (len, piece) in [
            (1000, 1),
            (INLINE_BYTES as usize, 65536),
            (body.len(), 7777),
        ] {
            let mut digest = BodyDigest::new(Some(ChecksumAlgorithm::Sha256));
            for part in body[..len].chunks(piece) {
                digest
                    .update(&Bytes::copy_from_slice(part))
                    .await
                    .expect("update");
            }
            let got = digest.finish().await.expect("finish");
            let want: [u8; 16] = Md5::digest(&body[..len]).into();
            assert_eq!(got.md5, want, "{len} bytes in pieces of {piece}");
            if len == body.len() {
                assert_eq!(got.md5, expected_md5);
                let sha = got.checksum.expect("checksum").finalize_base64();
                assert_eq!(sha, expected_sha);
            }
        }
    }

    /// An empty body has the empty body's digests.
    #[tokio::test]
    async fn an_empty_body() {
        let got = BodyDigest::new(None).finish().await.expect("finish");
        let want: [u8; 16] = Md5::digest(b"").into();
        assert_eq!(got.md5, want);
        assert!(got.checksum.is_none());
    }
}
