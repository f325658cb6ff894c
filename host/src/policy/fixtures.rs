//! The policy modules tests use, mostly hostile ones, built by
//! `host/build.rs` from `policies/fixtures/` into `<target>/wasm/fixtures/`
//! (normally `target/wasm/fixtures/`):
//!
//! | File | What it does | Expected |
//! |---|---|---|
//! | `allow-all.wasm` | `authorize` allows everything; exports only `authorize` | allow |
//! | `deny-all.wasm` | `authorize` denies everything; exports only `authorize` | deny |
//! | `echo-context.wasm` | built against `coffer:policy@0.4.0`: `authorize` denies everything, naming (and logging at `info`) the request's context (TLS, signature version, auth type and age, listing parameters, time) and the size of the bucket policy it received; exports only `authorize` | deny, with those in the reason, through the 0.4.0 bindings |
//! | `echo-tags.wasm` | built against `coffer:policy@0.3.0`: `authorize` denies everything, naming (and logging at `info`) the request's operation, key, version id, object tags and requested tags; exports only `authorize` | deny, with those in the reason, through the 0.3.0 bindings |
//! | `infinite-loop.wasm` | every hook loops forever | [`Error::Deadline`](super::Error::Deadline) |
//! | `legacy-v0-1.wasm` | built against `coffer:policy@0.1.0`: denies only `DeleteObject`, CORS for `https://legacy.example`, rejects `x-amz-meta-legacy-forbidden` | loaded and called through the 0.1.0 bindings |
//! | `legacy-v0-2.wasm` | built against `coffer:policy@0.2.0`: denies `DeleteObject` and keys under `private/`, CORS for `https://legacy-v0-2.example`, rejects `x-amz-meta-legacy-forbidden` and configurations containing `"refuse"` | loaded and called through the 0.2.0 bindings |
//! | `memory-bomb.wasm` | every hook allocates until growth is refused | [`Error::MemoryLimit`](super::Error::MemoryLimit) |
//! | `metadata-panic.wasm` | S3's standard `authorize`; `validate-metadata` panics; exports those two | allow, then [`Error::Trap`](super::Error::Trap) for metadata |
//! | `panic.wasm` | `authorize` logs and panics (config `"flood"`: logs 1 000 lines first); exports only `authorize` | [`Error::Trap`](super::Error::Trap); CORS and metadata answered by the default module |
//! | `wrong-world.wasm` | a valid component exporting `answer`, no hook | refused at load with [`Error::Abi`](super::Error::Abi) |
//! | `malformed.wasm` | not a component | refused at load with [`Error::Compile`](super::Error::Compile) |
//!
//! They are not built when `COFFER_SKIP_POLICY_FIXTURES` is set at build
//! time; [`Fixture::bytes`] then fails with `NotFound`.

use std::path::PathBuf;

/// Where the fixtures were built (absolute).
pub const DIR: &str = env!("COFFER_POLICY_FIXTURES_DIR");

/// One test module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fixture {
    /// Allows every request (`authorize` only).
    AllowAll,
    /// Denies every request (`authorize` only).
    DenyAll,
    /// Denies everything, naming the request context it saw.
    EchoContext,
    /// Built against contract 0.3.0: denies everything, naming the version id and
    /// tags it saw.
    EchoTags,
    /// Loops forever in every hook.
    InfiniteLoop,
    /// Built against contract 0.1.0 (every hook of that version).
    LegacyV0_1,
    /// Built against contract 0.2.0 (every hook of that version).
    LegacyV0_2,
    /// Exhausts memory in every hook.
    MemoryBomb,
    /// Standard `authorize`, panics in `validate-metadata`.
    MetadataPanic,
    /// Panics in `authorize` (its only hook).
    Panic,
    /// A component of another world.
    WrongWorld,
    /// Not a component.
    Malformed,
}

impl Fixture {
    /// Every fixture.
    pub const ALL: [Fixture; 12] = [
        Fixture::AllowAll,
        Fixture::DenyAll,
        Fixture::EchoContext,
        Fixture::EchoTags,
        Fixture::InfiniteLoop,
        Fixture::LegacyV0_1,
        Fixture::LegacyV0_2,
        Fixture::MemoryBomb,
        Fixture::MetadataPanic,
        Fixture::Panic,
        Fixture::WrongWorld,
        Fixture::Malformed,
    ];

    /// The file name in [`DIR`].
    pub fn file_name(self) -> &'static str {
        match self {
            Fixture::AllowAll => "allow-all.wasm",
            Fixture::DenyAll => "deny-all.wasm",
            Fixture::EchoContext => "echo-context.wasm",
            Fixture::EchoTags => "echo-tags.wasm",
            Fixture::InfiniteLoop => "infinite-loop.wasm",
            Fixture::LegacyV0_1 => "legacy-v0-1.wasm",
            Fixture::LegacyV0_2 => "legacy-v0-2.wasm",
            Fixture::MemoryBomb => "memory-bomb.wasm",
            Fixture::MetadataPanic => "metadata-panic.wasm",
            Fixture::Panic => "panic.wasm",
            Fixture::WrongWorld => "wrong-world.wasm",
            Fixture::Malformed => "malformed.wasm",
        }
    }

    /// The fixture's path.
    pub fn path(self) -> PathBuf {
        PathBuf::from(DIR).join(self.file_name())
    }

    /// The fixture's bytes.
    pub fn bytes(self) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.path())
    }
}
