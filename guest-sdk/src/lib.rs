//! Guest SDK for Coffer policy modules.
//!
//! Placeholder until the policy engine lands (issue 3): the WIT contract, generated
//! types, the export macro and S3's standard ACL semantics will live here.
