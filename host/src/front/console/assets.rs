//! The console's static files, embedded in the binary (nothing is fetched at run time, and
//! building needs no JavaScript toolchain: the files in `assets/` are written by hand).
//!
//! Scripts and styles are served under `/assets/NAME` and are immutable for a given build:
//! the pages and the modules (which import each other) refer to them as
//! `/assets/NAME?v=VERSION`, rewritten once at start, so a browser never runs an old script
//! against a new server, and caches them for a year otherwise. VERSION is one for all
//! files (the first 16 hex digits of the SHA-256 of all of them): a module's URL must
//! change when any module it imports changes, and one version for all is the simplest
//! way to get that.

use sha2::{Digest, Sha256};

/// One embedded file.
struct Embedded {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// Every file under `/assets/`. A new file is one line here.
const FILES: &[Embedded] = &[
    Embedded {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/console.js"),
    },
    Embedded {
        name: "login.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/login.js"),
    },
    Embedded {
        name: "ui.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/ui.js"),
    },
    Embedded {
        name: "api.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/api.js"),
    },
    Embedded {
        name: "s3.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/s3.js"),
    },
    Embedded {
        name: "upload.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/upload.js"),
    },
    Embedded {
        name: "versions.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/versions.js"),
    },
    Embedded {
        name: "tags.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/tags.js"),
    },
    Embedded {
        name: "lifecycle.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/lifecycle.js"),
    },
    Embedded {
        name: "lock.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/lock.js"),
    },
    Embedded {
        name: "drawer.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/drawer.js"),
    },
    Embedded {
        name: "acl.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/acl.js"),
    },
    Embedded {
        name: "access.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/access.js"),
    },
    Embedded {
        name: "cors.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/cors.js"),
    },
    Embedded {
        name: "account.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/account.js"),
    },
    Embedded {
        name: "buckets.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/buckets.js"),
    },
    Embedded {
        name: "objects.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/objects.js"),
    },
    Embedded {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("assets/console.css"),
    },
];

/// The pages, served at fixed paths with `/assets/` references rewritten.
const LOGIN_PAGE: &str = include_str!("assets/login.html");
const APP_PAGE: &str = include_str!("assets/app.html");

/// A file ready to serve.
pub struct Asset {
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The bytes, references to other assets versioned.
    pub bytes: bytes::Bytes,
    /// The version the pages ask for (`?v=`).
    pub version: String,
}

/// The embedded files and the two pages, with versions computed.
pub struct Assets {
    files: Vec<(&'static str, Asset)>,
    /// The login page.
    pub login_page: String,
    /// The console page.
    pub app_page: String,
}

impl Assets {
    /// Hashes the files and rewrites the references to them.
    pub fn load() -> Self {
        let mut digest = Sha256::new();
        for f in FILES {
            digest.update(f.name.as_bytes());
            digest.update((f.bytes.len() as u64).to_le_bytes());
            digest.update(f.bytes);
        }
        let version = hex::encode(&digest.finalize()[..8]);
        let rewrite = |text: &str| {
            let mut text = text.to_string();
            for f in FILES {
                let plain = format!("\"/assets/{}\"", f.name);
                let versioned = format!("\"/assets/{}?v={version}\"", f.name);
                text = text.replace(&plain, &versioned);
            }
            text
        };
        let files = FILES
            .iter()
            .map(|f| {
                let bytes = match std::str::from_utf8(f.bytes) {
                    Ok(text) => bytes::Bytes::from(rewrite(text)),
                    Err(_) => bytes::Bytes::from_static(f.bytes),
                };
                let asset = Asset {
                    content_type: f.content_type,
                    bytes,
                    version: version.clone(),
                };
                (f.name, asset)
            })
            .collect();
        Assets {
            login_page: rewrite(LOGIN_PAGE),
            app_page: rewrite(APP_PAGE),
            files,
        }
    }

    /// The file served at `/assets/{name}`.
    pub fn file(&self, name: &str) -> Option<&Asset> {
        self.files.iter().find(|(n, _)| *n == name).map(|(_, a)| a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_refer_to_every_script_by_version() {
        let assets = Assets::load();
        for name in ["console.js", "console.css"] {
            let asset = assets.file(name).expect("embedded");
            assert!(
                assets
                    .app_page
                    .contains(&format!("/assets/{name}?v={}", asset.version)),
                "{name}"
            );
        }
        let login = assets.file("login.js").expect("embedded");
        assert!(
            assets
                .login_page
                .contains(&format!("/assets/login.js?v={}", login.version))
        );
    }

    #[test]
    fn modules_import_each_other_by_version() {
        let assets = Assets::load();
        let entry = assets.file("console.js").expect("embedded");
        let text = std::str::from_utf8(&entry.bytes).expect("UTF-8");
        assert!(text.contains(&format!("\"/assets/api.js?v={}\"", entry.version)));
        assert!(!text.contains("\"/assets/api.js\""));
    }
}
