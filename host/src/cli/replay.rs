//! `coffer policy replay`: evaluates the requests of a decision log (`coffer admin policy
//! log`) with a candidate module, offline, and reports the decisions that would change:
//! how many, which (request id, operation, key, before and after, the new reason),
//! grouped by operation and by key prefix.
//!
//! ```text
//! coffer policy replay LOG... [--module M.wasm] [--config CFG.json]
//! ```
//!
//! `LOG` is a log directory (`DATA_DIR/decision-logs/BUCKET`, its files read oldest
//! first) or log files. Without `--module` the embedded default module decides (what a
//! bucket without a module would). A decision changes when its effect does: allowed,
//! `AccessDenied`, or another S3 error. Exit status: 0 when nothing changes, 1 when some
//! decision does, 2 on an error (unreadable log or module).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use coffer::policy::decision_log::{self, error_name};
use coffer::policy::request_json;
use coffer::policy::{Limits, LoadedModule, PolicyEngine, types};

/// Arguments of `coffer policy replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Log directories or files.
    #[arg(required = true)]
    logs: Vec<PathBuf>,
    /// The candidate module (a WebAssembly component); the embedded default module if
    /// omitted.
    #[arg(long)]
    module: Option<PathBuf>,
    /// JSON configuration for the candidate (replaces each request's `config`).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// One decision that changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The logged request's id.
    pub request_id: String,
    /// The operation.
    pub operation: String,
    /// The key, if any.
    pub key: Option<String>,
    /// What was decided (`allow`, `AccessDenied`, another error).
    pub before: String,
    /// What the candidate decides.
    pub after: String,
    /// The candidate's reason.
    pub reason: String,
}

/// What a replay found.
#[derive(Debug, Default)]
pub struct Replay {
    /// Decisions replayed.
    pub decisions: u64,
    /// Those that change.
    pub changes: Vec<Change>,
    /// Decisions and changes per operation.
    pub by_operation: BTreeMap<String, (u64, u64)>,
    /// Decisions and changes per key prefix (up to the first `/`; `(bucket)` without key).
    pub by_prefix: BTreeMap<String, (u64, u64)>,
}

/// Runs `coffer policy replay`, printing the report; returns the exit status.
pub fn run(args: &ReplayArgs) -> anyhow::Result<i32> {
    let config = args
        .config
        .as_deref()
        .map(|p| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display())))
        .transpose()?;
    let engine = PolicyEngine::new(Limits {
        decision_cache_bytes: 0,
        ..Limits::default()
    })
    .context("starting the policy engine")?;
    let module = match &args.module {
        None => engine.default_module().clone(),
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let name = path
                .file_name()
                .map_or_else(|| "module".to_owned(), |n| n.to_string_lossy().into_owned());
            engine
                .load(&name, &bytes)
                .with_context(|| format!("loading {}", path.display()))?
        }
    };
    let mut files = Vec::new();
    for log in &args.logs {
        files.extend(log_files(log)?);
    }
    let replay = replay(&engine, &module, &files, config.as_deref())?;
    print!("{}", report(&replay, module.name()));
    Ok(i32::from(!replay.changes.is_empty()))
}

/// The files of `path`: a log directory's, oldest first, or the file itself.
fn log_files(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if path.is_dir() {
        let files =
            decision_log::files_in(path).with_context(|| format!("listing {}", path.display()))?;
        anyhow::ensure!(
            !files.is_empty(),
            "{} holds no decision log",
            path.display()
        );
        Ok(files)
    } else {
        Ok(vec![path.to_owned()])
    }
}

/// Replays every line of `files` with `module`.
pub fn replay(
    engine: &PolicyEngine,
    module: &LoadedModule,
    files: &[PathBuf],
    config: Option<&str>,
) -> anyhow::Result<Replay> {
    let mut out = Replay::default();
    for file in files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let captured = request_json::parse(line, config.map(str::to_owned))
                .with_context(|| format!("{}:{}", file.display(), n + 1))?;
            let recorded = captured.recorded.with_context(|| {
                format!(
                    "{}:{}: not a decision log line (no `recorded`)",
                    file.display(),
                    n + 1
                )
            })?;
            let req = captured.request;
            let decision = engine.evaluate_authorize(module, &req).outcome;
            let after = effect(&decision);
            let before = recorded.error.clone().unwrap_or_else(|| "allow".to_owned());
            let changed = before != after;
            out.decisions += 1;
            let prefix = match &req.key {
                Some(k) => match k.find('/') {
                    Some(i) => k[..=i].to_owned(),
                    None => k.clone(),
                },
                None => "(bucket)".to_owned(),
            };
            for (map, name) in [
                (&mut out.by_operation, req.operation.clone()),
                (&mut out.by_prefix, prefix),
            ] {
                let entry = map.entry(name).or_default();
                entry.0 += 1;
                entry.1 += u64::from(changed);
            }
            if changed {
                out.changes.push(Change {
                    request_id: recorded.request_id,
                    operation: req.operation,
                    key: req.key,
                    before,
                    after,
                    reason: decision_log::recorded("", "", &decision).reason,
                });
            }
        }
    }
    Ok(out)
}

/// What the client gets: `allow`, `AccessDenied` or another S3 error.
fn effect(decision: &Result<types::Decision, coffer::policy::Error>) -> String {
    match decision {
        Ok(types::Decision::Allow(_)) => "allow".to_owned(),
        Ok(types::Decision::Deny(_)) | Err(_) => "AccessDenied".to_owned(),
        Ok(types::Decision::Refuse(r)) => error_name(r.code).to_owned(),
    }
}

/// The printed report.
fn report(replay: &Replay, module: &str) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "replayed {} decisions with {module}: {} would change",
        replay.decisions,
        replay.changes.len()
    );
    for (title, map) in [
        ("by operation", &replay.by_operation),
        ("by key prefix", &replay.by_prefix),
    ] {
        let _ = writeln!(text, "{title}:");
        for (name, (all, changed)) in map {
            let _ = writeln!(text, "  {name}: {changed} of {all} change");
        }
    }
    if !replay.changes.is_empty() {
        let _ = writeln!(text, "changes:");
        for c in &replay.changes {
            let _ = writeln!(
                text,
                "  {} {} {}: {} -> {} ({})",
                c.request_id,
                c.operation,
                c.key.as_deref().unwrap_or("-"),
                c.before,
                c.after,
                c.reason
            );
        }
    }
    text
}
