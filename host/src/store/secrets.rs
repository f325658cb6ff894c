//! The master key, and secret access keys sealed with it.
//!
//! Secret keys must be recoverable (SigV4 needs the plain secret to derive the signing key),
//! so they are encrypted, not hashed: ChaCha20-Poly1305 under a 256-bit master key that lives
//! outside PostgreSQL, in `DATA_DIR/master.key` (mode 0600) or `COFFER_MASTER_KEY` (64 hex
//! chars). A database dump alone therefore reveals no credentials.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use zeroize::Zeroizing;

use super::Error;

/// The environment variable that overrides the key file.
pub const MASTER_KEY_ENV: &str = "COFFER_MASTER_KEY";
/// The key file's name inside the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

/// The key that seals secret access keys.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// Loads the key from the environment, else from `data_dir/master.key`, creating the file
    /// (mode 0600) on first use.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, Error> {
        if let Ok(hex_key) = std::env::var(MASTER_KEY_ENV) {
            return Self::from_hex(hex_key.trim()).ok_or_else(|| {
                Error::Config(format!("{MASTER_KEY_ENV} must be 64 hex characters"))
            });
        }
        let path = data_dir.join(MASTER_KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_hex(text.trim())
                .ok_or_else(|| Error::Config(format!("{} is not a valid key", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = Zeroizing::new([0u8; 32]);
                rand::rngs::OsRng.fill_bytes(key.as_mut());
                let text = Zeroizing::new(hex::encode(key.as_ref()));
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(|e| Error::io(&path, e))?;
                f.write_all(text.as_bytes())
                    .and_then(|_| f.sync_all())
                    .map_err(|e| Error::io(&path, e))?;
                Ok(MasterKey(key))
            }
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    fn from_hex(text: &str) -> Option<Self> {
        let bytes = Zeroizing::new(hex::decode(text).ok()?);
        let arr: [u8; 32] = bytes.as_slice().try_into().ok()?;
        Some(MasterKey(Zeroizing::new(arr)))
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(self.0.as_ref()))
    }

    /// Encrypts a secret; returns (ciphertext, nonce). The access key id is bound as
    /// associated data so a sealed secret cannot be moved to another key row.
    pub fn seal(&self, access_key: &str, secret: &str) -> Result<(Vec<u8>, Vec<u8>), Error> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                chacha20poly1305::aead::Payload {
                    msg: secret.as_bytes(),
                    aad: access_key.as_bytes(),
                },
            )
            .map_err(|_| Error::Decrypt)?;
        Ok((ct, nonce.to_vec()))
    }

    /// Decrypts a sealed secret.
    pub fn open(&self, access_key: &str, ciphertext: &[u8], nonce: &[u8]) -> Result<String, Error> {
        if nonce.len() != 12 {
            return Err(Error::Decrypt);
        }
        let plain = self
            .cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                chacha20poly1305::aead::Payload {
                    msg: ciphertext,
                    aad: access_key.as_bytes(),
                },
            )
            .map_err(|_| Error::Decrypt)?;
        String::from_utf8(plain).map_err(|_| Error::Decrypt)
    }
}

/// A new access key id: 20 upper-case alphanumerics, like AWS's.
pub fn generate_access_key() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut raw = [0u8; 18];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let mut s = String::from("CF");
    s.extend(raw.iter().map(|b| ALPHABET[(*b as usize) % 32] as char));
    s
}

/// A new secret key: 40 characters of base64 alphabet, like AWS's.
pub fn generate_secret_key() -> String {
    use base64::Engine;
    let mut raw = [0u8; 30];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// A new canonical user id: 64 lower-case hex characters.
pub fn generate_canonical_id() -> String {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    hex::encode(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_round_trips_and_binds_the_access_key() {
        let dir = std::env::temp_dir().join(format!("coffer-mk-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = MasterKey::load_or_create(&dir).unwrap();
        let (ct, nonce) = key.seal("AK1", "secret").unwrap();
        assert_eq!(key.open("AK1", &ct, &nonce).unwrap(), "secret");
        assert!(key.open("AK2", &ct, &nonce).is_err());
        let again = MasterKey::load_or_create(&dir).unwrap();
        assert_eq!(again.open("AK1", &ct, &nonce).unwrap(), "secret");
        let mode = std::fs::metadata(dir.join(MASTER_KEY_FILE))
            .unwrap()
            .permissions();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.mode() & 0o777, 0o600);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn generated_ids_have_aws_shapes() {
        assert_eq!(generate_access_key().len(), 20);
        assert_eq!(generate_secret_key().len(), 40);
        let id = generate_canonical_id();
        assert_eq!(id.len(), 64);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
