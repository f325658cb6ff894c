//! `coffer policy eval`: runs one hook of a policy module on a request
//! described in JSON, offline (no server, no database), under the server's
//! limits, and prints the answer and the module's log lines. For module
//! authors; the full format is in `docs/policy-eval.md`.
//!
//! ```text
//! coffer policy eval [MODULE.wasm] --request REQ.json [--config CFG.json]
//!                    [--hook authorize|cors|metadata]
//! coffer policy eval [MODULE.wasm] --hook config --config CFG.json
//! ```
//!
//! Without `MODULE.wasm` the embedded default module is evaluated (its build
//! with metadata rules, so `--hook metadata --config` tries them). A hook the
//! module does not export is answered by the default module, as in the
//! server (without the configuration, which is the module's). `--hook
//! config` runs the check an attach runs on a configuration. Exit status: 0
//! allow (a CORS rule matched, metadata or configuration accepted), 1 deny
//! (no rule, metadata or configuration rejected), 2 failure (the module trapped, ran out
//! of time or memory, does not fit the contract, or the input is unusable).
//!
//! # Request JSON
//!
//! For `authorize` and `metadata`, a mirror of the WIT `request` record with
//! friendly shapes; only `operation` is required:
//!
//! ```json
//! {
//!   "operation": "GetObject",
//!   "bucket": "photos",
//!   "key": "cat.jpg",
//!   "principal": {"account": {"canonical_id": "alice-id", "display_name": "alice"}},
//!   "source_ip": "192.0.2.7",
//!   "headers": {"x-team": "docs"},
//!   "bucket_owner": "alice-id",
//!   "object_owner": "alice-id",
//!   "bucket_acl": {"owner": "alice-id", "grants": [
//!     {"grantee": {"group": "all_users"}, "permission": "read"}
//!   ]},
//!   "object_acl": {"owner": "alice-id", "grants": [
//!     {"grantee": {"canonical_user": "bob-id"}, "permission": "full_control"}
//!   ]},
//!   "config": {"prefixes": ["public/"]},
//!   "metadata": {"x-amz-meta-colour": "blue"}
//! }
//! ```
//!
//! - `principal`: `"anonymous"` (the default) or `{"account": {...}}`;
//!   `display_name` defaults to the canonical id.
//! - `headers` and `metadata`: an object of name → value, or a list of
//!   `{"name": ..., "value": ...}`; names are lower-cased. `metadata` (the
//!   `metadata` hook's headers) defaults to the `x-amz-meta-*` entries of
//!   `headers`.
//! - grantees: `{"canonical_user": ID}`, `{"group": "all_users" |
//!   "authenticated_users"}` or `{"email": ADDRESS}`; permissions: `read`,
//!   `write`, `read_acp`, `write_acp`, `full_control` (S3's `READ`, ...,
//!   `FULL_CONTROL` also accepted).
//! - `config`: any JSON value, passed to the module as its text (a string
//!   is passed as is); `--config FILE` replaces it.
//! - `source_ip` defaults to `127.0.0.1`.
//!
//! For `cors`, a mirror of `cors-request`: `origin`, `method` and `bucket`
//! are required; `kind` (`"preflight"`, the default, or `"actual"`), `key`,
//! `request_headers` (list of strings), `rules` (list of `{"id",
//! "allowed_origins", "allowed_methods", "allowed_headers",
//! "expose_headers", "max_age_seconds"}`, all optional) and `config`.
//!
//! Unknown fields are errors, so a typo never silently changes the request.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use coffer::policy::request_json::{self, config_text};
use coffer::policy::{Error, Evaluation, Hook, Limits, LoadedModule, PolicyEngine, types};
use serde::Deserialize;

/// Largest request or configuration file read.
const MAX_INPUT_FILE: u64 = 1 << 20;

/// Arguments of `coffer policy`.
#[derive(Debug, clap::Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    command: PolicyCommand,
}

#[derive(Debug, clap::Subcommand)]
enum PolicyCommand {
    /// Evaluate one hook of a module on a JSON request and print the answer and
    /// the module's logs. Exit status: 0 allow, 1 deny, 2 failure.
    Eval(EvalArgs),
    /// Replay a decision log (`coffer admin policy log`) with a candidate module and
    /// report which decisions would change. Exit status: 0 none, 1 some, 2 error.
    Replay(super::replay::ReplayArgs),
}

/// Arguments of `coffer policy eval`.
#[derive(Debug, clap::Args)]
struct EvalArgs {
    /// The module (a WebAssembly component); the embedded default module if omitted.
    module: Option<PathBuf>,
    /// The request, as JSON (see docs/policy-eval.md); not used by `--hook config`.
    #[arg(long)]
    request: Option<PathBuf>,
    /// JSON configuration to pass to the module (replaces the request's `config`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Which hook to call.
    #[arg(long, value_enum, default_value_t = HookArg::Authorize)]
    hook: HookArg,
    /// CPU time the decision may use, in milliseconds (as `serve --policy-deadline-ms`).
    #[arg(long, default_value_t = 10)]
    deadline_ms: u64,
    /// Linear memory the module may use, in MiB.
    #[arg(long, default_value_t = 16)]
    memory_mib: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum HookArg {
    /// `authorize`: allow or deny the request.
    Authorize,
    /// `cors`: the CORS rule matching a browser request.
    Cors,
    /// `validate-metadata`: accept or reject user metadata.
    Metadata,
    /// `check-config`: accept or refuse a configuration (`--config`), as an attach does.
    Config,
}

impl HookArg {
    fn hook(self) -> Hook {
        match self {
            HookArg::Authorize => Hook::Authorize,
            HookArg::Cors => Hook::Cors,
            HookArg::Metadata => Hook::Metadata,
            HookArg::Config => Hook::Config,
        }
    }
}

/// The answer class, which is also the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Allow = 0,
    Deny = 1,
    Failure = 2,
}

/// What `eval` prints and how it exits.
#[derive(Debug)]
struct Report {
    verdict: Verdict,
    text: String,
}

/// Runs `coffer policy`. Exits the process with status 1 (deny) or 2
/// (failure); returns normally on allow.
pub fn run(args: PolicyArgs) -> anyhow::Result<()> {
    let args = match args.command {
        PolicyCommand::Eval(args) => args,
        PolicyCommand::Replay(args) => {
            let status = super::replay::run(&args).unwrap_or_else(|e| {
                println!("error: {e:#}");
                2
            });
            std::io::stdout().flush()?;
            if status != 0 {
                std::process::exit(status);
            }
            return Ok(());
        }
    };
    let report = eval(&args).unwrap_or_else(|e| Report {
        verdict: Verdict::Failure,
        text: format!("error: {e:#}\n"),
    });
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(report.text.as_bytes())?;
    stdout.flush()?;
    match report.verdict {
        Verdict::Allow => Ok(()),
        verdict => std::process::exit(verdict as i32),
    }
}

fn eval(args: &EvalArgs) -> anyhow::Result<Report> {
    let request = match (&args.request, args.hook) {
        (Some(path), _) => read_input(path)?,
        (None, HookArg::Config) => String::new(),
        (None, _) => bail!("--request is required (except with --hook config)"),
    };
    let config = args.config.as_deref().map(read_input).transpose()?;
    let limits = Limits {
        memory_bytes: args.memory_mib.max(1) << 20,
        // One evaluation, always run: nothing to reuse.
        decision_cache_bytes: 0,
        ..Limits::default()
    }
    .with_deadline(Duration::from_millis(args.deadline_ms.max(1)));
    let engine = PolicyEngine::new(limits).context("starting the policy engine")?;
    let module = match &args.module {
        // The build with metadata rules, so `--hook metadata --config rules.json` tries
        // them (its other hooks are the same as the engine's default module's).
        None => coffer::policy::registry::default_with_rules(&engine)
            .context("loading the default module")?,
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let name = path
                .file_name()
                .map_or_else(|| "module".to_owned(), |n| n.to_string_lossy().into_owned());
            match engine.load(&name, &bytes) {
                Ok(module) => module,
                Err(e) => {
                    return Ok(Report {
                        verdict: Verdict::Failure,
                        text: format!("module: {name}\nfailure ({}): {e}\n", e.kind()),
                    });
                }
            }
        }
    };
    evaluate(&engine, &module, args.hook, &request, config.as_deref())
}

/// Reads a small text file.
fn read_input(path: &Path) -> anyhow::Result<String> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if size > MAX_INPUT_FILE {
        bail!(
            "{} is {size} bytes, more than the {MAX_INPUT_FILE} read",
            path.display()
        );
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Runs `hook` of `module` on the JSON `request` (with `config` replacing
/// its configuration) and renders the report.
fn evaluate(
    engine: &PolicyEngine,
    module: &LoadedModule,
    hook: HookArg,
    request: &str,
    config: Option<&str>,
) -> anyhow::Result<Report> {
    let config = config
        .map(|c| {
            serde_json::from_str::<serde_json::Value>(c)
                .map(|_| c.trim().to_owned())
                .context("the --config file is not JSON")
        })
        .transpose()?;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "module: {} (sha256 {}, contract {}, exports {})",
        module.name(),
        module.digest_hex(),
        module.contract(),
        module
            .hooks()
            .iter()
            .map(|h| h.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let (verdict, logs, evaluated_by) = match hook {
        HookArg::Authorize => {
            let req = request_json::parse(request, config)?.request;
            let Evaluation {
                outcome,
                logs,
                evaluated_by,
            } = engine.evaluate_authorize(module, &req);
            let verdict = match outcome {
                Ok(types::Decision::Allow(reason)) => {
                    text.push_str("decision: allow\n");
                    explain(&mut text, &reason);
                    Verdict::Allow
                }
                Ok(types::Decision::Deny(reason)) => {
                    text.push_str("decision: deny (AccessDenied)\n");
                    explain(&mut text, &reason);
                    Verdict::Deny
                }
                Ok(types::Decision::Refuse(refusal)) => {
                    let _ = writeln!(
                        text,
                        "decision: refuse ({})",
                        refusal_code_name(refusal.code)
                    );
                    explain(&mut text, &refusal.reason);
                    Verdict::Deny
                }
                Err(e) => failure(&mut text, &e),
            };
            (verdict, logs, evaluated_by)
        }
        HookArg::Cors => {
            let req = parse_cors_request(request, config)?;
            let Evaluation {
                outcome,
                logs,
                evaluated_by,
            } = engine.evaluate_cors(module, &req);
            let verdict = match outcome {
                Ok(Some(m)) => {
                    let _ = writeln!(
                        text,
                        "cors: rule matched\n  rule: {}\n  allowed origin: {}\n  \
                         credentials: {}\n  allowed methods: {}\n  allowed headers: {}\n  \
                         expose headers: {}\n  max age: {}",
                        m.rule_index.map_or_else(
                            || "- (not from the bucket's rules)".to_owned(),
                            |i| i.to_string()
                        ),
                        m.allowed_origin,
                        if m.allow_credentials { "yes" } else { "no" },
                        m.allowed_methods.join(", "),
                        m.allowed_headers.join(", "),
                        m.expose_headers.join(", "),
                        m.max_age_seconds
                            .map_or_else(|| "-".to_owned(), |s| format!("{s} s")),
                    );
                    Verdict::Allow
                }
                Ok(None) => {
                    text.push_str("cors: no rule matched\n");
                    Verdict::Deny
                }
                Err(e) => failure(&mut text, &e),
            };
            (verdict, logs, evaluated_by)
        }
        HookArg::Metadata => {
            let captured = request_json::parse(request, config)?;
            let (mut req, metadata) = (captured.request, captured.metadata);
            // As in the server (`s3::metadata_check`): the configuration belongs to the
            // module; the default module's rules stand in for a module without the
            // hook without reading it.
            if !module.implements(Hook::Metadata) {
                req.config = None;
            }
            let Evaluation {
                outcome,
                logs,
                evaluated_by,
            } = engine.evaluate_metadata(module, &req, &metadata);
            let verdict = match outcome {
                Ok(Ok(())) => {
                    text.push_str("metadata: accepted\n");
                    Verdict::Allow
                }
                Ok(Err(message)) => {
                    let _ = writeln!(text, "metadata: rejected ({message})");
                    Verdict::Deny
                }
                Err(e) => failure(&mut text, &e),
            };
            (verdict, logs, evaluated_by)
        }
        HookArg::Config => {
            let Some(config) = config else {
                bail!("--hook config needs the configuration to check (--config FILE)");
            };
            let Evaluation {
                outcome,
                logs,
                evaluated_by,
            } = engine.evaluate_config(module, &config);
            let verdict = match outcome {
                Ok(Ok(())) => {
                    text.push_str("config: accepted\n");
                    Verdict::Allow
                }
                Ok(Err(message)) => {
                    let _ = writeln!(text, "config: refused ({message})");
                    Verdict::Deny
                }
                Err(e) => failure(&mut text, &e),
            };
            (verdict, logs, evaluated_by)
        }
    };
    let hook = hook.hook();
    if hook == Hook::Config && !module.implements(hook) {
        let _ = writeln!(
            text,
            "hook: config (not exported by {}: any configuration is accepted)",
            module.name()
        );
    } else if module.implements(hook) {
        let _ = writeln!(text, "hook: {hook}");
    } else {
        let _ = writeln!(
            text,
            "hook: {hook} (not exported by {}; evaluated by {evaluated_by})",
            module.name()
        );
    }
    let _ = writeln!(text, "logs: {}", logs.len());
    for line in logs {
        let _ = writeln!(text, "  {:<5} {}", line.level, line.message);
    }
    Ok(Report { verdict, text })
}

/// The reason line of a decision (what the module said; `-` when it said nothing).
fn explain(text: &mut String, reason: &str) {
    let reason = if reason.is_empty() { "-" } else { reason };
    let _ = writeln!(text, "reason: {reason}");
}

/// S3's name of a refusal's error.
fn refusal_code_name(code: types::ErrorCode) -> &'static str {
    match code {
        types::ErrorCode::AccessControlListNotSupported => "AccessControlListNotSupported",
        types::ErrorCode::InvalidBucketAclWithObjectOwnership => {
            "InvalidBucketAclWithObjectOwnership"
        }
    }
}

fn failure(text: &mut String, e: &Error) -> Verdict {
    let _ = writeln!(text, "failure ({}): {e}", e.kind());
    Verdict::Failure
}

// ---------------------------------------------------------------------------
// The JSON mirror of the WIT cors-request (requests: `coffer::policy::request_json`)
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorsRequestJson {
    #[serde(default)]
    kind: CorsKindJson,
    origin: String,
    method: String,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    request_headers: Vec<String>,
    bucket: String,
    #[serde(default)]
    rules: Vec<CorsRuleJson>,
    #[serde(default)]
    config: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum CorsKindJson {
    #[default]
    Preflight,
    Actual,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorsRuleJson {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default)]
    allowed_methods: Vec<String>,
    #[serde(default)]
    allowed_headers: Vec<String>,
    #[serde(default)]
    expose_headers: Vec<String>,
    #[serde(default)]
    max_age_seconds: Option<u32>,
}

fn parse_cors_request(json: &str, config: Option<String>) -> anyhow::Result<types::CorsRequest> {
    let r: CorsRequestJson =
        serde_json::from_str(json).context("the CORS request is not valid JSON")?;
    Ok(types::CorsRequest {
        kind: match r.kind {
            CorsKindJson::Preflight => types::CorsKind::Preflight,
            CorsKindJson::Actual => types::CorsKind::Actual,
        },
        origin: r.origin,
        method: r.method,
        request_headers: r
            .request_headers
            .into_iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
        bucket: r.bucket,
        key: r.key,
        rules: r
            .rules
            .into_iter()
            .map(|rule| types::CorsRule {
                id: rule.id,
                allowed_origins: rule.allowed_origins,
                allowed_methods: rule.allowed_methods,
                allowed_headers: rule.allowed_headers,
                expose_headers: rule.expose_headers,
                max_age_seconds: rule.max_age_seconds,
            })
            .collect(),
        config: config.or_else(|| config_text(r.config)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request record and the metadata hook's headers of a JSON request.
    fn parse_request(
        json: &str,
        config: Option<String>,
    ) -> Result<(types::Request, Vec<types::Header>), request_json::RequestJsonError> {
        request_json::parse(json, config).map(|c| (c.request, c.metadata))
    }
    use coffer::policy::fixtures::Fixture;

    const FULL: &str = r#"{
        "operation": "GetObject",
        "bucket": "photos",
        "key": "cat.jpg",
        "principal": {"account": {"canonical_id": "alice-id", "display_name": "alice"}},
        "source_ip": "192.0.2.7",
        "headers": {"X-Team": "docs", "x-amz-meta-colour": "blue"},
        "bucket_owner": "alice-id",
        "object_owner": "alice-id",
        "bucket_acl": {"owner": "alice-id", "grants": [
            {"grantee": {"group": "all_users"}, "permission": "read"},
            {"grantee": {"canonical_user": "bob-id"}, "permission": "FULL_CONTROL"},
            {"grantee": {"email": "carol@example.com"}, "permission": "write_acp"}
        ]},
        "object_acl": {"owner": "alice-id"},
        "config": {"prefixes": ["public/"]},
        "version_id": "null",
        "object_tags": {"team": "docs", "public": "true"},
        "request_tags": {"stage": ""}
    }"#;

    #[test]
    fn parses_every_field() {
        let (req, metadata) = parse_request(FULL, None).expect("parses");
        assert_eq!(req.operation, "GetObject");
        assert_eq!(req.bucket.as_deref(), Some("photos"));
        assert_eq!(req.key.as_deref(), Some("cat.jpg"));
        assert_eq!(
            req.principal,
            types::Principal::Account(types::Account {
                canonical_id: "alice-id".into(),
                display_name: "alice".into(),
            })
        );
        assert_eq!(req.source_ip, "192.0.2.7");
        let names: Vec<&str> = req.headers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["x-amz-meta-colour", "x-team"]);
        assert_eq!(metadata.len(), 1);
        assert_eq!(metadata[0].value, "blue");
        let acl = req.bucket_acl.expect("bucket acl");
        assert_eq!(acl.owner, "alice-id");
        assert_eq!(
            acl.grants,
            [
                types::Grant {
                    grantee: types::Grantee::Group(types::Group::AllUsers),
                    permission: types::Permission::Read,
                },
                types::Grant {
                    grantee: types::Grantee::CanonicalUser("bob-id".into()),
                    permission: types::Permission::FullControl,
                },
                types::Grant {
                    grantee: types::Grantee::Email("carol@example.com".into()),
                    permission: types::Permission::WriteAcp,
                },
            ]
        );
        assert_eq!(req.object_acl.map(|a| a.grants.len()), Some(0));
        assert_eq!(req.config.as_deref(), Some(r#"{"prefixes":["public/"]}"#));
        assert_eq!(req.version_id.as_deref(), Some("null"));
        let tag = |key: &str, value: &str| types::Tag {
            key: key.into(),
            value: value.into(),
        };
        assert_eq!(
            req.object_tags,
            Some(vec![tag("public", "true"), tag("team", "docs")])
        );
        assert_eq!(req.request_tags, [tag("stage", "")]);
    }

    #[test]
    fn minimal_request_gets_defaults() {
        let (req, metadata) = parse_request(r#"{"operation": "ListBuckets"}"#, None).expect("ok");
        assert_eq!(req.principal, types::Principal::Anonymous);
        assert_eq!(req.source_ip, "127.0.0.1");
        assert!(req.headers.is_empty() && metadata.is_empty());
        assert_eq!(req.bucket, None);
        assert_eq!(req.config, None);
        assert_eq!(req.version_id, None);
        assert_eq!(req.object_tags, None);
        assert!(req.request_tags.is_empty());
    }

    #[test]
    fn header_lists_config_strings_and_explicit_metadata() {
        let json = r#"{
            "operation": "PutObject",
            "principal": "anonymous",
            "headers": [{"name": "Content-Type", "value": "text/plain"}],
            "metadata": [{"name": "X-Amz-Meta-A", "value": "1"}],
            "config": "raw text"
        }"#;
        let (req, metadata) = parse_request(json, None).expect("parses");
        assert_eq!(req.headers[0].name, "content-type");
        assert_eq!(metadata[0].name, "x-amz-meta-a");
        assert_eq!(req.config.as_deref(), Some("raw text"));
        // --config replaces the request's configuration.
        let (req, _) = parse_request(json, Some("{}".into())).expect("parses");
        assert_eq!(req.config.as_deref(), Some("{}"));
    }

    #[test]
    fn mistakes_are_errors() {
        for bad in [
            r#"{}"#,
            r#"{"operation": "GetObject", "principle": "anonymous"}"#,
            r#"{"operation": "GetObject", "principal": "root"}"#,
            r#"{"operation": "GetObject", "principal": {"account": {"id": "x"}}}"#,
            r#"{"operation": "GetObject", "bucket_acl": {"owner": "a", "grants": [
                {"grantee": {"group": "everyone"}, "permission": "read"}]}}"#,
            r#"{"operation": "GetObject", "bucket_acl": {"owner": "a", "grants": [
                {"grantee": {"canonical_user": "b"}, "permission": "admin"}]}}"#,
            "not json",
        ] {
            assert!(parse_request(bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_cors_requests() {
        let json = r#"{
            "origin": "https://example.com",
            "method": "PUT",
            "request_headers": ["Content-Type"],
            "bucket": "photos",
            "rules": [
                {"id": "uploads", "allowed_origins": ["https://*.example.com"],
                 "allowed_methods": ["PUT"], "allowed_headers": ["*"],
                 "expose_headers": ["etag"], "max_age_seconds": 3000},
                {}
            ]
        }"#;
        let req = parse_cors_request(json, None).expect("parses");
        assert_eq!(req.request_headers, ["content-type"]);
        assert_eq!(req.rules.len(), 2);
        assert_eq!(req.rules[0].id.as_deref(), Some("uploads"));
        assert_eq!(req.rules[0].max_age_seconds, Some(3000));
        assert!(req.rules[1].allowed_origins.is_empty());
        assert!(parse_cors_request(r#"{"origin": "x", "method": "GET"}"#, None).is_err());
    }

    fn engine() -> PolicyEngine {
        // Generous deadline: debug builds of wasmtime are slow.
        PolicyEngine::new(Limits {
            deadline: Duration::from_secs(5),
            ..Limits::default()
        })
        .expect("engine starts")
    }

    #[test]
    fn eval_runs_the_default_module() {
        let engine = engine();
        let default = engine.default_module();
        let report = evaluate(&engine, default, HookArg::Authorize, FULL, None).expect("runs");
        assert_eq!(report.verdict, Verdict::Allow, "{}", report.text);
        assert!(report.text.contains("decision: allow"), "{}", report.text);
        assert!(report.text.contains("\nreason: "), "{}", report.text);
        assert!(report.text.contains("exports authorize, cors, metadata"));

        let anonymous_put = r#"{"operation": "PutObject", "bucket": "photos", "key": "k",
            "bucket_owner": "alice-id", "bucket_acl": {"owner": "alice-id"}}"#;
        let report =
            evaluate(&engine, default, HookArg::Authorize, anonymous_put, None).expect("runs");
        assert_eq!(report.verdict, Verdict::Deny, "{}", report.text);
        assert!(
            report
                .text
                .contains("decision: deny (AccessDenied)\nreason: bucket ACL does not grant WRITE"),
            "{}",
            report.text
        );
        // Refusals name their error; Block Public Access and Object Ownership come in
        // the request.
        let enforced = r#"{"operation": "PutObject", "bucket": "photos", "key": "k",
            "principal": {"account": {"canonical_id": "alice-id"}},
            "headers": {"x-amz-acl": "public-read"},
            "bucket_owner": "alice-id", "bucket_acl": {"owner": "alice-id"},
            "object_ownership": "BucketOwnerEnforced"}"#;
        let report = evaluate(&engine, default, HookArg::Authorize, enforced, None).expect("runs");
        assert_eq!(report.verdict, Verdict::Deny, "{}", report.text);
        assert!(
            report
                .text
                .contains("decision: refuse (AccessControlListNotSupported)"),
            "{}",
            report.text
        );
        let blocked = enforced.replace(
            r#""object_ownership": "BucketOwnerEnforced""#,
            r#""public_access_block": {"BlockPublicAcls": true}"#,
        );
        let report = evaluate(&engine, default, HookArg::Authorize, &blocked, None).expect("runs");
        assert!(
            report
                .text
                .contains("reason: Block Public Access (BlockPublicAcls)"),
            "{blocked}: {}",
            report.text
        );

        let cors = r#"{"origin": "https://example.com", "method": "GET", "bucket": "photos"}"#;
        let report = evaluate(&engine, default, HookArg::Cors, cors, None).expect("runs");
        assert_eq!(report.verdict, Verdict::Deny, "{}", report.text);
        assert!(report.text.contains("cors: no rule matched"));
        let cors = r#"{"kind": "actual", "origin": "https://a.example", "method": "GET",
            "bucket": "photos", "key": "cat.jpg",
            "rules": [{"allowed_origins": ["https://b.example"], "allowed_methods": ["GET"]},
                      {"allowed_origins": ["https://*.example"], "allowed_methods": ["GET"]}]}"#;
        let report = evaluate(&engine, default, HookArg::Cors, cors, None).expect("runs");
        assert_eq!(report.verdict, Verdict::Allow, "{}", report.text);
        assert!(report.text.contains("rule: 1\n"), "{}", report.text);
        assert!(report.text.contains("credentials: yes"), "{}", report.text);

        // Without a configuration: this build (no metadata rules) accepts any metadata.
        let put = r#"{"operation": "PutObject", "bucket": "photos", "key": "k",
            "metadata": {"x-amz-meta-colour": "blue"}}"#;
        let report = evaluate(&engine, default, HookArg::Metadata, put, None).expect("runs");
        assert_eq!(report.verdict, Verdict::Allow, "{}", report.text);
        assert!(report.text.contains("metadata: accepted"));

        assert!(evaluate(&engine, default, HookArg::Authorize, FULL, Some("{")).is_err());
    }

    #[test]
    fn eval_reports_failures_logs_and_fallbacks() {
        let engine = engine();
        let bytes = Fixture::Panic.bytes().expect("fixture built by build.rs");
        let panic = engine.load("panic.wasm", &bytes).expect("loads");
        let report = evaluate(&engine, &panic, HookArg::Authorize, FULL, None).expect("runs");
        assert_eq!(report.verdict, Verdict::Failure, "{}", report.text);
        assert!(report.text.contains("failure (trap)"), "{}", report.text);
        assert!(
            report.text.contains("INFO  about to panic (0)"),
            "{}",
            report.text
        );
        assert!(report.text.contains("policy fixture panicked on purpose"));

        let report = evaluate(&engine, &panic, HookArg::Metadata, FULL, None).expect("runs");
        assert_eq!(report.verdict, Verdict::Allow, "{}", report.text);
        assert!(
            report
                .text
                .contains("hook: metadata (not exported by panic.wasm; evaluated by default)"),
            "{}",
            report.text
        );
    }
}
