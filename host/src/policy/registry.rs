//! Which policy module decides for which bucket, kept current without restarts.
//!
//! The registry holds an immutable [`Snapshot`] (bucket id → [`BucketPolicy`]) behind a
//! lock that is only held to clone an `Arc`. A request takes its bucket's `Arc<BucketPolicy>`
//! once and keeps it, so a request in flight finishes with the module it started with even if
//! an operator swaps the module meanwhile.
//!
//! It also keeps each bucket's CORS configuration ([`BucketCors`]), read on first use: every
//! request carrying `Origin` needs it, and reading it from PostgreSQL each time would cost a
//! query per browser request.
//!
//! Every change to modules, attachments, CORS configurations or the set of buckets bumps a
//! generation number in PostgreSQL (see `store::policies`). Each `coffer` process polls that
//! number ([`PolicyRegistry::run`]) and rebuilds its snapshot (and forgets the CORS
//! configurations) when it moves, so processes sharing one database converge within one
//! poll interval; the process that made a change refreshes at once.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sqlx::PgPool;

use super::decision_log::DecisionLog;
use super::shadow::{Shadow, ShadowMetrics};
use super::{DEFAULT_MODULE_NAME, Error, LoadedModule, PolicyEngine, types};
use crate::store::{self, cors, policies};

/// The default module built with its metadata rules (`policies/acl` with feature
/// `metadata-rules`), embedded by `build.rs`: what a bucket that attaches `default` with a
/// configuration uses. The engine's default module (every other bucket, and the hooks a
/// module lacks) is built without them: the rules' parser and regex engine bring 30 KB of
/// static data, which every decision's fresh instance would copy and then reset.
static DEFAULT_WITH_RULES_WASM: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/default_policy_rules.wasm"));

/// Loads (compiles, on first use: the engine caches it by digest) the default module with
/// its metadata rules, under the name `default`.
pub fn default_with_rules(engine: &PolicyEngine) -> Result<Arc<LoadedModule>, Error> {
    engine.load(DEFAULT_MODULE_NAME, DEFAULT_WITH_RULES_WASM)
}

/// The module a bucket uses, and the operator's configuration for it.
#[derive(Debug)]
pub struct BucketPolicy {
    /// The module name as stored (`default` for the built-in module).
    pub name: String,
    /// The compiled module, or why it could not be loaded. A bucket whose attached module
    /// cannot be loaded any more (say, after limits were tightened) fails closed: every
    /// request is denied until the operator fixes or detaches the module.
    pub module: Result<Arc<LoadedModule>, String>,
    /// The JSON configuration attached with the module.
    pub config: Option<String>,
    /// A candidate module evaluated beside it, whose answers are only compared
    /// (`coffer admin policy shadow`).
    pub shadow: Option<Shadow>,
    /// Where its decisions are logged, if they are (`coffer admin policy log`).
    pub log: Option<Arc<DecisionLog>>,
}

/// A bucket's CORS inputs, as the `cors` hook takes them.
#[derive(Debug)]
pub struct BucketCors {
    /// The bucket's id (for its policy, [`PolicyRegistry::for_bucket`]).
    pub bucket_id: i64,
    /// Whether the bucket has a CORS configuration (`PutBucketCors`).
    pub configured: bool,
    /// Its rules, in stored order; empty without a configuration.
    pub rules: Vec<types::CorsRule>,
}

/// Cached [`BucketCors`] by bucket name, valid for one generation.
#[derive(Debug, Default)]
struct CorsCache {
    generation: i64,
    buckets: HashMap<String, Arc<BucketCors>>,
}

/// Most buckets whose CORS inputs are kept; past it the cache starts over (a scan of
/// many buckets costs a query per bucket, as without the cache).
const CORS_CACHE_BUCKETS: usize = 10_000;

/// One consistent view of all attachments.
#[derive(Debug, Default)]
struct Snapshot {
    generation: i64,
    buckets: HashMap<i64, Arc<BucketPolicy>>,
}

/// Resolves a bucket to its policy module; see the module docs.
pub struct PolicyRegistry {
    engine: Arc<PolicyEngine>,
    pool: PgPool,
    default: Arc<BucketPolicy>,
    snapshot: RwLock<Arc<Snapshot>>,
    cors: RwLock<CorsCache>,
    /// Serialises refreshes so two callers never compile the same modules twice.
    refreshing: tokio::sync::Mutex<()>,
    /// [`default_with_rules`], compiled at the first attachment of `default`.
    with_rules: tokio::sync::OnceCell<Arc<LoadedModule>>,
    /// The shadow modules' counters, kept across refreshes.
    shadow_metrics: ShadowMetrics,
    /// Where decision logs are written: one directory per bucket.
    log_dir: PathBuf,
    /// The open decision logs, kept across refreshes that leave them unchanged.
    logs: std::sync::Mutex<HashMap<i64, Arc<DecisionLog>>>,
}

impl std::fmt::Debug for PolicyRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyRegistry")
            .field("generation", &self.current().generation)
            .finish_non_exhaustive()
    }
}

impl PolicyRegistry {
    /// A registry over `pool`, loaded with the current attachments; decision logs go
    /// under `log_dir`.
    pub async fn open(
        engine: Arc<PolicyEngine>,
        pool: PgPool,
        log_dir: PathBuf,
    ) -> Result<Self, store::Error> {
        let default = Arc::new(BucketPolicy {
            name: engine.default_module().name().to_owned(),
            module: Ok(engine.default_module().clone()),
            config: None,
            shadow: None,
            log: None,
        });
        let registry = Self {
            engine,
            pool,
            default,
            snapshot: RwLock::new(Arc::new(Snapshot {
                generation: -1,
                buckets: HashMap::new(),
            })),
            cors: RwLock::new(CorsCache {
                generation: -1,
                buckets: HashMap::new(),
            }),
            refreshing: tokio::sync::Mutex::new(()),
            with_rules: tokio::sync::OnceCell::new(),
            shadow_metrics: ShadowMetrics::default(),
            log_dir,
            logs: std::sync::Mutex::new(HashMap::new()),
        };
        registry.refresh().await?;
        Ok(registry)
    }

    /// The engine that evaluates the modules.
    pub fn engine(&self) -> &PolicyEngine {
        &self.engine
    }

    fn current(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The policy of bucket `bucket_id`; the default module's without configuration for
    /// `None` (account-level operations) and for buckets without an attachment.
    pub fn for_bucket(&self, bucket_id: Option<i64>) -> Arc<BucketPolicy> {
        bucket_id
            .and_then(|id| self.current().buckets.get(&id).cloned())
            .unwrap_or_else(|| self.default.clone())
    }

    /// Bucket `bucket`'s CORS inputs; `None` when there is no such bucket (not cached: a
    /// bucket created later must be found).
    pub async fn bucket_cors(&self, bucket: &str) -> Result<Option<Arc<BucketCors>>, store::Error> {
        let generation = {
            let cache = self
                .cors
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(hit) = cache.buckets.get(bucket) {
                return Ok(Some(hit.clone()));
            }
            cache.generation
        };
        let Some((bucket_id, rules)) = cors::for_bucket_name(&self.pool, bucket).await? else {
            return Ok(None);
        };
        let entry = Arc::new(BucketCors {
            bucket_id,
            configured: rules.is_some(),
            rules: rules
                .unwrap_or_default()
                .into_iter()
                .map(|r| types::CorsRule {
                    id: r.id,
                    allowed_origins: r.allowed_origins,
                    allowed_methods: r.allowed_methods,
                    allowed_headers: r.allowed_headers,
                    expose_headers: r.expose_headers,
                    max_age_seconds: r.max_age_seconds,
                })
                .collect(),
        });
        let mut cache = self
            .cors
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Read before a change whose generation a refresh has applied since: possibly
        // stale, so used for this request but not kept.
        if cache.generation == generation {
            if cache.buckets.len() >= CORS_CACHE_BUCKETS {
                cache.buckets.clear();
            }
            cache.buckets.insert(bucket.to_owned(), entry.clone());
        }
        Ok(Some(entry))
    }

    /// Reloads the attachments if the generation in the database moved. Returns whether
    /// anything was reloaded.
    pub async fn refresh(&self) -> Result<bool, store::Error> {
        let _guard = self.refreshing.lock().await;
        let old = self.current();
        if policies::generation(&self.pool).await? == old.generation {
            return Ok(false);
        }
        let policies::Attachments {
            generation,
            active,
            shadows,
            logs,
        } = policies::attachments(&self.pool).await?;
        // Reuse what is already compiled: most refreshes change one bucket.
        let mut loaded: HashMap<(String, String), Result<Arc<LoadedModule>, String>> =
            HashMap::new();
        for policy in old.buckets.values() {
            let shadow = policy.shadow.as_ref().map(|s| (&s.name, &s.module));
            for (name, module) in [(&policy.name, &policy.module)].into_iter().chain(shadow) {
                if let Ok(m) = module {
                    loaded
                        .entry((name.clone(), m.digest_hex()))
                        .or_insert_with(|| module.clone());
                }
            }
        }
        let mut buckets: HashMap<i64, BucketPolicy> = HashMap::with_capacity(active.len());
        for a in active {
            let (name, module) = self
                .resolve(
                    &mut loaded,
                    &a.bucket,
                    a.module,
                    a.digest,
                    a.config.is_some(),
                )
                .await?;
            buckets.insert(
                a.bucket_id,
                BucketPolicy {
                    name,
                    module,
                    config: a.config,
                    shadow: None,
                    log: None,
                },
            );
        }
        for sh in shadows {
            let (name, module) = self
                .resolve(
                    &mut loaded,
                    &sh.bucket,
                    sh.module,
                    sh.digest,
                    sh.config.is_some(),
                )
                .await?;
            let counters = self.shadow_metrics.counters(&sh.bucket, &name);
            let entry = buckets
                .entry(sh.bucket_id)
                .or_insert_with(|| self.default_policy());
            entry.shadow = Some(Shadow::new(name, module, sh.config, sh.sample, counters));
        }
        {
            let mut open = self
                .logs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut kept = HashMap::with_capacity(logs.len());
            for l in logs {
                let dir = self.log_dir.join(&l.bucket);
                let log = match open.remove(&l.bucket_id) {
                    Some(log) if log.is(&dir, l.max_bytes, l.files) => log,
                    _ => Arc::new(DecisionLog::new(dir, l.max_bytes, l.files)),
                };
                buckets
                    .entry(l.bucket_id)
                    .or_insert_with(|| self.default_policy())
                    .log = Some(log.clone());
                kept.insert(l.bucket_id, log);
            }
            *open = kept;
        }
        let buckets: HashMap<i64, Arc<BucketPolicy>> = buckets
            .into_iter()
            .map(|(id, policy)| (id, Arc::new(policy)))
            .collect();
        tracing::info!(
            generation,
            attachments = buckets.len(),
            "policy attachments loaded"
        );
        *self
            .snapshot
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(Snapshot {
            generation,
            buckets,
        });
        *self
            .cors
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = CorsCache {
            generation,
            buckets: HashMap::new(),
        };
        Ok(true)
    }

    /// The policy of a bucket without an attachment.
    fn default_policy(&self) -> BucketPolicy {
        BucketPolicy {
            name: self.default.name.clone(),
            module: self.default.module.clone(),
            config: None,
            shadow: None,
            log: None,
        }
    }

    /// The module an attachment or a shadow names: stored module `module` with `digest`
    /// (reused from `loaded` when compiled before), or the built-in default module, with
    /// its metadata rules when it has a configuration. A module that cannot be loaded is
    /// logged; its bucket's decisions (or comparisons) fail closed.
    async fn resolve(
        &self,
        loaded: &mut HashMap<(String, String), Result<Arc<LoadedModule>, String>>,
        bucket: &str,
        module: Option<String>,
        digest: Option<String>,
        configured: bool,
    ) -> Result<(String, Result<Arc<LoadedModule>, String>), store::Error> {
        let (name, module) = match (module, digest) {
            (Some(name), Some(digest)) => {
                let key = (name.clone(), digest.clone());
                let module = match loaded.get(&key) {
                    Some(m) => m.clone(),
                    None => {
                        let m = self.load(&name, &digest).await?;
                        loaded.insert(key, m.clone());
                        m
                    }
                };
                if let Err(reason) = &module {
                    tracing::error!(
                        %bucket,
                        module = %name,
                        %digest,
                        %reason,
                        "policy module cannot be loaded; the bucket's decisions by it fail closed"
                    );
                }
                (name, module)
            }
            // The built-in default module without a configuration: as good as none.
            _ if !configured => (self.default.name.clone(), self.default.module.clone()),
            // The built-in default module with a configuration (a row without a module
            // name; see `store::policies`): the build with its metadata rules.
            _ => {
                let module = self.with_rules().await?;
                if let Err(reason) = &module {
                    tracing::error!(
                        %bucket,
                        %reason,
                        "the default module with metadata rules cannot be loaded; \
                         the bucket's decisions by it fail closed"
                    );
                }
                (DEFAULT_MODULE_NAME.to_owned(), module)
            }
        };
        Ok((name, module))
    }

    /// Appends the shadow modules' counters to `/metrics` (see `policy::shadow`).
    pub fn render_shadow_metrics(&self, out: &mut String) {
        self.shadow_metrics.render(out);
    }

    /// [`default_with_rules`], compiled off the async threads the first time (a failure
    /// is reported, not kept: the next refresh tries again).
    async fn with_rules(&self) -> Result<Result<Arc<LoadedModule>, String>, store::Error> {
        if let Some(module) = self.with_rules.get() {
            return Ok(Ok(module.clone()));
        }
        let engine = self.engine.clone();
        let compiled = tokio::task::spawn_blocking(move || default_with_rules(&engine))
            .await
            .map_err(|e| store::Error::Join(e.to_string()))?;
        Ok(match compiled {
            Ok(module) => Ok(self
                .with_rules
                .get_or_init(|| async { module })
                .await
                .clone()),
            Err(e) => Err(e.to_string()),
        })
    }

    /// Compiles stored module `name` with `digest`, off the async threads (compiling takes
    /// milliseconds to seconds). A module that fails is reported, not fatal.
    async fn load(
        &self,
        name: &str,
        digest: &str,
    ) -> Result<Result<Arc<LoadedModule>, String>, store::Error> {
        let Some(bytes) = policies::module_bytes_by_digest(&self.pool, digest).await? else {
            return Ok(Err(format!("module bytes with digest {digest} are gone")));
        };
        let engine = self.engine.clone();
        let name = name.to_owned();
        let compiled = tokio::task::spawn_blocking(move || engine.load(&name, &bytes))
            .await
            .map_err(|e| store::Error::Join(e.to_string()))?;
        Ok(compiled.map_err(|e| e.to_string()))
    }

    /// Polls for changes every `interval` until `stop` turns true. Database errors are
    /// logged and retried at the next tick; the last good snapshot stays in force.
    pub async fn run(
        self: Arc<Self>,
        interval: Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
            if let Err(e) = self.refresh().await {
                tracing::warn!(error = %e, "refreshing policy attachments failed");
            }
        }
    }
}
