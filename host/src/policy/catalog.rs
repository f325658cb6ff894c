//! The operator's view of policy modules: store one under a name (validated first), attach
//! it to a bucket with a configuration, detach, list, delete. `coffer admin policy` and the
//! admin HTTP API both go through here, so both validate the same way.

use sqlx::PgPool;

use super::{DEFAULT_MODULE_NAME, Error as EngineError, PolicyEngine};
use crate::store::{self, policies};

/// Longest module name.
const MAX_NAME_LEN: usize = 63;

/// Largest per-bucket configuration, in bytes. It is passed to the module with every
/// decision, so it counts against the decision's input cap.
pub const MAX_CONFIG_BYTES: usize = 16 << 10;

/// Why an operator request was refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The module name is not acceptable.
    #[error(
        "invalid module name {0:?}: use 1 to 63 of a-z, 0-9, '.', '_', '-', starting with a letter or digit; `default` is reserved"
    )]
    InvalidName(String),
    /// The bytes are not a usable policy module.
    #[error("invalid policy module: {0}")]
    InvalidModule(#[source] EngineError),
    /// The configuration is not a JSON document, is too large, or the module cannot use it.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// Storage said no (no such bucket or module, module in use, database down).
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// What was stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredModule {
    /// Name.
    pub name: String,
    /// SHA-256, hex.
    pub digest: String,
    /// Size in bytes.
    pub size: usize,
    /// The hooks the module implements itself (the others fall back to the default module).
    pub hooks: Vec<String>,
}

/// Checks a module name.
pub fn validate_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name != "default"
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName(name.to_owned()))
    }
}

/// Checks a configuration: a JSON document of at most [`MAX_CONFIG_BYTES`].
pub fn validate_config(config: &str) -> Result<(), Error> {
    if config.len() > MAX_CONFIG_BYTES {
        return Err(Error::InvalidConfig(format!(
            "{} bytes, the limit is {MAX_CONFIG_BYTES}",
            config.len()
        )));
    }
    serde_json::from_str::<serde_json::Value>(config)
        .map(|_| ())
        .map_err(|e| Error::InvalidConfig(format!("not JSON: {e}")))
}

/// Validates `wasm` (it must compile and implement part of the `coffer:policy` world) and
/// stores it as `name`, replacing an older module of that name: buckets using the name
/// switch to it at their next request.
pub async fn put_module(
    engine: &PolicyEngine,
    pool: &PgPool,
    name: &str,
    wasm: &[u8],
) -> Result<StoredModule, Error> {
    validate_name(name)?;
    let module = engine.load(name, wasm).map_err(Error::InvalidModule)?;
    let digest = module.digest_hex();
    let raw_digest = hex::decode(&digest).map_err(|e| Error::InvalidConfig(e.to_string()))?;
    policies::put_module(pool, name, &raw_digest, wasm).await?;
    Ok(StoredModule {
        name: name.to_owned(),
        digest,
        size: wasm.len(),
        hooks: module.hooks().iter().map(|h| h.to_string()).collect(),
    })
}

/// Checks that module `module` can use `config`, so a configuration it would refuse at
/// every decision is refused when it is attached instead.
///
/// Today only the built-in default module's configuration (its metadata rules,
/// `coffer_guest_sdk::metadata_rules`) is checked, natively with the same code the
/// module runs. Stored modules have no way to say yet; once the contract has a hook for
/// it, this is the one place to route every module's check through the engine.
pub fn check_module_config(module: &str, config: &str) -> Result<(), Error> {
    if module == DEFAULT_MODULE_NAME {
        coffer_guest_sdk::metadata_rules::check_config(config).map_err(Error::InvalidConfig)?;
    }
    Ok(())
}

/// Attaches module `module` to `bucket`, with an optional JSON configuration: a stored
/// module, or `default`, the built-in module (whose configuration holds its metadata
/// rules; without one, attaching it is as good as detaching).
pub async fn attach(
    pool: &PgPool,
    bucket: &str,
    module: &str,
    config: Option<&str>,
) -> Result<(), Error> {
    if let Some(c) = config {
        validate_config(c)?;
        check_module_config(module, c)?;
    }
    let stored = (module != DEFAULT_MODULE_NAME).then_some(module);
    policies::attach(pool, bucket, stored, config).await?;
    Ok(())
}

/// Detaches `bucket`'s module; it goes back to the default. Returns whether one was attached.
pub async fn detach(pool: &PgPool, bucket: &str) -> Result<bool, Error> {
    Ok(policies::detach(pool, bucket).await?)
}

/// Deletes stored module `name` (refused while attached).
pub async fn delete_module(pool: &PgPool, name: &str) -> Result<(), Error> {
    Ok(policies::delete_module(pool, name).await?)
}

/// Every stored module.
pub async fn list(pool: &PgPool) -> Result<Vec<policies::ModuleInfo>, Error> {
    Ok(policies::list_modules(pool).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "read-only", "ip.allow_list", "0x", &"a".repeat(63)] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "default", "-a", "A", "a/b", "a b", &"a".repeat(64), "ü"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_default_module_s_configuration_is_checked() {
        let rules = r#"{"metadata": [{"schema": {"required": ["owner"]}}]}"#;
        assert!(check_module_config(DEFAULT_MODULE_NAME, rules).is_ok());
        for bad in [
            r#"{"metdata": []}"#,
            r#"{"metadata": [{"schema": {"properties": {"a": {"pattern": "("}}}}]}"#,
        ] {
            let err = check_module_config(DEFAULT_MODULE_NAME, bad).expect_err(bad);
            assert!(matches!(err, Error::InvalidConfig(_)), "{err}");
        }
        // Other modules' configurations are theirs to judge.
        assert!(check_module_config("read-only", r#"{"metdata": []}"#).is_ok());
    }

    #[test]
    fn configs() {
        assert!(validate_config(r#"{"prefix": "public/"}"#).is_ok());
        assert!(validate_config("[1, 2]").is_ok());
        assert!(validate_config("{").is_err());
        assert!(validate_config(&format!("\"{}\"", "x".repeat(MAX_CONFIG_BYTES))).is_err());
    }
}
