//! Per-module decision metrics, rendered in the Prometheus text format.
//!
//! Counters are plain atomics owned by each module's [`ModuleMetrics`], so the
//! hot path takes no lock; the engine's registry of them is only locked when
//! a module is loaded and when metrics are rendered.
//!
//! Series are labelled with the module a bucket uses (`module`, `digest`)
//! and, for counters, the `hook`. A hook the module does not export is
//! evaluated by the default module but still counted under the bucket's
//! module, since that is the module whose behaviour the operator chose.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use super::engine::Hook;
use super::error::FailureKind;

/// Upper bounds of the evaluation-time histogram buckets, in seconds: a
/// default-module decision takes a few microseconds, the deadline is
/// milliseconds.
const BUCKETS: [f64; 14] = [
    2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 1e-1,
];

const HOOKS: usize = Hook::ALL.len();
const KINDS: usize = FailureKind::ALL.len();

/// A latency histogram with fixed buckets; counts are per bucket (made
/// cumulative when rendered).
#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(BUCKETS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// The counters of one module (one name and digest).
pub(crate) struct ModuleMetrics {
    name: String,
    digest: String,
    decisions: [AtomicU64; HOOKS],
    denials: [AtomicU64; HOOKS],
    /// Answers taken from the decision cache (also counted in `decisions`
    /// and `denials`, not in `evaluation`).
    cached: [AtomicU64; HOOKS],
    failures: [[AtomicU64; KINDS]; HOOKS],
    evaluation: Histogram,
}

impl ModuleMetrics {
    fn new(name: &str, digest: &str) -> Self {
        Self {
            name: name.to_owned(),
            digest: digest.to_owned(),
            decisions: Default::default(),
            denials: Default::default(),
            cached: Default::default(),
            failures: Default::default(),
            evaluation: Histogram::default(),
        }
    }

    /// One call of `hook` that answered; `denied` if the answer refuses
    /// (a deny, a metadata rejection, no CORS rule).
    pub(crate) fn answered(&self, hook: Hook, denied: bool, elapsed: Duration) {
        self.decisions[hook.index()].fetch_add(1, Ordering::Relaxed);
        if denied {
            self.denials[hook.index()].fetch_add(1, Ordering::Relaxed);
        }
        self.evaluation.observe(elapsed);
    }

    /// One answer of `hook` taken from the decision cache.
    pub(crate) fn answered_from_cache(&self, hook: Hook, denied: bool) {
        self.decisions[hook.index()].fetch_add(1, Ordering::Relaxed);
        if denied {
            self.denials[hook.index()].fetch_add(1, Ordering::Relaxed);
        }
        self.cached[hook.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Answers of `hook` taken from the decision cache so far.
    #[cfg(test)]
    pub(crate) fn cached(&self, hook: Hook) -> u64 {
        self.cached[hook.index()].load(Ordering::Relaxed)
    }

    /// One call of `hook` that failed (and so failed closed).
    pub(crate) fn failed(&self, hook: Hook, kind: FailureKind, elapsed: Duration) {
        self.failures[hook.index()][kind.index()].fetch_add(1, Ordering::Relaxed);
        self.evaluation.observe(elapsed);
    }

    /// Answered calls of `hook` so far.
    #[cfg(test)]
    pub(crate) fn decisions(&self, hook: Hook) -> u64 {
        self.decisions[hook.index()].load(Ordering::Relaxed)
    }

    /// Refusals by `hook` so far.
    #[cfg(test)]
    pub(crate) fn denials(&self, hook: Hook) -> u64 {
        self.denials[hook.index()].load(Ordering::Relaxed)
    }

    /// Failures of `hook` of `kind` so far.
    #[cfg(test)]
    pub(crate) fn failures(&self, hook: Hook, kind: FailureKind) -> u64 {
        self.failures[hook.index()][kind.index()].load(Ordering::Relaxed)
    }
}

/// Every live module's metrics, by name and digest. Entries are weak: a
/// module's series disappear once no loaded module uses them.
#[derive(Default)]
pub(crate) struct MetricsRegistry {
    modules: Mutex<HashMap<(String, String), Weak<ModuleMetrics>>>,
}

impl MetricsRegistry {
    /// The metrics of `name` with `digest`, shared by every load of it.
    pub(crate) fn module(&self, name: &str, digest: &str) -> Arc<ModuleMetrics> {
        let mut modules = self.lock();
        let key = (name.to_owned(), digest.to_owned());
        if let Some(existing) = modules.get(&key).and_then(Weak::upgrade) {
            return existing;
        }
        modules.retain(|_, m| m.strong_count() > 0);
        let metrics = Arc::new(ModuleMetrics::new(name, digest));
        modules.insert(key, Arc::downgrade(&metrics));
        metrics
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Weak<ModuleMetrics>>> {
        self.modules
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends every series in the Prometheus text exposition format.
    pub(crate) fn render(&self, out: &mut String) {
        let mut modules: Vec<Arc<ModuleMetrics>> =
            self.lock().values().filter_map(Weak::upgrade).collect();
        modules.sort_by(|a, b| (&a.name, &a.digest).cmp(&(&b.name, &b.digest)));

        per_hook_counter(
            out,
            &modules,
            "coffer_policy_decisions_total",
            "Policy hook calls that returned an answer.",
            |m| &m.decisions,
        );
        per_hook_counter(
            out,
            &modules,
            "coffer_policy_denials_total",
            "Answers that refused: authorize denials, metadata rejections, CORS requests no rule matched.",
            |m| &m.denials,
        );
        per_hook_counter(
            out,
            &modules,
            "coffer_policy_cached_answers_total",
            "Answers (also in coffer_policy_decisions_total) reused from the decision cache for an input the module had answered before, without evaluating it.",
            |m| &m.cached,
        );
        header(
            out,
            "coffer_policy_failures_total",
            "counter",
            "Policy hook calls that failed (and so failed closed), by kind.",
        );
        for m in &modules {
            for hook in Hook::ALL {
                for kind in FailureKind::ALL {
                    let v = m.failures[hook.index()][kind.index()].load(Ordering::Relaxed);
                    let labels = [("hook", hook.as_str()), ("kind", kind.as_str())];
                    sample(out, "coffer_policy_failures_total", m, &labels, v);
                }
            }
        }
        header(
            out,
            "coffer_policy_evaluation_seconds",
            "histogram",
            "Time of one policy hook call: instantiation, call and teardown.",
        );
        for m in &modules {
            let mut cumulative = 0;
            for (i, count) in m.evaluation.buckets.iter().enumerate() {
                cumulative += count.load(Ordering::Relaxed);
                let le = BUCKETS
                    .get(i)
                    .map_or_else(|| "+Inf".to_owned(), f64::to_string);
                sample(
                    out,
                    "coffer_policy_evaluation_seconds_bucket",
                    m,
                    &[("le", &le)],
                    cumulative,
                );
            }
            let sum = m.evaluation.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
            let _ = writeln!(
                out,
                "coffer_policy_evaluation_seconds_sum{} {sum}",
                labels(m, &[])
            );
            sample(
                out,
                "coffer_policy_evaluation_seconds_count",
                m,
                &[],
                cumulative,
            );
        }
    }
}

/// Appends counter `name`: one sample per module and hook.
fn per_hook_counter(
    out: &mut String,
    modules: &[Arc<ModuleMetrics>],
    name: &str,
    help: &str,
    counts: fn(&ModuleMetrics) -> &[AtomicU64; HOOKS],
) {
    header(out, name, "counter", help);
    for m in modules {
        for hook in Hook::ALL {
            let v = counts(m)[hook.index()].load(Ordering::Relaxed);
            sample(out, name, m, &[("hook", hook.as_str())], v);
        }
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, m: &ModuleMetrics, extra: &[(&str, &str)], value: u64) {
    let _ = writeln!(out, "{name}{} {value}", labels(m, extra));
}

fn labels(m: &ModuleMetrics, extra: &[(&str, &str)]) -> String {
    let mut s = format!(
        "{{module=\"{}\",digest=\"{}\"",
        escape(&m.name),
        escape(&m.digest)
    );
    for (k, v) in extra {
        let _ = write!(s, ",{k}=\"{}\"", escape(v));
    }
    s.push('}');
    s
}

/// Escapes a label value (backslash, double quote, newline).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let registry = MetricsRegistry::default();
        let m = registry.module("default", "ab\"c");
        m.answered(Hook::Authorize, false, Duration::from_micros(3));
        m.answered(Hook::Authorize, true, Duration::from_micros(7));
        m.failed(Hook::Cors, FailureKind::Deadline, Duration::from_millis(10));
        let mut out = String::new();
        registry.render(&mut out);
        for line in [
            "# TYPE coffer_policy_decisions_total counter",
            r#"coffer_policy_decisions_total{module="default",digest="ab\"c",hook="authorize"} 2"#,
            r#"coffer_policy_denials_total{module="default",digest="ab\"c",hook="authorize"} 1"#,
            r#"coffer_policy_failures_total{module="default",digest="ab\"c",hook="cors",kind="deadline"} 1"#,
            "# TYPE coffer_policy_evaluation_seconds histogram",
            r#"coffer_policy_evaluation_seconds_bucket{module="default",digest="ab\"c",le="0.000005"} 1"#,
            r#"coffer_policy_evaluation_seconds_bucket{module="default",digest="ab\"c",le="0.00001"} 2"#,
            r#"coffer_policy_evaluation_seconds_bucket{module="default",digest="ab\"c",le="+Inf"} 3"#,
            r#"coffer_policy_evaluation_seconds_count{module="default",digest="ab\"c"} 3"#,
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
        }
    }

    #[test]
    fn same_module_shares_counters_and_dropped_ones_vanish() {
        let registry = MetricsRegistry::default();
        let a = registry.module("m", "d");
        let b = registry.module("m", "d");
        assert!(Arc::ptr_eq(&a, &b));
        drop((a, b));
        let mut out = String::new();
        registry.render(&mut out);
        assert!(!out.contains("module=\"m\""), "{out}");
    }
}
