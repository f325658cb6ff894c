//! Why a policy module could not be loaded or could not decide. Every one of
//! these fails closed: a denial for `authorize` and `validate-metadata`, no
//! CORS rule for `cors` (see `guest-sdk/wit/LIMITS.md`).

use std::time::Duration;

/// A failure to load a module or to get an answer from it. A *deny* is not an
/// error: it is a [`Decision`](super::types::Decision).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The module trapped (including a Rust panic, which aborts with
    /// `unreachable`, and calls to the WASI functions the host stubs out).
    #[error("policy module trapped: {0}")]
    Trap(String),
    /// The module ran past its deadline (see `policy::deadline`).
    #[error("policy module exceeded its {0:?} deadline")]
    Deadline(Duration),
    /// The module kept hitting its deadline and is quarantined: it was not
    /// run (see `policy::quarantine`).
    #[error(
        "policy module is quarantined for another {0:?} after repeatedly exceeding its deadline"
    )]
    Quarantined(Duration),
    /// The module tried to grow its memory past the limit (and trapped
    /// because of it).
    #[error("policy module exceeded its memory limit of {limit} bytes")]
    MemoryLimit {
        /// The limit in bytes.
        limit: usize,
    },
    /// The (estimated canonical-ABI) input is larger than allowed; the module
    /// was not called.
    #[error("policy input of about {size} bytes exceeds the limit of {limit} bytes")]
    InputTooLarge {
        /// Estimated input size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The component does not fit the `coffer:policy` contract: it exports
    /// none of the hooks, a hook with the wrong type, imports something the
    /// host does not provide, or returned a malformed value.
    #[error("policy module does not fit the coffer:policy contract: {0}")]
    Abi(String),
    /// The bytes are not a valid component, or are too large to load.
    #[error("policy module failed to compile: {0}")]
    Compile(String),
    /// The engine could not run the module at all, e.g. every pooled
    /// instance slot is busy.
    #[error("policy engine unavailable: {0}")]
    Unavailable(String),
}

impl Error {
    /// The metric label for this failure.
    pub fn kind(&self) -> FailureKind {
        match self {
            Error::Trap(_) => FailureKind::Trap,
            Error::Deadline(_) => FailureKind::Deadline,
            Error::Quarantined(_) => FailureKind::Quarantined,
            Error::MemoryLimit { .. } => FailureKind::Memory,
            Error::InputTooLarge { .. } => FailureKind::Input,
            Error::Abi(_) | Error::Compile(_) => FailureKind::Abi,
            Error::Unavailable(_) => FailureKind::Unavailable,
        }
    }
}

/// The kinds of failure counted by `coffer_policy_failures_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// [`Error::Trap`].
    Trap,
    /// [`Error::Deadline`].
    Deadline,
    /// [`Error::Quarantined`].
    Quarantined,
    /// [`Error::MemoryLimit`].
    Memory,
    /// [`Error::InputTooLarge`].
    Input,
    /// [`Error::Abi`] (and [`Error::Compile`]).
    Abi,
    /// [`Error::Unavailable`].
    Unavailable,
}

impl FailureKind {
    /// Every kind, in metric order.
    pub const ALL: [FailureKind; 7] = [
        FailureKind::Trap,
        FailureKind::Deadline,
        FailureKind::Quarantined,
        FailureKind::Memory,
        FailureKind::Input,
        FailureKind::Abi,
        FailureKind::Unavailable,
    ];

    /// The `kind` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Trap => "trap",
            FailureKind::Deadline => "deadline",
            FailureKind::Quarantined => "quarantined",
            FailureKind::Memory => "memory",
            FailureKind::Input => "input",
            FailureKind::Abi => "abi",
            FailureKind::Unavailable => "unavailable",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
