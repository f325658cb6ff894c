//! TLS for the listeners: the certificate and key read from PEM files, served to every
//! handshake through a resolver whose certificate can be swapped while the server runs.
//!
//! Why a resolver rather than a fixed certificate in the `rustls` configuration: a reload
//! (SIGHUP) must not restart the listeners nor drop connections. Each handshake asks
//! [`CertStore::resolve`] for the current `Arc<CertifiedKey>`; [`CertStore::reload`] reads
//! the files again and swaps that `Arc`, so connections already established keep the
//! certificate they were made with and the next handshake gets the new one. A reload that
//! fails changes nothing.
//!
//! Only the `ring` provider is compiled in (aws-lc-rs, rustls' default, needs cmake), and
//! only HTTP/1.1 is offered through ALPN, as the server speaks nothing else.

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::config::TlsFiles;

/// Why the certificate or key could not be loaded. Every variant names the file at fault,
/// as the message is what an operator sees when `coffer serve` refuses to start or a
/// reload is refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is missing or unreadable.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is not well-formed PEM.
    #[error("{} is not valid PEM: {source}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        source: rustls_pki_types::pem::Error,
    },
    /// The certificate file holds no `CERTIFICATE` block.
    #[error("no certificate in {} (expected a PEM `CERTIFICATE` block)", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key file holds no private key block.
    #[error(
        "no private key in {} (expected a PEM `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block)",
        path.display()
    )]
    NoPrivateKey {
        /// The file.
        path: PathBuf,
    },
    /// The key is of a type (or curve) the `ring` provider cannot sign with.
    #[error("unsupported private key in {}: {source}", path.display())]
    UnsupportedKey {
        /// The file.
        path: PathBuf,
        /// What rustls said.
        source: rustls::Error,
    },
    /// The first certificate cannot be parsed.
    #[error("invalid certificate in {}: {source}", path.display())]
    InvalidCertificate {
        /// The file.
        path: PathBuf,
        /// What rustls said.
        source: rustls::Error,
    },
    /// The private key is not the one of the (first) certificate.
    #[error(
        "the private key in {} does not match the certificate in {}",
        key.display(),
        cert.display()
    )]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// The provider refused the TLS configuration itself (should not happen with `ring`'s
    /// defaults).
    #[error("TLS configuration: {0}")]
    Config(rustls::Error),
}

/// The `rustls` provider every listener uses: `ring`.
///
/// rustls 0.23.48 deprecates it as it lacks post-quantum key exchange (X25519MLKEM768),
/// which only aws-lc-rs offers; aws-lc-rs needs cmake and a C toolchain to build, which
/// this project does not require. Clients get X25519 and the NIST curves instead.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificate served to new handshakes, and the files it comes from.
#[derive(Debug)]
pub struct CertStore {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertStore {
    /// Reads the certificate chain and key, checking they belong together.
    pub fn load(files: TlsFiles) -> Result<Self, Error> {
        let provider = provider();
        let key = load_certified_key(&files, &provider)?;
        Ok(CertStore {
            files,
            provider,
            current: RwLock::new(Arc::new(key)),
        })
    }

    /// Reads the files again and, if they hold a valid certificate and matching key, serves
    /// them to the following handshakes. On error the previous certificate stays.
    pub fn reload(&self) -> Result<(), Error> {
        let key = Arc::new(load_certified_key(&self.files, &self.provider)?);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = key;
        Ok(())
    }

    /// The files the certificate and key are read from.
    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    /// The certificate chain and key new handshakes get.
    pub fn current(&self) -> Arc<CertifiedKey> {
        // A poisoned lock still holds a complete `Arc` (the writer only assigns it).
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// TLS for the listeners: one [`CertStore`] shared by all of them (so one reload updates
/// every listener) and the acceptor that performs handshakes with it.
#[derive(Clone)]
pub struct Tls {
    certs: Arc<CertStore>,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("files", self.certs.files())
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// Loads the certificate and key (see [`CertStore::load`]) and builds the server
    /// configuration: TLS 1.2 and 1.3 with `ring`'s safe defaults, no client certificates,
    /// ALPN `http/1.1`.
    pub fn load(files: TlsFiles) -> Result<Self, Error> {
        let certs = Arc::new(CertStore::load(files)?);
        let mut config = rustls::ServerConfig::builder_with_provider(certs.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(Error::Config)?
            .with_no_client_auth()
            .with_cert_resolver(certs.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            certs,
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// Re-reads the certificate and key for new handshakes (see [`CertStore::reload`]).
    pub fn reload(&self) -> Result<(), Error> {
        self.certs.reload()
    }

    /// The acceptor the accept loop hands each connection to.
    pub fn acceptor(&self) -> &tokio_rustls::TlsAcceptor {
        &self.acceptor
    }

    /// The certificate store (for inspection).
    pub fn certs(&self) -> &CertStore {
        &self.certs
    }
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses the chain from `files.cert` and the key from `files.key` (the same file may hold
/// both), and checks that the key is the certificate's.
fn load_certified_key(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey, Error> {
    let cert_pem = read(&files.cert)?;
    let key_pem = read(&files.key)?;
    let chain = parse_chain(&cert_pem, &files.cert)?;
    let key = parse_key(&key_pem, &files.key)?;
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|source| Error::UnsupportedKey {
            path: files.key.clone(),
            source,
        })?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        Ok(()) => Ok(certified),
        // The key cannot tell its public half: nothing to compare, as rustls itself does
        // in `CertifiedKey::from_der`. `ring`'s keys all can, so this is not reached today.
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(certified),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(Error::KeyMismatch {
                cert: files.cert.clone(),
                key: files.key.clone(),
            })
        }
        Err(source) => Err(Error::InvalidCertificate {
            path: files.cert.clone(),
            source,
        }),
    }
}

/// Every `CERTIFICATE` block of `pem`, leaf first.
fn parse_chain(pem: &[u8], path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| Error::Pem {
            path: path.to_path_buf(),
            source,
        })?;
    if chain.is_empty() {
        return Err(Error::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(chain)
}

/// The first private key block of `pem` (PKCS#8, PKCS#1 or SEC1).
fn parse_key(pem: &[u8], path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|source| match source {
        rustls_pki_types::pem::Error::NoItemsFound => Error::NoPrivateKey {
            path: path.to_path_buf(),
        },
        source => Error::Pem {
            path: path.to_path_buf(),
            source,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_garbage_files_are_named_in_the_error() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, "not pem at all\n").expect("write");
        std::fs::write(&key, "").expect("write");
        let files = TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        };
        let err = CertStore::load(files.clone()).expect_err("no certificate");
        assert!(matches!(err, Error::NoCertificate { .. }), "{err}");
        assert!(err.to_string().contains("cert.pem"), "{err}");

        let missing = TlsFiles {
            cert: dir.path().join("absent.pem"),
            key,
        };
        let err = CertStore::load(missing).expect_err("missing file");
        assert!(err.to_string().contains("absent.pem"), "{err}");
    }

    #[test]
    fn a_certificate_without_a_key_names_the_key_file() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        // A syntactically valid PEM certificate block; the key file has none.
        std::fs::write(
            &cert,
            "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        std::fs::write(
            &key,
            "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        let err = CertStore::load(TlsFiles { cert, key }).expect_err("no key");
        assert!(matches!(err, Error::NoPrivateKey { .. }), "{err}");
        assert!(err.to_string().contains("key.pem"), "{err}");
    }
}
