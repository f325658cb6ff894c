//! Server configuration: what `coffer serve` is told on its command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything the running server needs to know.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Base domains for virtual-host-style addressing (`bucket.DOMAIN`).
    pub domains: Vec<String>,
    /// If set, SigV4 requests must be signed for this region.
    pub region: Option<String>,
    /// How object bytes are stored and kept.
    pub storage: StorageConfig,
    /// Objects up to this size are stored inline in PostgreSQL.
    pub inline_threshold: usize,
    /// Maximum concurrent connections.
    pub max_connections: usize,
    /// Maximum total size of request headers (bytes).
    pub max_header_bytes: usize,
    /// Maximum size of an XML request body (bytes).
    pub max_xml_bytes: usize,
    /// Maximum size of a single PUT (bytes): 5 GiB as in S3.
    pub max_object_size: u64,
    /// Time allowed to receive request headers.
    pub header_read_timeout: Duration,
    /// Time a request body may stay silent.
    pub body_idle_timeout: Duration,
    /// How long in-flight requests may take to drain at shutdown.
    pub shutdown_grace: Duration,
    /// Address of the admin API and `/metrics`.
    pub admin_listen: SocketAddr,
    /// Address of the web console, on an origin of its own; `None` disables it.
    pub console_listen: Option<SocketAddr>,
    /// The web console's sessions and addresses.
    pub console: ConsoleConfig,
    /// How often to check the database for policy module changes made elsewhere.
    pub policy_poll_interval: Duration,
    /// Smallest size of a multipart part other than the last (5 MiB in S3).
    pub multipart_min_part_size: u64,
    /// Largest `CompleteMultipartUpload` body: room for 10,000 parts with checksums.
    pub max_complete_xml_bytes: usize,
    /// Uploads initiated longer ago than this are aborted by a background task.
    pub multipart_expiry: Duration,
    /// The certificate and key every listener serves HTTPS with; `None`: plain HTTP. Doors
    /// read it to know their scheme (the console sets `Secure` cookies and HSTS under TLS).
    pub tls: Option<TlsFiles>,
    /// Peers whose `X-Forwarded-For` is believed (reverse proxies); empty: the header is
    /// ignored. See `front::client_addr`.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The bucket lifecycle worker's pace and clock.
    pub lifecycle: LifecycleSettings,
    /// The Block Public Access configuration every new bucket gets; `None`: new buckets
    /// have none (all settings off, as S3 buckets had before April 2023).
    pub block_public_access_default: Option<crate::acl::PublicAccessBlock>,
}

/// How the lifecycle worker (`s3::lifecycle_worker`) runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecycleSettings {
    /// How often a pass over the buckets with a lifecycle configuration starts.
    pub interval: Duration,
    /// The length of a lifecycle "day". 24 hours in production, where `Days` expiries
    /// round up to the next midnight UTC as on S3; tests shrink it to seconds so rules
    /// can be seen to act (expiries are then exactly `days × day` after the start time).
    pub day: Duration,
    /// Most lifecycle actions (expirations, removals, aborts) this process performs per
    /// second, so a rule that matches millions of objects does not flood PostgreSQL;
    /// 0 is unlimited.
    pub rate: u64,
}

impl LifecycleSettings {
    /// The lifecycle day as `time` counts it (what `s3::lifecycle::expiration_for` takes);
    /// a length beyond `time`'s range (never given by the command line, which counts
    /// seconds) is taken as 24 hours.
    pub fn day_length(&self) -> time::Duration {
        time::Duration::try_from(self.day).unwrap_or(time::Duration::DAY)
    }
}

impl Default for LifecycleSettings {
    fn default() -> Self {
        LifecycleSettings {
            interval: Duration::from_secs(3600),
            day: Duration::from_secs(86_400),
            rate: 1000,
        }
    }
}

/// Where the TLS certificate chain and private key are read from (PEM), at start and again
/// on SIGHUP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl ServerConfig {
    /// Defaults for a server whose data lives in `data_dir`.
    pub fn with_defaults(data_dir: &std::path::Path) -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9000)),
            domains: Vec::new(),
            region: None,
            storage: StorageConfig::with_defaults(data_dir),
            inline_threshold: 32 << 10,
            max_connections: 1024,
            max_header_bytes: 16 << 10,
            max_xml_bytes: 1 << 20,
            max_object_size: 5 << 30,
            header_read_timeout: Duration::from_secs(30),
            body_idle_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(30),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 9001)),
            console_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9002))),
            console: ConsoleConfig::default(),
            policy_poll_interval: Duration::from_secs(2),
            multipart_min_part_size: 5 << 20,
            max_complete_xml_bytes: 4 << 20,
            multipart_expiry: Duration::from_secs(7 * 24 * 3600),
            tls: None,
            trusted_proxies: Vec::new(),
            lifecycle: LifecycleSettings::default(),
            block_public_access_default: None,
        }
    }
}

/// The web console's sessions and the addresses it shows.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// A session unused this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after login, used or not.
    pub session_lifetime: Duration,
    /// The console's origin as browsers see it (`https://console.example.com` behind a
    /// reverse proxy); `None`: the request's `Host` with the listener's scheme.
    pub origin: Option<String>,
    /// The S3 endpoint as the console's users reach it (presigned links, client
    /// settings); `None`: the console's host name with the S3 listener's port.
    pub s3_url: Option<String>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            idle_timeout: Duration::from_secs(30 * 60),
            session_lifetime: Duration::from_secs(12 * 3600),
            origin: None,
            s3_url: None,
        }
    }
}

/// How object bytes are stored and kept: chunking, copies, volumes' thresholds, and the
/// background work (collector, repair, scrub).
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// Directories for the volumes of a fresh data directory (or the ones named with
    /// `--volume`; see `explicit_volumes`).
    pub volumes: Vec<PathBuf>,
    /// Whether the operator named the volumes: each must then be a registered volume once
    /// volumes exist.
    pub explicit_volumes: bool,
    /// Largest chunk, bytes.
    pub chunk_size: usize,
    /// Copies of every chunk.
    pub replicas: usize,
    /// Fewest copies a write may be acknowledged with (the rest are repaired later).
    pub min_write_replicas: usize,
    /// A volume this full (percent of its filesystem) takes no new copies.
    pub full_percent: f64,
    /// A volume this full takes no repaired copies.
    pub repair_full_percent: f64,
    /// How often volumes are checked (identity, free space) and the volume list re-read.
    pub volume_check_interval: Duration,
    /// How long after a volume goes offline its chunks are repaired elsewhere.
    pub offline_repair_delay: Duration,
    /// How long a writer's intent lives without being renewed.
    pub intent_ttl: Duration,
    /// Between sweeps of the volumes (orphans, missing files).
    pub gc_interval: Duration,
    /// Minimum age of a file the sweep removes.
    pub gc_grace: Duration,
    /// How long copies of released chunks stay on disk (for GETs still streaming them).
    pub delete_delay: Duration,
    /// Repair workers in this process.
    pub repair_workers: usize,
    /// How long a claimed repair stays taken by its worker.
    pub repair_lease: Duration,
    /// MiB/s this process copies for repairs, unless set at run time (0: unlimited).
    pub repair_rate_mib: u64,
    /// Every copy is deep-scrubbed about once per period; `None`: no background scrub.
    pub scrub_period: Option<Duration>,
    /// MiB/s the scrub reads from each volume, unless set at run time (0: unlimited).
    pub scrub_rate_mib: u64,
}

impl StorageConfig {
    /// Defaults for a data directory: three volumes in it, 8 MiB chunks, three copies.
    pub fn with_defaults(data_dir: &std::path::Path) -> Self {
        StorageConfig {
            volumes: (0..3)
                .map(|i| data_dir.join("volumes").join(i.to_string()))
                .collect(),
            explicit_volumes: false,
            chunk_size: 8 << 20,
            replicas: 3,
            min_write_replicas: 2,
            full_percent: 95.0,
            repair_full_percent: 90.0,
            volume_check_interval: Duration::from_secs(5),
            offline_repair_delay: Duration::from_secs(600),
            intent_ttl: Duration::from_secs(600),
            gc_interval: Duration::from_secs(600),
            gc_grace: Duration::from_secs(3600),
            delete_delay: Duration::from_secs(900),
            repair_workers: 2,
            repair_lease: Duration::from_secs(300),
            repair_rate_mib: 64,
            scrub_period: Some(Duration::from_secs(30 * 24 * 3600)),
            scrub_rate_mib: 16,
        }
    }
}
