//! Engine tests against real components: the embedded default module and the
//! hostile fixtures of `policies/fixtures` (built by `build.rs`). Every
//! hostile module must fail closed with the right error and metric, and
//! leave the engine answering correctly afterwards.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::fixtures::Fixture;
use super::quarantine::Quarantine;
use super::types::{self, Account, Acl, Decision, Grant, Grantee, Group, Permission, Principal};
use super::{Error, FailureKind, Hook, Limits, LoadedModule, PolicyEngine};

/// Limits for tests that are not about the deadline: unoptimised (debug)
/// wasmtime takes around a millisecond per decision, and tests run in
/// parallel on few cores, so the 10 ms production deadline would make them
/// flaky. The decision cache is off, so every call evaluates (the cache has
/// its own tests).
fn relaxed() -> Limits {
    Limits {
        deadline: Duration::from_secs(5),
        decision_cache_bytes: 0,
        ..Limits::default()
    }
}

fn cached() -> PolicyEngine {
    PolicyEngine::new(Limits {
        decision_cache_bytes: 1 << 20,
        ..relaxed()
    })
    .expect("the engine starts")
}

fn engine() -> PolicyEngine {
    PolicyEngine::new(relaxed()).expect("the engine starts")
}

fn fixture(engine: &PolicyEngine, f: Fixture) -> Arc<LoadedModule> {
    let bytes = f.bytes().unwrap_or_else(|e| {
        panic!(
            "fixture {} is missing ({e}); build.rs builds it",
            f.path().display()
        )
    });
    engine
        .load(f.file_name(), &bytes)
        .unwrap_or_else(|e| panic!("fixture {f:?} does not load: {e}"))
}

fn alice() -> Principal {
    Principal::Account(Account {
        canonical_id: "alice-id".into(),
        display_name: "alice".into(),
    })
}

/// `GetObject` on a private object of alice's, with `principal` asking.
fn private_get(principal: Principal) -> types::Request {
    let acl = Acl {
        owner: "alice-id".into(),
        grants: vec![],
    };
    types::Request {
        operation: "GetObject".into(),
        bucket: Some("photos".into()),
        key: Some("cat.jpg".into()),
        principal,
        source_ip: "192.0.2.7".into(),
        headers: vec![],
        bucket_owner: Some("alice-id".into()),
        object_owner: Some("alice-id".into()),
        bucket_acl: Some(acl.clone()),
        object_acl: Some(acl),
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

fn cors_request() -> types::CorsRequest {
    types::CorsRequest {
        kind: types::CorsKind::Preflight,
        origin: "https://example.com".into(),
        method: "GET".into(),
        request_headers: vec![],
        bucket: "photos".into(),
        key: Some("cat.jpg".into()),
        rules: vec![types::CorsRule {
            id: Some("all".into()),
            allowed_origins: vec!["*".into()],
            allowed_methods: vec!["GET".into()],
            allowed_headers: vec![],
            expose_headers: vec![],
            max_age_seconds: Some(60),
        }],
        config: None,
    }
}

/// What S3 answers for [`cors_request`]: its one rule, whose origin is `*`.
fn star_match() -> types::CorsRuleMatch {
    types::CorsRuleMatch {
        rule_index: Some(0),
        allowed_origin: "*".into(),
        allow_credentials: false,
        allowed_methods: vec!["GET".into()],
        allowed_headers: vec![],
        expose_headers: vec![],
        max_age_seconds: Some(60),
    }
}

fn meta() -> Vec<types::Header> {
    vec![types::Header {
        name: "x-amz-meta-colour".into(),
        value: "blue".into(),
    }]
}

/// The default module still decides correctly: owner allowed, anonymous
/// denied, public-read readable by anyone.
fn assert_default_answers(engine: &PolicyEngine) {
    let default = engine.default_module();
    assert!(matches!(
        engine.authorize(default, &private_get(alice())).ok(),
        Some(Decision::Allow(_))
    ));
    assert!(matches!(
        engine.authorize(default, &private_get(Principal::Anonymous)),
        Ok(Decision::Deny(_))
    ));
    assert!(matches!(
        engine
            .authorize(default, &public_read(private_get(Principal::Anonymous)))
            .ok(),
        Some(Decision::Allow(_))
    ));
}

/// `req` with READ for everyone added to its object's ACL.
fn public_read(mut req: types::Request) -> types::Request {
    if let Some(acl) = req.object_acl.as_mut() {
        acl.grants.push(Grant {
            grantee: Grantee::Group(Group::AllUsers),
            permission: Permission::Read,
        });
    }
    req
}

#[test]
fn engine_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<PolicyEngine>();
    check::<LoadedModule>();
}

#[test]
fn default_module_exports_every_hook_and_answers() {
    let engine = engine();
    let default = engine.default_module();
    assert_eq!(default.name(), "default");
    assert_eq!(default.hooks(), Hook::ALL);
    assert_eq!(default.digest_hex().len(), 64);
    assert_default_answers(&engine);
    assert_eq!(default.contract(), "0.5.0");
    assert_eq!(
        engine.cors(default, &cors_request()).ok(),
        Some(Some(star_match()))
    );
    // The engine's default is the build without metadata rules: it refuses every
    // configuration rather than let rules pass unchecked.
    assert!(matches!(engine.check_config(default, "{}"), Ok(Err(_))));
    assert_eq!(
        engine
            .validate_metadata(default, &private_get(alice()), &meta())
            .ok(),
        Some(Ok(()))
    );
    let m = default.metrics();
    assert_eq!(m.decisions(Hook::Authorize), 3);
    assert_eq!(m.denials(Hook::Authorize), 1);
    assert_eq!(m.decisions(Hook::Cors), 1);
    assert_eq!(m.denials(Hook::Cors), 0);
    assert_eq!(m.decisions(Hook::Metadata), 1);
    assert_eq!(m.decisions(Hook::Config), 1);
}

/// The embedded default module applies the metadata rules of its configuration
/// (`coffer_guest_sdk::metadata_rules`), compiling patterns as deep as the rules allow
/// on its 64 KiB stack.
#[test]
fn default_module_applies_metadata_rules() {
    let engine = engine();
    let with_rules = super::registry::default_with_rules(&engine).expect("it loads");
    let default = &with_rules;
    assert_eq!(default.name(), "default");
    assert_eq!(default.hooks(), Hook::ALL);
    let deep = format!("^{}[a-z]{}$", "(?:".repeat(30), ")".repeat(30));
    let config = serde_json::json!({"metadata": [{
        "prefix": "cat",
        "schema": {
            "required": ["owner"],
            "properties": {
                "owner": {"pattern": "^[a-z]+$", "maxLength": 8},
                "stage": {"enum": ["draft", "final"]},
                "deep": {"pattern": deep},
                "word": {"pattern": r"^\w+(-\w+)*\b$"}
            },
            "additionalProperties": false,
            "propertyNames": {"pattern": "^[a-z]{1,16}$"}
        },
        "content_types": ["image/*"]
    }]})
    .to_string();
    assert_eq!(
        coffer_guest_sdk::metadata_rules::check_config(&config),
        Ok(())
    );
    let mut req = private_get(alice());
    req.operation = "PutObject".into();
    req.config = Some(config);
    req.headers = vec![types::Header {
        name: "content-type".into(),
        value: "image/jpeg".into(),
    }];
    let meta = |pairs: &[(&str, &str)]| -> Vec<types::Header> {
        pairs
            .iter()
            .map(|(n, v)| types::Header {
                name: format!("x-amz-meta-{n}"),
                value: (*v).into(),
            })
            .collect()
    };
    let judge = |req: &types::Request, pairs: &[(&str, &str)]| {
        engine
            .validate_metadata(default, req, &meta(pairs))
            .expect("the module answers")
    };
    let good = [("owner", "alice"), ("deep", "x"), ("word", "snake_case-9")];
    assert_eq!(judge(&req, &good), Ok(()));
    assert_eq!(
        judge(&req, &[("owner", "Alice")]),
        Err("x-amz-meta-owner does not match ^[a-z]+$".into())
    );
    assert_eq!(
        judge(&req, &[("owner", "a"), ("extra", "1")]),
        Err("x-amz-meta-extra is not allowed".into())
    );
    assert_eq!(judge(&req, &[]), Err("x-amz-meta-owner is required".into()));
    req.headers[0].value = "text/plain".into();
    assert_eq!(
        judge(&req, &good),
        Err("content type text/plain is not allowed".into())
    );
    // Another key: no rule applies.
    req.key = Some("dog.txt".into());
    assert_eq!(judge(&req, &[]), Ok(()));
    // A configuration error rejects every write, with the error.
    req.config = Some(r#"{"metadata": [{"schema": {"requird": []}}]}"#.into());
    let err = judge(&req, &good).expect_err("rejected");
    assert!(err.contains("requird"), "{err}");
    // The engine's default module (built without the rules) refuses any configuration
    // rather than let metadata through unchecked; without one it accepts.
    let lean = engine.default_module();
    assert!(!lean.same_compiled(default));
    let refused = engine.validate_metadata(lean, &req, &meta(&good));
    assert!(matches!(refused, Ok(Err(_))), "{refused:?}");
    req.config = None;
    assert_eq!(engine.validate_metadata(lean, &req, &[]).ok(), Some(Ok(())));
}

#[test]
fn decisions_are_fast_enough_to_measure() {
    let engine = engine();
    let default = engine.default_module();
    let req = private_get(alice());
    let n = 500;
    let start = Instant::now();
    for _ in 0..n {
        assert!(matches!(
            engine.authorize(default, &req),
            Ok(Decision::Allow(_))
        ));
    }
    // A sanity bound for debug builds on a loaded machine; `coffer bench
    // --scenario decision` measures release builds properly.
    let mean = start.elapsed() / n;
    println!("one decision takes {mean:?} on average (this build profile)");
    assert!(mean < Duration::from_millis(5), "{mean:?}");
}

#[test]
fn same_bytes_compile_once_under_two_names() {
    let engine = engine();
    let bytes = PolicyEngine::default_module_wasm();
    let a = engine.load("a", bytes).expect("loads");
    let t = Instant::now();
    let b = engine.load("b", bytes).expect("loads");
    println!("cached load took {:?}", t.elapsed());
    assert!(a.same_compiled(&b));
    assert!(a.same_compiled(engine.default_module()));
    assert_eq!((a.name(), b.name()), ("a", "b"));
    assert_eq!(a.digest_hex(), engine.default_module().digest_hex());
}

#[test]
fn metrics_are_labelled_by_module_and_digest() {
    let engine = engine();
    let module = engine
        .load("acl-copy", PolicyEngine::default_module_wasm())
        .expect("loads");
    engine
        .authorize(&module, &private_get(Principal::Anonymous))
        .expect("answers");
    let mut out = String::new();
    engine.render_metrics(&mut out);
    let digest = module.digest_hex();
    let line = format!(
        "coffer_policy_denials_total{{module=\"acl-copy\",digest=\"{digest}\",hook=\"authorize\"}} 1"
    );
    assert!(out.lines().any(|l| l == line), "{line} missing from\n{out}");
    assert!(out.contains("# TYPE coffer_policy_evaluation_seconds histogram"));
    assert!(out.contains(&format!(
        "coffer_policy_evaluation_seconds_count{{module=\"acl-copy\",digest=\"{digest}\"}} 1"
    )));
}

/// One hook invocation whose result only matters for its error.
type HookCall<'a> = Box<dyn Fn() -> Result<(), Error> + 'a>;

#[test]
fn infinite_loop_hits_the_deadline_on_every_hook_and_returns_promptly() {
    let limits = Limits {
        deadline: Duration::from_millis(20),
        ..Limits::default()
    };
    let (deadline, tick) = (limits.deadline, limits.tick);
    let engine = PolicyEngine::new(limits).expect("starts");
    let spin = fixture(&engine, Fixture::InfiniteLoop);
    assert_eq!(spin.hooks(), [Hook::Authorize, Hook::Cors, Hook::Metadata]);
    let calls: [(Hook, HookCall<'_>); 3] = [
        (
            Hook::Authorize,
            Box::new(|| engine.authorize(&spin, &private_get(alice())).map(drop)),
        ),
        (
            Hook::Cors,
            Box::new(|| engine.cors(&spin, &cors_request()).map(drop)),
        ),
        (
            Hook::Metadata,
            Box::new(|| {
                engine
                    .validate_metadata(&spin, &private_get(alice()), &meta())
                    .map(drop)
            }),
        ),
    ];
    let cpu = super::deadline::thread_cpu_time;
    for (hook, call) in calls {
        let (start, cpu_start) = (Instant::now(), cpu());
        let err = call().err();
        let elapsed = start.elapsed();
        let used = cpu()
            .zip(cpu_start)
            .map(|(end, begin)| end.saturating_sub(begin));
        assert!(matches!(err, Some(Error::Deadline(_))), "{hook}: {err:?}");
        println!("{hook}: interrupted after {elapsed:?} ({used:?} of CPU)");
        // The deadline is CPU time: interrupted between deadline - tick and deadline +
        // tick (+ a tick for the ticker's own scheduling, and the trap's unwinding and
        // the store's teardown, which this thread's CPU time counts too: a few ticks on
        // a loaded machine, never the wall-clock cap). In wall time, however busy the
        // machine (parallel tests), never later than the wall-clock cap.
        assert!(elapsed >= deadline - tick, "{hook}: {elapsed:?}");
        if let Some(used) = used {
            assert!(used < deadline + 5 * tick, "{hook}: {used:?} of CPU");
        }
        assert!(
            elapsed < deadline * super::deadline::WALL_CLOCK_FACTOR + 2 * tick,
            "{hook}: {elapsed:?}"
        );
        assert_eq!(spin.metrics().failures(hook, FailureKind::Deadline), 1);
    }
    assert_default_answers(&engine);
}

#[test]
fn a_module_that_keeps_hitting_its_deadline_is_quarantined_not_run() {
    let limits = Limits {
        deadline: Duration::from_millis(5),
        ..Limits::default()
    };
    let engine = PolicyEngine::new(limits).expect("starts");
    let spin = fixture(&engine, Fixture::InfiniteLoop);
    let request = private_get(alice());
    for strike in 0..Quarantine::STRIKES {
        let err = engine.authorize(&spin, &request).err();
        assert!(matches!(err, Some(Error::Deadline(_))), "{strike}: {err:?}");
    }
    // Now it fails closed at once, for every hook, without running.
    for _ in 0..100 {
        let start = Instant::now();
        let err = engine.authorize(&spin, &request).err();
        assert!(matches!(err, Some(Error::Quarantined(_))), "{err:?}");
        assert!(
            start.elapsed() < Duration::from_millis(5),
            "{:?}",
            start.elapsed()
        );
    }
    let err = engine.cors(&spin, &cors_request()).err();
    assert!(matches!(err, Some(Error::Quarantined(_))), "{err:?}");
    let metrics = spin.metrics();
    assert_eq!(metrics.failures(Hook::Authorize, FailureKind::Deadline), 3);
    assert_eq!(
        metrics.failures(Hook::Authorize, FailureKind::Quarantined),
        100
    );
    // A fresh load of the module (what `policy put` of a fixed version does)
    // starts with a clean record; other modules were never affected.
    let reloaded = fixture(&engine, Fixture::InfiniteLoop);
    let err = engine.authorize(&reloaded, &request).err();
    assert!(matches!(err, Some(Error::Deadline(_))), "{err:?}");
    assert_default_answers(&engine);
    // After the cool-down the module is tried again.
    std::thread::sleep(Quarantine::FIRST_COOL_DOWN);
    let err = engine.authorize(&spin, &request).err();
    assert!(matches!(err, Some(Error::Deadline(_))), "{err:?}");
}

#[test]
fn memory_bomb_hits_the_memory_limit() {
    let engine = engine();
    let bomb = fixture(&engine, Fixture::MemoryBomb);
    let start = Instant::now();
    let err = engine.authorize(&bomb, &private_get(alice())).err();
    println!("memory bomb stopped after {:?}", start.elapsed());
    assert!(
        matches!(err, Some(Error::MemoryLimit { limit }) if limit == 16 << 20),
        "{err:?}"
    );
    let err = engine.cors(&bomb, &cors_request()).err();
    assert!(matches!(err, Some(Error::MemoryLimit { .. })), "{err:?}");
    let err = engine
        .validate_metadata(&bomb, &private_get(alice()), &meta())
        .err();
    assert!(matches!(err, Some(Error::MemoryLimit { .. })), "{err:?}");
    for hook in [Hook::Authorize, Hook::Cors, Hook::Metadata] {
        assert_eq!(
            bomb.metrics().failures(hook, FailureKind::Memory),
            1,
            "{hook}"
        );
    }
    // The slot the bomb filled is reset for the next decision.
    assert_default_answers(&engine);
    let err = engine.authorize(&bomb, &private_get(alice())).err();
    assert!(matches!(err, Some(Error::MemoryLimit { .. })), "{err:?}");
}

#[test]
fn panic_traps_and_its_message_reaches_the_log() {
    let engine = engine();
    let panic = fixture(&engine, Fixture::Panic);
    assert_eq!(panic.hooks(), [Hook::Authorize]);
    let eval = engine.evaluate_authorize(&panic, &private_get(alice()));
    assert!(
        matches!(eval.outcome, Err(Error::Trap(_))),
        "{:?}",
        eval.outcome
    );
    assert_eq!(eval.evaluated_by, "panic.wasm");
    let messages: Vec<&str> = eval.logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(
        messages.first(),
        Some(&"about to panic (0)"),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("policy fixture panicked on purpose (GetObject)")),
        "{messages:?}"
    );
    assert_eq!(
        panic.metrics().failures(Hook::Authorize, FailureKind::Trap),
        1
    );
    assert_default_answers(&engine);
}

#[test]
fn log_floods_are_cut_at_the_budget() {
    let engine = engine();
    let panic = fixture(&engine, Fixture::Panic);
    let mut req = private_get(alice());
    req.config = Some("flood".into());
    let eval = engine.evaluate_authorize(&panic, &req);
    assert!(
        matches!(eval.outcome, Err(Error::Trap(_))),
        "{:?}",
        eval.outcome
    );
    let limit = engine.limits().log_calls;
    assert_eq!(eval.logs.len(), limit + 1, "{:?}", eval.logs.last());
    assert!(eval.logs[limit].message.contains("log budget"));
}

#[test]
fn allow_all_and_deny_all_decide_alone() {
    let engine = engine();
    let allow = fixture(&engine, Fixture::AllowAll);
    let deny = fixture(&engine, Fixture::DenyAll);
    assert_eq!(
        (allow.hooks(), deny.hooks()),
        (&[Hook::Authorize][..], &[Hook::Authorize][..])
    );
    let anonymous = private_get(Principal::Anonymous);
    assert!(matches!(
        engine.authorize(&allow, &anonymous).ok(),
        Some(Decision::Allow(_))
    ));
    assert_eq!(
        engine.authorize(&deny, &private_get(alice())).ok(),
        Some(Decision::Deny("deny-all fixture refuses GetObject".into()))
    );
}

#[test]
fn missing_hooks_fall_back_to_the_default_module() {
    let engine = engine();
    let panic = fixture(&engine, Fixture::Panic);
    assert!(!panic.implements(Hook::Cors));
    let eval = engine.evaluate_cors(&panic, &cors_request());
    assert_eq!(eval.evaluated_by, "default");
    assert_eq!(eval.outcome.ok(), Some(Some(star_match())));
    // No `config` hook: any configuration is accepted, nothing runs.
    assert!(!panic.implements(Hook::Config));
    assert_eq!(engine.check_config(&panic, "[1]").ok(), Some(Ok(())));
    assert_eq!(panic.metrics().decisions(Hook::Config), 0);
    let eval = engine.evaluate_metadata(&panic, &private_get(alice()), &meta());
    assert_eq!(eval.evaluated_by, "default");
    assert_eq!(eval.outcome.ok(), Some(Ok(())));
    // Counted under the bucket's module, not the default's.
    assert_eq!(panic.metrics().decisions(Hook::Cors), 1);
    assert_eq!(panic.metrics().decisions(Hook::Metadata), 1);
    assert_eq!(engine.default_module().metrics().decisions(Hook::Cors), 0);
}

#[test]
fn oversized_input_is_refused_before_the_call() {
    let engine = engine();
    let default = engine.default_module();
    let mut req = private_get(alice());
    req.headers.push(types::Header {
        name: "x-big".into(),
        value: "x".repeat(64 << 10),
    });
    let err = engine.authorize(default, &req).err();
    assert!(matches!(err, Some(Error::InputTooLarge { .. })), "{err:?}");
    let mut cors = cors_request();
    cors.origin = "x".repeat(64 << 10);
    let err = engine.cors(default, &cors).err();
    assert!(matches!(err, Some(Error::InputTooLarge { .. })), "{err:?}");
    let big = vec![meta()[0].clone(); 4000];
    let err = engine
        .validate_metadata(default, &private_get(alice()), &big)
        .err();
    assert!(matches!(err, Some(Error::InputTooLarge { .. })), "{err:?}");
    let err = engine.check_config(default, &"x".repeat(65 << 10)).err();
    assert!(matches!(err, Some(Error::InputTooLarge { .. })), "{err:?}");
    for hook in Hook::ALL {
        assert_eq!(default.metrics().failures(hook, FailureKind::Input), 1);
    }
    assert_default_answers(&engine);
}

#[test]
fn wrong_world_and_malformed_bytes_are_refused_at_load() {
    let engine = engine();
    let bytes = Fixture::WrongWorld.bytes().expect("fixture built");
    let err = engine.load("wrong", &bytes).err();
    assert!(
        matches!(&err, Some(Error::Abi(m)) if m.contains("exports none")),
        "{err:?}"
    );
    let bytes = Fixture::Malformed.bytes().expect("fixture built");
    let err = engine.load("malformed", &bytes).err();
    assert!(matches!(err, Some(Error::Compile(_))), "{err:?}");
    let err = engine.load("empty", b"").err();
    assert!(matches!(err, Some(Error::Compile(_))), "{err:?}");
    assert_default_answers(&engine);
}

#[test]
fn mismatched_hook_types_and_foreign_imports_are_refused_at_load() {
    let engine = engine();
    for version in ["0.1.0", "0.2.0", "0.3.0", "0.4.0", "0.5.0"] {
        // Exports the authorize interface, but `authorize` has the wrong type.
        let mismatched = format!(
            r#"(component
            (core module $m (func (export "f") (result i32) i32.const 1))
            (core instance $i (instantiate $m))
            (func $f (result u32) (canon lift (core func $i "f")))
            (instance $auth (export "authorize" (func $f)))
            (export "coffer:policy/authorize@{version}" (instance $auth))
        )"#
        );
        let err = engine.load("mismatched", mismatched.as_bytes()).err();
        assert!(matches!(err, Some(Error::Abi(_))), "{version}: {err:?}");
        // The interface is there but the function is not.
        let hollow = format!(
            r#"(component
            (instance $auth)
            (export "coffer:policy/cors@{version}" (instance $auth))
        )"#
        );
        let err = engine.load("hollow", hollow.as_bytes()).err();
        assert!(matches!(err, Some(Error::Abi(_))), "{version}: {err:?}");
    }
    // An import the host does not provide.
    let importer = r#"(component
        (import "example:other/thing" (instance))
    )"#;
    let err = engine.load("importer", importer.as_bytes()).err();
    assert!(
        matches!(&err, Some(Error::Abi(m)) if m.contains("example:other/thing")),
        "{err:?}"
    );
}

#[test]
fn identical_inputs_are_answered_from_the_cache() {
    let engine = cached();
    let default = engine.default_module();
    let req = private_get(alice());
    for _ in 0..3 {
        assert!(matches!(
            engine.authorize(default, &req).ok(),
            Some(Decision::Allow(_))
        ));
    }
    let anonymous = private_get(Principal::Anonymous);
    for _ in 0..2 {
        assert!(matches!(
            engine.authorize(default, &anonymous),
            Ok(Decision::Deny(_))
        ));
    }
    let m = default.metrics();
    assert_eq!(m.decisions(Hook::Authorize), 5);
    assert_eq!(m.denials(Hook::Authorize), 2);
    assert_eq!(m.cached(Hook::Authorize), 3);
    // A changed ACL is another input: evaluated, and answered by it.
    assert!(matches!(
        engine.authorize(default, &public_read(anonymous)).ok(),
        Some(Decision::Allow(_))
    ));
    assert_eq!(m.cached(Hook::Authorize), 3);
}

#[test]
fn each_module_answers_for_itself_through_the_cache() {
    let engine = cached();
    let allow = fixture(&engine, Fixture::AllowAll);
    let deny = fixture(&engine, Fixture::DenyAll);
    let req = private_get(Principal::Anonymous);
    for _ in 0..2 {
        assert!(matches!(
            engine.authorize(&allow, &req).ok(),
            Some(Decision::Allow(_))
        ));
        assert!(matches!(
            engine.authorize(&deny, &req),
            Ok(Decision::Deny(_))
        ));
    }
    assert_eq!(allow.metrics().cached(Hook::Authorize), 1);
    assert_eq!(deny.metrics().cached(Hook::Authorize), 1);
}

/// (Answers given while the module logged are not cached either: the e2e test
/// `repeated_requests_reuse_answers_unless_the_module_logged` shows it with an
/// example module that logs and answers.)
#[test]
fn failures_are_not_cached() {
    let engine = cached();
    // The panic fixture logs, then traps: a failure every time.
    let panics = fixture(&engine, Fixture::Panic);
    let req = private_get(alice());
    for _ in 0..2 {
        assert!(matches!(
            engine.authorize(&panics, &req),
            Err(Error::Trap(_))
        ));
    }
    assert_eq!(
        panics
            .metrics()
            .failures(Hook::Authorize, FailureKind::Trap),
        2
    );
    assert_eq!(panics.metrics().cached(Hook::Authorize), 0);
}

#[test]
fn without_the_cache_every_call_evaluates() {
    let engine = engine();
    let default = engine.default_module();
    for _ in 0..3 {
        assert!(engine.authorize(default, &private_get(alice())).is_ok());
    }
    assert_eq!(default.metrics().cached(Hook::Authorize), 0);
    assert_eq!(default.metrics().decisions(Hook::Authorize), 3);
}

#[test]
fn a_full_pool_is_unavailable_not_a_hang() {
    let limits = Limits {
        deadline: Duration::from_millis(500),
        concurrent_decisions: 1,
        ..Limits::default()
    };
    let engine = Arc::new(PolicyEngine::new(limits).expect("starts"));
    let spin = fixture(&engine, Fixture::InfiniteLoop);
    let busy = {
        let engine = engine.clone();
        std::thread::spawn(move || engine.authorize(&spin, &private_get(alice())).err())
    };
    std::thread::sleep(Duration::from_millis(100));
    let default = engine.default_module();
    let err = engine.authorize(default, &private_get(alice())).err();
    assert!(matches!(err, Some(Error::Unavailable(_))), "{err:?}");
    assert_eq!(
        default
            .metrics()
            .failures(Hook::Authorize, FailureKind::Unavailable),
        1
    );
    let spun = busy.join().expect("no panic");
    assert!(matches!(spun, Some(Error::Deadline(_))), "{spun:?}");
    assert_default_answers(&engine);
}

#[test]
fn concurrent_decisions_share_the_pool() {
    let engine = Arc::new(engine());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let d = engine.authorize(engine.default_module(), &private_get(alice()));
                    assert!(matches!(d, Ok(Decision::Allow(_))), "{d:?}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no panic");
    }
    assert_eq!(
        engine.default_module().metrics().decisions(Hook::Authorize),
        800
    );
}

/// The default module is built without `std` and without `log-panics` so that its
/// component imports no function, only the contract's type definitions (one core
/// instance per decision, see README "Benchmarks"); a dependency that pulls WASI or
/// `host.log` back in fails here.
#[test]
fn default_module_imports_no_function() {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    let engine = wasmtime::Engine::new(&config).expect("engine");
    let component =
        wasmtime::component::Component::new(&engine, PolicyEngine::default_module_wasm())
            .expect("the default module compiles");
    let imports: Vec<String> = component
        .component_type()
        .imports(&engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    assert_eq!(imports, ["coffer:policy/types@0.5.0"]);
}

/// A module built against contract 0.1.0 (before the CORS kind, key and rule index
/// and the `config` hook) keeps loading and answering, translated.
#[test]
fn modules_of_contract_0_1_keep_working() {
    let engine = engine();
    let legacy = fixture(&engine, Fixture::LegacyV0_1);
    assert_eq!(legacy.contract(), "0.1.0");
    assert_eq!(
        legacy.hooks(),
        [Hook::Authorize, Hook::Cors, Hook::Metadata]
    );
    assert!(matches!(
        engine.authorize(&legacy, &private_get(alice())).ok(),
        Some(Decision::Allow(_))
    ));
    let mut delete = private_get(alice());
    delete.operation = "DeleteObject".into();
    assert_eq!(
        engine.authorize(&legacy, &delete).ok(),
        Some(Decision::Deny("the legacy module refuses deletes".into()))
    );
    let mut cors = cors_request();
    assert_eq!(engine.cors(&legacy, &cors).ok(), Some(None));
    cors.origin = "https://legacy.example".into();
    cors.request_headers = vec!["content-type".into()];
    assert_eq!(
        engine.cors(&legacy, &cors).ok(),
        Some(Some(types::CorsRuleMatch {
            rule_index: None,
            allowed_origin: "https://legacy.example".into(),
            allow_credentials: true,
            allowed_methods: vec!["GET".into(), "PUT".into()],
            allowed_headers: vec!["content-type".into()],
            expose_headers: vec!["ETag".into()],
            max_age_seconds: Some(60),
        }))
    );
    let forbidden = vec![types::Header {
        name: "x-amz-meta-legacy-forbidden".into(),
        value: "1".into(),
    }];
    assert_eq!(
        engine
            .validate_metadata(&legacy, &private_get(alice()), &forbidden)
            .ok(),
        Some(Err(
            "the legacy module refuses x-amz-meta-legacy-forbidden".into()
        ))
    );
    assert_eq!(
        engine
            .validate_metadata(&legacy, &private_get(alice()), &meta())
            .ok(),
        Some(Ok(()))
    );
    // 0.1.0 had no `config` hook: any configuration is accepted.
    assert_eq!(engine.check_config(&legacy, "{}").ok(), Some(Ok(())));
}

/// A module built against contract 0.2.0 (before the request's version id and tags)
/// keeps loading and answering every hook, its request translated whole.
#[test]
fn modules_of_contract_0_2_keep_working() {
    let engine = engine();
    let legacy = fixture(&engine, Fixture::LegacyV0_2);
    assert_eq!(legacy.contract(), "0.2.0");
    assert_eq!(legacy.hooks(), Hook::ALL);
    let mut get = private_get(alice());
    get.version_id = Some("null".into());
    get.object_tags = Some(vec![tag("public", "true")]);
    assert!(matches!(
        engine.authorize(&legacy, &get).ok(),
        Some(Decision::Allow(_))
    ));
    let mut private = private_get(alice());
    private.key = Some("private/cat.jpg".into());
    assert_eq!(
        engine.authorize(&legacy, &private).ok(),
        Some(Decision::Deny(
            "the 0.2.0 module refuses GetObject of \"private/cat.jpg\"".into()
        ))
    );
    let mut delete = private_get(alice());
    delete.operation = "DeleteObject".into();
    delete.request_tags = vec![tag("a", "b")];
    assert!(matches!(
        engine.authorize(&legacy, &delete),
        Ok(Decision::Deny(_))
    ));
    let mut cors = cors_request();
    assert_eq!(engine.cors(&legacy, &cors).ok(), Some(None));
    cors.origin = "https://legacy-v0-2.example".into();
    assert_eq!(
        engine.cors(&legacy, &cors).ok(),
        Some(Some(types::CorsRuleMatch {
            rule_index: Some(0),
            allowed_origin: "https://legacy-v0-2.example".into(),
            allow_credentials: true,
            allowed_methods: vec!["GET".into()],
            allowed_headers: cors.request_headers.clone(),
            expose_headers: vec![],
            max_age_seconds: None,
        }))
    );
    let forbidden = vec![types::Header {
        name: "x-amz-meta-legacy-forbidden".into(),
        value: "1".into(),
    }];
    assert_eq!(
        engine.validate_metadata(&legacy, &get, &forbidden).ok(),
        Some(Err(
            "the 0.2.0 module refuses x-amz-meta-legacy-forbidden".into()
        ))
    );
    assert_eq!(
        engine.validate_metadata(&legacy, &get, &meta()).ok(),
        Some(Ok(()))
    );
    assert_eq!(engine.check_config(&legacy, "{}").ok(), Some(Ok(())));
    assert_eq!(
        engine.check_config(&legacy, r#"{"refuse": 1}"#).ok(),
        Some(Err("the 0.2.0 module refuses this configuration".into()))
    );
}

fn tag(key: &str, value: &str) -> types::Tag {
    types::Tag {
        key: key.into(),
        value: value.into(),
    }
}

/// A module of contract 0.3.0 sees the version id the request addresses, the object's
/// tags and the requested tags, as the host passed them (translated from the current
/// contract).
#[test]
fn modules_see_the_version_id_and_tags() {
    let engine = engine();
    let echo = fixture(&engine, Fixture::EchoTags);
    assert_eq!(echo.contract(), "0.3.0");
    let reason = |req: &types::Request| match engine.authorize(&echo, req) {
        Ok(Decision::Deny(reason)) => reason,
        other => panic!("{other:?}"),
    };
    let mut req = private_get(alice());
    assert_eq!(
        reason(&req),
        "GetObject cat.jpg: version -; object tags ; request tags "
    );
    req.version_id = Some("00000000000000010123456789abcdef".into());
    req.object_tags = Some(vec![tag("public", "true"), tag("team", "")]);
    req.request_tags = vec![tag("stage", "final")];
    assert_eq!(
        reason(&req),
        "GetObject cat.jpg: version 00000000000000010123456789abcdef; \
         object tags public=true,team=; request tags stage=final"
    );
    req.operation = "PutObject".into();
    req.version_id = Some("null".into());
    req.object_tags = None;
    assert_eq!(
        reason(&req),
        "PutObject cat.jpg: version null; object tags -; request tags stage=final"
    );
}

/// A module of contract 0.4.0 sees the request context and the bucket policy as the
/// host passed them, through the translation from the current contract.
#[test]
fn modules_see_the_request_context() {
    let engine = engine();
    let echo = fixture(&engine, Fixture::EchoContext);
    assert_eq!(echo.contract(), "0.4.0");
    let reason = |req: &types::Request| match engine.authorize(&echo, req) {
        Ok(Decision::Deny(reason)) => reason,
        other => panic!("{other:?}"),
    };
    let mut req = private_get(alice());
    assert_eq!(
        reason(&req),
        "GetObject: tls false; signature -; query ; policy -; time 1700000000"
    );
    req.operation = "ListObjectsV2".into();
    req.context = types::RequestContext {
        current_time: 1_700_000_100,
        secure_transport: true,
        signature: Some(types::Signature {
            version: types::SignatureVersion::V4,
            auth_type: types::AuthType::QueryString,
            signed_at: Some(1_700_000_000),
        }),
        query: vec![types::Header {
            name: "prefix".into(),
            value: "2024/".into(),
        }],
    };
    req.bucket_policy = Some(vec![1, 2, 3]);
    assert_eq!(
        reason(&req),
        "ListObjectsV2: tls true; signature AWS4-HMAC-SHA256 REST-QUERY-STRING 100; \
         query prefix=2024/; policy 3 bytes; time 1700000100"
    );
}

/// `cors` answers are reused like `authorize` answers: a browser-heavy workload does not
/// run a module per request; another origin is another input.
#[test]
fn cors_answers_are_reused_for_identical_requests() {
    let engine = cached();
    let default = engine.default_module();
    let req = cors_request();
    for _ in 0..3 {
        assert_eq!(engine.cors(default, &req).ok(), Some(Some(star_match())));
    }
    let m = default.metrics();
    assert_eq!(m.decisions(Hook::Cors), 3);
    assert_eq!(m.cached(Hook::Cors), 2);
    let mut other = cors_request();
    other.method = "PUT".into();
    assert_eq!(engine.cors(default, &other).ok(), Some(None));
    assert_eq!(m.cached(Hook::Cors), 2);
}
