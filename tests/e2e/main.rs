//! End-to-end tests: the real `coffer` binary, a real PostgreSQL, real S3 clients.
//!
//! Build the server first: `cargo build -p coffer --bin coffer`. Each module is one area;
//! most share one server per module (distinct bucket names keep tests apart), see
//! [`support`].

mod acl_api;
mod acl_matrix;
mod auth;
mod bad_input;
mod bench;
mod browser;
mod bucket_policy;
mod bucket_scale;
mod buckets;
mod clients_more;
mod clients_s3cmd;
mod clients_versions;
mod console_api;
mod console_browser;
mod console_firefox;
mod copy;
mod cors;
mod cors_requests;
mod embedded;
mod explain;
mod faults;
mod lifecycle;
mod lifecycle_rules;
mod listing;
mod metadata_rules;
mod metrics;
mod multipart;
mod object_lock;
mod objects;
mod ownership;
mod pg_standby;
mod policies;
mod policy_tags;
mod post_object;
mod presign;
mod public_access;
mod ranges_conditions;
mod request_reads;
mod shadow;
mod storage;
mod storage_races;
mod support;
mod tagging;
mod tls;
mod versioning;
mod volumes;
