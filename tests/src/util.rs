//! Small helpers: unique names, digests, random data.

use md5::{Digest as _, Md5};
use rand::{Rng, RngCore};
use sha2::Sha256;

/// A random lowercase hex string of `len` characters.
pub fn random_hex(len: usize) -> String {
    let mut bytes = vec![0u8; len.div_ceil(2)];
    rand::thread_rng().fill_bytes(&mut bytes);
    let mut s = hex::encode(bytes);
    s.truncate(len);
    s
}

/// A random string of `len` characters from `alphabet`.
pub fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

/// A bucket name unique to this call: `prefix-<10 hex>` (keep `prefix` short and valid).
pub fn unique_bucket(prefix: &str) -> String {
    format!("{prefix}-{}", random_hex(10))
}

/// `len` random bytes.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut data = vec![0u8; len];
    rand::thread_rng().fill_bytes(&mut data);
    data
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Lowercase hex MD5.
pub fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

/// Base64 MD5, as in `Content-MD5`.
pub fn md5_base64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(Md5::digest(data))
}

/// The ETag S3 gives a single-part object: the quoted hex MD5.
pub fn etag_of(data: &[u8]) -> String {
    format!("\"{}\"", md5_hex(data))
}

/// Base64 CRC32 (as in `x-amz-checksum-crc32`).
pub fn crc32_base64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(crc32fast::hash(data).to_be_bytes())
}
