//! [`TestServer`]: one `coffer serve` process with its own data directory and database.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_s3::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use tempfile::TempDir;

use crate::process::{self, ServerProc};
use crate::raw::RawRequest;
use crate::util::random_from;

/// How long a server may take to print its listening line.
/// The master key file in a data directory (`coffer::store::secrets`).
const MASTER_KEY_FILE: &str = coffer::store::secrets::MASTER_KEY_FILE;
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// The line `coffer serve` prints on stdout once it accepts connections, followed by
/// `http://ADDR` or, with `--tls-cert`, `https://ADDR`; the other doors' lines likewise.
const LISTENING_PREFIX: &str = "coffer listening on ";
const ADMIN_PREFIX: &str = "coffer admin API on ";
const CONSOLE_PREFIX: &str = "coffer console on ";
/// Name of the file (in the data directory) that receives the server's stderr.
const STDERR_FILE: &str = "coffer.stderr.log";

/// Credentials of one access key, and the account it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountKeys {
    /// Account name.
    pub account: String,
    /// Access key id.
    pub access_key: String,
    /// Secret access key.
    pub secret_key: String,
    /// The account's canonical user id (empty for [`TestServer::admin_keys`]; see
    /// [`TestServer::canonical_id_of`]).
    pub canonical_id: String,
}

impl AccountKeys {
    /// The secret as the server library's signers want it.
    pub fn secret(&self) -> coffer::auth::SecretKey {
        coffer::auth::SecretKey::new(self.secret_key.clone())
    }

    fn from_admin_json(text: &str) -> AccountKeys {
        let v: serde_json::Value = serde_json::from_str(text.trim())
            .unwrap_or_else(|e| panic!("admin CLI printed invalid JSON ({e}): {text}"));
        let field = |name: &str| {
            v.get(name)
                .and_then(|f| f.as_str())
                .unwrap_or_else(|| panic!("admin CLI JSON lacks {name}: {text}"))
                .to_string()
        };
        AccountKeys {
            account: field("account"),
            access_key: field("access_key"),
            secret_key: field("secret_key"),
            canonical_id: field("canonical_id"),
        }
    }
}

/// Options for starting a [`TestServer`]; see [`TestServer::builder`].
#[derive(Debug, Clone, Default)]
pub struct ServerBuilder {
    domains: Vec<String>,
    args: Vec<String>,
    embedded_pg: bool,
    /// Database URL and master key file of a server this one shares its database with.
    /// Database URL, master key file and admin keys of the server to share a database with.
    shared_with: Option<(String, PathBuf, AccountKeys)>,
    /// A database of the test's own (see [`ServerBuilder::database_url`]).
    database_url: Option<String>,
    /// PEM of the CA the SDK clients trust, for a server started with TLS (see
    /// [`ServerBuilder::tls`]).
    tls_ca: Option<Vec<u8>>,
    /// Run the release build (see [`ServerBuilder::release_build`]).
    release: bool,
}

impl ServerBuilder {
    /// Runs the release build of `coffer` (`target/release/coffer`, which `scripts/test`
    /// builds) instead of the build the tests were compiled with: for tests that time what
    /// users see, such as the console in a browser.
    pub fn release_build(mut self) -> Self {
        self.release = true;
        self
    }

    /// Adds `--domain D` (virtual-host-style base domain; [`TestServer::vhost_client`]
    /// uses the first one).
    pub fn domain(mut self, domain: &str) -> Self {
        self.domains.push(domain.to_string());
        self
    }

    /// `--chunk-size BYTES`.
    pub fn chunk_size(self, bytes: usize) -> Self {
        self.arg("--chunk-size").arg(&bytes.to_string())
    }

    /// `--inline-threshold BYTES`.
    pub fn inline_threshold(self, bytes: usize) -> Self {
        self.arg("--inline-threshold").arg(&bytes.to_string())
    }

    /// `--max-header-bytes N`.
    pub fn max_header_bytes(self, bytes: usize) -> Self {
        self.arg("--max-header-bytes").arg(&bytes.to_string())
    }

    /// `--region R`.
    pub fn region(self, region: &str) -> Self {
        self.arg("--region").arg(region)
    }

    /// Any other `coffer serve` argument.
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_string());
        self
    }

    /// Serve HTTPS (`--tls-cert`, `--tls-key`) with a certificate issued by `ca_pem`, which
    /// the SDK clients of this server then trust (and nothing else). [`RawRequest`]s (from
    /// [`TestServer::raw`], [`TestServer::admin_raw`]) speak plain HTTP only: they get no
    /// answer from such a server.
    pub fn tls(self, cert: &Path, key: &Path, ca_pem: &[u8]) -> Self {
        let mut b = self
            .arg("--tls-cert")
            .arg(&cert.to_string_lossy())
            .arg("--tls-key")
            .arg(&key.to_string_lossy());
        b.tls_ca = Some(ca_pem.to_vec());
        b
    }

    /// Let the server run its own embedded PostgreSQL in its data directory (no
    /// `--database-url`). Slow (initdb): only for tests of that mode.
    pub fn embedded_postgres(mut self) -> Self {
        self.embedded_pg = true;
        self
    }

    /// Use the database of `other` (and a copy of its master key, so both can read the
    /// sealed secret keys): two `coffer` processes sharing one PostgreSQL, as in a
    /// multi-node deployment. Each keeps its own data directory.
    pub fn share_database_of(mut self, other: &TestServer) -> Self {
        let url = other
            .database_url()
            .expect("sharing needs a server with an external database")
            .to_string();
        self.shared_with = Some((
            url,
            other.data_dir().join(MASTER_KEY_FILE),
            other.admin.clone(),
        ));
        self
    }

    /// Use this (empty) database instead of a fresh one on the shared test cluster: one the
    /// test reaches through a fault-injecting proxy, say.
    pub fn database_url(mut self, url: &str) -> Self {
        self.database_url = Some(url.to_string());
        self
    }

    /// Starts the server and waits until it listens.
    pub async fn start(self) -> TestServer {
        remember_panics();
        let mut data_dir = tempfile::Builder::new()
            .prefix("coffer-e2e-")
            .tempdir()
            .expect("creating a temporary data directory");
        if process::keep_dirs() {
            data_dir.disable_cleanup(true);
            eprintln!("COFFER_TEST_KEEP: keeping {}", data_dir.path().display());
        }
        let database_url = if self.embedded_pg {
            None
        } else if let Some(url) = &self.database_url {
            Some(url.clone())
        } else if let Some((url, master_key, _)) = &self.shared_with {
            std::fs::copy(master_key, data_dir.path().join(MASTER_KEY_FILE))
                .expect("copying the master key of the server to share a database with");
            Some(url.clone())
        } else {
            Some(crate::pg::database_url().await)
        };
        // The bootstrap admin exists once per database: a second server on it keeps the first's.
        let admin = match &self.shared_with {
            Some((_, _, admin)) => admin.clone(),
            None => AccountKeys {
                account: "admin".to_string(),
                access_key: format!(
                    "AKTEST{}",
                    random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 14)
                ),
                secret_key: random_from(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+",
                    40,
                ),
                canonical_id: String::new(),
            },
        };
        let proc_ = Arc::new(ServerProc {
            child: Mutex::new(None),
            data_dir: data_dir.path().to_path_buf(),
            embedded_pg: self.embedded_pg,
        });
        process::register(&proc_);
        let mut server = TestServer {
            proc_,
            config: self,
            database_url,
            admin,
            scheme: "http",
            port: 0,
            admin_port: 0,
            console_port: 0,
            data_dir,
        };
        server.launch().await;
        server
    }
}

/// A running `coffer serve`. Dropping it stops the server (SIGTERM, then SIGKILL) and
/// removes its data directory; if the test is panicking, the tail of the server's stderr is
/// printed first.
#[derive(Debug)]
pub struct TestServer {
    proc_: Arc<ServerProc>,
    config: ServerBuilder,
    database_url: Option<String>,
    admin: AccountKeys,
    /// `http` or `https`, as the listening lines said.
    scheme: &'static str,
    port: u16,
    admin_port: u16,
    console_port: u16,
    // Declared last: removed after the process is stopped.
    data_dir: TempDir,
}

impl TestServer {
    /// Starts a server with default options.
    pub async fn start() -> TestServer {
        ServerBuilder::default().start().await
    }

    /// Options for a server; finish with [`ServerBuilder::start`].
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// `http://127.0.0.1:PORT` (`https://` for a server started with TLS).
    pub fn endpoint(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.port)
    }

    /// `http` or `https`: the scheme the server's listening lines announced.
    pub fn scheme(&self) -> &str {
        self.scheme
    }

    /// The port the server listens on (changes on [`TestServer::restart`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` of the admin API (`/metrics`, `/v1/...`; `https://` with
    /// TLS).
    pub fn admin_endpoint(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.admin_port)
    }

    /// The admin API's port.
    pub fn admin_port(&self) -> u16 {
        self.admin_port
    }

    /// `http://127.0.0.1:PORT` of the web console (empty port 0 with `--console-listen off`;
    /// `https://` with TLS).
    pub fn console_endpoint(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.console_port)
    }

    /// The web console's port (0 with `--console-listen off`).
    pub fn console_port(&self) -> u16 {
        self.console_port
    }

    /// A request to the web console.
    pub fn console_raw(&self, method: &str, path: &str) -> RawRequest {
        RawRequest::new(&format!("127.0.0.1:{}", self.console_port), method, path)
    }

    /// A request to the admin API (sign it with [`RawRequest::sign_v4`] and
    /// [`TestServer::admin_keys`] for `/v1` routes).
    pub fn admin_raw(&self, method: &str, path: &str) -> RawRequest {
        RawRequest::new(&format!("127.0.0.1:{}", self.admin_port), method, path)
    }

    /// `127.0.0.1:PORT`, the `Host` header of path-style requests.
    pub fn host_header(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// The database URL given to the server (`None` in embedded-PostgreSQL mode).
    pub fn database_url(&self) -> Option<&str> {
        self.database_url.as_deref()
    }

    /// The root (`admin`) account's key, pinned through `COFFER_ROOT_ACCESS_KEY` /
    /// `COFFER_ROOT_SECRET_KEY` at first start. `canonical_id` is empty.
    pub fn admin_keys(&self) -> &AccountKeys {
        &self.admin
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.lock_child().as_ref().map(|c| c.id())
    }

    /// Everything the server wrote to stderr (all runs, for restarted servers).
    pub fn stderr_log(&self) -> String {
        std::fs::read_to_string(self.data_dir().join(STDERR_FILE)).unwrap_or_default()
    }

    fn lock_child(&self) -> std::sync::MutexGuard<'_, Option<std::process::Child>> {
        self.proc_.child.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Spawns `coffer serve` and waits for its listening line.
    async fn launch(&mut self) {
        assert!(self.pid().is_none(), "the server is already running");
        let stderr = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir().join(STDERR_FILE))
            .expect("opening the server's stderr log");
        let binary = if self.config.release {
            process::coffer_release_binary()
        } else {
            process::coffer_binary()
        };
        let mut cmd = Command::new(binary);
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(["--listen", "127.0.0.1:0"])
            .args(["--admin-listen", "127.0.0.1:0"]);
        if !self.config.args.iter().any(|a| a == "--console-listen") {
            cmd.args(["--console-listen", "127.0.0.1:0"]);
        }
        if let Some(url) = &self.database_url {
            cmd.arg("--database-url").arg(url);
        }
        // Many servers share the test cluster: keep each one's pool small.
        if !self.config.args.iter().any(|a| a == "--db-pool") {
            cmd.args(["--db-pool", "8"]);
        }
        // The policy deadline (10 ms of CPU by default) is sized for the release
        // build. In the debug build wasmtime's lowering of inputs runs unoptimised:
        // a preflight against 100 CORS rules costs 6.6 ms at p50 and 11.4 ms at p99
        // (`coffer bench --scenario decision --hook cors`; 0.10 ms in release), so
        // under a busy test run legitimate decisions would fail closed. Debug
        // servers get five times the default; spinning modules still stop within
        // a second of wall clock (20 deadlines).
        if !self.config.release && !self.config.args.iter().any(|a| a == "--policy-deadline-ms") {
            cmd.args(["--policy-deadline-ms", "50"]);
        }
        for domain in &self.config.domains {
            cmd.arg("--domain").arg(domain);
        }
        cmd.args(&self.config.args)
            .env_remove("COFFER_DATA_DIR")
            .env_remove("COFFER_DATABASE_URL")
            .env("COFFER_ROOT_ACCESS_KEY", &self.admin.access_key)
            .env("COFFER_ROOT_SECRET_KEY", &self.admin.secret_key)
            .env(
                "RUST_LOG",
                std::env::var("COFFER_TEST_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = cmd.spawn().expect("spawning coffer serve");
        let stdout = child.stdout.take().expect("piped stdout");
        *self.lock_child() = Some(child);

        /// Which listener a printed line announces.
        #[derive(PartialEq)]
        enum Door {
            S3,
            Admin,
            Console,
        }
        let (tx, rx) = mpsc::channel::<(Door, String)>();
        std::thread::spawn(move || {
            // Keeps draining stdout after the listening line so the server never blocks.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let door = [
                    (LISTENING_PREFIX, Door::S3),
                    (ADMIN_PREFIX, Door::Admin),
                    (CONSOLE_PREFIX, Door::Console),
                ]
                .into_iter()
                .find_map(|(prefix, door)| line.strip_prefix(prefix).map(|a| (door, a)));
                if let Some((door, url)) = door {
                    let _ = tx.send((door, url.trim().to_string()));
                }
            }
        });

        let began = Instant::now();
        let mut admin_addr = None;
        let mut console_addr = None;
        let addr = loop {
            match rx.try_recv() {
                Ok((Door::Admin, addr)) => admin_addr = Some(addr),
                Ok((Door::Console, addr)) => console_addr = Some(addr),
                Ok((Door::S3, addr)) => break addr,
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => {}
            }
            let exited = self
                .lock_child()
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.lock_child().take();
                panic!(
                    "coffer serve exited with {status} before listening; stderr:\n{}",
                    self.stderr_log()
                );
            }
            if began.elapsed() > START_TIMEOUT {
                self.proc_.shutdown_blocking();
                panic!(
                    "coffer serve did not print its listening line within {START_TIMEOUT:?}; \
                     stderr:\n{}",
                    self.stderr_log()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        // The other doors' lines are printed before the S3 listener's.
        assert!(
            admin_addr.is_some(),
            "coffer serve did not print its admin API line"
        );
        let (scheme, addr) = split_url(&addr);
        let expected = if self.config.tls_ca.is_some() {
            "https"
        } else {
            "http"
        };
        assert_eq!(scheme, expected, "the listening line's scheme: {addr}");
        self.scheme = expected;
        for other in [&admin_addr, &console_addr].into_iter().flatten() {
            assert_eq!(split_url(other).0, expected, "a door's scheme: {other}");
        }
        let admin_addr = admin_addr.as_deref().map(|u| split_url(u).1);
        let console_addr = console_addr.as_deref().map(|u| split_url(u).1);
        self.port = parse_port(addr);
        self.admin_port = admin_addr.map(parse_port).unwrap_or_default();
        self.console_port = console_addr.map(parse_port).unwrap_or_default();
    }

    /// Sends SIGTERM and waits for the server to exit (SIGKILL after 30 s); returns its
    /// exit status. Panics if it was not running.
    pub async fn stop(&mut self) -> ExitStatus {
        self.signal_term();
        self.wait_exit().await
    }

    /// Sends SIGTERM without waiting (see [`TestServer::wait_exit`]).
    pub fn signal_term(&self) {
        let pid = self.pid().expect("the server is not running");
        process::signal(pid, libc::SIGTERM);
    }

    /// Sends SIGHUP (a server with TLS reloads its certificate and key).
    pub fn signal_hangup(&self) {
        let pid = self.pid().expect("the server is not running");
        process::signal(pid, libc::SIGHUP);
    }

    /// Waits for the server to exit (after [`TestServer::signal_term`]); SIGKILL and panic
    /// after 30 s.
    pub async fn wait_exit(&mut self) -> ExitStatus {
        let mut child = self.lock_child().take().expect("the server is not running");
        match process::wait_async(&mut child, STOP_TIMEOUT).await {
            Some(status) => status,
            None => {
                let _ = child.kill();
                let status = child.wait().expect("waiting for coffer");
                panic!(
                    "coffer did not exit within {STOP_TIMEOUT:?} of SIGTERM (killed: {status}); \
                     stderr:\n{}",
                    self.stderr_log()
                );
            }
        }
    }

    /// Kills the server with SIGKILL (a crash: nothing is cleaned up, an embedded
    /// PostgreSQL keeps running) and reaps it.
    pub async fn kill(&mut self) -> ExitStatus {
        let mut child = self.lock_child().take().expect("the server is not running");
        let _ = child.kill();
        process::wait_async(&mut child, STOP_TIMEOUT)
            .await
            .expect("coffer did not die from SIGKILL")
    }

    /// Starts the server again on the same data directory and database (stopping it first
    /// if it runs). The port changes: make new clients afterwards.
    pub async fn restart(&mut self) {
        if self.pid().is_some() {
            self.stop().await;
        }
        self.launch().await;
    }

    /// The `coffer serve` arguments the next [`TestServer::restart`] uses (beyond those the
    /// harness sets), to change them between runs.
    pub fn args_mut(&mut self) -> &mut Vec<String> {
        &mut self.config.args
    }

    /// A connection pool to the server's database (its own database on the shared test
    /// cluster, or its embedded PostgreSQL, found through `postmaster.pid`).
    pub async fn db(&self) -> sqlx::PgPool {
        use std::str::FromStr;
        let options = match &self.database_url {
            Some(url) => sqlx::postgres::PgConnectOptions::from_str(url)
                .expect("the test database URL parses"),
            None => {
                let pid_file = self.data_dir().join("postgres").join("postmaster.pid");
                let text = std::fs::read_to_string(&pid_file)
                    .unwrap_or_else(|e| panic!("reading {}: {e}", pid_file.display()));
                let lines: Vec<&str> = text.lines().collect();
                let port: u16 = lines
                    .get(3)
                    .and_then(|l| l.trim().parse().ok())
                    .expect("port in postmaster.pid");
                let socket = lines.get(4).expect("socket directory in postmaster.pid");
                sqlx::postgres::PgConnectOptions::new_without_pgpass()
                    .socket(socket.trim())
                    .port(port)
                    .username(coffer::pg::SUPERUSER)
                    .database(coffer::pg::DEFAULT_DATABASE)
            }
        };
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .expect("connecting to the server's database")
    }

    /// Runs `coffer admin --data-dir DIR [--database-url URL] ARGS...` and returns its
    /// output (whatever the exit status).
    pub async fn admin(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = tokio::process::Command::new(process::coffer_binary());
        cmd.arg("admin").arg("--data-dir").arg(self.data_dir());
        if let Some(url) = &self.database_url {
            cmd.arg("--database-url").arg(url);
        }
        cmd.args(args)
            .env_remove("COFFER_DATA_DIR")
            .env_remove("COFFER_DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd.output().await.expect("running coffer admin")
    }

    /// Like [`TestServer::admin`] but panics unless it succeeds; returns stdout.
    pub async fn admin_ok(&self, args: &[&str]) -> String {
        let out = self.admin(args).await;
        assert!(
            out.status.success(),
            "coffer admin {args:?} failed with {}:\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("admin output is UTF-8")
    }

    /// Creates an account (with one key) through the admin CLI.
    pub async fn create_account(&self, name: &str) -> AccountKeys {
        let out = self.admin_ok(&["account", "create", name, "--json"]).await;
        AccountKeys::from_admin_json(&out)
    }

    /// Creates an account with an e-mail address (for `emailAddress=` ACL grants), with one
    /// key, through the admin CLI.
    pub async fn create_account_with_email(&self, name: &str, email: &str) -> AccountKeys {
        let out = self
            .admin_ok(&["account", "create", name, "--email", email, "--json"])
            .await;
        AccountKeys::from_admin_json(&out)
    }

    /// Creates another access key for `account` through the admin CLI.
    pub async fn create_key(&self, account: &str) -> AccountKeys {
        let out = self.admin_ok(&["key", "create", account, "--json"]).await;
        AccountKeys::from_admin_json(&out)
    }

    /// Revokes an access key through the admin CLI.
    pub async fn revoke_key(&self, access_key: &str) {
        self.admin_ok(&["key", "revoke", access_key]).await;
    }

    /// The canonical id of an account, from `account list --json`.
    pub async fn canonical_id_of(&self, account: &str) -> String {
        let out = self.admin_ok(&["account", "list", "--json"]).await;
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("account list JSON");
        v.as_array()
            .expect("account list is an array")
            .iter()
            .find(|a| a.get("name").and_then(|n| n.as_str()) == Some(account))
            .and_then(|a| a.get("canonical_id"))
            .and_then(|c| c.as_str())
            .unwrap_or_else(|| panic!("no account {account} in {out}"))
            .to_string()
    }

    /// An S3 client for the root account: SDK defaults, path style, region us-east-1.
    pub fn client(&self) -> aws_sdk_s3::Client {
        self.client_for(&self.admin)
    }

    /// An S3 client for `keys`: SDK defaults, path style, region us-east-1.
    pub fn client_for(&self, keys: &AccountKeys) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(self.config_for(keys).build())
    }

    /// The configuration [`TestServer::client_for`] uses, to customise (interceptors,
    /// checksum settings, ...) before `aws_sdk_s3::Client::from_conf(builder.build())`.
    /// For a server with TLS, its HTTP client trusts the test CA only.
    pub fn config_for(&self, keys: &AccountKeys) -> aws_sdk_s3::config::Builder {
        let mut config = base_config(keys)
            .endpoint_url(self.endpoint())
            .force_path_style(true);
        if let Some(ca) = &self.config.tls_ca {
            config = config.http_client(https_client(ca));
        }
        config
    }

    /// A virtual-host-style client for the root account (see
    /// [`TestServer::vhost_client_for`]).
    pub fn vhost_client(&self) -> aws_sdk_s3::Client {
        self.vhost_client_for(&self.admin)
    }

    /// A virtual-host-style client for `keys`: endpoint `http://DOMAIN:PORT` (the first
    /// `--domain`), so requests go to `bucket.DOMAIN:PORT`. Such names do not resolve, so an
    /// interceptor sends every request to 127.0.0.1:PORT after signing, keeping the
    /// `Host: bucket.DOMAIN:PORT` header.
    pub fn vhost_client_for(&self, keys: &AccountKeys) -> aws_sdk_s3::Client {
        let domain = self
            .config
            .domains
            .first()
            .expect("vhost_client needs a server started with .domain(...)");
        aws_sdk_s3::Client::from_conf(
            base_config(keys)
                .endpoint_url(format!("http://{domain}:{}", self.port))
                .force_path_style(false)
                .interceptor(LoopbackRedirect { port: self.port })
                .build(),
        )
    }

    /// A hand-built request to this server (`path` is the raw, already percent-encoded
    /// path, e.g. `/bucket/key`). See [`RawRequest`].
    pub fn raw(&self, method: &str, path: &str) -> RawRequest {
        RawRequest::new(&self.host_header(), method, path)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.stderr_log();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(80)..];
            eprintln!(
                "---- last {} lines of coffer stderr ({}) ----\n{}\n---- end of coffer stderr ----",
                tail.len(),
                self.data_dir().display(),
                tail.join("\n")
            );
            // Again after the log: CI shows the head and the tail of a failure's output, and
            // the panic message printed before the log would fall in the part it leaves out.
            if let Some(message) = LAST_PANIC.with(|p| p.borrow_mut().take()) {
                eprintln!("---- the test failed: {message} ----");
            }
        }
        self.proc_.shutdown_blocking();
    }
}

thread_local! {
    /// The message of the last panic on this thread (see [`remember_panics`]).
    static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Installs, once per test binary, a panic hook that keeps each thread's last panic message
/// for [`TestServer`]'s drop to repeat, then prints it as the default hook does.
fn remember_panics() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info.to_string();
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(message));
            default(info);
        }));
    });
}

fn base_config(keys: &AccountKeys) -> aws_sdk_s3::config::Builder {
    aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            keys.access_key.clone(),
            keys.secret_key.clone(),
            None,
            None,
            "coffer-tests",
        ))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
}

/// An SDK HTTP client (rustls on `ring`) whose only trusted root is `ca_pem`: no native
/// roots, no process-wide setting, so tests running in parallel threads each keep their own.
pub fn https_client(ca_pem: &[u8]) -> aws_sdk_s3::config::SharedHttpClient {
    use aws_smithy_http_client::tls;
    let trust = tls::TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(ca_pem.to_vec());
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .tls_context(
            tls::TlsContext::builder()
                .with_trust_store(trust)
                .build()
                .expect("a TLS context with one CA"),
        )
        .build_https()
}

/// `("https", "127.0.0.1:PORT")` from `https://127.0.0.1:PORT`.
fn split_url(url: &str) -> (&str, &str) {
    url.split_once("://")
        .unwrap_or_else(|| panic!("a listening line without a scheme: {url:?}"))
}

/// Sends a signed virtual-host-style request to 127.0.0.1 while keeping its `Host`.
#[derive(Debug)]
struct LoopbackRedirect {
    port: u16,
}

impl Intercept for LoopbackRedirect {
    fn name(&self) -> &'static str {
        "LoopbackRedirect"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        let request = context.request_mut();
        let uri: http::Uri = request.uri().parse()?;
        let authority = uri
            .authority()
            .ok_or("request URI has no authority")?
            .as_str()
            .to_string();
        let path_and_query = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".to_string());
        request.headers_mut().insert("host", authority);
        request.set_uri(format!("http://127.0.0.1:{}{path_and_query}", self.port))?;
        Ok(())
    }
}

/// Where a server keeps its embedded PostgreSQL's pid file: `DIR/postgres/postmaster.pid`.
pub fn postmaster_pid_file(data_dir: &Path) -> PathBuf {
    data_dir.join("postgres").join("postmaster.pid")
}

/// The port of a printed `host:port` address.
fn parse_port(addr: &str) -> u16 {
    addr.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("cannot parse the listening address {addr:?}"))
}

impl TestServer {
    /// Like [`TestServer::restart`], with `args` in place of the extra arguments the builder
    /// was given (its domains are kept).
    pub async fn restart_with_args(&mut self, args: &[&str]) {
        self.config.args = args.iter().map(|arg| arg.to_string()).collect();
        self.restart().await;
    }
}
