//! The operator's view of policy modules: store one under a name (validated first), attach
//! it to a bucket with a configuration, detach, list, delete. `coffer admin policy` and the
//! admin HTTP API both go through here, so both validate the same way.

use sqlx::PgPool;

use super::{DEFAULT_MODULE_NAME, Error as EngineError, Limits, PolicyEngine};
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

impl Error {
    /// A caller's mistake as the admin API and the console report it (a stable code and
    /// the message), or the storage error behind the failure, which each door maps with
    /// its other storage errors.
    pub fn into_client(self) -> Result<(&'static str, String), store::Error> {
        let code = match self {
            Error::Store(storage) => return Err(storage),
            Error::InvalidName(_) => "InvalidName",
            Error::InvalidModule(_) => "InvalidModule",
            Error::InvalidConfig(_) => "InvalidConfig",
        };
        Ok((code, self.to_string()))
    }
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
    /// The contract version it was built against (`0.3.0`, `0.2.0`, `0.1.0`).
    pub contract: String,
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
        contract: module.contract().to_owned(),
    })
}

/// Checks that module `module` can use `config`, so a configuration it would refuse at
/// every decision is refused when it is attached instead.
///
/// The built-in default module's configuration (its metadata rules,
/// `coffer_guest_sdk::metadata_rules`) is checked natively, with the same code its build
/// with rules runs: compiling that build costs seconds in a debug binary, which every
/// `coffer admin policy attach` would pay. A stored module is asked through its
/// `check-config` hook ([`PolicyEngine::check_config`]); one without the hook accepts
/// any configuration, and one that fails checking refuses it. `engine` is the server's
/// (its compiled modules are reused); without one (the admin CLI), one is started for
/// the check.
pub async fn check_module_config(
    engine: Option<&PolicyEngine>,
    pool: &PgPool,
    module: &str,
    config: &str,
) -> Result<(), Error> {
    if module == DEFAULT_MODULE_NAME {
        return check_default_config(config);
    }
    let Some(wasm) = policies::module_bytes(pool, module).await? else {
        return Err(store::Error::NoSuchPolicy(module.to_owned()).into());
    };
    let started;
    let engine = match engine {
        Some(engine) => engine,
        None => {
            // One check, no decisions to reuse.
            started = PolicyEngine::new(Limits {
                decision_cache_bytes: 0,
                ..Limits::default()
            })
            .map_err(Error::InvalidModule)?;
            &started
        }
    };
    let loaded = engine.load(module, &wasm).map_err(Error::InvalidModule)?;
    match engine.check_config(&loaded, config) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(message)) => Err(Error::InvalidConfig(message)),
        Err(e) => Err(Error::InvalidConfig(format!(
            "the module failed checking it ({}): {e}",
            e.kind()
        ))),
    }
}

/// Checks the built-in default module's configuration: its metadata rules.
fn check_default_config(config: &str) -> Result<(), Error> {
    coffer_guest_sdk::metadata_rules::check_config(config).map_err(Error::InvalidConfig)
}

/// Attaches module `module` to `bucket`, with an optional JSON configuration: a stored
/// module, or `default`, the built-in module (whose configuration holds its metadata
/// rules; without one, attaching it is as good as detaching). The configuration is
/// checked first ([`check_module_config`]).
pub async fn attach(
    engine: Option<&PolicyEngine>,
    pool: &PgPool,
    bucket: &str,
    module: &str,
    config: Option<&str>,
) -> Result<(), Error> {
    if let Some(c) = config {
        validate_config(c)?;
        check_module_config(engine, pool, module, c).await?;
    }
    let stored = (module != DEFAULT_MODULE_NAME).then_some(module);
    policies::attach(pool, bucket, stored, config).await?;
    Ok(())
}

/// Starts evaluating `module` (stored, or `default`) with `config` in shadow of `bucket`'s
/// active module, on `sample` (0 < sample <= 1) of its decisions: its answers are compared
/// with the active module's, counted and logged where they differ, never used. The
/// configuration is checked as an attach checks it.
pub async fn shadow(
    engine: Option<&PolicyEngine>,
    pool: &PgPool,
    bucket: &str,
    module: &str,
    config: Option<&str>,
    sample: f64,
) -> Result<(), Error> {
    if !(sample > 0.0 && sample <= 1.0) {
        return Err(Error::InvalidConfig(format!(
            "the sample rate must be above 0 and at most 1, not {sample}"
        )));
    }
    if let Some(c) = config {
        validate_config(c)?;
        check_module_config(engine, pool, module, c).await?;
    }
    let stored = (module != DEFAULT_MODULE_NAME).then_some(module);
    policies::set_shadow(pool, bucket, stored, config, sample).await?;
    Ok(())
}

/// Ends `bucket`'s shadow evaluation. Returns whether it had one.
pub async fn end_shadow(pool: &PgPool, bucket: &str) -> Result<bool, Error> {
    Ok(policies::clear_shadow(pool, bucket).await?)
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
        assert!(check_default_config(rules).is_ok());
        for bad in [
            r#"{"metdata": []}"#,
            r#"{"metadata": [{"schema": {"properties": {"a": {"pattern": "("}}}}]}"#,
        ] {
            let err = check_default_config(bad).expect_err(bad);
            assert!(matches!(err, Error::InvalidConfig(_)), "{err}");
        }
    }

    #[test]
    fn configs() {
        assert!(validate_config(r#"{"prefix": "public/"}"#).is_ok());
        assert!(validate_config("[1, 2]").is_ok());
        assert!(validate_config("{").is_err());
        assert!(validate_config(&format!("\"{}\"", "x".repeat(MAX_CONFIG_BYTES))).is_err());
    }
}
