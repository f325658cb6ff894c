//! The doors: what turns an HTTP request into calls of the layers below. Each door
//! authenticates its callers and builds what the layer it calls needs.
//!
//! - [`s3_service`]: the S3 API (`s3::dispatch`), with CORS and request metrics;
//! - [`admin`]: the admin API on its own listener, and `/metrics`;
//! - [`console`]: the web console on its own listener, whose actions are S3 requests;
//! - [`client_addr`]: the client's address behind trusted reverse proxies, for every door.
//!
//! Doors sit above the S3 API and import downward only: `s3`, `policy`, `store` and the
//! transport in `http` never import them.

pub mod admin;
pub mod client_addr;
pub mod console;
pub mod s3_service;
