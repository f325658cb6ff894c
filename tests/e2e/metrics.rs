//! `/metrics` through the real server: the S3 request metrics after a known sequence of
//! requests (counts by operation and status, error codes, bytes, the latency histogram,
//! requests in flight), the PostgreSQL pool and its histograms, and the Grafana dashboard
//! and `docs/metrics.md` against what the server exports, so neither can drift from the
//! code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use coffer_tests::raw::object_path;
use coffer_tests::{ServerBuilder, TestServer, random_bytes, unique_bucket};
use tokio::sync::OnceCell;

use crate::support::{create_bucket, get, put, shared};

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

/// One server for the module: the request test works on differences between two scrapes,
/// and the other tests send no S3 request.
async fn server() -> &'static TestServer {
    shared(&SERVER, ServerBuilder::default).await
}

/// A parsed scrape: samples by name with their labels, and each metric's `# TYPE`.
struct Scrape {
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
    types: BTreeMap<String, String>,
}

impl Scrape {
    async fn take(server: &TestServer) -> Scrape {
        let response = server.admin_raw("GET", "/metrics").send().await;
        assert_eq!(response.status, 200, "{}", response.text());
        Scrape::parse(&response.text())
    }

    fn parse(text: &str) -> Scrape {
        let mut samples = Vec::new();
        let mut types = BTreeMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
                types.insert(name.to_owned(), kind.to_owned());
                continue;
            }
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
            let value: f64 = value
                .parse()
                .unwrap_or_else(|e| panic!("value of {line:?}: {e}"));
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, parse_labels(labels.trim_end_matches('}'))),
                None => (series, BTreeMap::new()),
            };
            samples.push((name.to_owned(), labels, value));
        }
        Scrape { samples, types }
    }

    /// The sum of `name`'s samples whose labels include every one of `labels` (0 when
    /// there is none: series appear when first counted).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(v))
            })
            .map(|(_, _, v)| v)
            .sum()
    }

    /// Whether `name` has a sample.
    fn has(&self, name: &str) -> bool {
        self.samples.iter().any(|(n, _, _)| n == name)
    }

    /// Whether `name` is exported: a metric with a `# TYPE`, or a histogram's series.
    fn exports(&self, name: &str) -> bool {
        self.types.contains_key(name)
            || ["_bucket", "_sum", "_count"].iter().any(|suffix| {
                name.strip_suffix(suffix).is_some_and(|base| {
                    self.types.get(base).map(String::as_str) == Some("histogram")
                })
            })
    }
}

/// `a="x",b="y\"z"` as a map (values unescaped).
fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        assert_eq!(chars.next(), Some('"'), "label {name} in {text:?}");
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => panic!("dangling escape in {text:?}"),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(name.trim_start_matches(',').to_owned(), value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    labels
}

/// Every `coffer_*` metric name in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("coffer_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        // A name, not the end of a longer word.
        let starts_word = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        if starts_word {
            names.insert(tail[..end].to_owned());
        }
        rest = &tail[end..];
    }
    names
}

fn repository_file(path: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test]
async fn requests_are_counted_by_operation_status_and_error_code() {
    let server = server().await;
    let client = server.client();
    let bucket = unique_bucket("metrics");
    create_bucket(&client, &bucket).await;
    let before = Scrape::take(server).await;

    let data = random_bytes(10_000);
    put(&client, &bucket, "k", &data).await;
    assert_eq!(get(&client, &bucket, "k").await, data);
    let missing = server
        .raw("GET", &object_path(&bucket, "missing"))
        .sign_v4(server.admin_keys())
        .send()
        .await;
    missing.assert_error(404, "NoSuchKey");
    let denied = server.raw("GET", &object_path(&bucket, "k")).send().await;
    denied.assert_error(403, "AccessDenied");

    // The last response body may still be being dropped when the client has read it.
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let scrape = Scrape::take(server).await;
        if scrape.value("coffer_s3_requests_in_flight", &[]) == 0.0 || Instant::now() > deadline {
            break scrape;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        after.value("coffer_s3_requests_in_flight", &[]),
        0.0,
        "requests still in flight after every response was read"
    );

    let grew = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    let requests = "coffer_s3_requests_total";
    let errors = "coffer_s3_errors_total";
    for (op, status, count) in [
        ("PutObject", "200", 1.0),
        ("GetObject", "200", 1.0),
        ("GetObject", "404", 1.0),
        ("GetObject", "403", 1.0),
    ] {
        assert_eq!(
            grew(requests, &[("op", op), ("status", status)]),
            count,
            "{op} {status}"
        );
    }
    assert_eq!(grew(requests, &[("op", "PutObject")]), 1.0);
    assert_eq!(grew(requests, &[("op", "GetObject")]), 3.0);
    assert_eq!(
        grew(errors, &[("op", "GetObject"), ("code", "NoSuchKey")]),
        1.0
    );
    assert_eq!(
        grew(errors, &[("op", "GetObject"), ("code", "AccessDenied")]),
        1.0
    );
    assert_eq!(grew(errors, &[("op", "GetObject")]), 2.0);
    assert_eq!(grew(errors, &[("op", "PutObject")]), 0.0);

    let duration = "coffer_s3_request_duration_seconds";
    assert_eq!(
        after.types.get(duration).map(String::as_str),
        Some("histogram")
    );
    assert_eq!(
        grew(&format!("{duration}_count"), &[("op", "GetObject")]),
        3.0
    );
    assert_eq!(
        grew(&format!("{duration}_count"), &[("op", "PutObject")]),
        1.0
    );
    assert_eq!(
        grew(
            &format!("{duration}_bucket"),
            &[("op", "GetObject"), ("le", "+Inf")]
        ),
        3.0
    );
    assert!(grew(&format!("{duration}_sum"), &[("op", "GetObject")]) > 0.0);

    // Body bytes as they flowed: at least the object (more for an aws-chunked upload),
    // and the object plus both error documents.
    let received = grew("coffer_s3_received_bytes_total", &[("op", "PutObject")]);
    assert!(received >= data.len() as f64, "received {received}");
    let sent = grew("coffer_s3_sent_bytes_total", &[("op", "GetObject")]);
    let at_least = data.len() + missing.body.len() + denied.body.len();
    assert!(
        sent >= at_least as f64,
        "sent {sent}, expected at least {at_least}"
    );
    assert_eq!(
        grew("coffer_s3_sent_bytes_total", &[("op", "PutObject")]),
        0.0
    );

    // No bucket name or key in any label.
    for (name, labels, _) in &after.samples {
        for value in labels.values() {
            assert!(
                !value.contains(&bucket) && value != "missing",
                "{name} has a label with a client's name: {labels:?}"
            );
        }
    }
}

#[tokio::test]
async fn pool_gauges_and_database_histograms_are_exported() {
    let server = server().await;
    // A request, so that the pool has been used since the start.
    create_bucket(&server.client(), &unique_bucket("metrics-pool")).await;
    let scrape = Scrape::take(server).await;
    for gauge in [
        "coffer_db_pool_connections",
        "coffer_db_pool_idle_connections",
        "coffer_db_pool_in_use_connections",
        "coffer_db_pool_max_connections",
    ] {
        assert_eq!(scrape.types.get(gauge).map(String::as_str), Some("gauge"));
        assert!(scrape.has(gauge), "no sample of {gauge}");
    }
    let open = scrape.value("coffer_db_pool_connections", &[]);
    let idle = scrape.value("coffer_db_pool_idle_connections", &[]);
    let in_use = scrape.value("coffer_db_pool_in_use_connections", &[]);
    let max = scrape.value("coffer_db_pool_max_connections", &[]);
    assert!(open >= 1.0 && open <= max, "open {open}, max {max}");
    assert_eq!(idle + in_use, open);

    for histogram in [
        "coffer_db_pool_acquire_duration_seconds",
        "coffer_db_query_duration_seconds",
    ] {
        assert_eq!(
            scrape.types.get(histogram).map(String::as_str),
            Some("histogram")
        );
        let count = scrape.value(&format!("{histogram}_count"), &[]);
        assert!(count > 0.0, "{histogram} counted nothing");
        assert_eq!(
            scrape.value(&format!("{histogram}_bucket"), &[("le", "+Inf")]),
            count
        );
    }
    // Statements are labelled by their first keyword, from a fixed set.
    let statements: BTreeSet<&str> = scrape
        .samples
        .iter()
        .filter(|(n, _, _)| n == "coffer_db_query_duration_seconds_count")
        .filter_map(|(_, l, _)| l.get("statement").map(String::as_str))
        .collect();
    assert!(statements.contains("SELECT"), "{statements:?}");
    let kinds = [
        "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "COMMIT", "ROLLBACK", "other",
    ];
    assert!(
        statements.iter().all(|s| kinds.contains(s)),
        "{statements:?}"
    );
}

#[tokio::test]
async fn dashboard_uses_only_exported_metrics() {
    let scrape = Scrape::take(server().await).await;
    let text = repository_file("docs/grafana/coffer.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&text).expect("docs/grafana/coffer.json is JSON");

    // The data source is a template variable, so the dashboard imports anywhere.
    let variables = dashboard["templating"]["list"]
        .as_array()
        .expect("templating variables");
    assert!(
        variables
            .iter()
            .any(|v| v["name"] == "DS_PROMETHEUS" && v["type"] == "datasource"),
        "no DS_PROMETHEUS data source variable"
    );

    let mut queries = Vec::new();
    let mut panels = 0;
    collect(&dashboard, &mut queries, &mut panels);
    assert!(panels >= 10, "{panels} panels");
    let used: BTreeSet<String> = queries.iter().flat_map(|q| metric_names(q)).collect();
    let unknown: Vec<&String> = used.iter().filter(|n| !scrape.exports(n)).collect();
    assert!(
        unknown.is_empty(),
        "the dashboard queries metrics /metrics does not export: {unknown:?}"
    );
    for wanted in [
        "coffer_s3_requests_total",
        "coffer_s3_errors_total",
        "coffer_s3_request_duration_seconds_bucket",
        "coffer_s3_received_bytes_total",
        "coffer_s3_sent_bytes_total",
        "coffer_s3_requests_in_flight",
        "coffer_db_pool_in_use_connections",
        "coffer_db_query_duration_seconds_bucket",
        "coffer_policy_failures_total",
        "coffer_repair_queue_chunks",
    ] {
        assert!(
            used.contains(wanted),
            "the dashboard has no panel for {wanted}"
        );
    }
}

/// Every query string of the dashboard (panel targets and variable queries), and the
/// number of panels; checks that every panel uses the `DS_PROMETHEUS` data source.
fn collect(value: &serde_json::Value, queries: &mut Vec<String>, panels: &mut usize) {
    match value {
        serde_json::Value::Object(map) => {
            if map.contains_key("targets") {
                *panels += 1;
                assert_eq!(
                    map["datasource"]["uid"],
                    "${DS_PROMETHEUS}",
                    "panel {:?}",
                    map.get("title")
                );
            }
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr" | "definition" | "query", serde_json::Value::String(q)) => {
                        queries.push(q.clone());
                    }
                    _ => collect(v, queries, panels),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                collect(v, queries, panels);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn docs_list_every_exported_metric() {
    let scrape = Scrape::take(server().await).await;
    let docs = repository_file("docs/metrics.md");
    let documented = metric_names(&docs);
    let undocumented: Vec<&String> = scrape
        .types
        .keys()
        .filter(|n| n.starts_with("coffer_") && !documented.contains(*n))
        .collect();
    assert!(
        undocumented.is_empty(),
        "docs/metrics.md does not list {undocumented:?}"
    );
    let unknown: Vec<&String> = documented.iter().filter(|n| !scrape.exports(n)).collect();
    assert!(
        unknown.is_empty(),
        "docs/metrics.md lists metrics /metrics does not export: {unknown:?}"
    );
}
