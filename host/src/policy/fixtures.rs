//! The policy modules tests use, mostly hostile ones, built by
//! `host/build.rs` from `policies/fixtures/` into `<target>/wasm/fixtures/`
//! (normally `target/wasm/fixtures/`):
//!
//! | File | What it does | Expected |
//! |---|---|---|
//! | `allow-all.wasm` | `authorize` allows everything; exports only `authorize` | allow |
//! | `deny-all.wasm` | `authorize` denies everything; exports only `authorize` | deny |
//! | `infinite-loop.wasm` | every hook loops forever | [`Error::Deadline`](super::Error::Deadline) |
//! | `legacy-v0-1.wasm` | built against `coffer:policy@0.1.0`: denies only `DeleteObject`, CORS for `https://legacy.example`, rejects `x-amz-meta-legacy-forbidden` | loaded and called through the 0.1.0 bindings |
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
    /// Loops forever in every hook.
    InfiniteLoop,
    /// Built against contract 0.1.0 (every hook of that version).
    LegacyV0_1,
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
    pub const ALL: [Fixture; 9] = [
        Fixture::AllowAll,
        Fixture::DenyAll,
        Fixture::InfiniteLoop,
        Fixture::LegacyV0_1,
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
            Fixture::InfiniteLoop => "infinite-loop.wasm",
            Fixture::LegacyV0_1 => "legacy-v0-1.wasm",
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
