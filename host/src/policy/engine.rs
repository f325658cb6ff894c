//! The wasmtime-based policy engine: loads components (validated, compiled
//! and linked once, cached by SHA-256 digest) and runs each decision in a
//! fresh store under [`Limits`].
//!
//! # Per-decision cost
//!
//! Every decision gets a new [`Store`] and a new instance, so no state leaks
//! between requests (or buckets) and a trapped instance is simply dropped.
//! That stays cheap because linking is done once at load
//! ([`InstancePre`]), instances come from wasmtime's pooling allocator
//! (pre-reserved slots; no `mmap` per decision), and a released memory is
//! reset by zeroing only the pages decisions have touched (found with one
//! `PAGEMAP_SCAN` ioctl, see `Limits::pooling`).
//!
//! Memories are initialised copy-on-write from a memory image of the
//! module's data segments, mapped into a slot once and kept there while the
//! slot serves the same module: a decision reads the read-only data (the
//! default module's is 25 KiB, 10 KiB of it the float parser's table)
//! without copying it, and a release copies back only the image pages the
//! decision wrote. Copying the segments at every instantiation instead
//! (which saves two kernel mappings per slot, so ~0.4 us of the release's
//! page scan) cost ~1.1 us more per decision once the data outgrew a few KiB
//! (`coffer bench --scenario decision`, p50 9.6 against 8.5 us without a
//! bucket policy, 14.7 against 13.6 us with one).
//!
//! Memory slots reserve 4 GiB of address space plus a 2 GiB guard
//! (`Limits::memory_reservation`), so compiled guest code has no bounds
//! checks; the memory limit itself is enforced by the store's limiter.
//!
//! # Hooks and the default module
//!
//! A module exports any non-empty subset of the hook interfaces
//! (`authorize`, `cors`, `metadata`, `config`). For a decision hook it does
//! not export, the engine calls the default module (embedded in the binary
//! by `build.rs`, exporting all of them) without the bucket's configuration,
//! which belongs to the module it was attached with. A module without the
//! `config` hook accepts any configuration. A hook that *fails* never falls
//! back: failures fail closed.
//!
//! # Contract versions
//!
//! A component built against an older contract (`coffer:policy@0.1.0` to
//! `@0.4.0`) is recognised by its export names (`exports`) and called
//! through that version's bindings, its inputs and answers translated
//! (`legacy`), so modules keep working across upgrades.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sha2::{Digest as _, Sha256};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, HasSelf, Instance, InstancePre, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, Store, Trap, UpdateDeadline};

use super::bindings::{self, Policy, types, v0_1, v0_2, v0_3, v0_4};
use super::deadline::DeadlineWatch;
use super::decision_cache::{self, Answer, DecisionCache};
use super::error::Error;
use super::exports::{Exports, Hooks};
use super::host_api::{HostState, LogLine, LogSink, truncate};
use super::input;
use super::legacy;
use super::limits::Limits;
use super::metrics::{MetricsRegistry, ModuleMetrics};
use super::quarantine::Quarantine;
use super::ticker::Ticker;

/// The environment variable that, set (to anything), lists compiled guest
/// code in `/tmp/perf-PID.map`, so `perf` names a module's functions
/// (`docs/performance.md`).
pub const PERFMAP_ENV: &str = "COFFER_POLICY_PERFMAP";

/// The default module's component (`policies/acl` built for
/// `wasm32-wasip2`), embedded by `build.rs`.
static DEFAULT_MODULE_WASM: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/default_policy.wasm"));

/// Name of the built-in default module.
pub const DEFAULT_MODULE_NAME: &str = "default";

/// Compiled components kept beyond their last user, so validating a module
/// and then attaching it compiles it once. Past this many entries, unused
/// ones are dropped.
const CACHE_SOFT_LIMIT: usize = 32;

/// One of the hooks of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hook {
    /// `authorize` (interface `coffer:policy/authorize`).
    Authorize,
    /// `cors` (interface `coffer:policy/cors`).
    Cors,
    /// `validate-metadata` (interface `coffer:policy/metadata`).
    Metadata,
    /// `check-config` (interface `coffer:policy/config`), run when an
    /// operator attaches the module; never falls back to the default module.
    Config,
}

impl Hook {
    /// Every hook.
    pub const ALL: [Hook; 4] = [Hook::Authorize, Hook::Cors, Hook::Metadata, Hook::Config];

    /// The short name used in metrics, logs and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Hook::Authorize => "authorize",
            Hook::Cors => "cors",
            Hook::Metadata => "metadata",
            Hook::Config => "config",
        }
    }

    /// The component export (WIT interface) implementing the hook, in the
    /// current contract.
    pub fn interface(self) -> &'static str {
        match self {
            Hook::Authorize => bindings::AUTHORIZE,
            Hook::Cors => bindings::CORS,
            Hook::Metadata => bindings::METADATA,
            Hook::Config => bindings::CONFIG,
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A compiled and linked component, shared by every name it is loaded under.
struct Compiled {
    digest: [u8; 32],
    digest_hex: Arc<str>,
    pre: InstancePre<HostState>,
    exports: Exports,
    hooks: Vec<Hook>,
}

impl Compiled {
    fn exports(&self, hook: Hook) -> bool {
        self.exports.has(hook)
    }
}

/// A policy module ready to decide: a compiled component under a name.
pub struct LoadedModule {
    name: Arc<str>,
    compiled: Arc<Compiled>,
    metrics: Arc<ModuleMetrics>,
    quarantine: Quarantine,
}

impl LoadedModule {
    /// The name it was loaded under (`default` for the built-in module).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// SHA-256 digest of the component bytes.
    pub fn digest(&self) -> &[u8; 32] {
        &self.compiled.digest
    }

    /// The digest, hex-encoded (as stored and logged).
    pub fn digest_hex(&self) -> String {
        self.compiled.digest_hex.to_string()
    }

    /// The hooks the module exports itself; the others are the default
    /// module's.
    pub fn hooks(&self) -> &[Hook] {
        &self.compiled.hooks
    }

    /// Whether the module exports `hook` itself.
    pub fn implements(&self, hook: Hook) -> bool {
        self.compiled.exports(hook)
    }

    /// The contract version the module was built against (`0.3.0`, `0.2.0`,
    /// `0.1.0`).
    pub fn contract(&self) -> &'static str {
        self.compiled.exports.version()
    }

    #[cfg(test)]
    pub(crate) fn metrics(&self) -> &ModuleMetrics {
        &self.metrics
    }

    /// Whether both share one compiled component.
    #[cfg(test)]
    pub(crate) fn same_compiled(&self, other: &LoadedModule) -> bool {
        Arc::ptr_eq(&self.compiled, &other.compiled)
    }
}

impl std::fmt::Debug for LoadedModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModule")
            .field("name", &self.name)
            .field("digest", &self.compiled.digest_hex)
            .field("hooks", &self.compiled.hooks)
            .field("contract", &self.contract())
            .finish()
    }
}

/// The outcome of one hook call together with what the module logged: the
/// offline evaluator's view (`coffer policy eval`).
#[derive(Debug)]
pub struct Evaluation<T> {
    /// The answer, or why there is none (which the server treats as a
    /// refusal).
    pub outcome: Result<T, Error>,
    /// The module's `log` lines, within the log budget.
    pub logs: Vec<LogLine>,
    /// The module whose code ran: the module itself, or `default` for a hook
    /// it does not export.
    pub evaluated_by: String,
}

/// The error a stubbed-out WASI function returns when a guest calls it; a
/// trap as far as the contract is concerned.
#[derive(Debug, thiserror::Error)]
#[error("called `{0}`, which policy modules may not use (no WASI)")]
struct ForbiddenImport(String);

/// Compiles policy components and evaluates decisions under [`Limits`].
/// One per server; `Send + Sync`, shared behind an `Arc`.
pub struct PolicyEngine {
    core: Core,
    default: Arc<LoadedModule>,
    /// `authorize` and `cors` answers reused for identical inputs; `None`
    /// when [`Limits::decision_cache_bytes`] is 0.
    answers: Option<DecisionCache>,
}

/// What one hook call produced.
struct Ran<T> {
    outcome: Result<T, Error>,
    /// The module's log lines, when captured ([`LogSink::Capture`]).
    logs: Vec<LogLine>,
    /// Whether the module called `log` (its answer is then not cached).
    logged: bool,
}

/// What loading and running modules needs; split from [`PolicyEngine`] so
/// the default module can be loaded before the engine exists.
struct Core {
    engine: Engine,
    linker: Linker<HostState>,
    limits: Limits,
    cache: Mutex<HashMap<[u8; 32], Arc<Compiled>>>,
    metrics: MetricsRegistry,
    /// Moves the epoch while guest code runs (see `ticker`).
    ticker: Ticker,
}

impl std::fmt::Debug for PolicyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyEngine")
            .field("limits", &self.core.limits)
            .field("default", &self.default)
            .finish_non_exhaustive()
    }
}

impl PolicyEngine {
    /// An engine enforcing `limits`, with the embedded default module
    /// compiled and checked (it must export every hook).
    pub fn new(limits: Limits) -> Result<Self, Error> {
        let mut config = Config::new();
        config
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(limits.pooling()))
            .memory_reservation(limits.memory_reservation())
            .memory_guard_size(limits.memory_guard())
            .memory_reservation_for_growth(0)
            // See "Per-decision cost" above.
            .memory_init_cow(true);
        if std::env::var_os(PERFMAP_ENV).is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).map_err(|e| Error::Unavailable(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        Policy::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(|e| Error::Unavailable(format!("{e:#}")))?;
        v0_4::Policy::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(|e| Error::Unavailable(format!("{e:#}")))?;
        v0_3::Policy::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(|e| Error::Unavailable(format!("{e:#}")))?;
        v0_2::Policy::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(|e| Error::Unavailable(format!("{e:#}")))?;
        v0_1::Policy::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(|e| Error::Unavailable(format!("{e:#}")))?;
        let ticker = Ticker::start(engine.clone(), limits.tick)
            .map_err(|e| Error::Unavailable(format!("cannot start the epoch ticker: {e}")))?;
        let core = Core {
            engine,
            linker,
            limits,
            cache: Mutex::new(HashMap::new()),
            metrics: MetricsRegistry::default(),
            ticker,
        };
        let default = core.load(DEFAULT_MODULE_NAME, DEFAULT_MODULE_WASM)?;
        if default.hooks().len() != Hook::ALL.len() || default.contract() != bindings::VERSION {
            return Err(Error::Abi(format!(
                "the embedded default module must export every hook of the current contract, \
                 it exports {:?} of {}",
                default.hooks(),
                default.contract()
            )));
        }
        let answers = DecisionCache::new(core.limits.decision_cache_bytes);
        Ok(Self {
            core,
            default,
            answers,
        })
    }

    /// The limits this engine enforces.
    pub fn limits(&self) -> &Limits {
        &self.core.limits
    }

    /// The built-in default module (name `default`): S3's standard
    /// behaviour, and the implementation of every hook a module lacks.
    pub fn default_module(&self) -> &Arc<LoadedModule> {
        &self.default
    }

    /// The embedded default module's component bytes.
    pub fn default_module_wasm() -> &'static [u8] {
        DEFAULT_MODULE_WASM
    }

    /// Validates `bytes` (a component exporting at least one hook with the
    /// contract's types, importing nothing but the host interface and WASI,
    /// which is stubbed out), compiles it, and checks that it instantiates
    /// under the limits. The compiled component is cached by SHA-256 digest:
    /// the same bytes under two names compile once.
    pub fn load(&self, name: &str, bytes: &[u8]) -> Result<Arc<LoadedModule>, Error> {
        self.core.load(name, bytes)
    }
}

impl Core {
    fn load(&self, name: &str, bytes: &[u8]) -> Result<Arc<LoadedModule>, Error> {
        let compiled = self.compile(bytes)?;
        let metrics = self.metrics.module(name, &compiled.digest_hex);
        Ok(Arc::new(LoadedModule {
            name: name.into(),
            compiled,
            metrics,
            quarantine: Quarantine::default(),
        }))
    }

    fn compile(&self, bytes: &[u8]) -> Result<Arc<Compiled>, Error> {
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
        let exports = Exports::resolve(&component, &pre)?;
        let digest_hex: Arc<str> = hex::encode(digest).into();
        let mut compiled = Compiled {
            digest,
            digest_hex,
            pre,
            exports,
            hooks: Vec::new(),
        };
        compiled.hooks = Hook::ALL
            .into_iter()
            .filter(|&h| compiled.exports(h))
            .collect();
        self.check_instantiation(&compiled)?;
        let compiled = Arc::new(compiled);
        let mut cache = self.cache_lock();
        if cache.len() >= CACHE_SOFT_LIMIT {
            cache.retain(|_, c| Arc::strong_count(c) > 1);
        }
        // Two concurrent loads of the same bytes both compile; the first
        // insert wins and both callers get a working module.
        Ok(cache.entry(digest).or_insert(compiled).clone())
    }

    fn cache_lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Arc<Compiled>>> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The linker for `component`: the `coffer:policy/host` imports, plus
    /// stubs for the WASI imports the Rust standard library drags in
    /// (modules get no clock, I/O or randomness: calling one traps with
    /// [`ForbiddenImport`]). Any other import is an ABI error.
    fn linker_for(&self, component: &Component) -> Result<Linker<HostState>, Error> {
        let abi = |e: wasmtime::Error| Error::Abi(format!("{e:#}"));
        let mut linker = self.linker.clone();
        let mut wasi = false;
        for (name, item) in component.component_type().imports(&self.engine) {
            if name.starts_with(bindings::HOST_IMPORT_PREFIX) {
                continue;
            }
            if !name.starts_with("wasi:") {
                return Err(Error::Abi(format!("unsupported import `{name}`")));
            }
            wasi = true;
            let ComponentItem::ComponentInstance(instance) = item.ty else {
                continue;
            };
            let mut stubs = linker.instance(name).map_err(abi)?;
            for (func, item) in instance.exports(&self.engine) {
                if let ComponentItem::ComponentFunc(_) = item.ty {
                    let qualified = format!("{name}#{func}");
                    stubs
                        .func_new(func, move |_, _, _, _| {
                            Err(wasmtime::Error::new(ForbiddenImport(qualified.clone())))
                        })
                        .map_err(abi)?;
                }
            }
        }
        if wasi {
            // What is left: the WASI resource types, as opaque host types.
            linker
                .define_unknown_imports_as_traps(component)
                .map_err(abi)?;
        }
        Ok(linker)
    }

    /// Instantiates `compiled` once and type-checks its hook exports against
    /// the contract (wasmtime checks types when a typed function is looked
    /// up, not when indices are resolved), so a module that cannot work is
    /// refused at load rather than failing every request.
    fn check_instantiation(&self, compiled: &Compiled) -> Result<(), Error> {
        let _running = self.ticker.begin();
        let mut store = self.store(DEFAULT_MODULE_NAME.into(), LogSink::Tracing);
        let instance = compiled
            .pre
            .instantiate(&mut store)
            .map_err(|e| self.classify(&store, e, true))?;
        compiled
            .exports
            .check(&mut store, &instance)
            .map_err(|e| Error::Abi(format!("{e:#}")))
    }

    fn store(&self, module: Arc<str>, sink: LogSink) -> Store<HostState> {
        let state = HostState::new(
            self.limits.limiter(),
            DeadlineWatch::new(self.limits.deadline, self.limits.tick),
            module,
            sink,
            self.limits.log_calls,
            self.limits.log_bytes,
        );
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        // Every tick asks the watch (see `deadline`).
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut store| {
            if store.data_mut().deadline.expired() {
                Err(Trap::Interrupt.into())
            } else {
                Ok(UpdateDeadline::Continue(1))
            }
        });
        store
    }

    /// Classifies a wasmtime error from instantiation or a call.
    fn classify(
        &self,
        store: &Store<HostState>,
        err: wasmtime::Error,
        instantiating: bool,
    ) -> Error {
        let trap = err.downcast_ref::<Trap>();
        if matches!(trap, Some(Trap::Interrupt)) {
            return Error::Deadline(self.limits.deadline);
        }
        // Checked before the cause of death: a module refused memory usually
        // dies some other way (Rust's allocation-failure handler writes to
        // stderr, a stubbed WASI import), but the memory limit is why.
        if store.data().limiter.memory_refused {
            return Error::MemoryLimit {
                limit: self.limits.memory_bytes,
            };
        }
        if let Some(forbidden) = err.downcast_ref::<ForbiddenImport>() {
            return Error::Trap(forbidden.to_string());
        }
        match trap {
            Some(_) => Error::Trap(format!("{err:#}")),
            // Not a trap while instantiating: the pool is out of slots.
            None if instantiating => Error::Unavailable(format!("{err:#}")),
            // Not a trap in a call: a type mismatch or a malformed value.
            None => Error::Abi(format!("{err:#}")),
        }
    }
}

impl PolicyEngine {
    /// The module whose code answers `hook` for `module`.
    fn implementation<'a>(&'a self, module: &'a LoadedModule, hook: Hook) -> &'a LoadedModule {
        if module.implements(hook) {
            module
        } else {
            &self.default
        }
    }

    /// Runs one hook call: input check, fresh store and instance, `call`,
    /// classification, metrics and the failure log.
    fn run<T>(
        &self,
        module: &LoadedModule,
        hook: Hook,
        input_size: usize,
        sink: LogSink,
        refused: fn(&T) -> bool,
        call: impl FnOnce(&Compiled, &mut Store<HostState>, &Instance) -> wasmtime::Result<T>,
    ) -> Ran<T> {
        let start = Instant::now();
        let target = self.implementation(module, hook);
        let (outcome, logs, logged) = if input_size > self.core.limits.input_bytes {
            let e = Error::InputTooLarge {
                size: input_size,
                limit: self.core.limits.input_bytes,
            };
            (Err(e), Vec::new(), false)
        } else if let Some(left) = target.quarantine.remaining(start) {
            (Err(Error::Quarantined(left)), Vec::new(), false)
        } else {
            let _running = self.core.ticker.begin();
            let mut store = self.core.store(target.name.clone(), sink);
            let outcome = match target.compiled.pre.instantiate(&mut store) {
                Ok(instance) => call(&target.compiled, &mut store, &instance)
                    .map_err(|e| self.core.classify(&store, e, false)),
                Err(e) => Err(self.core.classify(&store, e, true)),
            };
            let logged = store.data().logged();
            (outcome, store.data_mut().take_logs(), logged)
            // The store (and its pool slot) is released here, inside the
            // measured time: it is part of every decision's cost.
        };
        let elapsed = start.elapsed();
        match &outcome {
            Ok(answer) => {
                module.metrics.answered(hook, refused(answer), elapsed);
                target.quarantine.answered();
            }
            Err(e) => {
                module.metrics.failed(hook, e.kind(), elapsed);
                if let Error::Quarantined(_) = e {
                    // Logged once, when the quarantine began.
                    tracing::debug!(module = %target.name, %hook, error = %e, "failing closed");
                } else {
                    tracing::warn!(
                        module = %target.name,
                        digest = %target.compiled.digest_hex,
                        bucket_module = %module.name,
                        %hook,
                        kind = %e.kind(),
                        error = %e,
                        "policy module failed; failing closed"
                    );
                }
                if let Error::Deadline(_) = e
                    && let Some(cool_down) = target.quarantine.deadline_hit(Instant::now())
                {
                    tracing::warn!(
                        module = %target.name,
                        digest = %target.compiled.digest_hex,
                        ?cool_down,
                        "policy module quarantined after {} deadline failures within {:?}: \
                         its decisions fail closed without running it until the cool-down ends",
                        Quarantine::STRIKES,
                        Quarantine::WINDOW,
                    );
                }
            }
        }
        Ran {
            outcome,
            logs,
            logged,
        }
    }

    fn authorize_with(
        &self,
        module: &LoadedModule,
        req: &types::Request,
        sink: LogSink,
    ) -> Ran<types::Decision> {
        let req = &*without_foreign_config(module, Hook::Authorize, req, &req.config, |r| {
            r.config = None
        });
        let size = input::request_size(req);
        let refused = |d: &types::Decision| !matches!(d, types::Decision::Allow(_));
        let mut ran = self.run(
            module,
            Hook::Authorize,
            size,
            sink,
            refused,
            |c, store, instance| match &c.exports {
                Exports::Current(Hooks {
                    authorize: Some(i), ..
                }) => i.load(&mut *store, instance)?.call_authorize(store, req),
                Exports::V0_4(Hooks {
                    authorize: Some(i), ..
                }) => i
                    .load(&mut *store, instance)?
                    .call_authorize(store, &legacy::v0_4::request(req))
                    .map(legacy::v0_4::decision),
                Exports::V0_3(Hooks {
                    authorize: Some(i), ..
                }) => i
                    .load(&mut *store, instance)?
                    .call_authorize(store, &legacy::v0_3::request(req))
                    .map(legacy::v0_3::decision),
                Exports::V0_2(Hooks {
                    authorize: Some(i), ..
                }) => i
                    .load(&mut *store, instance)?
                    .call_authorize(store, &legacy::v0_2::request(req))
                    .map(legacy::v0_2::decision),
                Exports::V0_1(Hooks {
                    authorize: Some(i), ..
                }) => i
                    .load(&mut *store, instance)?
                    .call_authorize(store, &legacy::v0_1::request(req))
                    .map(legacy::v0_1::decision),
                _ => Err(missing(Hook::Authorize)),
            },
        );
        let limit = self.core.limits.reason_bytes;
        let cut = |reason: String| truncate(&reason, limit).to_owned();
        ran.outcome = ran.outcome.map(|d| match d {
            types::Decision::Allow(reason) => types::Decision::Allow(cut(reason)),
            types::Decision::Deny(reason) => types::Decision::Deny(cut(reason)),
            types::Decision::Refuse(r) => types::Decision::Refuse(types::Refusal {
                code: r.code,
                reason: cut(r.reason),
            }),
        });
        ran
    }

    fn cors_with(
        &self,
        module: &LoadedModule,
        req: &types::CorsRequest,
        sink: LogSink,
    ) -> Ran<Option<types::CorsRuleMatch>> {
        let req =
            &*without_foreign_config(module, Hook::Cors, req, &req.config, |r| r.config = None);
        let size = input::cors_request_size(req);
        let refused = |m: &Option<types::CorsRuleMatch>| m.is_none();
        let mut ran = self.run(
            module,
            Hook::Cors,
            size,
            sink,
            refused,
            |c, store, instance| match &c.exports {
                Exports::Current(Hooks { cors: Some(i), .. }) => {
                    i.load(&mut *store, instance)?.call_cors(store, req)
                }
                Exports::V0_4(Hooks { cors: Some(i), .. }) => i
                    .load(&mut *store, instance)?
                    .call_cors(store, &legacy::v0_4::cors_request(req))
                    .map(|m| m.map(legacy::v0_4::cors_rule_match)),
                Exports::V0_3(Hooks { cors: Some(i), .. }) => i
                    .load(&mut *store, instance)?
                    .call_cors(store, &legacy::v0_3::cors_request(req))
                    .map(|m| m.map(legacy::v0_3::cors_rule_match)),
                Exports::V0_2(Hooks { cors: Some(i), .. }) => i
                    .load(&mut *store, instance)?
                    .call_cors(store, &legacy::v0_2::cors_request(req))
                    .map(|m| m.map(legacy::v0_2::cors_rule_match)),
                Exports::V0_1(Hooks { cors: Some(i), .. }) => i
                    .load(&mut *store, instance)?
                    .call_cors(store, &legacy::v0_1::cors_request(req))
                    .map(|m| m.map(legacy::v0_1::cors_rule_match)),
                _ => Err(missing(Hook::Cors)),
            },
        );
        // Never credentials with `*`: browsers refuse the pair, and a module
        // asking for it has made a mistake the client should not see.
        if let Ok(Some(m)) = &mut ran.outcome
            && m.allowed_origin == "*"
        {
            m.allow_credentials = false;
        }
        ran
    }

    fn metadata_with(
        &self,
        module: &LoadedModule,
        req: &types::Request,
        headers: &[types::Header],
        sink: LogSink,
    ) -> Ran<Result<(), String>> {
        let req = &*without_foreign_config(module, Hook::Metadata, req, &req.config, |r| {
            r.config = None
        });
        let size = input::request_size(req) + input::headers_size(headers);
        let refused = |r: &Result<(), String>| r.is_err();
        let mut ran = self.run(
            module,
            Hook::Metadata,
            size,
            sink,
            refused,
            |c, store, instance| match &c.exports {
                Exports::Current(Hooks {
                    metadata: Some(i), ..
                }) => i
                    .load(&mut *store, instance)?
                    .call_validate_metadata(store, req, headers),
                Exports::V0_4(Hooks {
                    metadata: Some(i), ..
                }) => i.load(&mut *store, instance)?.call_validate_metadata(
                    store,
                    &legacy::v0_4::request(req),
                    &legacy::v0_4::headers(headers),
                ),
                Exports::V0_3(Hooks {
                    metadata: Some(i), ..
                }) => i.load(&mut *store, instance)?.call_validate_metadata(
                    store,
                    &legacy::v0_3::request(req),
                    &legacy::v0_3::headers(headers),
                ),
                Exports::V0_2(Hooks {
                    metadata: Some(i), ..
                }) => i.load(&mut *store, instance)?.call_validate_metadata(
                    store,
                    &legacy::v0_2::request(req),
                    &legacy::v0_2::headers(headers),
                ),
                Exports::V0_1(Hooks {
                    metadata: Some(i), ..
                }) => i.load(&mut *store, instance)?.call_validate_metadata(
                    store,
                    &legacy::v0_1::request(req),
                    &legacy::v0_1::headers(headers),
                ),
                _ => Err(missing(Hook::Metadata)),
            },
        );
        ran.outcome = ran.outcome.map(|r| {
            r.map_err(|message| truncate(&message, self.core.limits.reason_bytes).to_owned())
        });
        ran
    }

    fn config_with(
        &self,
        module: &LoadedModule,
        config: &str,
        sink: LogSink,
    ) -> Ran<Result<(), String>> {
        if !module.implements(Hook::Config) {
            return Ran {
                outcome: Ok(Ok(())),
                logs: Vec::new(),
                logged: false,
            };
        }
        let refused = |r: &Result<(), String>| r.is_err();
        let mut ran = self.run(
            module,
            Hook::Config,
            config.len(),
            sink,
            refused,
            |c, store, instance| match &c.exports {
                Exports::Current(Hooks {
                    config: Some(i), ..
                }) => i
                    .load(&mut *store, instance)?
                    .call_check_config(store, config),
                Exports::V0_4(Hooks {
                    config: Some(i), ..
                }) => i
                    .load(&mut *store, instance)?
                    .call_check_config(store, config),
                Exports::V0_3(Hooks {
                    config: Some(i), ..
                }) => i
                    .load(&mut *store, instance)?
                    .call_check_config(store, config),
                Exports::V0_2(Hooks {
                    config: Some(i), ..
                }) => i
                    .load(&mut *store, instance)?
                    .call_check_config(store, config),
                _ => Err(missing(Hook::Config)),
            },
        );
        ran.outcome = ran.outcome.map(|r| {
            r.map_err(|message| truncate(&message, self.core.limits.reason_bytes).to_owned())
        });
        ran
    }

    /// Runs `module`'s `authorize` hook (or the default module's, if it has
    /// none). A deny is `Ok(Decision::Deny)`; `Err` is a failure, already
    /// logged at `warn` with the module's name and digest, which the caller
    /// must treat as a denial. Guest log lines go to `tracing` in the
    /// caller's span.
    ///
    /// The answer to an input seen before comes from the decision cache
    /// (`policy::decision_cache`: modules are pure functions of their input),
    /// also while the module is quarantined: those are answers it gave.
    pub fn authorize(
        &self,
        module: &LoadedModule,
        req: &types::Request,
    ) -> Result<types::Decision, Error> {
        let Some(answers) = &self.answers else {
            return self.authorize_with(module, req, LogSink::Tracing).outcome;
        };
        let target = self.implementation(module, Hook::Authorize);
        let key = decision_cache::authorize_key(&target.compiled.digest, req);
        if let Some(Answer::Authorize(decision)) = answers.get(&key) {
            let denied = !matches!(decision, types::Decision::Allow(_));
            module.metrics.answered_from_cache(Hook::Authorize, denied);
            return Ok(decision);
        }
        let ran = self.authorize_with(module, req, LogSink::Tracing);
        if let Ok(decision) = &ran.outcome
            && !ran.logged
        {
            answers.insert(key, Answer::Authorize(decision.clone()));
        }
        ran.outcome
    }

    /// Runs `module`'s `cors` hook (or the default module's). `Ok(None)`: no
    /// rule matches; `Err`: a failure (logged), which the caller must treat
    /// as no match. Answers come from the decision cache like `authorize`'s:
    /// every request carrying `Origin` asks, so a browser-heavy workload
    /// would otherwise run a module per request.
    pub fn cors(
        &self,
        module: &LoadedModule,
        req: &types::CorsRequest,
    ) -> Result<Option<types::CorsRuleMatch>, Error> {
        let Some(answers) = &self.answers else {
            return self.cors_with(module, req, LogSink::Tracing).outcome;
        };
        let target = self.implementation(module, Hook::Cors);
        let key = decision_cache::cors_key(&target.compiled.digest, req);
        if let Some(Answer::Cors(answer)) = answers.get(&key) {
            module
                .metrics
                .answered_from_cache(Hook::Cors, answer.is_none());
            return Ok(answer);
        }
        let ran = self.cors_with(module, req, LogSink::Tracing);
        if let Ok(answer) = &ran.outcome
            && !ran.logged
        {
            answers.insert(key, Answer::Cors(answer.clone()));
        }
        ran.outcome
    }

    /// Runs `module`'s `check-config` hook on a configuration an operator is
    /// attaching it with. `Ok(Err(message))`: the module refuses it; `Err`:
    /// the module failed, which the caller must treat as a refusal. A module
    /// without the hook accepts any configuration.
    pub fn check_config(
        &self,
        module: &LoadedModule,
        config: &str,
    ) -> Result<Result<(), String>, Error> {
        self.config_with(module, config, LogSink::Tracing).outcome
    }

    /// Runs `module`'s `validate-metadata` hook (or the default module's) on
    /// the user metadata `headers` of write `req`. `Ok(Err(message))`: the
    /// module rejects the metadata; `Err`: a failure (logged), which the
    /// caller must treat as a rejection.
    pub fn validate_metadata(
        &self,
        module: &LoadedModule,
        req: &types::Request,
        headers: &[types::Header],
    ) -> Result<Result<(), String>, Error> {
        self.metadata_with(module, req, headers, LogSink::Tracing)
            .outcome
    }

    /// [`PolicyEngine::authorize`], returning the module's log lines instead
    /// of sending them to `tracing`.
    pub fn evaluate_authorize(
        &self,
        module: &LoadedModule,
        req: &types::Request,
    ) -> Evaluation<types::Decision> {
        let ran = self.authorize_with(module, req, LogSink::Capture(Vec::new()));
        self.evaluation(module, Hook::Authorize, ran)
    }

    /// [`PolicyEngine::cors`], returning the module's log lines.
    pub fn evaluate_cors(
        &self,
        module: &LoadedModule,
        req: &types::CorsRequest,
    ) -> Evaluation<Option<types::CorsRuleMatch>> {
        let ran = self.cors_with(module, req, LogSink::Capture(Vec::new()));
        self.evaluation(module, Hook::Cors, ran)
    }

    /// [`PolicyEngine::validate_metadata`], returning the module's log lines.
    pub fn evaluate_metadata(
        &self,
        module: &LoadedModule,
        req: &types::Request,
        headers: &[types::Header],
    ) -> Evaluation<Result<(), String>> {
        let ran = self.metadata_with(module, req, headers, LogSink::Capture(Vec::new()));
        self.evaluation(module, Hook::Metadata, ran)
    }

    /// [`PolicyEngine::check_config`], returning the module's log lines.
    pub fn evaluate_config(
        &self,
        module: &LoadedModule,
        config: &str,
    ) -> Evaluation<Result<(), String>> {
        let ran = self.config_with(module, config, LogSink::Capture(Vec::new()));
        self.evaluation(module, Hook::Config, ran)
    }

    fn evaluation<T>(&self, module: &LoadedModule, hook: Hook, ran: Ran<T>) -> Evaluation<T> {
        Evaluation {
            outcome: ran.outcome,
            logs: ran.logs,
            evaluated_by: self.implementation(module, hook).name().to_owned(),
        }
    }

    /// Appends the per-module metrics in the Prometheus text format
    /// (`# HELP`/`# TYPE` and samples): `coffer_policy_decisions_total`,
    /// `coffer_policy_denials_total`, `coffer_policy_failures_total` (by
    /// `kind`) and the `coffer_policy_evaluation_seconds` histogram, labelled
    /// with `module` and `digest`.
    pub fn render_metrics(&self, out: &mut String) {
        self.core.metrics.render(out);
    }
}

/// `req` as the implementation of `hook` for `module` sees it: without its
/// configuration (`clear` removes it) when `module` lacks the hook, since the
/// configuration is `module`'s and not the default module's to interpret.
fn without_foreign_config<'a, T: Clone>(
    module: &LoadedModule,
    hook: Hook,
    req: &'a T,
    config: &Option<String>,
    clear: fn(&mut T),
) -> std::borrow::Cow<'a, T> {
    if config.is_some() && !module.implements(hook) {
        let mut own = req.clone();
        clear(&mut own);
        std::borrow::Cow::Owned(own)
    } else {
        std::borrow::Cow::Borrowed(req)
    }
}

/// A hook the chosen implementation lacks: cannot happen (the default module
/// exports every hook, checked in [`PolicyEngine::new`]), reported as an ABI
/// failure rather than a panic.
fn missing(hook: Hook) -> wasmtime::Error {
    wasmtime::format_err!("no implementation of the {hook} hook")
}

#[cfg(test)]
mod phase_bench {
    use super::*;
    use std::time::Duration;

    fn micros(ns: u64) -> f64 {
        ns as f64 / 1000.0
    }

    /// Times the phases of a decision of `coffer bench --scenario decision`'s
    /// request, then whole decisions through the engine, and prints the
    /// median of every 2000 of those in order: on a shared VM they show
    /// stretches of fast and slow time that no change here causes (release:
    /// `cargo test --release -p coffer --lib phases -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn phases() {
        let limits = Limits {
            decision_cache_bytes: 0,
            ..Limits::default()
        };
        let engine = PolicyEngine::new(limits).expect("engine");
        let m = engine.default_module().clone();
        let c = &m.compiled;
        let req = crate::policy::sample::typical_get_request();
        let n = 100_000usize;
        let ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        // Per phase, then the whole decision: nanoseconds of every round.
        let mut t: [Vec<u64>; 6] = Default::default();
        // PHASES_EVICT_KIB=N writes N KiB of other memory before every
        // decision, as a server does between them (caches go cold).
        let evict: usize = std::env::var("PHASES_EVICT_KIB")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut junk = vec![0u8; evict << 10];
        let cool = |junk: &mut Vec<u8>, i: usize| {
            for b in junk.iter_mut().step_by(64) {
                *b = b.wrapping_add(i as u8);
            }
            std::hint::black_box(junk);
        };
        for i in 0..n {
            cool(&mut junk, i);
            let begin = Instant::now();
            let s = Instant::now();
            let mut store = engine.core.store(m.name.clone(), LogSink::Tracing);
            t[0].push(ns(s.elapsed()));
            let s = Instant::now();
            let instance = c.pre.instantiate(&mut store).expect("inst");
            t[1].push(ns(s.elapsed()));
            let s = Instant::now();
            let Exports::Current(Hooks {
                authorize: Some(a), ..
            }) = &c.exports
            else {
                panic!("the default module exports authorize");
            };
            let g = a.load(&mut store, &instance).expect("load");
            t[2].push(ns(s.elapsed()));
            let s = Instant::now();
            let d = g.call_authorize(&mut store, &req).expect("call");
            t[3].push(ns(s.elapsed()));
            std::hint::black_box(d);
            let s = Instant::now();
            drop(store);
            t[4].push(ns(s.elapsed()));
            t[5].push(ns(begin.elapsed()));
        }
        // The same decision through the engine (ticker, metrics, quarantine).
        let mut whole = Vec::with_capacity(n);
        for i in 0..n {
            cool(&mut junk, i);
            let s = Instant::now();
            std::hint::black_box(engine.authorize(&m, &req).expect("authorize"));
            whole.push(ns(s.elapsed()));
        }
        let medians: Vec<String> = whole
            .chunks(2000)
            .map(|w| {
                let mut w = w.to_vec();
                w.sort_unstable();
                format!("{:.1}", micros(w[w.len() / 2]))
            })
            .collect();
        println!("medians of 2000 in order: {}", medians.join(" "));
        let names = [
            "store",
            "instantiate",
            "load",
            "call",
            "drop",
            "total",
            "authorize",
        ];
        for (name, mut d) in names.iter().zip(t.into_iter().chain([whole])) {
            d.sort_unstable();
            let q = |f: f64| micros(d[((d.len() - 1) as f64 * f) as usize]);
            println!(
                "{name:12} p50 {:6.2}  p90 {:6.2}  p99 {:6.2}  p99.9 {:7.2} us",
                q(0.5),
                q(0.9),
                q(0.99),
                q(0.999)
            );
        }
        let imports: Vec<String> = c
            .pre
            .component()
            .component_type()
            .imports(&engine.core.engine)
            .map(|(n, _)| n.to_owned())
            .collect();
        println!("imports: {imports:?}");
    }
}
