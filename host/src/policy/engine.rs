//! The wasmtime-based policy engine.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, Trap};

mod bindings {
    wasmtime::component::bindgen!({
        world: "policy",
        path: "../guest-sdk/wit",
    });
}

use bindings::coffer::policy::host::{self as wit_host, Level};
use bindings::{Policy, PolicyPre};

/// The WIT data types (`interface types`) as the host sees them.
pub use bindings::coffer::policy::types;
pub use types::{Decision, Request};

/// Why a decision could not be made (every one of these fails closed).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The module trapped (including a Rust panic, i.e. `unreachable`).
    #[error("policy module trapped: {0}")]
    Trap(String),
    /// The module ran past its deadline.
    #[error("policy module exceeded its {0:?} deadline")]
    Deadline(Duration),
    /// The module tried to grow its memory past the limit.
    #[error("policy module exceeded its memory limit of {limit} bytes")]
    MemoryLimit {
        /// The limit in bytes.
        limit: usize,
    },
    /// The (estimated serialized) input is larger than allowed.
    #[error("policy input of about {size} bytes exceeds the limit of {limit} bytes")]
    InputTooLarge {
        /// Estimated input size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The component does not fit the `coffer:policy` contract: missing
    /// exports, unexpected imports or mismatched types.
    #[error("policy module does not implement the coffer:policy world: {0}")]
    Abi(String),
    /// The bytes are not a valid component (or too large to load).
    #[error("policy module failed to compile: {0}")]
    Compile(String),
}

/// The limits enforced on every decision (see `guest-sdk/wit/LIMITS.md`).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Wall-clock deadline per decision.
    pub deadline: Duration,
    /// Epoch tick interval (deadline granularity).
    pub tick: Duration,
    /// Maximum linear memory per store, in bytes.
    pub memory_bytes: usize,
    /// Maximum table elements per table.
    pub table_elements: usize,
    /// Maximum core instances per store (a Rust component has a few).
    pub instances: usize,
    /// Maximum linear memories per store.
    pub memories: usize,
    /// Maximum component size at load.
    pub component_bytes: usize,
    /// Maximum estimated serialized input size.
    pub input_bytes: usize,
    /// Longer deny reasons are truncated to this many bytes.
    pub reason_bytes: usize,
    /// Maximum `log` calls per decision.
    pub log_calls: usize,
    /// Maximum total `log` bytes per decision.
    pub log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            deadline: Duration::from_millis(10),
            tick: Duration::from_millis(1),
            memory_bytes: 16 << 20,
            table_elements: 10_000,
            // LIMITS.md says one instance and one memory, but a component
            // built by `wasm32-wasip2` Rust already has several core
            // instances (module, shims, fixups); the memory cap is what
            // bounds resource use.
            instances: 16,
            memories: 2,
            component_bytes: 8 << 20,
            input_bytes: 64 << 10,
            reason_bytes: 1 << 10,
            log_calls: 32,
            log_bytes: 8 << 10,
        }
    }
}

impl Limits {
    fn deadline_ticks(&self) -> u64 {
        let tick = self.tick.as_nanos().max(1);
        u64::try_from(self.deadline.as_nanos().div_ceil(tick))
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

/// A compiled, linked policy module, ready to instantiate.
pub struct CompiledPolicy {
    digest: [u8; 32],
    pre: PolicyPre<HostState>,
}

impl CompiledPolicy {
    /// SHA-256 digest of the component bytes.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// The digest, hex-encoded (for logs).
    pub fn digest_hex(&self) -> String {
        hex::encode(self.digest)
    }
}

impl std::fmt::Debug for CompiledPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledPolicy")
            .field("digest", &self.digest_hex())
            .finish_non_exhaustive()
    }
}

/// Per-store limiter: [`StoreLimits`] plus a note of whether memory growth
/// was refused, to tell memory exhaustion from other traps.
struct Limiter {
    inner: StoreLimits,
    memory_refused: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = self.inner.memory_growing(current, desired, maximum);
        if !matches!(ok, Ok(true)) {
            self.memory_refused = true;
        }
        ok
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// What one decision's store holds.
struct HostState {
    limiter: Limiter,
    digest: Arc<str>,
    log_calls: usize,
    log_bytes: usize,
    log_dropped: bool,
    max_log_calls: usize,
    max_log_bytes: usize,
}

impl types::Host for HostState {}

impl wit_host::Host for HostState {
    fn log(&mut self, level: Level, message: String) {
        let remaining = self.max_log_bytes.saturating_sub(self.log_bytes);
        if self.log_calls >= self.max_log_calls || remaining == 0 {
            if !self.log_dropped {
                self.log_dropped = true;
                tracing::warn!(module = %self.digest, "policy module log budget exhausted; log dropped");
            }
            return;
        }
        self.log_calls += 1;
        let message = truncate(&message, remaining);
        self.log_bytes += message.len();
        let module = &*self.digest;
        match level {
            Level::Trace => tracing::trace!(target: "coffer::policy::guest", module, "{message}"),
            Level::Debug => tracing::debug!(target: "coffer::policy::guest", module, "{message}"),
            Level::Info => tracing::info!(target: "coffer::policy::guest", module, "{message}"),
            Level::Warn => tracing::warn!(target: "coffer::policy::guest", module, "{message}"),
            Level::Error => tracing::error!(target: "coffer::policy::guest", module, "{message}"),
        }
    }
}

/// The longest prefix of `s` of at most `max` bytes, on a char boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Increments the engine's epoch every tick until dropped.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine, tick: Duration) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("coffer-policy-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    engine.increment_epoch();
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Compiles policy components and evaluates decisions under [`Limits`].
pub struct PolicyEngine {
    engine: Engine,
    linker: Linker<HostState>,
    limits: Limits,
    cache: Mutex<HashMap<[u8; 32], Arc<CompiledPolicy>>>,
    _ticker: EpochTicker,
}

impl PolicyEngine {
    /// An engine with the default [`Limits`].
    pub fn new() -> anyhow::Result<Self> {
        Self::with_limits(Limits::default())
    }

    /// An engine enforcing `limits`.
    pub fn with_limits(limits: Limits) -> anyhow::Result<Self> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config).map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let mut linker = Linker::new(&engine);
        Policy::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let ticker = EpochTicker::start(engine.clone(), limits.tick)?;
        Ok(Self {
            engine,
            linker,
            limits,
            cache: Mutex::new(HashMap::new()),
            _ticker: ticker,
        })
    }

    /// The limits this engine enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Compile and link `bytes` (a component), or return the cached module
    /// with the same SHA-256 digest.
    pub fn load(&self, bytes: &[u8]) -> Result<Arc<CompiledPolicy>, Error> {
        if bytes.len() > self.limits.component_bytes {
            return Err(Error::Compile(format!(
                "component is {} bytes, the limit is {}",
                bytes.len(),
                self.limits.component_bytes
            )));
        }
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        if let Some(hit) = self.cache_lock().get(&digest) {
            return Ok(hit.clone());
        }
        let component =
            Component::new(&self.engine, bytes).map_err(|e| Error::Compile(format!("{e:#}")))?;
        let linker = self.linker_for(&component)?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| Error::Abi(format!("{e:#}")))?;
        let pre = PolicyPre::new(pre).map_err(|e| Error::Abi(format!("{e:#}")))?;
        let compiled = Arc::new(CompiledPolicy { digest, pre });
        // Two concurrent loads of the same bytes both compile; the first
        // insert wins and both callers get a working module.
        Ok(self.cache_lock().entry(digest).or_insert(compiled).clone())
    }

    fn cache_lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Arc<CompiledPolicy>>> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The linker for `component`: the `coffer:policy/host` imports, plus
    /// trapping stubs for the WASI imports the Rust standard library drags
    /// in (modules get no clock, I/O or randomness: calling one traps).
    /// Any other import is an ABI error.
    fn linker_for(&self, component: &Component) -> Result<Linker<HostState>, Error> {
        let ty = component.component_type();
        let mut wasi = false;
        for (name, _) in ty.imports(&self.engine) {
            if name.starts_with("wasi:") {
                wasi = true;
            } else if !name.starts_with("coffer:policy/") {
                return Err(Error::Abi(format!("unsupported import `{name}`")));
            }
        }
        let mut linker = self.linker.clone();
        if wasi {
            linker
                .define_unknown_imports_as_traps(component)
                .map_err(|e| Error::Abi(format!("{e:#}")))?;
        }
        Ok(linker)
    }

    fn store(&self, module: &CompiledPolicy) -> Store<HostState> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.limits.memory_bytes)
            .table_elements(self.limits.table_elements)
            .instances(self.limits.instances)
            .tables(self.limits.instances)
            .memories(self.limits.memories)
            .build();
        let state = HostState {
            limiter: Limiter {
                inner: limits,
                memory_refused: false,
            },
            digest: module.digest_hex().into(),
            log_calls: 0,
            log_bytes: 0,
            log_dropped: false,
            max_log_calls: self.limits.log_calls,
            max_log_bytes: self.limits.log_bytes,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(self.limits.deadline_ticks());
        store.epoch_deadline_trap();
        store
    }

    /// Classify a wasmtime error from instantiation or a call.
    fn classify(&self, store: &Store<HostState>, err: wasmtime::Error) -> Error {
        if store.data().limiter.memory_refused {
            return Error::MemoryLimit {
                limit: self.limits.memory_bytes,
            };
        }
        match err.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => Error::Deadline(self.limits.deadline),
            Some(_) => Error::Trap(format!("{err:#}")),
            None => Error::Trap(format!("{err:#}")),
        }
    }

    /// Run `module`'s `authorize` hook on `request` in a fresh store.
    pub fn evaluate_authorize(
        &self,
        module: &CompiledPolicy,
        request: &Request,
    ) -> Result<Decision, Error> {
        let size = request_size(request);
        if size > self.limits.input_bytes {
            return Err(Error::InputTooLarge {
                size,
                limit: self.limits.input_bytes,
            });
        }
        let mut store = self.store(module);
        let policy = match module.pre.instantiate(&mut store) {
            Ok(p) => p,
            Err(e) => return Err(self.classify(&store, e)),
        };
        match policy
            .coffer_policy_authorize()
            .call_authorize(&mut store, request)
        {
            Ok(Decision::Deny(reason)) => Ok(Decision::Deny(
                truncate(&reason, self.limits.reason_bytes).to_owned(),
            )),
            Ok(Decision::Allow) => Ok(Decision::Allow),
            Err(e) => Err(self.classify(&store, e)),
        }
    }
}

/// Per-value overhead in the size estimate (discriminants, lengths, pointers).
const OVERHEAD: usize = 8;

fn opt_str(s: &Option<String>) -> usize {
    OVERHEAD + s.as_ref().map_or(0, String::len)
}

fn acl_size(acl: &Option<types::Acl>) -> usize {
    OVERHEAD
        + acl.as_ref().map_or(0, |acl| {
            acl.owner.len()
                + acl
                    .grants
                    .iter()
                    .map(|g| {
                        let grantee = match &g.grantee {
                            types::Grantee::CanonicalUser(s) | types::Grantee::Email(s) => s.len(),
                            types::Grantee::Group(_) => 0,
                        };
                        3 * OVERHEAD + grantee
                    })
                    .sum::<usize>()
        })
}

/// An estimate of the canonical-ABI size of `req` (strings, lists and a
/// fixed overhead per value), compared against [`Limits::input_bytes`].
pub(crate) fn request_size(req: &Request) -> usize {
    let principal = match &req.principal {
        types::Principal::Anonymous => OVERHEAD,
        types::Principal::Account(a) => OVERHEAD + a.canonical_id.len() + a.display_name.len(),
    };
    req.operation.len()
        + opt_str(&req.bucket)
        + opt_str(&req.key)
        + principal
        + req.source_ip.len()
        + req
            .headers
            .iter()
            .map(|h| 2 * OVERHEAD + h.name.len() + h.value.len())
            .sum::<usize>()
        + opt_str(&req.bucket_owner)
        + opt_str(&req.object_owner)
        + acl_size(&req.bucket_acl)
        + acl_size(&req.object_acl)
        + opt_str(&req.config)
        + 12 * OVERHEAD
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use types::{Account, Acl, Principal};

    /// The default module, built by `policies/build.sh`.
    fn default_module_bytes() -> Vec<u8> {
        let path = std::env::var("COFFER_POLICY_ACL_WASM").unwrap_or_else(|_| {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/wasm/wasm32-wasip2/release/coffer_policy_acl.wasm"
            )
            .to_owned()
        });
        match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => panic!(
                "cannot read the default policy module {path}: {e}; \
                 build it first with `policies/build.sh` (scripts/test does this)"
            ),
        }
    }

    fn private_get(principal: Principal) -> Request {
        Request {
            operation: "GetObject".into(),
            bucket: Some("photos".into()),
            key: Some("cat.jpg".into()),
            principal,
            source_ip: "192.0.2.7".into(),
            headers: vec![],
            bucket_owner: Some("alice-id".into()),
            object_owner: Some("alice-id".into()),
            bucket_acl: Some(Acl {
                owner: "alice-id".into(),
                grants: vec![],
            }),
            object_acl: Some(Acl {
                owner: "alice-id".into(),
                grants: vec![],
            }),
            config: None,
        }
    }

    fn alice() -> Principal {
        Principal::Account(Account {
            canonical_id: "alice-id".into(),
            display_name: "alice".into(),
        })
    }

    #[test]
    fn default_module_allows_owner_and_denies_anonymous() -> anyhow::Result<()> {
        let engine = PolicyEngine::new()?;
        let t = Instant::now();
        let module = engine.load(&default_module_bytes())?;
        println!("compiled the default module in {:?}", t.elapsed());

        let owner = private_get(alice());
        assert!(matches!(
            engine.evaluate_authorize(&module, &owner)?,
            Decision::Allow
        ));
        let anonymous = private_get(Principal::Anonymous);
        match engine.evaluate_authorize(&module, &anonymous)? {
            Decision::Deny(reason) => println!("anonymous denied: {reason}"),
            Decision::Allow => panic!("anonymous GetObject on a private bucket was allowed"),
        }

        let n = 200;
        let t = Instant::now();
        for _ in 0..n {
            engine.evaluate_authorize(&module, &owner)?;
        }
        println!(
            "one decision (fresh store + instance + call) takes {:?} on average",
            t.elapsed() / n
        );
        Ok(())
    }

    #[test]
    fn modules_are_cached_by_digest() -> anyhow::Result<()> {
        let engine = PolicyEngine::new()?;
        let bytes = default_module_bytes();
        let a = engine.load(&bytes)?;
        let t = Instant::now();
        let b = engine.load(&bytes)?;
        println!("cached load took {:?}", t.elapsed());
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.digest_hex(), hex::encode(Sha256::digest(&bytes)));
        Ok(())
    }

    #[test]
    fn wrong_world_is_rejected_at_load() -> anyhow::Result<()> {
        let engine = PolicyEngine::new()?;
        // A valid component exporting something other than the policy hooks.
        let other = r#"(component
            (core module $m (func (export "f") (result i32) i32.const 1))
            (core instance $i (instantiate $m))
            (func $f (result u32) (canon lift (core func $i "f")))
            (export "answer" (func $f))
        )"#;
        let err = engine.load(other.as_bytes()).err();
        assert!(matches!(err, Some(Error::Abi(_))), "{err:?}");
        // An import the host does not provide.
        let importer = r#"(component
            (import "example:other/thing" (instance))
        )"#;
        let err = engine.load(importer.as_bytes()).err();
        assert!(matches!(err, Some(Error::Abi(_))), "{err:?}");
        // Not a component at all.
        let err = engine.load(b"\0asm garbage").err();
        assert!(matches!(err, Some(Error::Compile(_))), "{err:?}");
        Ok(())
    }

    #[test]
    fn oversized_input_is_refused_before_the_call() -> anyhow::Result<()> {
        let engine = PolicyEngine::new()?;
        let module = engine.load(&default_module_bytes())?;
        let mut req = private_get(alice());
        req.headers.push(types::Header {
            name: "x-big".into(),
            value: "x".repeat(64 << 10),
        });
        let err = engine.evaluate_authorize(&module, &req).err();
        assert!(matches!(err, Some(Error::InputTooLarge { .. })), "{err:?}");
        Ok(())
    }

    #[test]
    fn default_module_imports_only_host_and_stubbed_wasi() -> anyhow::Result<()> {
        let engine = PolicyEngine::new()?;
        let component = Component::new(&engine.engine, default_module_bytes())
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let imports: Vec<String> = component
            .component_type()
            .imports(&engine.engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        println!("default module imports: {imports:?}");
        assert!(
            imports.iter().all(|i| i.starts_with("wasi:")
                || i.starts_with("coffer:policy/host@")
                || i.starts_with("coffer:policy/types@")),
            "{imports:?}"
        );
        Ok(())
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
