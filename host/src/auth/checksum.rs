//! The additional checksums S3 accepts for uploads (`x-amz-checksum-*` headers
//! and trailers): algorithm names and incremental hashers producing the base64
//! values S3 transmits (CRCs as their big-endian bytes).
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html>.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::Error;

/// A checksum algorithm S3 supports for object integrity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumAlgorithm {
    /// CRC-32 (ISO-HDLC, as in zlib).
    Crc32,
    /// CRC-32C (Castagnoli).
    Crc32c,
    /// CRC-64/NVME.
    Crc64Nvme,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
}

impl ChecksumAlgorithm {
    /// Every algorithm, in the order S3 documents them.
    pub const ALL: [ChecksumAlgorithm; 5] = [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
    ];

    /// The name SDKs use in `x-amz-checksum-algorithm` / `x-amz-sdk-checksum-algorithm`:
    /// `CRC32`, `CRC32C`, `CRC64NVME`, `SHA1`, `SHA256`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "CRC32",
            ChecksumAlgorithm::Crc32c => "CRC32C",
            ChecksumAlgorithm::Crc64Nvme => "CRC64NVME",
            ChecksumAlgorithm::Sha1 => "SHA1",
            ChecksumAlgorithm::Sha256 => "SHA256",
        }
    }

    /// Parses an SDK algorithm name, case-insensitively.
    pub fn from_sdk_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// The header (or trailer) that carries this checksum, e.g. `x-amz-checksum-crc32`.
    pub fn header_name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "x-amz-checksum-crc32",
            ChecksumAlgorithm::Crc32c => "x-amz-checksum-crc32c",
            ChecksumAlgorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
            ChecksumAlgorithm::Sha1 => "x-amz-checksum-sha1",
            ChecksumAlgorithm::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// The algorithm whose header is `name` (case-insensitive).
    pub fn from_header_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.header_name().eq_ignore_ascii_case(name.trim()))
    }

    /// The digest size in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c => 4,
            ChecksumAlgorithm::Crc64Nvme => 8,
            ChecksumAlgorithm::Sha1 => 20,
            ChecksumAlgorithm::Sha256 => 32,
        }
    }

    /// Checks that `value` is base64 of a digest of this algorithm's size
    /// (what S3 requires of `x-amz-checksum-*` values).
    pub fn validate_base64(self, value: &str) -> Result<(), Error> {
        match BASE64.decode(value.trim()) {
            Ok(bytes) if bytes.len() == self.digest_len() => Ok(()),
            _ => Err(Error::InvalidChecksum(format!(
                "{} value is not base64 of {} bytes",
                self.as_str(),
                self.digest_len()
            ))),
        }
    }
}

impl fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An incremental checksum over a stream of bytes.
#[derive(Clone)]
pub struct ChecksumHasher {
    state: HasherState,
}

#[derive(Clone)]
enum HasherState {
    Crc32(crc32fast::Hasher),
    Crc32c(u32),
    Crc64Nvme(crc64fast_nvme::Digest),
    Sha1(Sha1),
    Sha256(Sha256),
}

impl fmt::Debug for ChecksumHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChecksumHasher")
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

impl ChecksumHasher {
    /// A hasher for `algorithm`, over no bytes yet.
    pub fn new(algorithm: ChecksumAlgorithm) -> Self {
        let state = match algorithm {
            ChecksumAlgorithm::Crc32 => HasherState::Crc32(crc32fast::Hasher::new()),
            ChecksumAlgorithm::Crc32c => HasherState::Crc32c(0),
            ChecksumAlgorithm::Crc64Nvme => HasherState::Crc64Nvme(crc64fast_nvme::Digest::new()),
            ChecksumAlgorithm::Sha1 => HasherState::Sha1(Sha1::new()),
            ChecksumAlgorithm::Sha256 => HasherState::Sha256(Sha256::new()),
        };
        Self { state }
    }

    /// The algorithm this hasher computes.
    pub fn algorithm(&self) -> ChecksumAlgorithm {
        match self.state {
            HasherState::Crc32(_) => ChecksumAlgorithm::Crc32,
            HasherState::Crc32c(_) => ChecksumAlgorithm::Crc32c,
            HasherState::Crc64Nvme(_) => ChecksumAlgorithm::Crc64Nvme,
            HasherState::Sha1(_) => ChecksumAlgorithm::Sha1,
            HasherState::Sha256(_) => ChecksumAlgorithm::Sha256,
        }
    }

    /// Feeds more bytes.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            HasherState::Crc32(hasher) => hasher.update(data),
            HasherState::Crc32c(crc) => *crc = crc32c::crc32c_append(*crc, data),
            HasherState::Crc64Nvme(digest) => digest.write(data),
            HasherState::Sha1(hasher) => hasher.update(data),
            HasherState::Sha256(hasher) => hasher.update(data),
        }
    }

    /// The digest bytes (big-endian for the CRCs).
    pub fn finalize_bytes(self) -> Vec<u8> {
        match self.state {
            HasherState::Crc32(hasher) => hasher.finalize().to_be_bytes().to_vec(),
            HasherState::Crc32c(crc) => crc.to_be_bytes().to_vec(),
            HasherState::Crc64Nvme(digest) => digest.sum64().to_be_bytes().to_vec(),
            HasherState::Sha1(hasher) => hasher.finalize().to_vec(),
            HasherState::Sha256(hasher) => hasher.finalize().to_vec(),
        }
    }

    /// The digest as S3 transmits it: base64 of [`ChecksumHasher::finalize_bytes`].
    pub fn finalize_base64(self) -> String {
        BASE64.encode(self.finalize_bytes())
    }
}

/// The base64 checksum of `data` in one call.
pub fn checksum_base64(algorithm: ChecksumAlgorithm, data: &[u8]) -> String {
    let mut hasher = ChecksumHasher::new(algorithm);
    hasher.update(data);
    hasher.finalize_base64()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Check values of the CRC catalogue ("123456789"), plus the well-known
    /// digests of "hello world".
    #[test]
    fn known_vectors() {
        let check = |alg, data: &[u8]| {
            let mut hasher = ChecksumHasher::new(alg);
            hasher.update(data);
            hex::encode(hasher.finalize_bytes())
        };
        assert_eq!(check(ChecksumAlgorithm::Crc32, b"123456789"), "cbf43926");
        assert_eq!(check(ChecksumAlgorithm::Crc32c, b"123456789"), "e3069283");
        assert_eq!(
            check(ChecksumAlgorithm::Crc64Nvme, b"123456789"),
            "ae8b14860a799888"
        );
        assert_eq!(check(ChecksumAlgorithm::Crc32, b"hello world"), "0d4a1185");
        assert_eq!(check(ChecksumAlgorithm::Crc32c, b"hello world"), "c99465aa");
        assert_eq!(
            check(ChecksumAlgorithm::Sha1, b"hello world"),
            "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"
        );
        assert_eq!(
            check(ChecksumAlgorithm::Sha256, b"hello world"),
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        // CRCs of nothing are zero; S3 sends "AAAAAA==" for an empty CRC32.
        assert_eq!(checksum_base64(ChecksumAlgorithm::Crc32, b""), "AAAAAA==");
        assert_eq!(
            checksum_base64(ChecksumAlgorithm::Crc64Nvme, b""),
            "AAAAAAAAAAA="
        );
    }

    /// The trailer of AWS's sigv4-streaming-trailers.html example: CRC32C of
    /// 66,560 bytes of `a` is `sOO8/Q==`.
    #[test]
    fn doc_trailer_crc32c() {
        assert_eq!(
            checksum_base64(ChecksumAlgorithm::Crc32c, &[b'a'; 66_560]),
            "sOO8/Q=="
        );
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for alg in ChecksumAlgorithm::ALL {
            let mut hasher = ChecksumHasher::new(alg);
            for piece in data.chunks(333) {
                hasher.update(piece);
            }
            assert_eq!(hasher.algorithm(), alg);
            assert_eq!(
                hasher.finalize_base64(),
                checksum_base64(alg, &data),
                "{alg}"
            );
        }
    }

    #[test]
    fn names_round_trip() {
        for alg in ChecksumAlgorithm::ALL {
            assert_eq!(ChecksumAlgorithm::from_sdk_name(alg.as_str()), Some(alg));
            assert_eq!(
                ChecksumAlgorithm::from_sdk_name(&alg.as_str().to_lowercase()),
                Some(alg)
            );
            assert_eq!(
                ChecksumAlgorithm::from_header_name(alg.header_name()),
                Some(alg)
            );
            assert_eq!(
                ChecksumAlgorithm::from_header_name(&alg.header_name().to_uppercase()),
                Some(alg)
            );
            let value = checksum_base64(alg, b"x");
            assert!(alg.validate_base64(&value).is_ok());
        }
        assert_eq!(ChecksumAlgorithm::from_sdk_name("MD5"), None);
        assert_eq!(
            ChecksumAlgorithm::from_header_name("x-amz-checksum-md5"),
            None
        );
        assert!(matches!(
            ChecksumAlgorithm::Crc32.validate_base64("AAAAAAAAAAA="),
            Err(Error::InvalidChecksum(_))
        ));
        assert!(matches!(
            ChecksumAlgorithm::Sha1.validate_base64("not base64!"),
            Err(Error::InvalidChecksum(_))
        ));
    }
}
