//! End-to-end test harness for Coffer: runs the real `coffer` binary against a real
//! PostgreSQL and talks to it with real clients.
//!
//! # Overview
//!
//! - [`TestServer`] starts `coffer serve` on `127.0.0.1:0` with its own temporary data
//!   directory and its own fresh database on a PostgreSQL cluster shared by the whole test
//!   process (see [`pg`]), or with the server's own embedded PostgreSQL
//!   ([`ServerBuilder::embedded_postgres`]). The root (`admin`) account gets credentials
//!   chosen by the harness ([`TestServer::admin_keys`]); more accounts come from the real
//!   admin CLI ([`TestServer::create_account`]).
//! - Clients: [`TestServer::client`] / [`TestServer::client_for`] give an `aws_sdk_s3`
//!   client with default settings except path-style addressing (127.0.0.1 has no DNS for
//!   virtual hosts); [`TestServer::vhost_client`] gives a virtual-host-style client whose
//!   requests are redirected to 127.0.0.1 while keeping `Host: bucket.DOMAIN:PORT`.
//! - [`raw::RawRequest`] builds requests by hand (signed with the server's own SigV4/SigV2
//!   signers, or anonymous), lets any header be changed after signing, and sends them with
//!   `reqwest` or over a raw TCP socket (for truncated bodies and other malformed input).
//! - [`chunked`] encodes `aws-chunked` bodies (signed chunks, trailers) independently of
//!   the server's decoder; [`xml`] extracts elements from S3 XML; [`sdk`] turns SDK errors
//!   into code/status/request-id.
//! - [`standby`] gives standby directories for `coffer serve --pg-standby` and signals for a
//!   cluster's processes.
//!
//! # Process hygiene
//!
//! Every server started here is registered; dropping a [`TestServer`] stops it (SIGTERM,
//! then SIGKILL), and a process-exit hook stops servers still alive (e.g. ones held in
//! statics and shared by several tests), stops any embedded PostgreSQL they left running,
//! stops the shared cluster and removes the temporary directories. No `coffer` or
//! `postgres` process outlives `cargo test`.
//!
//! Set `COFFER_TEST_KEEP=1` to keep the data directories (with each server's
//! `coffer.stderr.log`) for inspection; `COFFER_TEST_LOG` sets the servers' `RUST_LOG`
//! (default `info,sqlx=warn`); `COFFER_BIN` points at another `coffer` binary.
//!
//! # Sharing
//!
//! Each `#[tokio::test]` has its own runtime. Servers are plain child processes and may be
//! shared between tests (hold them in a `tokio::sync::OnceCell` static); clients are cheap
//! and must be created per test (their connection pools belong to one runtime).

pub mod browser;
pub mod chunked;
pub mod console;
pub mod pg;
pub mod pgproxy;
pub mod policy;
mod process;
pub mod raw;
pub mod sdk;
mod server;
pub mod standby;
pub mod util;
pub mod volumes;
pub mod xml;

pub use policy::policy_module;
pub use process::{coffer_binary, embedded_postmaster_pid, pid_alive};
pub use raw::{RawRequest, RawResponse, StreamingUpload};
pub use sdk::{ErrInfo, RecordedRequest, RequestRecorder, sdk_err};
pub use server::{AccountKeys, ServerBuilder, TestServer, https_client, postmaster_pid_file};
pub use util::{etag_of, md5_hex, random_bytes, sha256_hex, unique_bucket};
