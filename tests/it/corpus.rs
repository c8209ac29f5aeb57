//! Acceptance tests over real-world manifest streams.
//!
//! The corpus lives outside the repository, in `../shared/corpus` relative to the crate root
//! (see its `SOURCES.md` for provenance). It is read, never copied; when it is missing, the
//! tests that need it are skipped, saying so, or fail under CI ([`common::needs`]).

use crate::common;
use gunj_mesh::MeshType;
use gunj_mesh::internals::stream::{self, Doc};
use gunj_mesh::internals::yaml::{self, Limits, Node};
use gunj_mesh::{Entry, EntryAction, GeneratedAction, Report};
use gunj_mesh::{Input, Options};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The corpus's folders, each a set of charts or manifests.
pub const FOLDERS: [&str; 5] = [
    "helm-template",
    "postrender-stdin",
    "kube-prometheus",
    "istio-addons",
    "upstream",
];
const MESHES: [MeshType; 2] = [MeshType::Istio, MeshType::Linkerd];
/// The kinds whose recognition test 2 audits.
const POD_KINDS: [&str; 7] = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "Pod",
    "ReplicaSet",
];

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// The files of one corpus folder, sorted, as inputs named `folder/file`.
fn folder_inputs(corpus: &Path, folder: &str) -> Vec<Input> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(corpus.join(folder))
        .unwrap_or_else(|e| panic!("cannot read corpus folder {folder}: {e}"))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "corpus folder {folder} is empty");
    paths
        .iter()
        .map(|p| {
            Input::new(
                format!("{folder}/{}", p.file_name().unwrap().to_string_lossy()),
                std::fs::read_to_string(p)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display())),
            )
        })
        .collect()
}

fn read_input(corpus: &Path, name: &str) -> Input {
    Input::new(
        name,
        std::fs::read_to_string(corpus.join(name))
            .unwrap_or_else(|e| panic!("cannot read {name}: {e}")),
    )
}

/// One run of the filter: a label and its inputs.
struct Case {
    label: String,
    inputs: Vec<Input>,
}

/// Every corpus file as one input, plus all of kube-prometheus as one multi-input run.
fn cases(corpus: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    for folder in FOLDERS {
        let inputs = folder_inputs(corpus, folder);
        for input in &inputs {
            cases.push(Case {
                label: input.name.clone(),
                inputs: vec![input.clone()],
            });
        }
        if folder == "kube-prometheus" {
            cases.push(Case {
                label: format!("{folder}/ (all {} files as one run)", inputs.len()),
                inputs,
            });
        }
    }
    cases
}

fn options(mesh: MeshType) -> Options {
    Options {
        mesh: Some(mesh),
        ..Options::default()
    }
}

/// The output text and report of one run.
struct Filtered {
    output: String,
    report: Report,
}

fn run(inputs: &[Input], mesh: MeshType, label: &str) -> Filtered {
    let outcome = gunj_mesh::run(inputs, &options(mesh))
        .unwrap_or_else(|f| panic!("{label} ({mesh:?}): the filter failed: {f}"));
    assert!(
        outcome.failure.is_none(),
        "{label} ({mesh:?}): unexpected failure {:?}",
        outcome.failure
    );
    Filtered {
        output: outcome.output.text(),
        report: outcome.report,
    }
}

/// The input document a report entry is about (entries count the non-empty documents of
/// their file).
fn doc_of(docs: &[Doc], entry: &Entry) -> usize {
    docs.iter()
        .position(|d| !d.header.empty && d.file == entry.file && d.number == entry.document)
        .unwrap_or_else(|| panic!("no input document numbered {}", entry.document))
}

/// An output document with what joining inputs adds around it taken off: a `---` line
/// before the first document of a later input, a newline after the last one of an input.
fn unjoined<'a>(out: &'a str, docs: &[Doc], i: usize) -> &'a str {
    let doc = &docs[i];
    let mut out = out;
    if i > 0 && docs[i - 1].source != doc.source && !doc.text.starts_with("---") {
        out = out.strip_prefix("---\n").unwrap_or(out);
    }
    let last_of_source = docs.get(i + 1).is_some_and(|n| n.source != doc.source);
    if last_of_source && !doc.text.ends_with('\n') {
        out = out.strip_suffix('\n').unwrap_or(out);
    }
    out
}

/// The lines of a text, each without its `\n` (a `\r` stays: line endings are compared).
fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n')
        .map(|l| l.strip_suffix('\n').unwrap_or(l))
        .collect()
}

/// `None` when the lines of `before` appear in order in `after` (only lines were added);
/// otherwise the first line of `before` that could not be found.
fn missing_line<'a>(before: &'a str, after: &str) -> Option<(usize, &'a str)> {
    let after = lines(after);
    let mut at = 0;
    for (n, line) in lines(before).into_iter().enumerate() {
        match after[at..].iter().position(|l| *l == line) {
            Some(p) => at += p + 1,
            None => return Some((n + 1, line)),
        }
    }
    None
}

fn parse<'a>(text: &'a str, what: &str) -> Option<Node<'a>> {
    yaml::parse(text, Limits::default()).unwrap_or_else(|e| panic!("{what}: does not parse: {e}"))
}

fn to_json(text: &str, what: &str) -> Value {
    parse(text, what)
        .unwrap_or_else(|| panic!("{what}: empty document"))
        .to_json()
}

/// The documents the report says are changed.
fn changed_docs(docs: &[Doc], report: &Report) -> BTreeSet<usize> {
    report
        .entries
        .iter()
        .filter(|e| e.changed)
        .map(|e| doc_of(docs, e))
        .collect()
}

// ---------------------------------------------------------------------------------------
// 1. Stream invariants over the whole corpus
// ---------------------------------------------------------------------------------------

/// Checks one run's output against its inputs. Returns how many documents changed; every
/// broken promise goes into `problems`, so that one run lists them all.
fn check_stream(case: &Case, mesh: MeshType, problems: &mut Vec<String>) -> usize {
    let label = format!("{} ({mesh:?})", case.label);
    let outcome = run(&case.inputs, mesh, &label);
    let docs = gunj_mesh::internals::documents(&case.inputs, usize::MAX).unwrap();
    let out_docs = stream::split(0, &outcome.output);

    // Every input document is in the output, followed by the resources generated for it
    // (with no config, only the companions of the stream's own NetworkPolicies).
    let generated = outcome
        .report
        .generated
        .iter()
        .filter(|g| g.action == GeneratedAction::Generate)
        .count();
    if out_docs.len() != docs.len() + generated {
        problems.push(format!(
            "{label}: {} documents in and {generated} generated, {} out",
            docs.len(),
            out_docs.len()
        ));
        return 0;
    }
    for out in &out_docs[docs.len()..] {
        if !out.text.contains("app.kubernetes.io/managed-by: gunj-mesh") {
            problems.push(format!(
                "{label}: a document after the inputs is not one gunj-mesh generated:\n{}",
                out.text
            ));
        }
    }

    let changed = changed_docs(&docs, &outcome.report);
    for (i, (doc, out)) in docs.iter().zip(&out_docs).enumerate() {
        let what = format!("{label}: document {} (line {})", doc.number, doc.line);
        let out = unjoined(out.text, &docs, i);
        if !changed.contains(&i) {
            // Not changed: byte for byte.
            if out != doc.text {
                problems.push(format!(
                    "{what}: the report says it is not changed, but its text differs\n--- in\n{}\n--- out\n{out}",
                    doc.text
                ));
            }
            continue;
        }
        // Changed: only added lines, and it still parses.
        if let Some((n, line)) = missing_line(doc.text, out) {
            let name = lines(out).into_iter().find(|l| l.starts_with("  name:"));
            problems.push(format!(
                "{what} {name:?}: the input's line {n} {line:?} is not in the output (only added lines are allowed)"
            ));
        }
        let body = out.get(doc.parse_from..).unwrap_or(out);
        match yaml::parse(body, Limits::default()) {
            Ok(Some(node)) => {
                let before = to_json(&doc.text[doc.parse_from..], &what);
                if before == node.to_json() {
                    problems.push(format!("{what}: reported as changed, but says the same"));
                }
            }
            Ok(None) => problems.push(format!("{what}: the changed document is empty")),
            Err(e) => problems.push(format!(
                "{what}: the changed document does not parse: {e}\n{out}"
            )),
        }
    }

    // Idempotent: a second pass changes nothing.
    let second = run(
        &[Input::new("-", outcome.output.clone())],
        mesh,
        &format!("{label}, second pass"),
    );
    if second.output != outcome.output {
        problems.push(format!(
            "{label}: a second pass over the output changed it: {:?}",
            second
                .report
                .entries
                .iter()
                .filter(|e| e.changed)
                .map(Entry::summary)
                .collect::<Vec<_>>()
        ));
    }

    // Deterministic: the same inputs give the same bytes and the same report.
    let again = run(&case.inputs, mesh, &label);
    if again.output != outcome.output {
        problems.push(format!("{label}: two runs gave different output"));
    }
    if serde_json::to_value(&again.report).unwrap()
        != serde_json::to_value(&outcome.report).unwrap()
    {
        problems.push(format!("{label}: two runs gave different reports"));
    }
    changed.len()
}

#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn corpus_streams_keep_every_document_add_only_lines_and_are_idempotent() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let cases = cases(&corpus);
    let mut problems = Vec::new();
    for mesh in MESHES {
        let mut changed = 0;
        for case in &cases {
            changed += check_stream(case, mesh, &mut problems);
        }
        // The corpus is full of observability components: make sure the checks above
        // were not vacuous.
        assert!(changed > 50, "{mesh:?}: only {changed} documents changed");
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// 2. Recognition audit
// ---------------------------------------------------------------------------------------

/// Workloads of the audited kinds in the corpus that the report does not list: none of them
/// is an observability component (checked by reading each one).
const NOT_RECOGNISED: &[&str] = &[
    // A `helm.sh/hook: pre-delete` Job running `rancher/kubectl delete
    // instrumentations,opampbridges,opentelemetrycollectors`: chart housekeeping, no labels.
    "helm-template/opentelemetry-kube-stack.yaml: Job opentelemetry-kube-stack-pre-delete-job",
    // grafana/k8s-monitoring's hook Jobs running `helm-chart-toolbox-kubectl` to add and
    // remove the Alloy resources' finalizers: chart housekeeping.
    "upstream/k8s-monitoring-istio-service-mesh.yaml: Job k8smon-k8s-monitoring-add-finalizer",
    "upstream/k8s-monitoring-istio-service-mesh.yaml: Job k8smon-k8s-monitoring-remove-alloy-and-finalizer",
    "upstream/k8s-monitoring-meta-monitoring.yaml: Job k8smon-k8s-monitoring-add-finalizer",
    "upstream/k8s-monitoring-meta-monitoring.yaml: Job k8smon-k8s-monitoring-remove-alloy-and-finalizer",
    // prometheus-operator's user guide's `prometheus-example-app`: the application
    // Prometheus scrapes, not a component of the stack.
    "upstream/prometheus-operator-examples.yaml: Deployment example-app",
    "upstream/prometheus-operator-examples.yaml: Deployment example-app",
];

/// What `explain` recognises in each corpus file, in both meshes: every workload and
/// operator resource of the audited kinds (and Alloy, Jaeger, OpenTelemetryCollector,
/// prometheus-operator resources) as `Kind namespace/name: component`, sorted. Each was
/// checked by reading the manifest: the rest of each file's workloads are in
/// [`NOT_RECOGNISED`], and files with none are left out.
const RECOGNISED: &[(&str, &[&str])] = &[
    (
        "helm-template/alertmanager.yaml",
        &["StatefulSet monitoring/obs-alertmanager: alertmanager"],
    ),
    (
        "helm-template/fluent-bit.yaml",
        &["DaemonSet monitoring/obs-fluent-bit-loki: fluent-bit"],
    ),
    ("helm-template/grafana.yaml", GRAFANA),
    (
        "helm-template/kube-prometheus-stack.yaml",
        KUBE_PROMETHEUS_STACK,
    ),
    (
        "helm-template/kube-state-metrics.yaml",
        &["Deployment monitoring/obs-kube-state-metrics: kube-state-metrics"],
    ),
    (
        "helm-template/loki-distributed.yaml",
        &[
            "Deployment monitoring/obs-loki-distributed-distributor: loki",
            "Deployment monitoring/obs-loki-distributed-query-frontend: loki",
            "Deployment obs-loki-distributed-gateway: loki",
            "StatefulSet monitoring/obs-loki-distributed-ingester: loki",
            "StatefulSet monitoring/obs-loki-distributed-querier: loki",
        ],
    ),
    ("helm-template/loki.yaml", LOKI),
    (
        "helm-template/opentelemetry-collector.yaml",
        OPENTELEMETRY_COLLECTOR,
    ),
    (
        "helm-template/opentelemetry-kube-stack.yaml",
        &[
            "Deployment monitoring/obs-opentelemetry-operator: opentelemetry-operator",
            "OpenTelemetryCollector monitoring/obs-daemon: opentelemetry-collector",
            "Pod monitoring/obs-opentelemetry-operator-cert-manager: opentelemetry-operator",
            "Pod monitoring/obs-opentelemetry-operator-metrics-test: opentelemetry-operator",
            "Pod monitoring/obs-opentelemetry-operator-webhook-test: opentelemetry-operator",
        ],
    ),
    (
        "helm-template/opentelemetry-operator.yaml",
        &[
            "Deployment monitoring/obs-opentelemetry-operator: opentelemetry-operator",
            "Pod monitoring/obs-opentelemetry-operator-cert-manager: opentelemetry-operator",
            "Pod monitoring/obs-opentelemetry-operator-metrics-test: opentelemetry-operator",
            "Pod monitoring/obs-opentelemetry-operator-webhook-test: opentelemetry-operator",
        ],
    ),
    (
        "helm-template/prometheus-adapter.yaml",
        &["Deployment monitoring/obs-prometheus-adapter: prometheus-adapter"],
    ),
    (
        "helm-template/prometheus-blackbox-exporter.yaml",
        &["Deployment monitoring/obs-prometheus-blackbox-exporter: blackbox-exporter"],
    ),
    (
        "helm-template/prometheus-node-exporter.yaml",
        &["DaemonSet monitoring/obs-prometheus-node-exporter: node-exporter"],
    ),
    (
        "helm-template/prometheus-pushgateway.yaml",
        &["Deployment monitoring/obs-prometheus-pushgateway: pushgateway"],
    ),
    (
        "helm-template/prometheus.yaml",
        &[
            "DaemonSet monitoring/obs-prometheus-node-exporter: node-exporter",
            "Deployment monitoring/obs-kube-state-metrics: kube-state-metrics",
            "Deployment monitoring/obs-prometheus-pushgateway: pushgateway",
            "Deployment monitoring/obs-prometheus-server: prometheus",
            "StatefulSet monitoring/obs-alertmanager: alertmanager",
        ],
    ),
    (
        "helm-template/promtail.yaml",
        &["DaemonSet monitoring/obs-promtail: promtail"],
    ),
    (
        "helm-template/tempo-distributed.yaml",
        &[
            "Deployment monitoring/obs-tempo-distributor: tempo",
            "Deployment monitoring/obs-tempo-querier: tempo",
            "Deployment monitoring/obs-tempo-query-frontend: tempo",
            "StatefulSet monitoring/obs-tempo-backend-scheduler: tempo",
            "StatefulSet monitoring/obs-tempo-backend-worker: tempo",
            "StatefulSet monitoring/obs-tempo-block-builder: tempo",
            "StatefulSet monitoring/obs-tempo-live-store: tempo",
            "StatefulSet monitoring/obs-tempo-memcached: tempo",
        ],
    ),
    (
        "helm-template/tempo.yaml",
        &["StatefulSet monitoring/obs-tempo: tempo"],
    ),
    ("postrender-stdin/helm3-grafana.yaml", GRAFANA),
    (
        "postrender-stdin/helm3-kube-prometheus-stack.yaml",
        &[
            "Alertmanager monitoring/obs-kube-prometheus-stack-alertmanager: alertmanager",
            "DaemonSet monitoring/obs-prometheus-node-exporter: node-exporter",
            "Deployment monitoring/obs-grafana: grafana",
            "Deployment monitoring/obs-kube-prometheus-stack-operator: prometheus-operator",
            "Deployment monitoring/obs-kube-state-metrics: kube-state-metrics",
            "Prometheus monitoring/obs-kube-prometheus-stack-prometheus: prometheus",
        ],
    ),
    ("postrender-stdin/helm3-loki.yaml", LOKI),
    (
        "postrender-stdin/helm3-opentelemetry-collector.yaml",
        OPENTELEMETRY_COLLECTOR,
    ),
    ("postrender-stdin/helm4-grafana.yaml", GRAFANA),
    (
        "postrender-stdin/helm4-kube-prometheus-stack.yaml",
        KUBE_PROMETHEUS_STACK,
    ),
    ("postrender-stdin/helm4-loki.yaml", LOKI),
    (
        "postrender-stdin/helm4-opentelemetry-collector.yaml",
        OPENTELEMETRY_COLLECTOR,
    ),
    (
        "kube-prometheus/alertmanager-alertmanager.yaml",
        &["Alertmanager monitoring/main: alertmanager"],
    ),
    (
        "kube-prometheus/blackboxExporter-deployment.yaml",
        &["Deployment monitoring/blackbox-exporter: blackbox-exporter"],
    ),
    (
        "kube-prometheus/grafana-deployment.yaml",
        &["Deployment monitoring/grafana: grafana"],
    ),
    (
        "kube-prometheus/kubeStateMetrics-deployment.yaml",
        &["Deployment monitoring/kube-state-metrics: kube-state-metrics"],
    ),
    (
        "kube-prometheus/nodeExporter-daemonset.yaml",
        &["DaemonSet monitoring/node-exporter: node-exporter"],
    ),
    (
        "kube-prometheus/prometheus-prometheus.yaml",
        &["Prometheus monitoring/k8s: prometheus"],
    ),
    (
        "kube-prometheus/prometheusAdapter-deployment.yaml",
        &["Deployment monitoring/prometheus-adapter: prometheus-adapter"],
    ),
    (
        "kube-prometheus/prometheusOperator-deployment.yaml",
        &["Deployment monitoring/prometheus-operator: prometheus-operator"],
    ),
    (
        "istio-addons/grafana.yaml",
        &["Deployment istio-system/grafana: grafana"],
    ),
    (
        "istio-addons/jaeger.yaml",
        &["Deployment istio-system/jaeger: jaeger"],
    ),
    (
        "istio-addons/kiali.yaml",
        &["Deployment istio-system/kiali: kiali"],
    ),
    (
        "istio-addons/loki.yaml",
        &["StatefulSet istio-system/loki: loki"],
    ),
    (
        "istio-addons/prometheus.yaml",
        &["Deployment istio-system/prometheus: prometheus"],
    ),
    (
        "upstream/k8s-monitoring-istio-service-mesh.yaml",
        &[
            "Alloy default/k8smon-alloy-logs: alloy",
            "Alloy default/k8smon-alloy-metrics: alloy",
            "Alloy default/k8smon-alloy-receiver: alloy",
            "Alloy default/k8smon-alloy-singleton: alloy",
            "DaemonSet default/k8smon-node-exporter: node-exporter",
            "DaemonSet default/k8smon-windows-exporter: windows-exporter",
            "Deployment default/k8smon-alloy-operator: alloy-operator",
            "Deployment default/k8smon-kube-state-metrics: kube-state-metrics",
        ],
    ),
    (
        "upstream/k8s-monitoring-meta-monitoring.yaml",
        &[
            "Alloy default/k8smon-alloy: alloy",
            "DaemonSet default/k8smon-node-exporter: node-exporter",
            "Deployment default/k8smon-alloy-operator: alloy-operator",
            "Deployment default/k8smon-kube-state-metrics: kube-state-metrics",
        ],
    ),
    (
        "upstream/prometheus-operator-examples.yaml",
        &[
            "Alertmanager default/example: alertmanager",
            "Alertmanager example: alertmanager",
            "Alertmanager example: alertmanager",
            "Deployment default/prometheus-operator-admission-webhook: prometheus-operator",
            "Deployment default/prometheus-operator: prometheus-operator",
            "Deployment default/thanos-query: thanos",
            "Prometheus default/prometheus: prometheus",
            "Prometheus default/self: prometheus",
            "Prometheus example: prometheus",
            "Prometheus example: prometheus",
            "Prometheus prometheus: prometheus",
            "Prometheus prometheus: prometheus",
            "Prometheus prometheus: prometheus",
            "Prometheus prometheus: prometheus",
            "PrometheusAgent prometheus-agent: prometheus",
            "ThanosRuler default/thanos-ruler: thanos",
        ],
    ),
];

/// helm-template/grafana.yaml, postrender-stdin/helm3-grafana.yaml, postrender-stdin/helm4-grafana.yaml: the same workloads.
const GRAFANA: &[&str] = &["Deployment monitoring/obs-grafana: grafana"];

/// helm-template/kube-prometheus-stack.yaml, postrender-stdin/helm4-kube-prometheus-stack.yaml: the same workloads.
const KUBE_PROMETHEUS_STACK: &[&str] = &[
    "Alertmanager monitoring/obs-kube-prometheus-stack-alertmanager: alertmanager",
    "DaemonSet monitoring/obs-prometheus-node-exporter: node-exporter",
    "Deployment monitoring/obs-grafana: grafana",
    "Deployment monitoring/obs-kube-prometheus-stack-operator: prometheus-operator",
    "Deployment monitoring/obs-kube-state-metrics: kube-state-metrics",
    "Job monitoring/obs-kube-prometheus-stack-admission-create: prometheus-operator",
    "Job monitoring/obs-kube-prometheus-stack-admission-patch: prometheus-operator",
    "Pod monitoring/obs-grafana-test: grafana",
    "Prometheus monitoring/obs-kube-prometheus-stack-prometheus: prometheus",
];

/// helm-template/loki.yaml, postrender-stdin/helm3-loki.yaml, postrender-stdin/helm4-loki.yaml: the same workloads.
const LOKI: &[&str] = &[
    "DaemonSet monitoring/obs-loki-canary: loki",
    "Deployment monitoring/obs-loki-gateway: loki",
    "StatefulSet monitoring/obs-loki-chunks-cache: loki",
    "StatefulSet monitoring/obs-loki-results-cache: loki",
    "StatefulSet monitoring/obs-loki: loki",
];

/// helm-template/opentelemetry-collector.yaml, postrender-stdin/helm3-opentelemetry-collector.yaml, postrender-stdin/helm4-opentelemetry-collector.yaml: the same workloads.
const OPENTELEMETRY_COLLECTOR: &[&str] =
    &["Deployment monitoring/obs-opentelemetry-collector: opentelemetry-collector"];

/// The audited workloads of a run's input: (document index, item) → "Kind name".
fn pod_workloads(docs: &[Doc]) -> BTreeMap<(usize, Vec<usize>), String> {
    let mut found = BTreeMap::new();
    for (i, doc) in docs.iter().enumerate() {
        let kind = doc.header.kind.unwrap_or_default();
        if doc.header.empty
            || !(doc.header.opaque || POD_KINDS.contains(&kind) || kind.ends_with("List"))
        {
            continue;
        }
        let Some(node) = parse(&doc.text[doc.parse_from..], "corpus document") else {
            continue;
        };
        let describe = |n: &Node| {
            let kind = n.get("kind").and_then(Node::str).unwrap_or_default();
            let name = n
                .at(&["metadata", "name"])
                .and_then(Node::scalar)
                .unwrap_or_default();
            POD_KINDS.contains(&kind).then(|| format!("{kind} {name}"))
        };
        let kind = node.get("kind").and_then(Node::str).unwrap_or_default();
        match node.get("items").and_then(Node::items) {
            Some(items) if kind.ends_with("List") => {
                for (n, item) in items.iter().enumerate() {
                    if let Some(d) = describe(item) {
                        found.insert((i, vec![n]), d);
                    }
                }
            }
            _ => {
                if let Some(d) = describe(&node) {
                    found.insert((i, Vec::new()), d);
                }
            }
        }
    }
    found
}

#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn recognised_workloads_are_decided_and_the_rest_are_listed() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut not_recognised: Vec<Vec<String>> = Vec::new();
    for mesh in MESHES {
        let mut missing = Vec::new();
        let mut decided = 0;
        for folder in FOLDERS {
            for input in folder_inputs(&corpus, folder) {
                let label = format!("{} ({mesh:?})", input.name);
                let inputs = [input];
                let outcome = run(&inputs, mesh, &label);
                let docs = gunj_mesh::internals::documents(&inputs, usize::MAX).unwrap();
                let workloads = pod_workloads(&docs);
                let mut reported = BTreeSet::new();
                for e in &outcome.report.entries {
                    let at = (doc_of(&docs, e), e.item.clone());
                    reported.insert(at.clone());
                    if !POD_KINDS.contains(&e.kind.as_str()) || e.component.is_none() {
                        continue;
                    }
                    assert!(
                        workloads.contains_key(&at),
                        "{label}: the report lists {}, not found in the input",
                        e.summary()
                    );
                    match e.action {
                        EntryAction::Inject | EntryAction::Unchanged => {}
                        EntryAction::Skip => assert!(
                            !e.detail.trim().is_empty(),
                            "{label}: {} is skipped without a reason",
                            e.object()
                        ),
                        other => panic!("{label}: {}: unexpected action {other:?}", e.object()),
                    }
                    assert!(
                        e.rule.as_deref().is_some_and(|r| !r.is_empty()),
                        "{label}: {} has no rule",
                        e.object()
                    );
                    decided += 1;
                }
                for (at, what) in &workloads {
                    if !reported.contains(at) {
                        missing.push(format!("{}: {what}", inputs[0].name));
                    }
                }
            }
        }
        assert!(decided > 50, "{mesh:?}: only {decided} workloads decided");
        not_recognised.push(missing);
    }
    let istio = &not_recognised[0];
    assert_eq!(
        istio, &not_recognised[1],
        "recognition must not depend on the mesh"
    );
    let expected: Vec<String> = NOT_RECOGNISED.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        istio,
        &expected,
        "workloads not in the report:\n{}",
        istio
            .iter()
            .map(|s| format!("    {s:?},\n"))
            .collect::<String>()
    );
}

#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn explain_recognises_every_observability_workload_and_nothing_else() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let pod_kind = |kind: &str| gunj_mesh::internals::pod_kind(kind).is_some();
    let mut problems = Vec::new();
    let mut files = 0;
    for folder in FOLDERS {
        for input in folder_inputs(&corpus, folder) {
            let want: Vec<String> = RECOGNISED
                .iter()
                .find(|(file, _)| *file == input.name)
                .map(|(_, rows)| rows.iter().map(|r| r.to_string()).collect())
                .unwrap_or_default();
            for mesh in MESHES {
                let label = format!("{} ({mesh:?})", input.name);
                let outcome = run(std::slice::from_ref(&input), mesh, &label);
                let mut got: Vec<String> = outcome
                    .report
                    .entries
                    .iter()
                    .filter(|e| pod_kind(&e.kind))
                    .map(|e| {
                        let object = match &e.namespace {
                            Some(ns) => format!("{ns}/{}", e.name),
                            None => e.name.clone(),
                        };
                        let component = e.component.as_deref().unwrap_or("(none)");
                        format!("{} {object}: {component}", e.kind)
                    })
                    .collect();
                got.sort();
                if got != want {
                    problems.push(format!("{label}:\n  expected {want:#?}\n  got {got:#?}"));
                }
            }
            files += 1;
        }
    }
    assert!(files > 100, "only {files} corpus files");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Every file in the table is in the corpus.
    for (file, _) in RECOGNISED {
        assert!(corpus.join(file).is_file(), "{file} is not in the corpus");
    }
}

// ---------------------------------------------------------------------------------------
// 3. node-exporter
// ---------------------------------------------------------------------------------------

#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn node_exporter_is_never_injected() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    for mesh in MESHES {
        let mut seen = 0;
        for case in cases(&corpus) {
            let outcome = run(&case.inputs, mesh, &case.label);
            for e in &outcome.report.entries {
                if e.component.as_deref() != Some("node-exporter") {
                    continue;
                }
                seen += 1;
                assert!(
                    e.action == EntryAction::Skip && e.detail == "hostNetwork" && !e.changed,
                    "{} ({mesh:?}): node-exporter {} must be skipped for hostNetwork, got {}",
                    case.label,
                    e.object(),
                    e.summary()
                );
            }
        }
        // kube-prometheus (twice), the node-exporter chart, kube-prometheus-stack (three times).
        assert!(
            seen >= 5,
            "{mesh:?}: only {seen} node-exporter objects in the corpus"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 4. Operator CRs are injected through spec.podMetadata
// ---------------------------------------------------------------------------------------

/// Removes `key` from the map at `path`, then the maps on the path that are left empty
/// (down to, not including, `spec`). Returns the removed value.
fn take(value: &mut Value, path: &[&str], key: &str) -> Option<Value> {
    let removed = {
        let mut map = &mut *value;
        for p in path {
            map = map.get_mut(*p)?;
        }
        map.as_object_mut()?.remove(key)
    };
    for depth in (2..=path.len()).rev() {
        let (parent, last) = (&path[..depth - 1], path[depth - 1]);
        let mut v = &mut *value;
        for p in parent {
            v = v.get_mut(*p).expect("the path exists");
        }
        let obj = v.as_object_mut().expect("a map");
        if obj
            .get(last)
            .and_then(Value::as_object)
            .is_some_and(|m| m.is_empty())
        {
            obj.remove(last);
        }
    }
    removed
}

#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn prometheus_and_alertmanager_crs_get_injected_through_pod_metadata() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    for (file, kind) in [
        ("kube-prometheus/prometheus-prometheus.yaml", "Prometheus"),
        (
            "kube-prometheus/alertmanager-alertmanager.yaml",
            "Alertmanager",
        ),
    ] {
        let input = read_input(&corpus, file);
        let before = to_json(&input.text, file);
        for mesh in MESHES {
            let label = format!("{file} ({mesh:?})");
            let outcome = run(std::slice::from_ref(&input), mesh, &label);
            let entries: Vec<&Entry> = outcome.report.entries.iter().collect();
            assert_eq!(entries.len(), 1, "{label}: {:?}", outcome.report.entries);
            assert_eq!(entries[0].kind, kind);
            assert_eq!(
                entries[0].action,
                EntryAction::Inject,
                "{label}: {}",
                entries[0].summary()
            );
            assert!(entries[0].changed);
            assert!(
                missing_line(&input.text, &outcome.output).is_none(),
                "{label}: lines were changed, not only added:\n{}",
                outcome.output
            );
            let mut after = to_json(&outcome.output, &label);
            let (path, key, value): (&[&str], &str, &str) = match mesh {
                MeshType::Istio => (
                    &["spec", "podMetadata", "labels"],
                    "sidecar.istio.io/inject",
                    "true",
                ),
                _ => (
                    &["spec", "podMetadata", "annotations"],
                    "linkerd.io/inject",
                    "enabled",
                ),
            };
            assert_eq!(
                take(&mut after, path, key),
                Some(Value::String(value.into())),
                "{label}: {} is not {key}: {value}\n{}",
                path.join("."),
                outcome.output
            );
            if mesh == MeshType::Linkerd && kind == "Alertmanager" {
                // The cluster gossip port must be opaque to Linkerd's protocol detection.
                assert_eq!(
                    take(&mut after, path, "config.linkerd.io/opaque-ports"),
                    Some(Value::String("9094".into())),
                    "{label}"
                );
            }
            assert_eq!(
                after, before,
                "{label}: more than the injection setting changed\n{}",
                outcome.output
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// 5. Helm's own markers survive
// ---------------------------------------------------------------------------------------

/// The lines of `text` that contain `marker`, with how often each occurs.
fn marked(text: &str, marker: &str) -> BTreeMap<String, usize> {
    let mut found = BTreeMap::new();
    for line in lines(text).into_iter().filter(|l| l.contains(marker)) {
        *found.entry(line.to_string()).or_insert(0) += 1;
    }
    found
}

#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn helm_postrender_filename_annotations_and_source_comments_survive() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut checked = 0;
    for input in folder_inputs(&corpus, "postrender-stdin") {
        let file = input.name.rsplit('/').next().unwrap().to_string();
        let marker = if file.starts_with("helm4-") {
            "postrenderer.helm.sh/postrender-filename"
        } else if file.starts_with("helm3-") {
            "# Source:"
        } else {
            continue;
        };
        let before = marked(&input.text, marker);
        let total: usize = before.values().sum();
        assert!(total > 0, "{file}: no {marker:?} line in the input");
        let inputs = [input];
        for mesh in MESHES {
            let outcome = run(&inputs, mesh, &file);
            let after = marked(&outcome.output, marker);
            assert_eq!(
                after.values().sum::<usize>(),
                total,
                "{file} ({mesh:?}): the number of {marker:?} lines changed"
            );
            for (line, n) in &before {
                assert_eq!(
                    after.get(line),
                    Some(n),
                    "{file} ({mesh:?}): {line:?} is not kept"
                );
            }
            if marker.starts_with('#') {
                // A `# Source:` comment opens its document: it must still be there.
                let (ins, outs) = (
                    stream::split(0, &inputs[0].text),
                    stream::split(0, &outcome.output),
                );
                assert_eq!(ins.len(), outs.len(), "{file} ({mesh:?}): document count");
                for (i, (src, doc)) in ins.iter().zip(&outs).enumerate() {
                    let src = src.text;
                    assert_eq!(
                        doc.text.lines().find(|l| l.starts_with(marker)),
                        src.lines().find(|l| l.starts_with(marker)),
                        "{file} ({mesh:?}): document {i} lost its {marker:?} line"
                    );
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 16, "expected 4 Helm 3 and 4 Helm 4 files, twice");
}

// ---------------------------------------------------------------------------------------
// 6. Tricky scalars next to an edited Deployment
// ---------------------------------------------------------------------------------------

const TRICKY_CONFIGMAP: &str = r#"---
# Source: grafana/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: obs-grafana-extra
  namespace: monitoring
  labels:
    app.kubernetes.io/name: grafana   # a workload label on a non-workload
data:
  enabled: on
  answer: yes
  other: No
  off-flag: off
  mode: "0755"
  octal: 0755
  bare-mode: 0o644
  date: 2001-12-14
  timestamp: 2001-12-14t21:59:43.10-05:00
  null-ish: ~
  empty:
  float: 1e3
  version: 1.10
  quoted: 'it''s "quoted"'
  literal: |
    kind: Deployment
    spec:
      template:
        metadata:
          labels:
            app: grafana
  strip: |-
    trailing newline stripped   
  keep: |+
    keep these

  folded: >
    folded
    text

    paragraph
  indented: |2
      two extra spaces
  anchor: &shared
    a: 1
  alias: *shared
"#;

const GRAFANA_DEPLOYMENT: &str = r#"---
# Source: grafana/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: obs-grafana
  namespace: monitoring
  labels:
    helm.sh/chart: grafana-12.11.1
    app.kubernetes.io/name: grafana
    app.kubernetes.io/instance: obs
    app.kubernetes.io/version: "13.2.0"
spec:
  replicas: 1
  revisionHistoryLimit: 10
  selector:
    matchLabels:
      app.kubernetes.io/name: grafana
      app.kubernetes.io/instance: obs
  strategy:
    type: RollingUpdate
  template:
    metadata:
      labels:
        helm.sh/chart: grafana-12.11.1
        app.kubernetes.io/name: grafana
        app.kubernetes.io/instance: obs
        app.kubernetes.io/version: "13.2.0"
      annotations:
        # checksums make the pods roll when the config changes
        checksum/config: 0e9cbd0ea8e24e32f7dfca5bab17a2ba05652642f0a09a4882833ae88e4cc4a3
        checksum/sc-dashboard-provider-config: "e70bf6a851099d385178a76de9757bb0bef8299da6d8443602590e44f05fdf24"
        kubectl.kubernetes.io/default-container: 'grafana'
    spec:
      serviceAccountName: obs-grafana
      automountServiceAccountToken: true
      shareProcessNamespace: false
      securityContext:
        fsGroup: 472
        runAsGroup: 472
        runAsNonRoot: true
        runAsUser: 472
      enableServiceLinks: true
      containers:
        - name: grafana
          image: "docker.io/grafana/grafana:13.2.0"   # pinned by the chart
          imagePullPolicy: IfNotPresent
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop:
              - ALL
            seccompProfile:
              type: RuntimeDefault
          volumeMounts:
            - name: config
              mountPath: "/etc/grafana/grafana.ini"
              subPath: grafana.ini
          ports:
            - name: grafana
              containerPort: 3000
              protocol: TCP
          env:
            - name: GF_SECURITY_ADMIN_USER
              valueFrom:
                secretKeyRef:
                  name: obs-grafana
                  key: admin-user
            - name: GF_PATHS_DATA
              value: /var/lib/grafana/
            - name: GF_ANALYTICS_CHECK_FOR_UPDATES
              value: "false"
          livenessProbe:
            failureThreshold: 10
            httpGet:
              path: /api/health
              port: 3000
            initialDelaySeconds: 60
            timeoutSeconds: 30
          readinessProbe:
            httpGet:
              path: /api/health
              port: 3000
      volumes:
        - name: config
          configMap:
            name: obs-grafana
        - name: storage
          emptyDir: {}
# trailing comment of the deployment
"#;

const SERVICE: &str = r#"---
# Source: grafana/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: obs-grafana
  namespace: monitoring
spec:
  type: ClusterIP
  ports:
    - name: service
      port: 80
      protocol: TCP
      targetPort: "grafana"
  selector:
    app.kubernetes.io/name: grafana
    app.kubernetes.io/instance: obs
"#;

#[test]
fn tricky_configmap_is_untouched_next_to_an_edited_grafana_deployment() {
    let lf = format!("{TRICKY_CONFIGMAP}{GRAFANA_DEPLOYMENT}{SERVICE}");
    let crlf = lf.replace('\n', "\r\n");
    for (variant, text) in [("LF", lf), ("CRLF", crlf)] {
        let inputs = [Input::new("-", text)];
        for mesh in MESHES {
            let label = format!("{variant} ({mesh:?})");
            let outcome = run(&inputs, mesh, &label);
            let docs = stream::split(0, &inputs[0].text);
            let out = stream::split(0, &outcome.output);
            assert_eq!(docs.len(), 3, "{label}");
            assert_eq!(out.len(), 3, "{label}: {}", outcome.output);

            // The Deployment is injected; under Istio, its Service's unnamed port also
            // gets a protocol hint.
            let entries = &outcome.report.entries;
            let istio = mesh == MeshType::Istio;
            assert_eq!(entries.len(), 1 + istio as usize, "{label}: {entries:?}");
            let e = &entries[0];
            assert_eq!(
                (e.kind.as_str(), e.name.as_str(), e.component.as_deref()),
                ("Deployment", "obs-grafana", Some("grafana")),
                "{label}"
            );
            assert_eq!(e.action, EntryAction::Inject, "{label}: {}", e.summary());

            // The ConfigMap and the Service: byte for byte.
            assert!(
                out[0].text == docs[0].text,
                "{label}: the ConfigMap changed\n--- in\n{}\n--- out\n{}",
                docs[0].text,
                out[0].text
            );
            if istio {
                assert_eq!(entries[1].kind, "Service", "{label}");
                assert!(missing_line(docs[2].text, out[2].text).is_none(), "{label}");
                assert!(out[2].text.contains("appProtocol: \"http\""), "{label}");
            } else {
                assert!(out[2].text == docs[2].text, "{label}: the Service changed");
            }

            // The Deployment: only added lines, in the input's line ending.
            let (before, after) = (docs[1].text, out[1].text);
            if let Some((n, line)) = missing_line(before, after) {
                panic!("{label}: the Deployment's line {n} {line:?} changed:\n{after}");
            }
            let added = lines(after).len() - lines(before).len();
            assert_eq!(added, 1, "{label}: added lines:\n{after}");
            if variant == "CRLF" {
                assert!(
                    lines(after).iter().all(|l| l.ends_with('\r')),
                    "{label}: an added line does not end in CRLF:\n{after:?}"
                );
            }
            let json = to_json(&after[docs[1].parse_from..], &label);
            let template = &json["spec"]["template"]["metadata"];
            match mesh {
                MeshType::Istio => {
                    assert_eq!(template["labels"]["sidecar.istio.io/inject"], "true")
                }
                _ => assert_eq!(template["annotations"]["linkerd.io/inject"], "enabled"),
            }
            assert_eq!(
                template["annotations"]["checksum/sc-dashboard-provider-config"],
                "e70bf6a851099d385178a76de9757bb0bef8299da6d8443602590e44f05fdf24"
            );
            assert_eq!(template["labels"]["app.kubernetes.io/version"], "13.2.0");

            // And a second pass leaves it alone.
            let second = run(&[Input::new("-", outcome.output.clone())], mesh, &label);
            assert!(second.output == outcome.output, "{label}: not idempotent");
        }
    }
}

// ---------------------------------------------------------------------------------------
// 7. explain --output json
// ---------------------------------------------------------------------------------------

#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn explain_json_lists_each_recognised_component_with_its_rule() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let file = "postrender-stdin/helm3-kube-prometheus-stack.yaml";
    let path = corpus.join(file);
    let assert = common::gunj_cmd()
        .args(["explain", "--output", "json"])
        .arg(&path)
        .assert()
        .success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).expect("UTF-8 output");
    let json: Value = serde_json::from_str(&stdout).expect("explain --output json is JSON");
    let entries = json["entries"].as_array().expect("an entries array");
    assert!(!entries.is_empty(), "no entries: {json:#}");

    // The same objects, components and rules as the library reports.
    let input = read_input(&corpus, file);
    let inputs = [input];
    let outcome = gunj_mesh::run(&inputs, &Options::default()).expect("the filter runs");
    assert_eq!(
        entries.len(),
        outcome.report.entries.len(),
        "explain and the filter disagree"
    );
    let mut components = BTreeSet::new();
    for (j, e) in entries.iter().zip(&outcome.report.entries) {
        let what = format!("{} {}", j["kind"], j["name"]);
        assert_eq!(j["kind"], e.kind.as_str(), "{what}");
        assert_eq!(j["name"], e.name.as_str(), "{what}");
        assert!(
            ["inject", "unchanged", "skip"].contains(&j["action"].as_str().unwrap_or("")),
            "{what}: action {}",
            j["action"]
        );
        if e.kind == "Namespace" {
            continue;
        }
        let component = j["component"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no component"));
        let rule = j["rule"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no rule"));
        assert!(!rule.trim().is_empty(), "{what}: empty rule");
        assert_eq!(Some(component), e.component.as_deref(), "{what}");
        assert_eq!(Some(rule), e.rule.as_deref(), "{what}");
        components.insert(component.to_string());
    }
    let expected: BTreeSet<String> = [
        "alertmanager",
        "grafana",
        "kube-state-metrics",
        "node-exporter",
        "prometheus",
        "prometheus-operator",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(components, expected, "components in kube-prometheus-stack");
}
