//! `coffer serve`: open the database, bootstrap the first account, open the volumes, listen,
//! and shut everything down cleanly on SIGTERM/SIGINT.

use anyhow::Context;
use coffer::acl::PublicAccessBlock;
use coffer::config::{LifecycleSettings, ServerConfig, TlsFiles};
use coffer::http::tls::Tls;
use coffer::policy::registry::PolicyRegistry;
use coffer::policy::{Limits, PolicyEngine};
use coffer::state::{AppState, system_clock};
use coffer::store::settings::{self, Setting};
use coffer::store::small_writes::SmallWrites;
use coffer::store::{accounts, admins, blob::ChunkStore, gc, repair, scrub, secrets};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{DatabaseArgs, database};

/// Environment variables that pin the first account's credentials (for automation).
const ROOT_ACCESS_KEY_ENV: &str = "COFFER_ROOT_ACCESS_KEY";
const ROOT_SECRET_KEY_ENV: &str = "COFFER_ROOT_SECRET_KEY";

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    /// Directory of a synchronous standby of the embedded PostgreSQL, on another disk
    /// (repeatable): a commit returns once the primary and at least one standby have it on
    /// disk. Not with --database-url.
    #[arg(long = "pg-standby", value_name = "DIR")]
    pg_standbys: Vec<PathBuf>,
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: SocketAddr,
    /// Volume directory for chunk files (repeatable). Used to create the volumes on the
    /// first start of a fresh data directory (default: DATA_DIR/volumes/0, 1 and 2); later
    /// starts open every registered volume, and a `--volume` that is not one is an error
    /// (add volumes with `coffer admin volume add`).
    #[arg(long = "volume")]
    volumes: Vec<PathBuf>,
    /// Base domain for virtual-host-style addressing, `bucket.DOMAIN` (repeatable).
    #[arg(long = "domain")]
    domains: Vec<String>,
    /// Require SigV4 requests to be signed for this region (any region otherwise).
    #[arg(long)]
    region: Option<String>,
    /// Chunk size in bytes.
    #[arg(long, default_value_t = 8 << 20)]
    chunk_size: usize,
    /// Copies of every chunk, each on its own volume (in distinct failure domains when
    /// there are enough).
    #[arg(long, default_value_t = 3)]
    replicas: usize,
    /// Fewest copies a write is acknowledged with when volumes fail or fill (the rest are
    /// repaired later); with fewer, writes get 503 SlowDown.
    #[arg(long, default_value_t = 2)]
    min_write_replicas: usize,
    /// A volume this full (percent of its filesystem) takes no new copies.
    #[arg(long, default_value_t = 95.0)]
    volume_full_percent: f64,
    /// A volume this full takes no repaired copies.
    #[arg(long, default_value_t = 90.0)]
    volume_repair_full_percent: f64,
    /// Seconds between checks of every volume (identity, free space).
    #[arg(long, default_value_t = 5)]
    volume_check_interval: u64,
    /// Seconds after a volume goes offline before its chunks are copied elsewhere.
    #[arg(long, default_value_t = 600)]
    offline_repair_delay: u64,
    /// Seconds an upload's unrenewed intent lives (how long after a crash its partial
    /// files are collected).
    #[arg(long, default_value_t = 600)]
    intent_ttl: u64,
    /// Seconds copies of deleted or overwritten objects stay on disk, so GETs already
    /// streaming them finish.
    #[arg(long, default_value_t = 900)]
    delete_delay: u64,
    /// Repair workers in this process.
    #[arg(long, default_value_t = 2)]
    repair_workers: usize,
    /// Seconds a claimed repair stays with its worker (a crashed worker's repairs come back
    /// after this).
    #[arg(long, default_value_t = 300)]
    repair_lease: u64,
    /// MiB/s this process copies for repairs (0: unlimited); `coffer admin repair rate`
    /// changes it while running.
    #[arg(long, default_value_t = 64)]
    repair_rate_mib: u64,
    /// Seconds between deep scrubs of a copy (default 30 days), or `off`.
    #[arg(long, default_value = "2592000", value_parser = parse_period)]
    scrub_period: Period,
    /// MiB/s the scrub reads from each volume (0: unlimited); `coffer admin scrub rate`
    /// changes it while running.
    #[arg(long, default_value_t = 16)]
    scrub_rate_mib: u64,
    /// Objects up to this many bytes are stored inline in PostgreSQL.
    #[arg(long, default_value_t = 32 << 10)]
    inline_threshold: usize,
    /// Maximum concurrent connections.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Maximum size of the request header section, in bytes.
    #[arg(long, default_value_t = 16 << 10)]
    max_header_bytes: usize,
    /// Seconds in-flight requests get to finish at shutdown (SIGTERM, Ctrl-C).
    #[arg(long, default_value_t = 30)]
    shutdown_grace: u64,
    /// Database connection pool size.
    #[arg(long, default_value_t = 32)]
    db_pool: u32,
    /// Seconds between sweeps of the volumes (unreferenced files removed, missing copies
    /// found).
    #[arg(long, default_value_t = 600)]
    gc_interval: u64,
    /// Minimum age in seconds of an unreferenced chunk file before it is removed.
    #[arg(long, default_value_t = 3600)]
    gc_grace: u64,
    /// Address of the admin API and Prometheus `/metrics` (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:9001")]
    admin_listen: SocketAddr,
    /// Address of the web console (port 0 picks a free port), or `off`. Never the S3
    /// listener: an HTML object served there must not run as the console.
    #[arg(long, default_value = "127.0.0.1:9002", value_parser = parse_optional_addr)]
    console_listen: OptionalAddr,
    /// Seconds a console session may stay unused before it ends.
    #[arg(long, default_value_t = 1800)]
    console_idle_timeout: u64,
    /// Seconds a console session lasts after login, used or not.
    #[arg(long, default_value_t = 43200)]
    console_session_lifetime: u64,
    /// The console's origin as browsers see it, e.g. `https://console.example.com` behind a
    /// reverse proxy (state-changing requests must come from it). Default: the request's
    /// Host header with the listener's scheme.
    #[arg(long)]
    console_origin: Option<String>,
    /// The S3 endpoint as console users reach it, for presigned links and client settings.
    /// Default: the console's host name with the S3 listener's port.
    #[arg(long)]
    s3_url: Option<String>,
    /// Milliseconds between checks for policy changes made by other coffer processes.
    #[arg(long, default_value_t = 2000)]
    policy_poll_ms: u64,
    /// CPU time one policy decision may use, in milliseconds (and 20 times that in
    /// wall-clock time).
    #[arg(long, default_value_t = 10)]
    policy_deadline_ms: u64,
    /// Linear memory a policy module may use per decision, in MiB.
    #[arg(long, default_value_t = 16)]
    policy_memory_mib: usize,
    /// MiB of policy answers kept for requests identical to earlier ones (policy
    /// modules are pure functions of their input); 0 evaluates every request.
    #[arg(long, default_value_t = 32)]
    policy_cache_mib: usize,
    /// Smallest multipart part other than the last, in bytes (S3: 5 MiB).
    #[arg(long, default_value_t = 5 << 20)]
    multipart_min_part_size: u64,
    /// Multipart uploads not completed within this many seconds are aborted.
    #[arg(long, default_value_t = 7 * 24 * 3600)]
    multipart_expiry: u64,
    /// PEM certificate chain (leaf first): every listener (S3, admin API, console) serves
    /// HTTPS. Needs --tls-key. Read again on SIGHUP.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert (PKCS#8, PKCS#1 RSA or SEC1 EC). Read again on SIGHUP.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Address or CIDR range of a reverse proxy whose `X-Forwarded-For` is believed
    /// (repeatable; IPv4 or IPv6). Requests from it are attributed to the rightmost
    /// forwarded address that is not itself trusted. Off by default: the header is ignored.
    #[arg(long = "trusted-proxy", value_name = "CIDR", value_parser = coffer::front::client_addr::parse_trusted_proxy)]
    trusted_proxies: Vec<ipnet::IpNet>,
    /// Seconds between the starts of two lifecycle passes (each applies every bucket's
    /// lifecycle rules; servers sharing a database take turns per bucket).
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    lifecycle_interval: u64,
    /// Length of a lifecycle day in seconds. With the default (86400) a rule's `Days` end
    /// at the next midnight UTC, as on S3; any other value is a time scale for tests
    /// (a rule of 1 day then acts `SECONDS` seconds after the object was written).
    #[arg(long, value_name = "SECONDS", default_value_t = 86_400)]
    lifecycle_day: u64,
    /// Most lifecycle actions (objects expired, versions and delete markers removed,
    /// uploads aborted) this process performs per second (0: unlimited).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    lifecycle_rate: u64,
    /// The Block Public Access configuration every new bucket gets: `all` (S3's default
    /// since April 2023), `none` (no configuration: the default here), or a
    /// comma-separated list of the settings to turn on (`BlockPublicAcls`,
    /// `IgnorePublicAcls`, `BlockPublicPolicy`, `RestrictPublicBuckets`). Owners change a
    /// bucket's with PutPublicAccessBlock / DeletePublicAccessBlock.
    #[arg(long, value_name = "SETTINGS", default_value = "none", value_parser = parse_public_access_default)]
    block_public_access_default: PublicAccessDefault,
}

/// The value of `--block-public-access-default`.
#[derive(Debug, Clone, Copy)]
struct PublicAccessDefault(Option<PublicAccessBlock>);

fn parse_public_access_default(s: &str) -> Result<PublicAccessDefault, String> {
    match s.trim() {
        "none" => Ok(PublicAccessDefault(None)),
        "all" => Ok(PublicAccessDefault(Some(PublicAccessBlock::ALL))),
        list => PublicAccessBlock::from_names(list.split(',').map(str::trim))
            .map(|b| PublicAccessDefault(Some(b)))
            .ok_or_else(|| {
                format!(
                    "{s:?}: expected all, none, or a comma-separated list of BlockPublicAcls, \
                     IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets"
                )
            }),
    }
}

impl ServeArgs {
    fn config(&self) -> ServerConfig {
        let mut c = ServerConfig::with_defaults(&self.db.data_dir);
        c.listen = self.listen;
        let st = &mut c.storage;
        if !self.volumes.is_empty() {
            st.volumes = self.volumes.clone();
            st.explicit_volumes = true;
        }
        st.chunk_size = self.chunk_size.max(1);
        st.replicas = self.replicas;
        st.min_write_replicas = self.min_write_replicas;
        st.full_percent = self.volume_full_percent;
        st.repair_full_percent = self.volume_repair_full_percent;
        st.volume_check_interval = Duration::from_secs(self.volume_check_interval.max(1));
        st.offline_repair_delay = Duration::from_secs(self.offline_repair_delay);
        st.intent_ttl = Duration::from_secs(self.intent_ttl.max(1));
        st.gc_interval = Duration::from_secs(self.gc_interval.max(1));
        st.gc_grace = Duration::from_secs(self.gc_grace);
        st.delete_delay = Duration::from_secs(self.delete_delay);
        st.repair_workers = self.repair_workers;
        st.repair_lease = Duration::from_secs(self.repair_lease.max(1));
        st.repair_rate_mib = self.repair_rate_mib;
        st.scrub_period = self.scrub_period.0;
        st.scrub_rate_mib = self.scrub_rate_mib;
        c.domains = self
            .domains
            .iter()
            .map(|d| d.to_ascii_lowercase())
            .collect();
        c.region = self.region.clone();
        c.inline_threshold = self.inline_threshold;
        c.max_connections = self.max_connections;
        c.max_header_bytes = self.max_header_bytes;
        c.shutdown_grace = Duration::from_secs(self.shutdown_grace);
        c.admin_listen = self.admin_listen;
        c.console_listen = self.console_listen.0;
        c.console.idle_timeout = Duration::from_secs(self.console_idle_timeout.max(1));
        c.console.session_lifetime = Duration::from_secs(self.console_session_lifetime.max(1));
        c.console.origin = self
            .console_origin
            .as_ref()
            .map(|o| o.trim_end_matches('/').to_string());
        c.console.s3_url = self
            .s3_url
            .as_ref()
            .map(|u| u.trim_end_matches('/').to_string());
        c.policy_poll_interval = Duration::from_millis(self.policy_poll_ms.max(10));
        c.multipart_min_part_size = self.multipart_min_part_size;
        c.multipart_expiry = Duration::from_secs(self.multipart_expiry.max(1));
        c.tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            // clap requires both or neither.
            _ => None,
        };
        c.trusted_proxies = self.trusted_proxies.clone();
        c.lifecycle = LifecycleSettings {
            interval: Duration::from_secs(self.lifecycle_interval.max(1)),
            day: Duration::from_secs(self.lifecycle_day.max(1)),
            rate: self.lifecycle_rate,
        };
        c.block_public_access_default = self.block_public_access_default.0;
        c
    }

    /// Refuses settings that contradict each other.
    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.replicas >= 1, "--replicas must be at least 1");
        anyhow::ensure!(
            (1..=self.replicas).contains(&self.min_write_replicas),
            "--min-write-replicas must be between 1 and --replicas ({})",
            self.replicas
        );
        anyhow::ensure!(
            self.volume_repair_full_percent <= self.volume_full_percent
                && self.volume_full_percent <= 100.0,
            "need --volume-repair-full-percent <= --volume-full-percent <= 100"
        );
        Ok(())
    }

    fn policy_limits(&self) -> Limits {
        Limits {
            memory_bytes: self.policy_memory_mib.max(1) << 20,
            decision_cache_bytes: self.policy_cache_mib.saturating_mul(1 << 20),
            ..Limits::default()
        }
        .with_deadline(Duration::from_millis(self.policy_deadline_ms.max(1)))
    }
}

/// Takes an exclusive lock on `DATA_DIR/coffer.lock` for the life of the server, so two
/// servers never share one data directory (its PostgreSQL and volumes). `coffer admin`
/// does not take it: it is meant to run beside the server; `coffer admin pg promote` does,
/// as it must not.
pub(super) fn lock_data_dir(data_dir: &std::path::Path) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let path = data_dir.join("coffer.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another coffer server is already using {}",
            data_dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    args.check()?;
    let config = args.config();
    // Before anything else is started: a bad certificate is the operator's to fix, and the
    // error names the file.
    let tls = match &config.tls {
        Some(files) => Some(Tls::load(files.clone()).context("loading the TLS certificate")?),
        None => None,
    };
    let _lock = lock_data_dir(&args.db.data_dir)?;
    let db = database::open_serving(&args.db, args.db_pool, &args.pg_standbys).await?;
    let result = serve(&args, config, tls, &db).await;
    db.close().await;
    result
}

async fn serve(
    args: &ServeArgs,
    config: ServerConfig,
    tls: Option<Tls>,
    db: &database::Database,
) -> anyhow::Result<()> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let master_key = secrets::MasterKey::load_or_create(&args.db.data_dir)?;
    bootstrap_admin(&db.pool, &master_key).await?;
    // `coffer admin` repairs to the count servers keep.
    settings::set(
        &db.pool,
        Setting::Replicas,
        Some(config.storage.replicas as i64),
    )
    .await?;
    let chunks = ChunkStore::open(db.pool.clone(), config.storage.clone(), true)
        .await
        .context("opening volumes")?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let local = listener.local_addr()?;
    let admin_listener = tokio::net::TcpListener::bind(config.admin_listen)
        .await
        .with_context(|| format!("binding the admin API to {}", config.admin_listen))?;
    let admin_local = admin_listener.local_addr()?;
    let console_listener = match config.console_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding the console to {addr}"))?,
        ),
        None => None,
    };
    let engine = PolicyEngine::new(args.policy_limits()).context("starting the policy engine")?;
    let policies = Arc::new(
        PolicyRegistry::open(
            Arc::new(engine),
            db.pool.clone(),
            args.db.data_dir.join("decision-logs"),
        )
        .await
        .context("loading policy attachments")?,
    );
    let state = Arc::new(AppState {
        pool: db.pool.clone(),
        small_writes: SmallWrites::start(&db.pool),
        chunks: chunks.clone(),
        master_key,
        config: config.clone(),
        clock: system_clock(),
        policies: policies.clone(),
    });
    // Bucket policies compiled by a Coffer whose format differed, compiled again before
    // the first request.
    let recompiled = coffer::s3::bucket_policy::recompile_stored(&state)
        .await
        .context("compiling stored bucket policies")?;
    if recompiled > 0 {
        tracing::info!(count = recompiled, "compiled stored bucket policies again");
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut storage_tasks = vec![
        tokio::spawn(chunks.clone().run_monitor(stop_rx.clone())),
        tokio::spawn(chunks.clone().run_intent_renewer(stop_rx.clone())),
        tokio::spawn(gc::run(chunks.clone(), stop_rx.clone())),
        tokio::spawn(repair::run(chunks.clone(), stop_rx.clone())),
        tokio::spawn(coffer::store::multipart::run_expiry(
            db.pool.clone(),
            config.multipart_expiry,
            stop_rx.clone(),
        )),
    ];
    storage_tasks.push(tokio::spawn(coffer::s3::lifecycle_worker::run(
        db.pool.clone(),
        config.lifecycle,
        state.clock.clone(),
        stop_rx.clone(),
    )));
    if let Some(period) = config.storage.scrub_period {
        storage_tasks.push(tokio::spawn(scrub::run(
            chunks.clone(),
            period,
            stop_rx.clone(),
        )));
    }
    let poll_task = tokio::spawn(policies.run(config.policy_poll_interval, stop_rx.clone()));
    // The SIGHUP handler is installed here, before the listening lines are printed: until
    // then SIGHUP's default action (exit) applies.
    let reload_task = match &tls {
        Some(tls) => Some(tokio::spawn(reload_on_sighup(
            tls.clone(),
            hangup_signal()?,
            stop_rx.clone(),
        ))),
        None => None,
    };
    let mut admin_stop = stop_rx;
    let admin_task = tokio::spawn(coffer::front::admin::serve(
        admin_listener,
        state.clone(),
        tls.clone(),
        async move {
            let _ = admin_stop.wait_for(|stop| *stop).await;
        },
    ));
    let console_task = match console_listener {
        Some(listener) => {
            // Tests and scripts read this line to learn the port.
            println!("coffer console on {scheme}://{}", listener.local_addr()?);
            let console = coffer::front::console::Console::new(state.clone(), local, tls.is_some());
            let mut console_stop = stop_tx.subscribe();
            let door = move |req, remote| console.clone().handle(req, remote);
            Some(tokio::spawn(coffer::http::server::serve(
                listener,
                state.clone(),
                tls.clone(),
                door,
                async move {
                    let _ = console_stop.wait_for(|stop| *stop).await;
                },
            )))
        }
        None => None,
    };
    if cfg!(feature = "bench-skip-policy") {
        tracing::warn!(
            "built with the bench-skip-policy feature: every request is allowed without a policy decision"
        );
    }
    tracing::info!(%local, %admin_local, "listening");
    // Tests and scripts read these lines to learn the ports.
    println!("coffer admin API on {scheme}://{admin_local}");
    println!("coffer listening on {scheme}://{local}");
    let _ = std::io::stdout().flush();
    let door = {
        let state = state.clone();
        move |req, remote| coffer::front::s3_service::handle(state.clone(), req, remote)
    };
    coffer::http::server::serve(listener, state, tls, door, shutdown_signal()).await?;
    let _ = stop_tx.send(true);
    for task in storage_tasks {
        let _ = task.await;
    }
    let _ = poll_task.await;
    if let Some(task) = reload_task {
        let _ = task.await;
    }
    let _ = admin_task.await;
    if let Some(task) = console_task {
        let _ = task.await;
    }
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutdown requested");
}

/// SIGHUP, as a stream (`None` off Unix: no reload there).
#[cfg(unix)]
type Hangup = tokio::signal::unix::Signal;
#[cfg(not(unix))]
type Hangup = ();

fn hangup_signal() -> anyhow::Result<Option<Hangup>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let hup = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
        Ok(Some(hup))
    }
    #[cfg(not(unix))]
    Ok(None)
}

/// Reloads the TLS certificate and key on every SIGHUP until `stop`: new handshakes get
/// the new certificate, established connections keep theirs. A failed reload keeps the
/// certificate in use and logs why (naming the file).
async fn reload_on_sighup(
    tls: Tls,
    hup: Option<Hangup>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    #[cfg(unix)]
    if let Some(mut hup) = hup {
        loop {
            tokio::select! {
                received = hup.recv() => {
                    if received.is_none() {
                        return;
                    }
                }
                _ = stop.wait_for(|stop| *stop) => return,
            }
            let files = tls.certs().files();
            match tls.reload() {
                Ok(()) => tracing::info!(
                    cert = %files.cert.display(),
                    key = %files.key.display(),
                    "SIGHUP: TLS certificate reloaded"
                ),
                Err(e) => tracing::error!(
                    error = %e,
                    "SIGHUP: TLS certificate reload failed; still serving the previous certificate"
                ),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (tls, hup);
    let _ = stop.wait_for(|stop| *stop).await;
}

/// On a fresh install, creates the `admin` account and its first key. The secret is printed
/// once (never logged); `COFFER_ROOT_ACCESS_KEY`/`COFFER_ROOT_SECRET_KEY` pin it instead.
async fn bootstrap_admin(
    pool: &sqlx::PgPool,
    master_key: &secrets::MasterKey,
) -> anyhow::Result<()> {
    if accounts::account_count(pool).await? > 0 {
        return Ok(());
    }
    let access_key = std::env::var(ROOT_ACCESS_KEY_ENV).ok();
    let secret_key = std::env::var(ROOT_SECRET_KEY_ENV).ok();
    let pinned = access_key.is_some() && secret_key.is_some();
    let access_key = access_key.unwrap_or_else(secrets::generate_access_key);
    let secret_key = secret_key.unwrap_or_else(secrets::generate_secret_key);
    let mut tx = pool.begin().await?;
    let account =
        accounts::create_account(&mut *tx, "admin", &secrets::generate_canonical_id(), None)
            .await?;
    let (ct, nonce) = master_key.seal(&access_key, &secret_key)?;
    accounts::insert_key(&mut *tx, account.id, &access_key, &ct, &nonce).await?;
    admins::grant_admin(&mut *tx, account.id).await?;
    tx.commit().await?;
    if pinned {
        tracing::info!(access_key = %access_key, "created account admin with the key from the environment");
    } else {
        println!("Created account 'admin'. Its credentials are shown only this once:");
        println!("  access key: {access_key}");
        println!("  secret key: {secret_key}");
    }
    Ok(())
}

/// `--console-listen`: an address, or `off`.
#[derive(Debug, Clone, Copy)]
struct OptionalAddr(Option<SocketAddr>);

fn parse_optional_addr(s: &str) -> Result<OptionalAddr, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(OptionalAddr(None));
    }
    s.parse::<SocketAddr>()
        .map(|a| OptionalAddr(Some(a)))
        .map_err(|_| format!("expected ADDRESS:PORT or `off`, got {s:?}"))
}

/// `--scrub-period`: seconds, or `off`.
#[derive(Debug, Clone, Copy)]
struct Period(Option<Duration>);

fn parse_period(s: &str) -> Result<Period, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(Period(None));
    }
    s.parse::<u64>()
        .map(|secs| Period(Some(Duration::from_secs(secs.max(1)))))
        .map_err(|_| format!("expected seconds or `off`, got {s:?}"))
}
