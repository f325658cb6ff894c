//! The console's static files, embedded in the binary (nothing is fetched at run time, and
//! building needs no JavaScript toolchain: the files in `assets/` are written by hand).
//!
//! Scripts and styles are served under `/assets/NAME` and are immutable for a given build:
//! the pages refer to them as `/assets/NAME?v=HASH` (the first 16 hex digits of their
//! SHA-256), rewritten once at start, so a browser never runs an old script against a new
//! server, and caches them for a year otherwise.

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
    /// The bytes.
    pub bytes: &'static [u8],
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
    /// Hashes the files and rewrites the pages' references.
    pub fn load() -> Self {
        let files: Vec<(&'static str, Asset)> = FILES
            .iter()
            .map(|f| {
                let digest = Sha256::digest(f.bytes);
                (
                    f.name,
                    Asset {
                        content_type: f.content_type,
                        bytes: f.bytes,
                        version: hex::encode(&digest[..8]),
                    },
                )
            })
            .collect();
        let rewrite = |page: &str| {
            let mut page = page.to_string();
            for (name, asset) in &files {
                let plain = format!("\"/assets/{name}\"");
                let versioned = format!("\"/assets/{name}?v={}\"", asset.version);
                page = page.replace(&plain, &versioned);
            }
            page
        };
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
}
