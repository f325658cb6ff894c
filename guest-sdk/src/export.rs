//! The traits a policy module implements and the macros that export them as
//! the component's hooks.
//!
//! ```
//! struct MyPolicy;
//! impl coffer_guest_sdk::Authorizer for MyPolicy {
//!     fn authorize(req: &coffer_guest_sdk::Request) -> coffer_guest_sdk::Decision {
//!         coffer_guest_sdk::standard_decision(req)
//!     }
//! }
//! coffer_guest_sdk::export_authorizer!(MyPolicy);
//! ```
//!
//! The component always targets the full `policy` world; hooks a module does
//! not implement get the defaults below ([`NoCors`], [`AcceptMetadata`]).

use crate::types::{CorsRequest, CorsRuleMatch, Decision, Header, Request};

/// The authorization hook (WIT `authorize`).
pub trait Authorizer {
    /// Decide whether `req` may proceed.
    fn authorize(req: &Request) -> Decision;
}

/// The CORS hook (WIT `cors`).
pub trait CorsProvider {
    /// The rule matching `req`, or `None` to refuse the CORS request.
    fn cors(req: &CorsRequest) -> Option<CorsRuleMatch>;
}

/// The user-metadata hook (WIT `validate-metadata`).
pub trait MetadataValidator {
    /// Accept (`Ok`) or reject (`Err(message)`) the user metadata of a write.
    fn validate_metadata(req: &Request, headers: &[Header]) -> Result<(), String>;
}

/// Default CORS hook for modules that only authorize: no rule matches (what S3
/// does for a bucket without a CORS configuration).
pub struct NoCors;

impl CorsProvider for NoCors {
    fn cors(_req: &CorsRequest) -> Option<CorsRuleMatch> {
        None
    }
}

/// Default metadata hook for modules that only authorize: every metadata set
/// is accepted (S3's own limits are enforced by the host regardless).
pub struct AcceptMetadata;

impl MetadataValidator for AcceptMetadata {
    fn validate_metadata(_req: &Request, _headers: &[Header]) -> Result<(), String> {
        Ok(())
    }
}

/// Log severity for [`log`] (WIT `host.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Very detailed tracing.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operational messages.
    Info,
    /// Something unexpected but handled.
    Warn,
    /// A failure.
    Error,
}

/// Write `message` to the host's log (WIT `host.log`); the host tags it with
/// the module and bucket and may drop or truncate it (see `LIMITS.md`).
/// Natively (unit tests) this does nothing.
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        use crate::bindings::coffer::policy::host;
        let level = match level {
            Level::Trace => host::Level::Trace,
            Level::Debug => host::Level::Debug,
            Level::Info => host::Level::Info,
            Level::Warn => host::Level::Warn,
            Level::Error => host::Level::Error,
        };
        host::log(level, message);
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (level, message);
    }
}

/// Glue used by the export macros; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;

    use super::{Authorizer, CorsProvider, MetadataValidator};
    use crate::bindings::coffer::policy::types as wit;

    pub fn authorize<A: Authorizer>(req: wit::Request) -> wit::Decision {
        A::authorize(&req.into()).into()
    }

    pub fn cors<C: CorsProvider>(req: wit::CorsRequest) -> Option<wit::CorsRuleMatch> {
        C::cors(&req.into()).map(Into::into)
    }

    pub fn validate_metadata<M: MetadataValidator>(
        req: wit::Request,
        headers: Vec<wit::Header>,
    ) -> Result<(), String> {
        let headers: Vec<crate::Header> = headers.into_iter().map(Into::into).collect();
        M::validate_metadata(&req.into(), &headers)
    }
}

/// Export `$authorizer` (an [`Authorizer`]) as the module's `authorize` hook,
/// with the defaults [`NoCors`] and [`AcceptMetadata`] for the other hooks.
/// Use once per crate, at module level.
#[macro_export]
macro_rules! export_authorizer {
    ($authorizer:ty) => {
        $crate::export_policy!($authorizer, $crate::NoCors, $crate::AcceptMetadata);
    };
}

/// Export every hook: `export_policy!(T)` for a type implementing
/// [`Authorizer`], [`CorsProvider`] and [`MetadataValidator`], or
/// `export_policy!(A, C, M)` for one type per hook. Use once per crate, at
/// module level.
#[macro_export]
macro_rules! export_policy {
    ($policy:ty) => {
        $crate::export_policy!($policy, $policy, $policy);
    };
    ($authorizer:ty, $cors:ty, $metadata:ty) => {
        #[doc(hidden)]
        pub struct __CofferPolicyExports;

        impl $crate::bindings::exports::coffer::policy::authorize::Guest for __CofferPolicyExports {
            fn authorize(
                req: $crate::bindings::coffer::policy::types::Request,
            ) -> $crate::bindings::coffer::policy::types::Decision {
                $crate::__private::authorize::<$authorizer>(req)
            }
        }

        impl $crate::bindings::exports::coffer::policy::cors::Guest for __CofferPolicyExports {
            fn cors(
                req: $crate::bindings::coffer::policy::types::CorsRequest,
            ) -> ::core::option::Option<$crate::bindings::coffer::policy::types::CorsRuleMatch>
            {
                $crate::__private::cors::<$cors>(req)
            }
        }

        impl $crate::bindings::exports::coffer::policy::metadata::Guest for __CofferPolicyExports {
            fn validate_metadata(
                req: $crate::bindings::coffer::policy::types::Request,
                headers: ::std::vec::Vec<$crate::bindings::coffer::policy::types::Header>,
            ) -> ::core::result::Result<(), ::std::string::String> {
                $crate::__private::validate_metadata::<$metadata>(req, headers)
            }
        }

        // Only components get the exports: natively (unit tests, `cargo
        // build` of a module crate for the host) the WIT export names are not
        // valid linker symbols for a cdylib.
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::__export_policy_world!(
            __CofferPolicyExports with_types_in $crate::bindings
        );
    };
}
