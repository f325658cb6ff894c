//! A typical request, for measuring decisions: the same input for the
//! benchmark (`coffer bench --scenario decision`) and the engine's phase
//! timings, so their figures compare.

use super::types;

/// `GetObject` by a grantee of the object's ACL, by an SDK client: what
/// `coffer bench --scenario decision` and the engine's `phases` diagnostic
/// time.
pub fn typical_get_request() -> types::Request {
    let grant = |id: &str, permission| types::Grant {
        grantee: types::Grantee::CanonicalUser(id.into()),
        permission,
    };
    let acl = |owner: &str| types::Acl {
        owner: owner.into(),
        grants: vec![
            grant("bob-canonical-id", types::Permission::Read),
            grant("carol-canonical-id", types::Permission::FullControl),
            types::Grant {
                grantee: types::Grantee::Group(types::Group::AuthenticatedUsers),
                permission: types::Permission::ReadAcp,
            },
        ],
    };
    let header = |name: &str, value: &str| types::Header {
        name: name.into(),
        value: value.into(),
    };
    types::Request {
        operation: "GetObject".into(),
        bucket: Some("photos".into()),
        key: Some("2024/holiday/IMG_0042.jpg".into()),
        principal: types::Principal::Account(types::Account {
            canonical_id: "bob-canonical-id".into(),
            display_name: "bob".into(),
        }),
        source_ip: "192.0.2.10".into(),
        // What the server passes on for an aws-sdk GET (signing, transport and
        // SDK bookkeeping headers are not shown to modules).
        headers: vec![
            header("user-agent", "aws-sdk-rust/1.0 os/linux lang/rust"),
            header("x-amz-user-agent", "aws-sdk-rust/1.0 api/s3/1.0 os/linux"),
        ],
        bucket_owner: Some("alice-canonical-id".into()),
        object_owner: Some("alice-canonical-id".into()),
        bucket_acl: Some(acl("alice-canonical-id")),
        object_acl: Some(acl("alice-canonical-id")),
        config: None,
        version_id: None,
        object_tags: Some(Vec::new()),
        request_tags: Vec::new(),
        bucket_policy: None,
        context: types::RequestContext {
            current_time: 1_700_000_000,
            secure_transport: false,
            signature: None,
            query: Vec::new(),
        },
        public_access_block: types::PublicAccessBlock {
            block_public_acls: false,
            ignore_public_acls: false,
            block_public_policy: false,
            restrict_public_buckets: false,
        },
        object_ownership: types::ObjectOwnership::ObjectWriter,
        request_acl: None,
        request_bucket_policy: None,
    }
}
