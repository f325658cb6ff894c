//! Coffer: an S3-compatible object storage server.
//!
//! # Layout
//! - [`config`]: what the server is told on its command line.
//! - [`state`]: shared state handed to every request (pool, chunk store, clock).
//! - [`error`]: S3 error codes and the one error type clients see.
//! - [`http`]: accept loop, per-request pipeline (request id, span, routing, authentication,
//!   error rendering) and request/response bodies.
//! - [`auth`]: SigV4, SigV2, aws-chunked decoding and checksums (pure, no I/O).
//! - [`s3`]: routing to operations, XML, the access decision and the handlers.
//! - [`store`]: metadata in PostgreSQL, replicated chunk files on volumes with their repair,
//!   scrub and garbage collection, secrets.
//! - [`pg`]: the embedded PostgreSQL that `coffer serve` runs when given no database URL.
//! - [`metrics`]: S3 request and PostgreSQL metrics (lock-free counters) for `/metrics`.
//! - [`acl`], [`tags`], [`retention`]: the ACL, tag and retention models shared by the
//!   wire, the store and policies.
//!
//! The request path from socket to disk is described in `docs/ARCHITECTURE.md`.

pub mod acl;
pub mod auth;
pub mod config;
pub mod front;
pub mod http;
pub mod metrics;
pub mod pg;
pub mod policy;
pub mod retention;
pub mod s3;
pub mod state;
pub mod store;
pub mod tags;
