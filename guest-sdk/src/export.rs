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
//! Each macro exports exactly one hook (WIT interface), except
//! [`export_policy!`](crate::export_policy), which exports all three. A
//! component exports only what its macros export: for a hook it does not
//! export, the host uses the default module's implementation (S3's standard
//! behaviour), so an authorizer-only module keeps S3's CORS and metadata
//! handling without reimplementing them. Macros for different hooks may be
//! combined in one crate; each hook may be exported once.

#[allow(unused_imports)]
use crate::prelude::*;

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
    /// Accept (`Ok`) or reject (`Err(message)`) the metadata of a write that
    /// creates an object. The message is sent to the client (`400
    /// InvalidArgument`).
    fn validate_metadata(req: &Request, headers: &[Header]) -> Result<(), String>;
}

/// The configuration hook (WIT `check-config`): run when an operator attaches
/// the module to a bucket with a configuration, so a bad one is refused then
/// rather than failing every request.
pub trait ConfigChecker {
    /// Accept (`Ok`) or refuse (`Err(message)`, shown to the operator)
    /// `config`, which is well-formed JSON of at most 16 KiB.
    fn check_config(config: &str) -> Result<(), String>;
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

    use super::{Authorizer, ConfigChecker, CorsProvider, MetadataValidator};
    use crate::bindings::coffer::policy::types as wit;
    #[allow(unused_imports)]
    use crate::prelude::*;

    pub fn authorize<A: Authorizer>(req: wit::Request) -> wit::Decision {
        report_panics();
        A::authorize(&req.into()).into()
    }

    pub fn cors<C: CorsProvider>(req: wit::CorsRequest) -> Option<wit::CorsRuleMatch> {
        report_panics();
        C::cors(&req.into()).map(Into::into)
    }

    pub fn validate_metadata<M: MetadataValidator>(
        req: wit::Request,
        headers: Vec<wit::Header>,
    ) -> Result<(), String> {
        report_panics();
        let headers: Vec<crate::Header> = headers.into_iter().map(Into::into).collect();
        M::validate_metadata(&req.into(), &headers)
    }

    /// Sends panic messages to the host log (at error level) instead of
    /// stderr, which modules do not have: the panic still aborts (a trap,
    /// so the decision fails closed), but the author can see why, e.g. with
    /// `coffer policy eval`. Installed once per instance, i.e. per decision.
    pub fn check_config<C: ConfigChecker>(config: String) -> Result<(), String> {
        report_panics();
        C::check_config(&config)
    }

    fn report_panics() {
        // Without `std`, the SDK's own panic handler does this (`no_std_runtime`).
        #[cfg(all(target_arch = "wasm32", feature = "std", feature = "log-panics"))]
        {
            static INSTALLED: std::sync::Once = std::sync::Once::new();
            INSTALLED.call_once(|| {
                std::panic::set_hook(Box::new(|info| {
                    crate::log(crate::Level::Error, &info.to_string());
                }));
            });
        }
    }
}

// The macros below wrap the hook type in a private unit struct implementing
// the generated `Guest` trait, and hand that struct to the generated world
// export macro, which emits the component exports and the custom section
// describing the world. The export functions are only emitted for wasm32:
// natively (unit tests, or the workspace building a module crate as a host
// cdylib) WIT export names are not valid linker symbols.

/// Export `$authorizer` (an [`Authorizer`]) as the module's `authorize` hook
/// (world `authorizer`). The component exports nothing else, so CORS and
/// metadata validation fall back to the default module. Use once per crate,
/// at module level.
#[macro_export]
macro_rules! export_authorizer {
    ($authorizer:ty) => {
        const _: () = {
            #[allow(dead_code)]
            struct __CofferAuthorizer;

            impl $crate::bindings::authorizer::exports::coffer::policy::authorize::Guest
                for __CofferAuthorizer
            {
                fn authorize(
                    req: $crate::bindings::coffer::policy::types::Request,
                ) -> $crate::bindings::coffer::policy::types::Decision {
                    $crate::__private::authorize::<$authorizer>(req)
                }
            }

            #[cfg(target_arch = "wasm32")]
            $crate::bindings::authorizer::__export_world!(
                __CofferAuthorizer with_types_in $crate::bindings::authorizer
            );
        };
    };
}

/// Export `$cors` (a [`CorsProvider`]) as the module's `cors` hook (world
/// `cors-provider`); authorization and metadata validation fall back to the
/// default module unless exported too. Use once per crate, at module level.
#[macro_export]
macro_rules! export_cors_provider {
    ($cors:ty) => {
        const _: () = {
            #[allow(dead_code)]
            struct __CofferCorsProvider;

            impl $crate::bindings::cors_provider::exports::coffer::policy::cors::Guest
                for __CofferCorsProvider
            {
                fn cors(
                    req: $crate::bindings::coffer::policy::types::CorsRequest,
                ) -> ::core::option::Option<$crate::bindings::coffer::policy::types::CorsRuleMatch>
                {
                    $crate::__private::cors::<$cors>(req)
                }
            }

            #[cfg(target_arch = "wasm32")]
            $crate::bindings::cors_provider::__export_world!(
                __CofferCorsProvider with_types_in $crate::bindings::cors_provider
            );
        };
    };
}

/// Export `$metadata` (a [`MetadataValidator`]) as the module's
/// `validate-metadata` hook (world `metadata-validator`); authorization and
/// CORS fall back to the default module unless exported too. Use once per
/// crate, at module level.
#[macro_export]
macro_rules! export_metadata_validator {
    ($metadata:ty) => {
        const _: () = {
            #[allow(dead_code)]
            struct __CofferMetadataValidator;

            impl $crate::bindings::metadata_validator::exports::coffer::policy::metadata::Guest
                for __CofferMetadataValidator
            {
                fn validate_metadata(
                    req: $crate::bindings::coffer::policy::types::Request,
                    headers: $crate::__alloc::Vec<$crate::bindings::coffer::policy::types::Header>,
                ) -> ::core::result::Result<(), $crate::__alloc::String> {
                    $crate::__private::validate_metadata::<$metadata>(req, headers)
                }
            }

            #[cfg(target_arch = "wasm32")]
            $crate::bindings::metadata_validator::__export_world!(
                __CofferMetadataValidator with_types_in $crate::bindings::metadata_validator
            );
        };
    };
}

/// Export `$checker` (a [`ConfigChecker`]) as the module's `check-config`
/// hook (world `config-checker`). Without it, any well-formed JSON
/// configuration is accepted at attach time. Use once per crate, at module
/// level.
#[macro_export]
macro_rules! export_config_checker {
    ($checker:ty) => {
        const _: () = {
            #[allow(dead_code)]
            struct __CofferConfigChecker;

            impl $crate::bindings::config_checker::exports::coffer::policy::config::Guest
                for __CofferConfigChecker
            {
                fn check_config(
                    config: $crate::__alloc::String,
                ) -> ::core::result::Result<(), $crate::__alloc::String> {
                    $crate::__private::check_config::<$checker>(config)
                }
            }

            #[cfg(target_arch = "wasm32")]
            $crate::bindings::config_checker::__export_world!(
                __CofferConfigChecker with_types_in $crate::bindings::config_checker
            );
        };
    };
}

/// Export the three decision hooks: `export_policy!(T)` for a type
/// implementing [`Authorizer`], [`CorsProvider`] and [`MetadataValidator`],
/// or `export_policy!(A, C, M)` for one type per hook. Equivalent to the
/// three single-hook macros; add
/// [`export_config_checker!`](crate::export_config_checker) to check the
/// configuration at attach time too. Use once per crate, at module level.
#[macro_export]
macro_rules! export_policy {
    ($policy:ty) => {
        $crate::export_policy!($policy, $policy, $policy);
    };
    ($authorizer:ty, $cors:ty, $metadata:ty) => {
        $crate::export_authorizer!($authorizer);
        $crate::export_cors_provider!($cors);
        $crate::export_metadata_validator!($metadata);
    };
}
