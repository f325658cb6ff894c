//! Answers of `authorize` and `cors` already given, reused for identical
//! requests.
//!
//! A policy module is a pure function of its input: it sees only the
//! `request` record (which carries the bucket's configuration), runs in a
//! fresh instance whose memory starts from the same image every time, and
//! imports nothing that could differ between calls (no clock, no randomness,
//! no I/O; `log` returns nothing). So the answer a module gave for a request
//! is the answer it would give again, and evaluating it again only costs
//! time: in a busy server one evaluation of the default module takes about
//! 20 us of CPU with cold caches, the whole authorize step with a hit here
//! about 3-4 us.
//!
//! The key is the whole input, byte for byte (never a hash of it alone: a
//! collision would hand one request another's answer): the hook, the digest
//! of the component that evaluates it, then every field of the request in a
//! length-prefixed encoding. Attaching another module, changing the bucket's
//! configuration or an ACL therefore changes the key; nothing is invalidated
//! because nothing can go stale.
//!
//! Only plain answers are kept: a call that failed (trap, deadline, limits)
//! is not an answer, and a call that logged is not cached either, so a module
//! that logs its decisions logs every one of them.
//!
//! The cache is bounded by bytes (keys plus answers), shared by all modules,
//! and evicts with quick_cache's S3-FIFO policy (entries seen once leave
//! first, so a scan of distinct keys does not flush the hot set).

use std::collections::hash_map::RandomState;

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use super::types;

/// Bytes an entry is charged on top of its key and answer: the map's own
/// bookkeeping.
const ENTRY_OVERHEAD: u64 = 64;

/// Typical entry size, to size the table for a byte budget.
const TYPICAL_ENTRY: u64 = 512;

/// Cached answers, bounded by bytes.
pub(crate) struct DecisionCache {
    /// Keyed with SipHash and a random key: the requests are the client's.
    entries: Cache<Box<[u8]>, Answer, EntryBytes, RandomState>,
}

/// A cached answer of one of the hooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// An `authorize` answer.
    Authorize(types::Decision),
    /// A `cors` answer.
    Cors(Option<types::CorsRuleMatch>),
}

impl Answer {
    /// Heap bytes the answer holds.
    fn bytes(&self) -> usize {
        let strings = |v: &[String]| v.iter().map(|s| s.len() + 24).sum::<usize>();
        match self {
            Answer::Authorize(
                types::Decision::Allow(reason)
                | types::Decision::Deny(reason)
                | types::Decision::Refuse(types::Refusal { reason, .. }),
            ) => reason.len(),
            Answer::Cors(None) => 0,
            Answer::Cors(Some(m)) => {
                m.allowed_origin.len()
                    + strings(&m.allowed_methods)
                    + strings(&m.allowed_headers)
                    + strings(&m.expose_headers)
            }
        }
    }
}

/// Charges an entry its key, its answer and [`ENTRY_OVERHEAD`].
#[derive(Clone)]
struct EntryBytes;

impl Weighter<Box<[u8]>, Answer> for EntryBytes {
    fn weight(&self, key: &Box<[u8]>, answer: &Answer) -> u64 {
        (key.len() + answer.bytes()) as u64 + ENTRY_OVERHEAD
    }
}

impl DecisionCache {
    /// A cache holding at most `bytes`; `None` for 0 (caching off).
    pub(crate) fn new(bytes: usize) -> Option<Self> {
        if bytes == 0 {
            return None;
        }
        let bytes = bytes as u64;
        let items = usize::try_from((bytes / TYPICAL_ENTRY).max(1)).unwrap_or(usize::MAX);
        Some(Self {
            entries: Cache::with(
                items,
                bytes,
                EntryBytes,
                RandomState::new(),
                Default::default(),
            ),
        })
    }

    /// The answer cached under `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Option<Answer> {
        self.entries.get(key)
    }

    /// Keeps `answer` as the answer for `key`.
    pub(crate) fn insert(&self, key: Vec<u8>, answer: Answer) {
        self.entries.insert(key.into_boxed_slice(), answer);
    }

    /// Entries held (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// The cache key of `authorize(req)` evaluated by the component with
/// `digest`: the digest, then every field of `req`. A `Vec`, so that a
/// lookup that hits does not pay for shrinking it into the stored box.
pub(crate) fn authorize_key(digest: &[u8; 32], req: &types::Request) -> Vec<u8> {
    let mut key = Key(Vec::with_capacity(TYPICAL_ENTRY as usize));
    key.tag(0);
    key.0.extend_from_slice(digest);
    key.request(req);
    key.0
}

/// The cache key of `cors(req)` evaluated by the component with `digest`.
pub(crate) fn cors_key(digest: &[u8; 32], req: &types::CorsRequest) -> Vec<u8> {
    let mut key = Key(Vec::with_capacity(TYPICAL_ENTRY as usize));
    key.tag(1);
    key.0.extend_from_slice(digest);
    key.cors_request(req);
    key.0
}

/// The encoder. Every value is self-delimiting (strings and lists carry
/// their length, options and variants a tag), so two different requests
/// never encode alike. Records are destructured field by field: a field
/// added to the contract does not compile until it is encoded here.
struct Key(Vec<u8>);

impl Key {
    fn tag(&mut self, tag: u8) {
        self.0.push(tag);
    }

    fn len(&mut self, len: usize) {
        self.0.extend_from_slice(&(len as u64).to_le_bytes());
    }

    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }

    fn opt<T>(&mut self, value: Option<&T>, mut some: impl FnMut(&mut Self, &T)) {
        match value {
            None => self.tag(0),
            Some(v) => {
                self.tag(1);
                some(self, v);
            }
        }
    }

    fn request(&mut self, req: &types::Request) {
        let types::Request {
            operation,
            bucket,
            key,
            principal,
            source_ip,
            headers,
            bucket_owner,
            object_owner,
            bucket_acl,
            object_acl,
            config,
            version_id,
            object_tags,
            request_tags,
            bucket_policy,
            context,
            public_access_block,
            object_ownership,
            request_acl,
            request_bucket_policy,
        } = req;
        self.str(operation);
        self.opt(bucket.as_ref(), |k, s| k.str(s));
        self.opt(key.as_ref(), |k, s| k.str(s));
        match principal {
            types::Principal::Anonymous => self.tag(0),
            types::Principal::Account(types::Account {
                canonical_id,
                display_name,
            }) => {
                self.tag(1);
                self.str(canonical_id);
                self.str(display_name);
            }
        }
        self.str(source_ip);
        self.len(headers.len());
        for types::Header { name, value } in headers {
            self.str(name);
            self.str(value);
        }
        self.opt(bucket_owner.as_ref(), |k, s| k.str(s));
        self.opt(object_owner.as_ref(), |k, s| k.str(s));
        self.opt(bucket_acl.as_ref(), Self::acl);
        self.opt(object_acl.as_ref(), Self::acl);
        self.opt(config.as_ref(), |k, s| k.str(s));
        self.opt(version_id.as_ref(), |k, s| k.str(s));
        self.opt(object_tags.as_ref(), |k, tags| k.tags(tags));
        self.tags(request_tags);
        self.opt(bucket_policy.as_ref(), |k, bytes| k.bytes(bytes));
        self.context(context);
        let types::PublicAccessBlock {
            block_public_acls,
            ignore_public_acls,
            block_public_policy,
            restrict_public_buckets,
        } = public_access_block;
        for flag in [
            block_public_acls,
            ignore_public_acls,
            block_public_policy,
            restrict_public_buckets,
        ] {
            self.tag(u8::from(*flag));
        }
        self.tag(match object_ownership {
            types::ObjectOwnership::ObjectWriter => 0,
            types::ObjectOwnership::BucketOwnerPreferred => 1,
            types::ObjectOwnership::BucketOwnerEnforced => 2,
        });
        self.opt(request_acl.as_ref(), Self::acl);
        self.opt(request_bucket_policy.as_ref(), |k, bytes| k.bytes(bytes));
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.len(bytes.len());
        self.0.extend_from_slice(bytes);
    }

    fn context(&mut self, context: &types::RequestContext) {
        let types::RequestContext {
            current_time,
            secure_transport,
            signature,
            query,
        } = context;
        self.0.extend_from_slice(&current_time.to_le_bytes());
        self.tag(u8::from(*secure_transport));
        self.opt(signature.as_ref(), |k, s| {
            let types::Signature {
                version,
                auth_type,
                signed_at,
            } = s;
            k.tag(match version {
                types::SignatureVersion::V2 => 0,
                types::SignatureVersion::V4 => 1,
            });
            k.tag(match auth_type {
                types::AuthType::Header => 0,
                types::AuthType::QueryString => 1,
                types::AuthType::Post => 2,
            });
            k.opt(signed_at.as_ref(), |k, t| {
                k.0.extend_from_slice(&t.to_le_bytes())
            });
        });
        self.len(query.len());
        for types::Header { name, value } in query {
            self.str(name);
            self.str(value);
        }
    }

    fn tags(&mut self, tags: &[types::Tag]) {
        self.len(tags.len());
        for types::Tag { key, value } in tags {
            self.str(key);
            self.str(value);
        }
    }

    fn strs(&mut self, list: &[String]) {
        self.len(list.len());
        for s in list {
            self.str(s);
        }
    }

    fn cors_request(&mut self, req: &types::CorsRequest) {
        let types::CorsRequest {
            kind,
            origin,
            method,
            request_headers,
            bucket,
            key,
            rules,
            config,
        } = req;
        self.tag(match kind {
            types::CorsKind::Preflight => 0,
            types::CorsKind::Actual => 1,
        });
        self.str(origin);
        self.str(method);
        self.strs(request_headers);
        self.str(bucket);
        self.opt(key.as_ref(), |k, s| k.str(s));
        self.len(rules.len());
        for types::CorsRule {
            id,
            allowed_origins,
            allowed_methods,
            allowed_headers,
            expose_headers,
            max_age_seconds,
        } in rules
        {
            self.opt(id.as_ref(), |k, s| k.str(s));
            self.strs(allowed_origins);
            self.strs(allowed_methods);
            self.strs(allowed_headers);
            self.strs(expose_headers);
            self.opt(max_age_seconds.as_ref(), |k, n| {
                k.0.extend_from_slice(&n.to_le_bytes())
            });
        }
        self.opt(config.as_ref(), |k, s| k.str(s));
    }

    fn acl(&mut self, acl: &types::Acl) {
        let types::Acl { owner, grants } = acl;
        self.str(owner);
        self.len(grants.len());
        for types::Grant {
            grantee,
            permission,
        } in grants
        {
            match grantee {
                types::Grantee::CanonicalUser(id) => {
                    self.tag(0);
                    self.str(id);
                }
                types::Grantee::Group(group) => {
                    self.tag(1);
                    self.tag(match group {
                        types::Group::AllUsers => 0,
                        types::Group::AuthenticatedUsers => 1,
                    });
                }
                types::Grantee::Email(address) => {
                    self.tag(2);
                    self.str(address);
                }
            }
            self.tag(match permission {
                types::Permission::Read => 0,
                types::Permission::Write => 1,
                types::Permission::ReadAcp => 2,
                types::Permission::WriteAcp => 3,
                types::Permission::FullControl => 4,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::sample::typical_get_request;

    const DIGEST: [u8; 32] = [7; 32];

    fn key(req: &types::Request) -> Vec<u8> {
        authorize_key(&DIGEST, req)
    }

    #[test]
    fn the_same_request_has_the_same_key() {
        assert_eq!(key(&typical_get_request()), key(&typical_get_request()));
    }

    #[test]
    fn every_field_and_the_module_change_the_key() {
        let base = typical_get_request();
        let original = key(&base);
        let mut variants: Vec<types::Request> = Vec::new();
        let mut vary = |change: &dyn Fn(&mut types::Request)| {
            let mut r = base.clone();
            change(&mut r);
            variants.push(r);
        };
        vary(&|r| r.operation = "PutObject".into());
        vary(&|r| r.bucket = None);
        vary(&|r| r.key = Some("2024/holiday/IMG_0043.jpg".into()));
        vary(&|r| r.principal = types::Principal::Anonymous);
        vary(&|r| r.source_ip = "192.0.2.11".into());
        vary(&|r| r.headers.pop().map_or((), drop));
        vary(&|r| r.bucket_owner = Some("mallory".into()));
        vary(&|r| r.object_owner = None);
        vary(&|r| {
            if let Some(acl) = r.bucket_acl.as_mut() {
                acl.grants[0].permission = types::Permission::Write;
            }
        });
        vary(&|r| {
            if let Some(acl) = r.object_acl.as_mut() {
                acl.grants[2].grantee = types::Grantee::Group(types::Group::AllUsers);
            }
        });
        vary(&|r| r.config = Some("{}".into()));
        vary(&|r| r.version_id = Some("null".into()));
        vary(&|r| r.object_tags = None);
        vary(&|r| {
            r.object_tags = Some(vec![types::Tag {
                key: "public".into(),
                value: "true".into(),
            }])
        });
        vary(&|r| {
            r.request_tags = vec![types::Tag {
                key: "public".into(),
                value: "true".into(),
            }]
        });
        vary(&|r| r.bucket_policy = Some(vec![1]));
        vary(&|r| r.context.current_time += 1);
        vary(&|r| r.context.secure_transport = true);
        vary(&|r| {
            r.context.signature = Some(types::Signature {
                version: types::SignatureVersion::V4,
                auth_type: types::AuthType::Header,
                signed_at: None,
            })
        });
        vary(&|r| {
            r.context.query = vec![types::Header {
                name: "prefix".into(),
                value: "a/".into(),
            }]
        });
        for changed in &variants {
            assert_ne!(key(changed), original, "{changed:?}");
        }
        assert_ne!(authorize_key(&[8; 32], &base), original);
    }

    #[test]
    fn boundaries_between_strings_are_part_of_the_key() {
        // "ab" + "c" must not encode like "a" + "bc".
        let mut one = typical_get_request();
        one.bucket = Some("ab".into());
        one.key = Some("c".into());
        let mut two = typical_get_request();
        two.bucket = Some("a".into());
        two.key = Some("bc".into());
        assert_ne!(key(&one), key(&two));
        // An absent key differs from an empty one.
        let mut empty = typical_get_request();
        empty.key = Some(String::new());
        let mut absent = typical_get_request();
        absent.key = None;
        assert_ne!(key(&empty), key(&absent));
        // A tag moved from the object to the request changes the key, and so
        // does a key/value boundary.
        let tag = |k: &str, v: &str| types::Tag {
            key: k.into(),
            value: v.into(),
        };
        let mut on_object = typical_get_request();
        on_object.object_tags = Some(vec![tag("a", "b")]);
        let mut requested = typical_get_request();
        requested.request_tags = vec![tag("a", "b")];
        assert_ne!(key(&on_object), key(&requested));
        let mut split = typical_get_request();
        split.object_tags = Some(vec![tag("ab", "")]);
        assert_ne!(key(&on_object), key(&split));
    }

    #[test]
    fn cors_keys_cover_every_field_and_differ_from_authorize_keys() {
        let base = types::CorsRequest {
            kind: types::CorsKind::Preflight,
            origin: "https://a.example".into(),
            method: "PUT".into(),
            request_headers: vec!["content-type".into()],
            bucket: "b".into(),
            key: Some("k".into()),
            rules: vec![types::CorsRule {
                id: None,
                allowed_origins: vec!["*".into()],
                allowed_methods: vec!["PUT".into()],
                allowed_headers: vec![],
                expose_headers: vec![],
                max_age_seconds: None,
            }],
            config: None,
        };
        let original = cors_key(&DIGEST, &base);
        assert_eq!(original, cors_key(&DIGEST, &base.clone()));
        let changes: [&dyn Fn(&mut types::CorsRequest); 9] = [
            &|r| r.kind = types::CorsKind::Actual,
            &|r| r.origin.push('x'),
            &|r| r.method = "GET".into(),
            &|r| r.request_headers.clear(),
            &|r| r.bucket.push('x'),
            &|r| r.key = None,
            &|r| r.rules[0].max_age_seconds = Some(1),
            &|r| r.rules[0].allowed_headers.push("*".into()),
            &|r| r.config = Some("{}".into()),
        ];
        for change in changes {
            let mut r = base.clone();
            change(&mut r);
            assert_ne!(cors_key(&DIGEST, &r), original, "{r:?}");
        }
        assert_ne!(cors_key(&[8; 32], &base), original);
        assert_ne!(original[0], key(&typical_get_request())[0]);
    }

    #[test]
    fn holds_answers_within_its_byte_budget() {
        assert!(DecisionCache::new(0).is_none());
        let cache = DecisionCache::new(64 << 10).expect("a cache");
        let req = typical_get_request();
        let k = key(&req);
        assert!(cache.get(&k).is_none());
        cache.insert(
            k.clone(),
            Answer::Authorize(types::Decision::Deny("no".into())),
        );
        assert!(
            matches!(cache.get(&k), Some(Answer::Authorize(types::Decision::Deny(r))) if r == "no")
        );
        // Far more distinct entries than fit: the cache stays within budget.
        for i in 0..2000 {
            let mut r = req.clone();
            r.key = Some(format!("object-{i}"));
            cache.insert(
                key(&r),
                Answer::Authorize(types::Decision::Allow(String::new())),
            );
        }
        let mut small = req.clone();
        small.key = Some("object-0".into());
        let entry = key(&small).len() as u64 + ENTRY_OVERHEAD;
        assert!((cache.len() as u64) * entry <= 64 << 10, "{}", cache.len());
        assert!(cache.len() > 10);
    }
}
