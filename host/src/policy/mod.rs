//! Per-bucket policy modules: sandboxed WebAssembly components implementing
//! the `coffer:policy@0.3.0` contract (`guest-sdk/wit/policy.wit`) under the
//! limits in `guest-sdk/wit/LIMITS.md`; modules built against 0.1.0 and
//! 0.2.0 keep loading.
//!
//! # Layout
//! - [`PolicyEngine`] (`engine`): loads components (validated, compiled once
//!   per SHA-256 digest) and runs each hook call in a fresh store from a
//!   pooled, pre-linked instance; hooks a module lacks run in the embedded
//!   default module.
//! - `bindings`: the host side of the WIT contract (`bindgen!`), current and
//!   older versions; [`types`] are the current data types, `legacy`
//!   translates them for modules built against 0.1.0 and 0.2.0.
//! - [`Limits`] (`limits`): deadline, memory, input and log budgets, and the
//!   instance pool sized from them.
//! - `decision_cache`: `authorize` and `cors` answers reused for identical
//!   inputs (modules are pure functions of their input).
//! - `ticker`: advances the epoch while guest code runs, parks when idle.
//! - `deadline`: the per-decision CPU-time deadline behind the epoch ticks;
//!   `quarantine`: modules that keep hitting it are not run for a cool-down.
//! - `host_api`: the one import guests get (`log`) and per-decision state.
//! - `metrics`: per-module counters and the evaluation-time histogram.
//! - `input`: input size estimates checked before each call.
//! - [`fixtures`]: paths of the hostile test modules built by `build.rs`.
//! - [`catalog`], [`registry`]: the operator's modules and which bucket uses
//!   which.
//! - [`sample`]: the typical request decisions are timed with.

mod bindings;
pub mod catalog;
mod deadline;
mod decision_cache;
pub mod decision_log;
mod engine;
mod error;
mod exports;
pub mod fixtures;
mod host_api;
mod input;
mod legacy;
mod limits;
mod metrics;
mod quarantine;
pub mod registry;
pub mod request_json;
pub mod sample;
pub mod shadow;
mod ticker;

#[cfg(test)]
mod tests;

pub use bindings::types;
pub use engine::{DEFAULT_MODULE_NAME, Evaluation, Hook, LoadedModule, PolicyEngine};
pub use error::{Error, FailureKind};
pub use host_api::LogLine;
pub use limits::Limits;
pub use types::{Decision, Request};
