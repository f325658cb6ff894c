//! Guest SDK for Coffer policy modules.
//!
//! Coffer makes per-bucket access decisions in sandboxed WebAssembly
//! components. The contract is the WIT package `coffer:policy@0.5.0` in
//! `wit/policy.wit` (available as [`WIT`]), and the limits the host enforces
//! on every decision are in `wit/LIMITS.md`. This crate provides:
//!
//! - [`types`]: plain Rust mirrors of the WIT records ([`Request`],
//!   [`Principal`], [`Acl`], [`Decision`], ...), so policy logic can be unit
//!   tested natively;
//! - [`acl`]: S3's standard ACL semantics ([`required_permission`],
//!   [`grants_permission`], [`standard_decision`]) — the default module's
//!   logic, for custom modules to wrap;
//! - [`canned`]: S3's canned ACLs ([`canned_acl`]);
//! - [`cors`]: S3's CORS rule matching ([`standard_cors`]), the default
//!   module's logic;
//! - [`export`]: the hook traits ([`Authorizer`], [`CorsProvider`],
//!   [`MetadataValidator`], [`ConfigChecker`]) and the one-line export macros
//!   ([`export_authorizer!`], [`export_cors_provider!`],
//!   [`export_metadata_validator!`], [`export_config_checker!`],
//!   [`export_policy!`]) that turn a crate
//!   built for `wasm32-wasip2` into a policy component exporting just those
//!   hooks (the host uses the default module for the others); [`bindings`]
//!   holds the `wit-bindgen` output and its conversions to [`types`];
//! - `metadata_rules` (feature `metadata-rules`): declarative rules for user
//!   metadata in JSON Schema's vocabulary, the default module's
//!   `validate-metadata`, for custom modules to reuse;
//! - `bucket_policy` (feature `bucket-policy`): AWS's bucket-policy language
//!   (IAM JSON): parsing and validation with S3's `MalformedPolicy` messages
//!   (feature `bucket-policy-parse`), a compact binary form evaluated in
//!   place, evaluation (explicit deny, allow, or no match) and S3's "is
//!   public" test; `access`: S3's decision with the bucket policy and the
//!   ACLs together, which [`standard_decision`] makes.
//!
//! Library code never panics: a panic in WebAssembly is a trap, which the
//! host turns into a denial.
//!
//! # Features
//!
//! - `std` (default): the module links Rust's standard library. Without it
//!   the SDK is `no_std` + `alloc` and, on wasm32, supplies the global
//!   allocator (a static arena, then dlmalloc), the panic handler and
//!   `cabi_realloc`; the module then imports nothing from WASI, which makes
//!   every decision cheaper (`docs/policies.md`, "a faster module").
//! - `log-panics` (default): a panic's message goes to the host log before
//!   the trap. Without it, a module that never calls [`log`] imports nothing.
//! - `metadata-rules`: the `metadata_rules` module (adds `serde_json` and
//!   the `regex-automata` Pike VM, both without `std`).
//! - `bucket-policy` (default): the `bucket_policy` module's decoding and
//!   evaluation, and `access`, S3's decision with the bucket policy, which
//!   [`standard_decision`] makes (no dependency). Without it,
//!   [`standard_decision`] denies every request to a bucket that has a policy
//!   rather than ignore the policy's `Deny` statements.
//! - `bucket-policy-parse`: `bucket_policy::parse`, validating and compiling
//!   a policy document as the host does (adds `serde_json` without `std`).
//!
//! # Example
//!
//! A custom policy: S3's standard rules, except that writes are refused
//! outside business networks and anonymous reads need a header.
//!
//! ```
//! use coffer_guest_sdk::{
//!     canned_acl, required_permission, standard_decision, Decision, Permission, Principal,
//!     Request, Required,
//! };
//!
//! fn authorize(req: &Request) -> Decision {
//!     if matches!(required_permission(&req.operation), Some(Required::Bucket(Permission::Write)))
//!         && !req.source_ip.starts_with("10.")
//!     {
//!         return Decision::deny("writes only from 10.0.0.0/8");
//!     }
//!     if req.principal == Principal::Anonymous && req.header("x-team") != Some("docs") {
//!         return Decision::deny("anonymous requests need x-team: docs");
//!     }
//!     standard_decision(req)
//! }
//!
//! # fn main() -> Result<(), coffer_guest_sdk::CannedAclError> {
//! let bucket_acl = canned_acl("public-read", "alice-id", None)?;
//! let object_acl = canned_acl("private", "alice-id", Some("alice-id"))?;
//! let mut req = Request::new("ListObjectsV2", Principal::Anonymous);
//! req.bucket = Some("photos".into());
//! req.source_ip = "192.0.2.7".into();
//! req.bucket_owner = Some("alice-id".into());
//! req.bucket_acl = Some(bucket_acl);
//!
//! // Anonymous listing of a public-read bucket needs the header here.
//! assert!(!authorize(&req).is_allowed());
//! req.headers.push(coffer_guest_sdk::Header::new("X-Team", "docs"));
//! assert!(authorize(&req).is_allowed());
//!
//! // The object itself is private: listing is allowed, reading is not.
//! req.operation = "GetObject".into();
//! req.key = Some("cat.jpg".into());
//! req.object_owner = Some("alice-id".into());
//! req.object_acl = Some(object_acl);
//! assert!(!authorize(&req).is_allowed());
//!
//! // Alice may write, but only from inside the network.
//! req.principal = Principal::account("alice-id");
//! req.operation = "PutObject".into();
//! assert!(!authorize(&req).is_allowed());
//! req.source_ip = "10.1.2.3".into();
//! assert!(authorize(&req).is_allowed());
//!
//! // Unknown operations fail closed.
//! req.operation = "SelectObjectContent".into();
//! assert!(!authorize(&req).is_allowed());
//! # Ok(())
//! # }
//! ```

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;
extern crate self as coffer_guest_sdk;

#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
mod no_std_runtime;
mod prelude;

#[cfg(feature = "bucket-policy")]
pub mod access;
pub mod acl;
pub mod bindings;
#[cfg(feature = "bucket-policy")]
pub mod bucket_policy;
pub mod canned;
pub mod cors;
pub mod export;
#[cfg(feature = "metadata-rules")]
pub mod metadata_rules;
pub mod public_access;
pub mod types;

#[doc(hidden)]
pub use export::__private;
/// `alloc` types for the export macros, which expand in crates that may be
/// `no_std` without `extern crate alloc`.
#[doc(hidden)]
pub mod __alloc {
    pub use alloc::{string::String, vec::Vec};
}
pub use export::{Authorizer, ConfigChecker, CorsProvider, Level, MetadataValidator, log};

pub use acl::{
    Required, Resource, acl_decision, grants_permission, required_permission, standard_decision,
};
pub use canned::{CannedAclError, canned_acl};
pub use cors::standard_cors;
pub use types::{
    Account, Acl, AuthType, CorsKind, CorsRequest, CorsRule, CorsRuleMatch, Decision, ErrorCode,
    Grant, Grantee, Group, Header, ObjectOwnership, Permission, Principal, PublicAccessBlock,
    Request, RequestContext, Signature, SignatureVersion, Tag,
};

/// The WIT contract (`wit/policy.wit`), for hosts and tools that want the text.
pub const WIT: &str = include_str!("../wit/policy.wit");
