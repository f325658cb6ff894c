//! Per-bucket policy modules: sandboxed WebAssembly components implementing
//! the `coffer:policy@0.1.0` contract (`guest-sdk/wit/policy.wit`) under the
//! limits in `guest-sdk/wit/LIMITS.md`.
//!
//! [`PolicyEngine`] compiles components (cached by SHA-256 digest) and runs
//! each decision in a fresh, limited store. Not yet wired into request
//! handling: authorization still lives in `s3::authz`.

mod engine;

pub use engine::{CompiledPolicy, Decision, Error, Limits, PolicyEngine, Request, types};
