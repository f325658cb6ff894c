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
    /// Volume directories.
    pub volumes: Vec<PathBuf>,
    /// Chunk size in bytes.
    pub chunk_size: usize,
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
    /// Interval between garbage-collection passes.
    pub gc_interval: Duration,
    /// Minimum age of an unreferenced chunk file before it is collected.
    pub gc_grace: Duration,
    /// Address of the admin API and `/metrics`.
    pub admin_listen: SocketAddr,
    /// How often to check the database for policy module changes made elsewhere.
    pub policy_poll_interval: Duration,
    /// Smallest size of a multipart part other than the last (5 MiB in S3).
    pub multipart_min_part_size: u64,
    /// Largest `CompleteMultipartUpload` body: room for 10,000 parts with checksums.
    pub max_complete_xml_bytes: usize,
    /// Uploads initiated longer ago than this are aborted by a background task.
    pub multipart_expiry: Duration,
}

impl ServerConfig {
    /// Defaults for a server whose data lives in `data_dir`.
    pub fn with_defaults(data_dir: &std::path::Path) -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9000)),
            domains: Vec::new(),
            region: None,
            volumes: vec![data_dir.join("volumes").join("0")],
            chunk_size: 8 << 20,
            inline_threshold: 32 << 10,
            max_connections: 1024,
            max_header_bytes: 16 << 10,
            max_xml_bytes: 1 << 20,
            max_object_size: 5 << 30,
            header_read_timeout: Duration::from_secs(30),
            body_idle_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(30),
            gc_interval: Duration::from_secs(600),
            gc_grace: Duration::from_secs(3600),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 9001)),
            policy_poll_interval: Duration::from_secs(2),
            multipart_min_part_size: 5 << 20,
            max_complete_xml_bytes: 4 << 20,
            multipart_expiry: Duration::from_secs(7 * 24 * 3600),
        }
    }
}
