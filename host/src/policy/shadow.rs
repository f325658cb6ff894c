//! Shadow mode: a candidate module evaluated beside a bucket's active module on live
//! traffic. Only the active module decides; the candidate's answer is compared with it,
//! every comparison and every disagreement counted (`/metrics`), and each disagreement
//! logged with the request id, the operation, the key and both answers. Operators see
//! what a change of rules would change before making it (`coffer admin policy shadow`).
//!
//! The candidate runs after the active decision, on the request's thread, so the active
//! path pays exactly the candidate's evaluation (and nothing on requests not sampled).
//! Sampling is by count, not chance: with rate `r`, the `n`-th decision is sampled when
//! `floor(n * r)` moves, so a rate of 1.0 compares every decision and the counts are exact.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::{Error, LoadedModule, types};

/// A bucket's candidate module.
#[derive(Debug)]
pub struct Shadow {
    /// The module name as stored (`default` for the built-in module).
    pub name: String,
    /// The compiled module, or why it could not be loaded (then every sampled decision
    /// counts as a candidate failure).
    pub module: Result<Arc<LoadedModule>, String>,
    /// Its configuration (it replaces the active module's in the candidate's input).
    pub config: Option<String>,
    /// The fraction of decisions compared.
    pub sample: f64,
    /// Decisions seen, for sampling.
    seen: AtomicU64,
    /// Its counters, kept across registry refreshes.
    pub counters: Arc<ShadowCounters>,
}

impl Shadow {
    /// A candidate compared on `sample` of the decisions, counting into `counters`.
    pub fn new(
        name: String,
        module: Result<Arc<LoadedModule>, String>,
        config: Option<String>,
        sample: f64,
        counters: Arc<ShadowCounters>,
    ) -> Self {
        Shadow {
            name,
            module,
            config,
            sample,
            seen: AtomicU64::new(0),
            counters,
        }
    }

    /// Whether this decision is compared.
    pub fn sampled(&self) -> bool {
        if self.sample >= 1.0 {
            return true;
        }
        let n = self.seen.fetch_add(1, Ordering::Relaxed);
        let before = (n as f64 * self.sample).floor();
        let after = ((n + 1) as f64 * self.sample).floor();
        after > before
    }
}

/// What a decision means for the client: comparisons look at this, not at reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The request proceeds.
    Allow,
    /// `AccessDenied` (a denial, or a failure, which fails closed).
    Deny,
    /// Another S3 error.
    Refuse(types::ErrorCode),
}

impl Effect {
    /// The effect of a decision (or of a failure to decide).
    pub fn of(decision: &Result<types::Decision, Error>) -> Self {
        match decision {
            Ok(types::Decision::Allow(_)) => Effect::Allow,
            Ok(types::Decision::Deny(_)) | Err(_) => Effect::Deny,
            Ok(types::Decision::Refuse(r)) => Effect::Refuse(r.code),
        }
    }

    /// How logs name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
            Effect::Refuse(types::ErrorCode::AccessControlListNotSupported) => {
                "refuse AccessControlListNotSupported"
            }
            Effect::Refuse(types::ErrorCode::InvalidBucketAclWithObjectOwnership) => {
                "refuse InvalidBucketAclWithObjectOwnership"
            }
        }
    }
}

/// The reason of a decision, or the failure.
pub fn reason_of(decision: &Result<types::Decision, Error>) -> String {
    match decision {
        Ok(types::Decision::Allow(r) | types::Decision::Deny(r)) => r.clone(),
        Ok(types::Decision::Refuse(r)) => r.reason.clone(),
        Err(e) => format!("failed: {e}"),
    }
}

/// One bucket's shadow counters.
#[derive(Debug)]
pub struct ShadowCounters {
    bucket: String,
    candidate: String,
    compared: AtomicU64,
    disagreements: AtomicU64,
}

impl ShadowCounters {
    /// Counts one comparison, and whether the answers differed.
    pub fn count(&self, disagreed: bool) {
        self.compared.fetch_add(1, Ordering::Relaxed);
        if disagreed {
            self.disagreements.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Every bucket's shadow counters, by bucket and candidate, kept for the life of the
/// process (a registry refresh rebuilds the shadows, not their counts).
#[derive(Debug, Default)]
pub struct ShadowMetrics {
    by_bucket: Mutex<HashMap<(String, String), Arc<ShadowCounters>>>,
}

impl ShadowMetrics {
    /// The counters of `candidate` shadowing on `bucket`.
    pub fn counters(&self, bucket: &str, candidate: &str) -> Arc<ShadowCounters> {
        self.lock()
            .entry((bucket.to_owned(), candidate.to_owned()))
            .or_insert_with(|| {
                Arc::new(ShadowCounters {
                    bucket: bucket.to_owned(),
                    candidate: candidate.to_owned(),
                    compared: AtomicU64::new(0),
                    disagreements: AtomicU64::new(0),
                })
            })
            .clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Arc<ShadowCounters>>> {
        self.by_bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends `coffer_policy_shadow_decisions_total` and
    /// `coffer_policy_shadow_disagreements_total`, labelled with `bucket` and `candidate`
    /// (Prometheus text format).
    pub fn render(&self, out: &mut String) {
        let map = self.lock();
        let mut all: Vec<&Arc<ShadowCounters>> = map.values().collect();
        all.sort_by(|a, b| (&a.bucket, &a.candidate).cmp(&(&b.bucket, &b.candidate)));
        for (metric, help, value) in [
            (
                "coffer_policy_shadow_decisions_total",
                "Decisions also given to a bucket's shadow (candidate) module.",
                (|c: &ShadowCounters| c.compared.load(Ordering::Relaxed))
                    as fn(&ShadowCounters) -> u64,
            ),
            (
                "coffer_policy_shadow_disagreements_total",
                "Shadow decisions whose effect (allow, AccessDenied, another error) differed from the active module's.",
                |c: &ShadowCounters| c.disagreements.load(Ordering::Relaxed),
            ),
        ] {
            let _ = writeln!(out, "# HELP {metric} {help}\n# TYPE {metric} counter");
            for c in &all {
                let _ = writeln!(
                    out,
                    "{metric}{{bucket=\"{}\",candidate=\"{}\"}} {}",
                    escape(&c.bucket),
                    escape(&c.candidate),
                    value(c)
                );
            }
        }
    }
}

/// A Prometheus label value.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shadow(sample: f64) -> Shadow {
        Shadow::new(
            "candidate".into(),
            Err("not loaded".into()),
            None,
            sample,
            ShadowMetrics::default().counters("b", "candidate"),
        )
    }

    #[test]
    fn sampling_is_by_count() {
        for (rate, of_1000) in [(1.0, 1000), (0.5, 500), (0.1, 100), (0.001, 1), (0.25, 250)] {
            let s = shadow(rate);
            let sampled = (0..1000).filter(|_| s.sampled()).count();
            assert_eq!(sampled, of_1000, "{rate}");
        }
    }

    #[test]
    fn counters_render_and_survive_a_refresh() {
        let metrics = ShadowMetrics::default();
        metrics.counters("photos", "strict").count(true);
        metrics.counters("photos", "strict").count(false);
        let mut out = String::new();
        metrics.render(&mut out);
        assert!(out.contains(
            "coffer_policy_shadow_decisions_total{bucket=\"photos\",candidate=\"strict\"} 2"
        ));
        assert!(out.contains(
            "coffer_policy_shadow_disagreements_total{bucket=\"photos\",candidate=\"strict\"} 1"
        ));
    }
}
