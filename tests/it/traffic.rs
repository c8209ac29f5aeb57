//! Issue #19's acceptance, end to end, over the real corpus: the traffic graph of each stack,
//! the verdict the evaluator gives every flow under the generated policies, and the output
//! the policies come with.
//!
//! - No needed flow is denied, on any corpus file alone, on kube-prometheus as one run, on
//!   kube-prometheus with the corpus's Loki and Tempo and on the example stream, with every
//!   example config and a STRICT Istio config, in both meshes.
//! - The kube-apiserver reaches the webhooks and aggregated APIs of the
//!   opentelemetry-operator, kube-prometheus-stack and prometheus-adapter in every mode.
//! - Grafana → Prometheus and Prometheus → Alertmanager are allowed under Istio STRICT and
//!   Linkerd default-deny.
//! - Objects without a namespace: generated resources never name `default`, take `-n` when
//!   given, and `spec.namespaces` counts them as in the release namespace.
//! - The OpenTelemetry Collector's identity, the prometheus-operator's and the OpenTelemetry
//!   operator's ports, the Prometheus certificate pattern (with and without a scrape config
//!   in the stream), and the SVG picture.
//!
//! Most tests use the library (`gunj_mesh::run` with `traffic_graph`, then
//! `Outcome::flows`), which is what `gunj-mesh flows` runs; the SVG tests run the binary.
//! Skips (saying so) when `../shared/corpus` is missing.

use crate::common;
use gunj_mesh::internals::stream;
use gunj_mesh::{Found, Graph, Input, MeshType, Options, Party, Protocol, Verdict};
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Istio with STRICT mTLS, default-deny authorization and NetworkPolicies behind it: the
/// strictest combination the tool emits. `--mesh linkerd` turns it into Linkerd with
/// default-deny `Server`s and NetworkPolicies.
const STRICT: &str = "apiVersion: mesh.gunj.io/v1alpha1
kind: ServiceMesh
metadata:
  name: strict
spec:
  type: istio
  mtls:
    mode: STRICT
  authorization:
    defaultDeny: true
    networkPolicies: true
";

const MESHES: [MeshType; 2] = [MeshType::Istio, MeshType::Linkerd];
const EXAMPLES: [&str; 5] = [
    "basic",
    "istio-advanced",
    "linkerd",
    "multi-cluster",
    "init",
];

/// The kube-prometheus manifests, one stack in `monitoring`, as one run.
const KUBE_PROMETHEUS: &str = "kube-prometheus/";
/// kube-prometheus with the corpus's single-binary Loki and Tempo charts: all three in
/// `monitoring`, one Grafana (kube-prometheus's) in front of Prometheus, Loki and Tempo. The
/// distributed charts (`loki-distributed`, `tempo-distributed`) render the same release
/// `obs` with object names that clash with these (`obs-loki-*`), so they are not added.
const COMBINED: &str = "kube-prometheus/ + helm-template/loki.yaml + helm-template/tempo.yaml";
const COMBINED_EXTRA: [&str; 2] = ["helm-template/loki.yaml", "helm-template/tempo.yaml"];

// ---------------------------------------------------------------------------------------
// Inputs, configs, runs
// ---------------------------------------------------------------------------------------

/// One run's inputs and the label messages name it by.
struct Stack {
    label: String,
    inputs: Vec<Input>,
}

fn read(corpus: &Path, name: &str) -> Input {
    let text = std::fs::read_to_string(corpus.join(name))
        .unwrap_or_else(|e| panic!("cannot read corpus file {name}: {e}"));
    Input::new(name, text)
}

/// The files of a corpus folder, sorted, as `folder/file`.
fn folder(corpus: &Path, folder: &str) -> Vec<Input> {
    let mut names: Vec<String> = std::fs::read_dir(corpus.join(folder))
        .unwrap_or_else(|e| panic!("cannot read corpus folder {folder}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| format!("{folder}/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "corpus folder {folder} has no YAML file");
    names.iter().map(|n| read(corpus, n)).collect()
}

/// A stack by label: a corpus file, [`KUBE_PROMETHEUS`] or [`COMBINED`].
fn stack(corpus: &Path, label: &str) -> Stack {
    let inputs = match label {
        KUBE_PROMETHEUS => folder(corpus, "kube-prometheus"),
        COMBINED => {
            let mut inputs = folder(corpus, "kube-prometheus");
            inputs.extend(COMBINED_EXTRA.iter().map(|n| read(corpus, n)));
            inputs
        }
        file => vec![read(corpus, file)],
    };
    Stack {
        label: label.to_string(),
        inputs,
    }
}

/// Every corpus file alone, then kube-prometheus as one run and the combined stack, and
/// the repository's own example stream (what the README runs the example configs on).
fn every_stack(corpus: &Path) -> Vec<Stack> {
    let example = "examples/stream/observability.yaml";
    let mut stacks = vec![Stack {
        label: example.into(),
        inputs: vec![Input::new(
            example,
            std::fs::read_to_string(common::repo().join(example)).unwrap(),
        )],
    }];
    for f in [
        "helm-template",
        "postrender-stdin",
        "upstream",
        "istio-addons",
        "kube-prometheus",
    ] {
        for input in folder(corpus, f) {
            stacks.push(Stack {
                label: input.name.clone(),
                inputs: vec![input],
            });
        }
    }
    stacks.push(stack(corpus, KUBE_PROMETHEUS));
    stacks.push(stack(corpus, COMBINED));
    stacks
}

/// A config: its name in messages, and the input `--config` reads.
#[derive(Clone)]
struct Config {
    name: String,
    input: Input,
}

fn example(name: &str) -> Config {
    let path = common::repo().join("examples").join(format!("{name}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap();
    Config {
        name: format!("examples/{name}.yaml"),
        input: Input::new(path.display().to_string(), text),
    }
}

fn strict() -> Config {
    Config {
        name: "STRICT".into(),
        input: Input::new("strict.yaml", STRICT),
    }
}

/// Every example config, then [`STRICT`].
fn every_config() -> Vec<Config> {
    let mut configs: Vec<Config> = EXAMPLES.iter().map(|n| example(n)).collect();
    configs.push(strict());
    configs
}

fn options(config: &Config, mesh: MeshType, namespace: Option<&str>) -> Options {
    Options {
        config: Some(config.input.clone()),
        mesh: Some(mesh),
        namespace: namespace.map(str::to_string),
        traffic_graph: true,
        ..Options::default()
    }
}

/// What one run of the filter gives: its output and its flows.
struct Run {
    output: String,
    graph: Graph,
    verdicts: Vec<Verdict>,
    report: gunj_mesh::Report,
}

/// Filters `inputs` and evaluates its flows; every edge of the traffic graph has a verdict
/// (a graph dropped for want of verdicts would let every check below pass).
fn run(inputs: &[Input], config: &Config, mesh: MeshType, namespace: Option<&str>) -> Run {
    let what = format!("{} with {} ({mesh:?})", names(inputs), config.name);
    let outcome = gunj_mesh::run(inputs, &options(config, mesh, namespace))
        .unwrap_or_else(|f| panic!("{what}: the filter failed: {f}"));
    assert!(outcome.failure.is_none(), "{what}: {:?}", outcome.failure);
    let flows = outcome.flows().unwrap();
    assert_eq!(
        flows.verdicts.len(),
        flows.graph.edges.len(),
        "{what}: not every flow has a verdict"
    );
    // Only guesses the stream's own NetworkPolicies disprove may go.
    let drawn = outcome.traffic_graph().expect("within MAX_FLOWS").edges;
    for e in &drawn {
        assert!(
            flows.graph.edges.contains(e) || e.found == gunj_mesh::Found::Inferred,
            "{what}: a flow that is not a guess was dropped: {e:?}"
        );
    }
    assert!(
        drawn.is_empty() || !flows.graph.edges.is_empty(),
        "{what}: the graph was dropped"
    );
    Run {
        output: outcome.output.text(),
        graph: flows.graph,
        verdicts: flows.verdicts,
        report: outcome.report,
    }
}

fn names(inputs: &[Input]) -> String {
    match inputs {
        [one] => one.name.clone(),
        _ => format!("{} inputs from {}", inputs.len(), inputs[0].name),
    }
}

/// `f` over `items` on every core, results in order; a panic in `f` is re-raised as is.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let mut out: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, f(item)));
                    }
                    done
                })
            })
            .collect();
        for w in workers {
            match w.join() {
                Ok(done) => {
                    for (i, r) in done {
                        out[i] = Some(r);
                    }
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    out.into_iter().map(Option::unwrap).collect()
}

// ---------------------------------------------------------------------------------------
// Reading graphs and outputs
// ---------------------------------------------------------------------------------------

fn workload(kind: &str, namespace: &str, name: &str) -> Party {
    Party::Workload {
        kind: kind.into(),
        namespace: Some(namespace.into()),
        name: name.into(),
    }
}

/// The catalog component of a party, as the graph's node says.
fn component<'g>(graph: &'g Graph, party: &Party) -> Option<&'g str> {
    graph
        .nodes
        .iter()
        .find(|n| &n.party == party)
        .and_then(|n| n.component.as_deref())
}

fn protocol(p: Protocol) -> &'static str {
    match p {
        Protocol::Http => "http",
        Protocol::Grpc => "grpc",
        Protocol::Tls => "tls",
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
    }
}

/// `from → to port 9090/http: VERDICT` for messages.
fn describe(e: &gunj_mesh::Edge, v: &Verdict) -> String {
    format!(
        "{} → {} port {}/{}: {}",
        e.from.label(),
        e.to.label(),
        e.port,
        protocol(e.protocol),
        match v {
            Verdict::Allowed { .. } => "allowed".to_string(),
            Verdict::Denied { resource, rule } => format!("denied by {resource} ({rule})"),
            Verdict::Unknown { why } => format!("unknown: {why}"),
        }
    )
}

/// The documents of a YAML stream, as JSON (empty documents left out).
fn documents(text: &str) -> Vec<Value> {
    stream::split(0, text)
        .iter()
        .filter(|d| !d.header.empty)
        .map(|d| gunj_mesh::internals::yaml::from_str::<Value>(d.text).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

/// The documents gunj-mesh generated (`app.kubernetes.io/managed-by: gunj-mesh`).
fn generated(docs: &[Value]) -> Vec<&Value> {
    docs.iter()
        .filter(|d| d["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "gunj-mesh")
        .collect()
}

// ---------------------------------------------------------------------------------------
// 1. No needed flow is denied
// ---------------------------------------------------------------------------------------

/// Every corpus file alone, kube-prometheus as one run and the combined stack; every example
/// config and [`STRICT`]; both meshes (`--mesh` overrides the config's type): no flow is
/// denied. The message lists every denied flow of the sweep.
#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn no_needed_flow_is_denied_on_any_corpus_stack_config_or_mesh() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let stacks = every_stack(&corpus);
    let configs = every_config();
    let mut jobs = Vec::new();
    for s in &stacks {
        for c in &configs {
            for mesh in MESHES {
                jobs.push((s, c, mesh));
            }
        }
    }
    let results = par_map(&jobs, |(s, c, mesh)| {
        let r = run(&s.inputs, c, *mesh, None);
        let denied: Vec<String> = r
            .graph
            .edges
            .iter()
            .zip(&r.verdicts)
            .filter(|(_, v)| matches!(v, Verdict::Denied { .. }))
            .map(|(e, v)| {
                format!(
                    "{} | {} | --mesh {mesh:?} | {}",
                    s.label,
                    c.name,
                    describe(e, v)
                )
            })
            .collect();
        (r.graph.edges.len(), denied)
    });
    let flows: usize = results.iter().map(|(n, _)| n).sum();
    let denied: Vec<&String> = results.iter().flat_map(|(_, d)| d).collect();
    // The combined stacks draw flows in every run: the sweep checks something.
    for ((s, c, mesh), (n, _)) in jobs.iter().zip(&results) {
        if s.label == KUBE_PROMETHEUS || s.label == COMBINED {
            assert!(*n > 10, "{} with {} ({mesh:?}): {n} flows", s.label, c.name);
        }
    }
    assert!(
        denied.is_empty(),
        "{} of {flows} flows denied over {} runs ({} stacks × {} configs × 2 meshes):\n{}",
        denied.len(),
        jobs.len(),
        stacks.len(),
        configs.len(),
        denied
            .iter()
            .map(|d| d.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Two copies of the example stack, each in its own namespace (one stream, as the
/// benchmarks and a cluster-wide render have it), under [`STRICT`] in both meshes: no flow
/// is denied. The policies treat each namespace as one stack (`Stack::callers`); the flows
/// the graph needs must agree with them.
#[test]
fn stacks_in_two_namespaces_of_one_stream_deny_no_flow() {
    let example =
        std::fs::read_to_string(common::repo().join("examples/stream/observability.yaml")).unwrap();
    let text: Vec<String> = (0..2)
        .map(|i| example.replace("monitoring\n", &format!("monitoring-{i}\n")))
        .collect();
    let input = Input::new("two copies of the example stream", text.join("---\n"));
    let mut denied = Vec::new();
    for mesh in MESHES {
        let r = run(std::slice::from_ref(&input), &strict(), mesh, None);
        let flows = r.graph.edges.len();
        assert!(flows > 20, "{mesh:?}: {flows} flows");
        denied.extend(
            r.graph
                .edges
                .iter()
                .zip(&r.verdicts)
                .filter(|(_, v)| matches!(v, Verdict::Denied { .. }))
                .map(|(e, v)| format!("--mesh {mesh:?} | {}", describe(e, v))),
        );
    }
    assert!(
        denied.is_empty(),
        "{} flows denied:\n{}",
        denied.len(),
        denied.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// 2. The kube-apiserver reaches webhooks and aggregated APIs
// ---------------------------------------------------------------------------------------

/// The stacks that serve the kube-apiserver, and the Deployments in `monitoring` it calls,
/// on their container ports, as the manifests say (Service `targetPort` resolved by hand).
const API_SERVED: [(&str, &[(&str, u16)]); 6] = [
    // MutatingWebhookConfiguration and the CRD conversion webhook → Service
    // obs-opentelemetry-operator-webhook:443 → targetPort webhook-server (9443).
    (
        "helm-template/opentelemetry-operator.yaml",
        &[("obs-opentelemetry-operator", 9443)],
    ),
    (
        "helm-template/opentelemetry-kube-stack.yaml",
        &[("obs-opentelemetry-operator", 9443)],
    ),
    // The admission webhooks → Service obs-kube-prometheus-stack-operator:443 → https (10250).
    (
        "helm-template/kube-prometheus-stack.yaml",
        &[("obs-kube-prometheus-stack-operator", 10250)],
    ),
    (
        "postrender-stdin/helm4-kube-prometheus-stack.yaml",
        &[("obs-kube-prometheus-stack-operator", 10250)],
    ),
    // APIService v1beta1.custom.metrics.k8s.io → Service obs-prometheus-adapter:443 → 6443.
    (
        "helm-template/prometheus-adapter.yaml",
        &[("obs-prometheus-adapter", 6443)],
    ),
    // APIService v1beta1.metrics.k8s.io → Service prometheus-adapter:443 → https (6443).
    (KUBE_PROMETHEUS, &[("prometheus-adapter", 6443)]),
];

/// With every example config (`multi-cluster` is Istio ambient) and [`STRICT`], in both
/// meshes: the flows from the kube-apiserver to the pods serving the webhooks and aggregated
/// APIs are in the graph, and every flow from the kube-apiserver is allowed (unknown is not
/// enough: `failurePolicy: Fail` webhooks reject what they cannot reach).
#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn the_kube_apiserver_reaches_webhooks_and_aggregated_apis_in_every_mode() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let configs = every_config();
    let mut jobs = Vec::new();
    for (label, served) in API_SERVED {
        for c in &configs {
            for mesh in MESHES {
                jobs.push((stack(&corpus, label), served, c, mesh));
            }
        }
    }
    let problems: Vec<String> = par_map(&jobs, |(s, served, c, mesh)| {
        let r = run(&s.inputs, c, *mesh, None);
        let at = format!("{} | {} | --mesh {mesh:?}", s.label, c.name);
        let mut problems = Vec::new();
        for (name, port) in *served {
            let to = workload("Deployment", "monitoring", name);
            if !r
                .graph
                .edges
                .iter()
                .any(|e| e.from == Party::ApiServer && e.to == to && e.port == *port)
            {
                problems.push(format!(
                    "{at} | no flow kube-apiserver → {} port {port}",
                    to.label()
                ));
            }
        }
        for (e, v) in r.graph.edges.iter().zip(&r.verdicts) {
            if e.from == Party::ApiServer && !matches!(v, Verdict::Allowed { .. }) {
                problems.push(format!("{at} | {}", describe(e, v)));
            }
        }
        problems
    })
    .into_iter()
    .flatten()
    .collect();
    assert!(
        problems.is_empty(),
        "{} problems over {} runs:\n{}",
        problems.len(),
        jobs.len(),
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// 3. Grafana → Prometheus and Prometheus → Alertmanager under STRICT
// ---------------------------------------------------------------------------------------

/// Under Istio STRICT with default-deny ([`STRICT`], `istio-advanced`) and Linkerd
/// default-deny (`linkerd`, [`STRICT`] with `--mesh linkerd`), on kube-prometheus and
/// kube-prometheus-stack: Grafana reaches Prometheus's web port (9090) and Prometheus
/// reaches Alertmanager's (9093), and each such flow is allowed.
#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn grafana_reaches_prometheus_and_prometheus_alertmanager_under_strict_and_default_deny() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let modes = [
        (strict(), MeshType::Istio),
        (example("istio-advanced"), MeshType::Istio),
        (example("linkerd"), MeshType::Linkerd),
        (strict(), MeshType::Linkerd),
    ];
    let mut jobs = Vec::new();
    for label in [
        KUBE_PROMETHEUS,
        "helm-template/kube-prometheus-stack.yaml",
        "postrender-stdin/helm3-kube-prometheus-stack.yaml",
        "postrender-stdin/helm4-kube-prometheus-stack.yaml",
    ] {
        for (c, mesh) in &modes {
            jobs.push((stack(&corpus, label), c, *mesh));
        }
    }
    let problems: Vec<String> = par_map(&jobs, |(s, c, mesh)| {
        let r = run(&s.inputs, c, *mesh, None);
        let at = format!("{} | {} | --mesh {mesh:?}", s.label, c.name);
        let mut problems = Vec::new();
        for (from, to, port) in [
            ("grafana", "prometheus", 9090),
            ("prometheus", "alertmanager", 9093),
        ] {
            let flows: Vec<_> = r
                .graph
                .edges
                .iter()
                .zip(&r.verdicts)
                .filter(|(e, _)| {
                    e.port == port
                        && component(&r.graph, &e.from) == Some(from)
                        && component(&r.graph, &e.to) == Some(to)
                })
                .collect();
            if flows.is_empty() {
                problems.push(format!("{at} | no flow {from} → {to} port {port}"));
            }
            for (e, v) in flows {
                if !matches!(v, Verdict::Allowed { .. }) {
                    problems.push(format!("{at} | {}", describe(e, v)));
                }
            }
        }
        problems
    })
    .into_iter()
    .flatten()
    .collect();
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// 4. Objects without a namespace
// ---------------------------------------------------------------------------------------

/// A corpus chart as Helm renders it for a chart that leaves the namespace to Helm: every
/// `metadata.namespace: monitoring` line taken out (references to `monitoring` deeper in the
/// objects, such as a webhook's Service, stay, as `.Release.Namespace` would write them; so
/// do objects the chart puts in `kube-system` on purpose).
fn without_namespaces(corpus: &Path, name: &str) -> Input {
    let text: String = read(corpus, name)
        .text
        .split_inclusive('\n')
        .filter(|l| {
            !matches!(
                l.trim_end(),
                "  namespace: monitoring" | "  namespace: \"monitoring\""
            )
        })
        .collect();
    for doc in documents(&text) {
        assert!(
            doc["metadata"]["namespace"] != "monitoring",
            "{name}: a namespace is left in {} {}",
            doc["kind"],
            doc["metadata"]["name"]
        );
    }
    Input::new(format!("{name} (no namespaces)"), text)
}

/// What in a generated document names the `default` namespace: a namespace field or list,
/// a namespace selector, an Istio principal, a Linkerd identity, a Service host, the
/// OpenTelemetry operator's `<namespace>.<name>` instance label, or a name with `default` in
/// it (but for `PeerAuthentication default`, Istio's name for a namespace-wide policy).
fn names_default(doc: &Value) -> Vec<String> {
    fn walk(key: &str, v: &Value, path: &str, found: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                let named = (matches!(key, "namespace" | "kubernetes.io/metadata.name")
                    && s == "default")
                    || s.contains("/ns/default/")
                    || s.contains(".default.serviceaccount")
                    || s.contains(".default.svc")
                    || (key == "app.kubernetes.io/instance" && s.starts_with("default."));
                if named {
                    found.push(format!("{path}: {s}"));
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if key == "namespaces" && item == "default" {
                        found.push(format!("{path}[{i}]: default"));
                    }
                    walk(key, item, &format!("{path}[{i}]"), found);
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    walk(k, item, &format!("{path}.{k}"), found);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk("", doc, "", &mut found);
    let name = doc["metadata"]["name"].as_str().unwrap_or_default();
    if name.split('-').any(|w| w == "default")
        && !(doc["kind"] == "PeerAuthentication" && name == "default")
    {
        found.push(format!("metadata.name: {name}"));
    }
    found
}

/// Charts without `metadata.namespace` (kube-prometheus-stack, opentelemetry-kube-stack with
/// them taken out) post-rendered with every config in both meshes. Without `-n`, no
/// generated resource has a namespace or names `default` anywhere, and nothing the filter
/// adds to the chart's objects names it either; with `-n monitoring` every generated
/// resource is in `monitoring`.
#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn charts_without_namespaces_get_resources_that_never_name_default() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let charts = [
        without_namespaces(&corpus, "helm-template/kube-prometheus-stack.yaml"),
        without_namespaces(&corpus, "helm-template/opentelemetry-kube-stack.yaml"),
    ];
    let configs = every_config();
    let mut jobs = Vec::new();
    for chart in &charts {
        for c in &configs {
            for mesh in MESHES {
                for namespace in [None, Some("monitoring")] {
                    jobs.push((chart, c, mesh, namespace));
                }
            }
        }
    }
    // Text that names `default` in the output but not in the input was added by the filter
    // (to a generated resource or to one of the chart's objects).
    const DEFAULT: [&str; 5] = [
        "/ns/default/",
        ".default.serviceaccount",
        ".default.svc",
        "namespace: default",
        ": default.",
    ];
    let results = par_map(&jobs, |(chart, c, mesh, namespace)| {
        let r = run(std::slice::from_ref(*chart), c, *mesh, *namespace);
        let at = format!(
            "{} | {} | --mesh {mesh:?} | -n {}",
            chart.name,
            c.name,
            namespace.unwrap_or("(none)")
        );
        let mut problems = Vec::new();
        let docs = documents(&r.output);
        let ours = generated(&docs);
        let reported = r
            .report
            .generated
            .iter()
            .filter(|g| g.action == gunj_mesh::GeneratedAction::Generate)
            .count();
        if ours.len() != reported {
            problems.push(format!(
                "{at} | {} generated documents, {reported} in the report",
                ours.len()
            ));
        }
        for doc in &ours {
            let what = format!("{} {}", doc["kind"], doc["metadata"]["name"]);
            let ns = doc["metadata"]["namespace"].as_str();
            if ns != *namespace {
                problems.push(format!("{at} | {what} has namespace {ns:?}"));
            }
            for found in names_default(doc) {
                problems.push(format!("{at} | {what} names default: {found}"));
            }
        }
        for word in DEFAULT {
            let (before, after) = (
                chart.text.matches(word).count(),
                r.output.matches(word).count(),
            );
            if after > before {
                problems.push(format!(
                    "{at} | the output has `{word}` {after} times, the input {before}"
                ));
            }
        }
        (ours.len(), problems)
    });
    let generated: usize = results.iter().map(|(n, _)| n).sum();
    assert!(generated > 100, "only {generated} resources generated");
    let problems: Vec<&String> = results.iter().flat_map(|(_, p)| p).collect();
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// `spec.namespaces: [monitoring]` on loki-distributed, whose gateway (ConfigMap, Service,
/// Deployment) names no namespace while the rest is in `monitoring`: an object without a
/// namespace is in the release namespace, `-n`; without `-n` it is not filtered out (the
/// release namespace is unknown, and Helm puts the chart's objects in it), with `-n
/// monitoring` it is in scope, with `-n logging` it is not.
#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn spec_namespaces_counts_objects_without_a_namespace_as_in_the_release_namespace() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let chart = read(&corpus, "helm-template/loki-distributed.yaml");
    let config = Config {
        name: "namespaces: [monitoring]".into(),
        input: Input::new(
            "monitoring.yaml",
            "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: istio\n  namespaces: [monitoring]\n  authorization: {defaultDeny: true}\n",
        ),
    };
    let gateway = "obs-loki-distributed-gateway";
    for (namespace, injected) in [
        (None, true),
        (Some("monitoring"), true),
        (Some("logging"), false),
    ] {
        let r = run(
            std::slice::from_ref(&chart),
            &config,
            MeshType::Istio,
            namespace,
        );
        let at = format!("-n {}", namespace.unwrap_or("(none)"));
        let entry = r
            .report
            .entries
            .iter()
            .find(|e| e.kind == "Deployment" && e.name == gateway)
            .unwrap_or_else(|| panic!("{at}: no report entry for the gateway"));
        assert_eq!(entry.namespace.as_deref(), namespace, "{at}");
        if injected {
            assert_eq!(
                entry.action,
                gunj_mesh::EntryAction::Inject,
                "{at}: {entry:?}"
            );
        } else {
            assert_eq!(
                entry.action,
                gunj_mesh::EntryAction::Skip,
                "{at}: {entry:?}"
            );
            assert_eq!(
                entry.detail, "namespace logging is not in spec.namespaces",
                "{at}"
            );
        }
        // The objects that name `monitoring` are in scope whatever `-n` says.
        let others: Vec<_> = r
            .report
            .entries
            .iter()
            .filter(|e| {
                e.namespace.as_deref() == Some("monitoring")
                    && e.kind != "Service"
                    && e.name != gateway
            })
            .collect();
        assert_eq!(others.len(), 4, "{at}: {others:?}");
        for e in others {
            assert_eq!(e.action, gunj_mesh::EntryAction::Inject, "{at}: {e:?}");
        }
        // The gateway is in the graph, in the mesh or not, in the release namespace.
        let party = Party::Workload {
            kind: "Deployment".into(),
            namespace: namespace.map(str::to_string),
            name: gateway.into(),
        };
        let node = r
            .graph
            .nodes
            .iter()
            .find(|n| n.party == party)
            .unwrap_or_else(|| panic!("{at}: the gateway is not a node {:?}", r.graph.nodes));
        assert_eq!(node.in_mesh, injected, "{at}");
        // Policies for the release namespace follow it: none name `logging` unless the
        // gateway is in it, and in scope.
        let docs = documents(&r.output);
        let logging = generated(&docs)
            .into_iter()
            .filter(|d| d["metadata"]["namespace"] == "logging")
            .count();
        assert_eq!(logging, 0, "{at}: a resource generated in logging");
    }
}

// ---------------------------------------------------------------------------------------
// 5. The OpenTelemetry Collector's identity
// ---------------------------------------------------------------------------------------

/// The principals of the generated Istio AuthorizationPolicies.
fn principals(docs: &[&Value]) -> Vec<String> {
    let mut out = Vec::new();
    for d in docs.iter().filter(|d| d["kind"] == "AuthorizationPolicy") {
        for rule in d["spec"]["rules"].as_array().into_iter().flatten() {
            for from in rule["from"].as_array().into_iter().flatten() {
                for p in from["source"]["principals"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    out.push(p.as_str().unwrap().to_string());
                }
            }
        }
    }
    out
}

/// The ServiceAccounts (`namespace/name`) and identities of the generated Linkerd
/// MeshTLSAuthentications.
fn identities(docs: &[&Value]) -> Vec<String> {
    let mut out = Vec::new();
    for d in docs.iter().filter(|d| d["kind"] == "MeshTLSAuthentication") {
        for r in d["spec"]["identityRefs"].as_array().into_iter().flatten() {
            if r["kind"] == "ServiceAccount" {
                out.push(format!(
                    "{}/{}",
                    r["namespace"].as_str().unwrap_or("(release)"),
                    r["name"].as_str().unwrap()
                ));
            }
        }
        for i in d["spec"]["identities"].as_array().into_iter().flatten() {
            out.push(i.as_str().unwrap().to_string());
        }
    }
    out
}

/// The `OpenTelemetryCollector` of opentelemetry-kube-stack (`obs-daemon`, no
/// `spec.serviceAccount`: the operator runs it as `obs-daemon-collector`), and the same with
/// `spec.serviceAccount: otel-agent`, under [`STRICT`] in both meshes: the Istio principals
/// and Linkerd identities that stand for the collector are that account, never `default`;
/// and the evaluator, which reads the account from the output on its own, allows the
/// collector's flows to itself.
#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn opentelemetry_collector_identity_is_its_service_account() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let chart = read(&corpus, "helm-template/opentelemetry-kube-stack.yaml");
    let named = chart.text.replacen(
        "  mode: daemonset\n",
        "  mode: daemonset\n  serviceAccount: otel-agent\n",
        1,
    );
    assert_ne!(named, chart.text, "the collector's spec.mode moved");
    let named = Input::new("opentelemetry-kube-stack with spec.serviceAccount", named);
    let collector = workload("OpenTelemetryCollector", "monitoring", "obs-daemon");
    for (input, account) in [(&chart, "obs-daemon-collector"), (&named, "otel-agent")] {
        for mesh in MESHES {
            let at = format!("{} ({mesh:?})", input.name);
            let r = run(std::slice::from_ref(input), &strict(), mesh, None);
            let docs = documents(&r.output);
            let ours = generated(&docs);
            match mesh {
                MeshType::Istio => {
                    let principals = principals(&ours);
                    let want = format!("cluster.local/ns/monitoring/sa/{account}");
                    assert!(principals.contains(&want), "{at}: {principals:?}");
                    assert!(
                        !principals.iter().any(|p| p.ends_with("/sa/default")),
                        "{at}: {principals:?}"
                    );
                }
                _ => {
                    let identities = identities(&ours);
                    let want = format!("monitoring/{account}");
                    assert!(identities.contains(&want), "{at}: {identities:?}");
                    assert!(
                        !identities
                            .iter()
                            .any(|i| i.ends_with("/default") || i.starts_with("default.")),
                        "{at}: {identities:?}"
                    );
                }
            }
            let own: Vec<_> = r
                .graph
                .edges
                .iter()
                .zip(&r.verdicts)
                .filter(|(e, _)| e.from == collector && e.to == collector)
                .collect();
            assert!(!own.is_empty(), "{at}: no flow of the collector to itself");
            for (e, v) in own {
                assert!(
                    matches!(v, Verdict::Allowed { .. }),
                    "{at}: {}",
                    describe(e, v)
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// 6. The ports operators give their pods
// ---------------------------------------------------------------------------------------

/// The ports of the generated NetworkPolicies that select the pods of the operator resource
/// `instance` (`app.kubernetes.io/instance`, as both operators label them).
fn network_policy_ports(docs: &[&Value], instance: &str) -> Vec<u64> {
    let mut ports: Vec<u64> = docs
        .iter()
        .filter(|d| d["kind"] == "NetworkPolicy")
        .filter(|d| {
            d["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == instance
        })
        .flat_map(|d| d["spec"]["ingress"].as_array().cloned().unwrap_or_default())
        .flat_map(|rule| rule["ports"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["port"].as_u64())
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// The flow `from → to` on `port`: it is in the graph, with the port's name, and allowed.
fn assert_allowed_flow(r: &Run, at: &str, from: &Party, to: &Party, port: u16, name: &str) {
    let (e, v) = r
        .graph
        .edges
        .iter()
        .zip(&r.verdicts)
        .find(|(e, _)| &e.from == from && &e.to == to && e.port == port)
        .unwrap_or_else(|| {
            panic!(
                "{at}: no flow {} → {} port {port}; flows to it: {:?}",
                from.label(),
                to.label(),
                r.graph
                    .edges
                    .iter()
                    .filter(|e| &e.to == to)
                    .map(|e| (e.from.label(), e.port))
                    .collect::<Vec<_>>()
            )
        });
    assert_eq!(e.port_name.as_deref(), Some(name), "{at}: {e:?}");
    assert!(
        matches!(v, Verdict::Allowed { .. }),
        "{at}: {}",
        describe(e, v)
    );
}

/// prometheus-operator's pods, under [`STRICT`] in both meshes:
/// - kube-prometheus with `spec.portName: metrics-web` on the Prometheus and its Service's
///   `targetPort` renamed to match: the ServiceMonitor's scrape of Prometheus reaches 9090
///   through the Service only if the graph names the port as the operator does; the config
///   reloaders' `reloader-web` (8080) of Prometheus and Alertmanager are reached too;
/// - prometheus-operator's examples: the Prometheus with `spec.thanos` serves the Thanos
///   sidecar's StoreAPI (gRPC, 10901) to Thanos Query through the `thanos-sidecar` Service,
///   which selects the pods by the operator's `prometheus: <name>` label; a Prometheus
///   without a sidecar serves neither sidecar port.
///
/// The generated NetworkPolicies open those ports, and the sidecar's HTTP port (10902).
#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn prometheus_operator_pods_serve_the_ports_the_operator_gives_them() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut kp = stack(&corpus, KUBE_PROMETHEUS);
    for input in &mut kp.inputs {
        let (from, to) = match input.name.as_str() {
            "kube-prometheus/prometheus-prometheus.yaml" => (
                "spec:\n  alerting:",
                "spec:\n  portName: metrics-web\n  alerting:",
            ),
            "kube-prometheus/prometheus-service.yaml" => {
                ("    targetPort: web\n", "    targetPort: metrics-web\n")
            }
            _ => continue,
        };
        let text = input.text.replacen(from, to, 1);
        assert_ne!(text, input.text, "{}: `{from}` moved", input.name);
        *input = Input::new(input.name.clone(), text);
    }
    let k8s = workload("Prometheus", "monitoring", "k8s");
    let main = workload("Alertmanager", "monitoring", "main");
    let grafana = workload("Deployment", "monitoring", "grafana");
    let examples = read(&corpus, "upstream/prometheus-operator-examples.yaml");
    let thanos_query = workload("Deployment", "default", "thanos-query");
    let with_thanos = workload("Prometheus", "default", "self");
    let without = workload("Prometheus", "default", "example");
    for mesh in MESHES {
        let at = format!("kube-prometheus with portName metrics-web ({mesh:?})");
        let r = run(&kp.inputs, &strict(), mesh, None);
        assert_allowed_flow(&r, &at, &k8s, &k8s, 9090, "metrics-web");
        assert_allowed_flow(&r, &at, &k8s, &k8s, 8080, "reloader-web");
        assert_allowed_flow(&r, &at, &grafana, &k8s, 9090, "metrics-web");
        assert_allowed_flow(&r, &at, &k8s, &main, 8080, "reloader-web");
        for (to, port) in [(&k8s, 9090), (&k8s, 8080)] {
            let e = r
                .graph
                .edges
                .iter()
                .find(|e| e.from == k8s && &e.to == to && e.port == port)
                .unwrap();
            assert_eq!(e.found, Found::Read, "{at}: {e:?}");
        }
        let docs = documents(&r.output);
        let ports = network_policy_ports(&generated(&docs), "k8s");
        for port in [8080, 9090] {
            assert!(ports.contains(&port), "{at}: {ports:?}");
        }

        let at = format!("prometheus-operator examples ({mesh:?})");
        let r = run(
            std::slice::from_ref(&examples),
            &strict(),
            mesh,
            Some("default"),
        );
        assert_allowed_flow(&r, &at, &thanos_query, &with_thanos, 10901, "grpc");
        assert!(
            r.graph
                .edges
                .iter()
                .any(|e| e.to == without && e.port == 9090),
            "{at}: the Prometheus without Thanos is not reached"
        );
        assert!(
            !r.graph
                .edges
                .iter()
                .any(|e| e.to == without && matches!(e.port, 10901 | 10902)),
            "{at}: a Prometheus without a Thanos sidecar serves its ports"
        );
        let docs = documents(&r.output);
        let ports = network_policy_ports(&generated(&docs), "self");
        for port in [9090, 10901, 10902] {
            assert!(ports.contains(&port), "{at}: {ports:?}");
        }
    }
}

/// The OpenTelemetry operator's collector pods serve their own metrics on 8888 (`metrics`),
/// beside OTLP: under [`STRICT`] in both meshes the flows to the corpus's collector reach
/// it and are allowed, and the generated NetworkPolicy opens it.
#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn opentelemetry_collector_pods_serve_their_metrics_port() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let chart = read(&corpus, "helm-template/opentelemetry-kube-stack.yaml");
    let collector = workload("OpenTelemetryCollector", "monitoring", "obs-daemon");
    for mesh in MESHES {
        let at = format!("{} ({mesh:?})", chart.name);
        let r = run(std::slice::from_ref(&chart), &strict(), mesh, None);
        assert_allowed_flow(&r, &at, &collector, &collector, 8888, "metrics");
        assert_allowed_flow(&r, &at, &Party::AnyWorkload, &collector, 4317, "otlp-grpc");
        let docs = documents(&r.output);
        let ports = network_policy_ports(&generated(&docs), "monitoring.obs-daemon");
        for port in [4317, 4318, 8888] {
            assert!(ports.contains(&port), "{at}: {ports:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// 7. The Prometheus certificate pattern under Istio STRICT
// ---------------------------------------------------------------------------------------

/// The document of `kind` named `name`.
fn find<'d>(docs: &'d [Value], kind: &str, name: &str) -> &'d Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// The client settings of Istio's certificate pattern
/// (<https://istio.io/latest/docs/ops/integrations/prometheus/#tls-settings>).
fn istio_certificate() -> Value {
    serde_json::json!({
        "caFile": "/etc/prom-certs/root-cert.pem",
        "certFile": "/etc/prom-certs/cert-chain.pem",
        "keyFile": "/etc/prom-certs/key.pem",
        "insecureSkipVerify": true,
    })
}

/// `endpoint` without the fields the certificate pattern sets.
fn without_tls(endpoint: &Value) -> Value {
    let mut e = endpoint.clone();
    let map = e.as_object_mut().unwrap();
    map.remove("scheme");
    map.remove("tlsConfig");
    e
}

/// The ports the generated PeerAuthentications of `monitoring` open to plaintext, per
/// `app.kubernetes.io/name` of the pods they select.
fn permissive_ports(docs: &[&Value]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for d in docs.iter().filter(|d| d["kind"] == "PeerAuthentication") {
        let name = d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
            .as_str()
            .unwrap_or("(namespace)");
        for (port, mode) in d["spec"]["portLevelMtls"].as_object().into_iter().flatten() {
            if mode["mode"] != "STRICT" {
                out.push((name.to_string(), port.clone()));
            }
        }
    }
    out
}

/// The ServiceMonitors of kube-prometheus whose targets are in the mesh and scraped in
/// plain HTTP, with their endpoint count: they get the Istio certificate. The others scrape
/// targets with their own TLS (blackbox-exporter, kube-state-metrics, node-exporter on the
/// host network, prometheus-adapter, prometheus-operator) or outside the stream (the
/// control plane and the kubelet), and stay as they are.
const CERTIFIED: [(&str, usize); 3] = [
    ("alertmanager-main", 2),
    ("grafana", 1),
    ("prometheus-k8s", 2),
];

/// kube-prometheus under [`STRICT`] Istio: Prometheus scrapes outside its sidecar, so the
/// ServiceMonitor endpoints of meshed plain-HTTP targets get `scheme: https` and the
/// certificate files, and nothing else changes in any ServiceMonitor; the Prometheus's
/// `spec.alerting.alertmanagers` endpoints get them too; the pod keeps inbound capture
/// (no `includeInboundPorts`) while outbound traffic skips the sidecar; the ports of the
/// certified targets stay STRICT; and the scrapes and alerts are allowed.
#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn prometheus_scrapes_and_alerts_with_the_istio_certificate_under_strict() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let kp = stack(&corpus, KUBE_PROMETHEUS);
    let r = run(&kp.inputs, &strict(), MeshType::Istio, None);
    let before: Vec<Value> = kp.inputs.iter().flat_map(|i| documents(&i.text)).collect();
    let after = documents(&r.output);
    let mut problems = Vec::new();
    let monitors: Vec<&Value> = after
        .iter()
        .filter(|d| d["kind"] == "ServiceMonitor")
        .collect();
    assert!(monitors.len() > 10, "{} ServiceMonitors", monitors.len());
    for sm in monitors {
        let name = sm["metadata"]["name"].as_str().unwrap();
        let old = find(&before, "ServiceMonitor", name);
        let Some((_, count)) = CERTIFIED.iter().find(|(n, _)| *n == name) else {
            if sm != old {
                problems.push(format!("ServiceMonitor {name} changed: {}", sm["spec"]));
            }
            continue;
        };
        let endpoints = sm["spec"]["endpoints"].as_array().unwrap();
        assert_eq!(endpoints.len(), *count, "ServiceMonitor {name}");
        for (i, ep) in endpoints.iter().enumerate() {
            if ep["scheme"] != "https" || ep["tlsConfig"] != istio_certificate() {
                problems.push(format!("ServiceMonitor {name} endpoints[{i}]: {ep}"));
            }
            if without_tls(ep) != old["spec"]["endpoints"][i] {
                problems.push(format!(
                    "ServiceMonitor {name} endpoints[{i}]: more than TLS changed: {ep}"
                ));
            }
        }
    }
    let prometheus = find(&after, "Prometheus", "k8s");
    let alertmanagers = prometheus["spec"]["alerting"]["alertmanagers"]
        .as_array()
        .unwrap();
    assert!(!alertmanagers.is_empty());
    for (i, am) in alertmanagers.iter().enumerate() {
        if am["scheme"] != "https" || am["tlsConfig"] != istio_certificate() {
            problems.push(format!(
                "Prometheus k8s spec.alerting.alertmanagers[{i}] sends alerts in plaintext \
                 from outside its sidecar to Alertmanager under STRICT: {am}"
            ));
        }
    }
    let annotations = &prometheus["spec"]["podMetadata"]["annotations"];
    if annotations
        .get("traffic.sidecar.istio.io/includeInboundPorts")
        .is_some()
    {
        problems.push(format!(
            "Prometheus k8s loses inbound capture: {annotations}"
        ));
    }
    if annotations["traffic.sidecar.istio.io/includeOutboundIPRanges"] != "" {
        problems.push(format!(
            "Prometheus k8s keeps outbound capture: {annotations}"
        ));
    }
    let open = permissive_ports(&generated(&after));
    for (name, port) in [
        ("alertmanager", "9093"),
        ("alertmanager", "8080"),
        ("grafana", "3000"),
        ("prometheus", "9090"),
        ("prometheus", "8080"),
    ] {
        if open.contains(&(name.to_string(), port.to_string())) {
            problems.push(format!("{name} port {port} accepts plaintext: {open:?}"));
        }
    }
    let k8s = workload("Prometheus", "monitoring", "k8s");
    for (to, port) in [
        (workload("Alertmanager", "monitoring", "main"), 9093),
        (workload("Deployment", "monitoring", "grafana"), 3000),
        (k8s.clone(), 9090),
    ] {
        match r
            .graph
            .edges
            .iter()
            .zip(&r.verdicts)
            .find(|(e, _)| e.from == k8s && e.to == to && e.port == port)
        {
            Some((_, Verdict::Allowed { .. })) => {}
            Some((e, v)) => problems.push(describe(e, v)),
            None => problems.push(format!("no flow to {} port {port}", to.label())),
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// kube-prometheus with Grafana scraped by a PodMonitor instead of its ServiceMonitor, under
/// [`STRICT`] Istio: a PodMonitor's TLS settings take no files, so Prometheus scrapes
/// Grafana's port in plaintext and that port alone accepts it (port-level PERMISSIVE); the
/// PodMonitor is left as it is and the scrape is allowed.
#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn pod_monitor_targets_accept_plaintext_on_their_port_under_strict() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    const POD_MONITOR: &str = "apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: grafana
  namespace: monitoring
spec:
  podMetricsEndpoints:
  - interval: 15s
    port: http
  selector:
    matchLabels:
      app.kubernetes.io/name: grafana
";
    let mut kp = stack(&corpus, KUBE_PROMETHEUS);
    let before = kp.inputs.len();
    kp.inputs
        .retain(|i| i.name != "kube-prometheus/grafana-serviceMonitor.yaml");
    assert_eq!(kp.inputs.len(), before - 1);
    kp.inputs
        .push(Input::new("grafana-podMonitor.yaml", POD_MONITOR));
    let r = run(&kp.inputs, &strict(), MeshType::Istio, None);
    let docs = documents(&r.output);
    let ours = generated(&docs);
    let open = permissive_ports(&ours);
    assert!(
        open.contains(&("grafana".to_string(), "3000".to_string())),
        "{open:?}"
    );
    assert!(
        !open
            .iter()
            .any(|(name, port)| name == "grafana" && port != "3000"),
        "{open:?}"
    );
    let pm = find(&docs, "PodMonitor", "grafana");
    assert_eq!(
        pm,
        &gunj_mesh::internals::yaml::from_str::<Value>(POD_MONITOR).unwrap()
    );
    let k8s = workload("Prometheus", "monitoring", "k8s");
    let grafana = workload("Deployment", "monitoring", "grafana");
    assert_allowed_flow(&r, "PodMonitor grafana", &k8s, &grafana, 3000, "http");
    let e = r
        .graph
        .edges
        .iter()
        .find(|e| e.from == k8s && e.to == grafana && e.port == 3000)
        .unwrap();
    assert!(
        matches!(&e.via, Some(gunj_mesh::Via::PodMonitor { name, .. }) if name == "grafana"),
        "{e:?}"
    );
}

/// Regression: a second run over the output of the certificate pattern changes nothing. It
/// used to read the `https` endpoints it had written as the targets' own TLS and open their
/// ports to plaintext. kube-prometheus as one run with [`STRICT`] and `istio-advanced`
/// (STRICT, default-deny, observability), and kube-prometheus-stack.
#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn a_second_run_over_the_certificate_pattern_changes_nothing() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    for label in [KUBE_PROMETHEUS, "helm-template/kube-prometheus-stack.yaml"] {
        let s = stack(&corpus, label);
        for c in [strict(), example("istio-advanced")] {
            let at = format!("{label} with {}", c.name);
            let first = run(&s.inputs, &c, MeshType::Istio, None);
            assert!(
                first.output.contains("/etc/prom-certs/cert-chain.pem"),
                "{at}: no endpoint got the certificate"
            );
            let again = Input::new("first run", first.output.clone());
            let second = run(std::slice::from_ref(&again), &c, MeshType::Istio, None);
            assert!(
                second.output == first.output,
                "{at}: the second run changed the output:\n{}",
                similar::TextDiff::from_lines(&first.output, &second.output)
                    .unified_diff()
                    .context_radius(2)
            );
            assert_eq!(second.verdicts, first.verdicts, "{at}");
        }
    }
}

/// Grafana and a Prometheus whose scrape configuration is not in the stream (its
/// `prometheus.yml` comes from elsewhere), under [`STRICT`] Istio: the certificate pattern
/// sends Prometheus's scrapes from outside its sidecar, and only its own configuration can
/// present the certificate. gunj-mesh cannot edit it, so it warns (naming the TLS block the
/// jobs need) and keeps STRICT; the guessed scrapes are unknown, never denied. Regression:
/// the guessed scrapes of Grafana and of Prometheus itself were judged plaintext and denied,
/// with no word to the user.
#[test]
fn a_prometheus_whose_scrape_config_is_not_read_is_a_warning_under_strict() {
    const STREAM: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: grafana
  namespace: monitoring
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: grafana
  template:
    metadata:
      labels:
        app.kubernetes.io/name: grafana
    spec:
      containers:
      - name: grafana
        image: grafana/grafana:11.0.0
        ports:
        - containerPort: 3000
          name: http
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: prometheus
  namespace: monitoring
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: prometheus
  template:
    metadata:
      labels:
        app.kubernetes.io/name: prometheus
    spec:
      containers:
      - name: prometheus
        image: prom/prometheus:v3.0.0
        ports:
        - containerPort: 9090
          name: web
";
    let input = Input::new("prometheus-without-config.yaml", STREAM);
    let r = run(
        std::slice::from_ref(&input),
        &strict(),
        MeshType::Istio,
        None,
    );
    let prometheus = workload("Deployment", "monitoring", "prometheus");
    let grafana = workload("Deployment", "monitoring", "grafana");
    let scrapes: Vec<_> = r
        .graph
        .edges
        .iter()
        .zip(&r.verdicts)
        .filter(|(e, _)| e.from == prometheus)
        .collect();
    for to in [&prometheus, &grafana] {
        assert!(
            scrapes.iter().any(|(e, _)| &e.to == to),
            "no scrape of {}: {scrapes:?}",
            to.label()
        );
    }
    for (e, v) in &scrapes {
        assert!(
            matches!(v, Verdict::Unknown { why } if why.contains("a configuration the stream does not show")),
            "{}",
            describe(e, v)
        );
    }
    let denied: Vec<String> = r
        .graph
        .edges
        .iter()
        .zip(&r.verdicts)
        .filter(|(_, v)| matches!(v, Verdict::Denied { .. }))
        .map(|(e, v)| describe(e, v))
        .collect();
    assert!(denied.is_empty(), "{}", denied.join("\n"));
    assert!(
        r.report.warnings.iter().any(|w| w.starts_with("prometheus monitoring/prometheus:")
            && w.contains("tls_config")),
        "{:?}",
        r.report.warnings
    );
    // STRICT stays: no port of Grafana is opened to plaintext.
    assert!(!r.output.contains("PERMISSIVE"), "{}", r.output);
}

// ---------------------------------------------------------------------------------------
// 8. The SVG picture
// ---------------------------------------------------------------------------------------

/// A party as the renderer labels it (`Party::label`), from its JSON.
fn label(party: &Value) -> String {
    let s = |k: &str| party[k].as_str().unwrap_or_default().to_string();
    match party["type"].as_str().unwrap() {
        "workload" => match party["namespace"].as_str() {
            Some(ns) => format!("{} {ns}/{}", s("kind").to_lowercase(), s("name")),
            None => format!("{} {}", s("kind").to_lowercase(), s("name")),
        },
        "api-server" => "kube-apiserver".into(),
        "kubelet" => "kubelet".into(),
        "ingress" => format!("ingress {}/{}", s("namespace"), s("service_account")),
        "any-workload" => "any workload".into(),
        other => panic!("a party of unknown type {other}: {party}"),
    }
}

/// `gunj-mesh flows ARGS --output FORMAT` with `stdin`: exit code and stdout.
fn flows_cli(args: &[&str], format: &str, stdin: &str) -> (i32, String) {
    let out = common::gunj_cmd()
        .arg("flows")
        .args(args)
        .args(["--output", format])
        .write_stdin(stdin)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    assert!(
        code <= 1,
        "gunj-mesh flows {args:?} --output {format}: exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, String::from_utf8(out.stdout).unwrap())
}

/// The SVG parsed, its `<g id="PREFIX…">` groups and their `<title>` tooltips.
fn groups<'a>(
    svg: &'a roxmltree::Document,
    prefix: &str,
) -> Vec<(roxmltree::Node<'a, 'a>, String)> {
    svg.descendants()
        .filter(|n| {
            n.has_tag_name("g") && n.attribute("id").is_some_and(|id| id.starts_with(prefix))
        })
        .map(|g| {
            let title = g
                .children()
                .find(|c| c.has_tag_name("title"))
                .and_then(|t| t.text())
                .unwrap_or_default()
                .to_string();
            (g, title)
        })
        .collect()
}

/// `gunj-mesh flows --output svg` on kube-prometheus (a directory, every file of the
/// stack) with `istio-advanced`: well-formed XML, one box per node of `--output json` (in
/// order, then the parties only flows name) with the party's label in its tooltip, one
/// arrow per caller and target, and every flow of the JSON in the tooltip of its arrow
/// (`FROM → TO on PORT/PROTOCOL`). The exit code says whether a flow is denied.
#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn flows_svg_of_kube_prometheus_draws_every_node_and_flow_of_the_json() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let dir = corpus.join("kube-prometheus");
    let args = ["-c", "examples/istio-advanced.yaml", dir.to_str().unwrap()];
    let (json_code, json) = flows_cli(&args, "json", "");
    let (svg_code, svg) = flows_cli(&args, "svg", "");
    let json: Value = serde_json::from_str(&json).unwrap();
    let denied = json["totals"]["denied"].as_u64().unwrap();
    assert_eq!(json_code, i32::from(denied > 0));
    assert_eq!(svg_code, json_code);
    let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("not XML: {e}"));
    assert_eq!(doc.root_element().tag_name().name(), "svg");

    let nodes = json["nodes"].as_array().unwrap();
    let flows = json["flows"].as_array().unwrap();
    assert!(nodes.len() > 5 && flows.len() > 10, "{json}");
    // Every party once: the nodes, then those only flows name.
    let mut parties: Vec<String> = nodes.iter().map(|n| label(&n["party"])).collect();
    for f in flows {
        for end in [&f["from"], &f["to"]] {
            let l = label(end);
            if !parties.contains(&l) {
                parties.push(l);
            }
        }
    }
    let boxes = groups(&doc, "node-");
    assert_eq!(boxes.len(), parties.len(), "{parties:?}");
    for (i, party) in parties.iter().enumerate() {
        let (g, title) = &boxes[i];
        assert_eq!(g.attribute("id"), Some(format!("node-{i}").as_str()));
        assert_eq!(title.lines().next(), Some(party.as_str()), "node-{i}");
    }
    for (i, n) in nodes.iter().enumerate() {
        let class = if n["in_mesh"] == true {
            "node in-mesh"
        } else {
            "node not-in-mesh"
        };
        assert_eq!(boxes[i].0.attribute("class"), Some(class), "node-{i}: {n}");
    }
    let arrows = groups(&doc, "edge-");
    let mut pairs: Vec<(String, String)> = flows
        .iter()
        .map(|f| (label(&f["from"]), label(&f["to"])))
        .collect();
    pairs.sort();
    pairs.dedup();
    assert_eq!(arrows.len(), pairs.len());
    for f in flows {
        let flow = format!(
            "{} → {} on {}/{}",
            label(&f["from"]),
            label(&f["to"]),
            f["port"],
            f["protocol"].as_str().unwrap()
        );
        let drawn: Vec<_> = arrows
            .iter()
            .filter(|(_, title)| {
                title.contains(&format!("{flow}:")) || title.contains(&format!("{flow} ("))
            })
            .collect();
        assert_eq!(drawn.len(), 1, "{flow} is drawn {} times", drawn.len());
        let class = drawn[0].0.attribute("class").unwrap();
        let verdict = f["verdict"]["verdict"].as_str().unwrap();
        if verdict == "denied" {
            assert!(class.starts_with("edge denied"), "{flow}: {class}");
        }
    }
}

/// A stream whose own Istio DENY policy stops Grafana's queries to Prometheus, with
/// `authorization` on: `flows` exits 1, and the SVG draws that flow's arrow red, marked
/// denied, labelled with the denying resource, its tooltip naming the rule; the other
/// arrows are not red.
#[test]
fn denied_flows_are_drawn_red_naming_the_denying_resource() {
    const CONFIG: &str = "apiVersion: mesh.gunj.io/v1alpha1
kind: ServiceMesh
spec:
  type: istio
  authorization: {}
";
    const STREAM: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: grafana
  namespace: monitoring
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: grafana
  template:
    metadata:
      labels:
        app.kubernetes.io/name: grafana
    spec:
      containers:
      - name: grafana
        image: grafana/grafana:11.0.0
        ports:
        - containerPort: 3000
          name: http
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: prometheus
  namespace: monitoring
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: prometheus
  template:
    metadata:
      labels:
        app.kubernetes.io/name: prometheus
    spec:
      containers:
      - name: prometheus
        image: prom/prometheus:v3.0.0
        ports:
        - containerPort: 9090
          name: web
---
apiVersion: v1
kind: Service
metadata:
  name: prometheus
  namespace: monitoring
spec:
  selector:
    app.kubernetes.io/name: prometheus
  ports:
  - name: web
    port: 9090
    targetPort: web
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-to-prometheus
  namespace: monitoring
spec:
  action: DENY
  selector:
    matchLabels:
      app.kubernetes.io/name: prometheus
  rules:
  - {}
";
    let dir = std::env::temp_dir().join(format!("gunj-mesh-traffic-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("authorization.yaml");
    std::fs::write(&config, CONFIG).unwrap();
    let args = ["-c", config.to_str().unwrap()];
    let (code, json) = flows_cli(&args, "json", STREAM);
    let (svg_code, svg) = flows_cli(&args, "svg", STREAM);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!((code, svg_code), (1, 1), "a denied flow: exit 1");
    let json: Value = serde_json::from_str(&json).unwrap();
    let grafana_to_prometheus = json["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["from"]["name"] == "grafana" && f["to"]["name"] == "prometheus")
        .unwrap_or_else(|| panic!("no flow grafana → prometheus: {json}"));
    assert_eq!(
        grafana_to_prometheus["verdict"]["resource"],
        "AuthorizationPolicy monitoring/deny-to-prometheus"
    );

    let doc = roxmltree::Document::parse(&svg).unwrap();
    let arrows = groups(&doc, "edge-");
    let (red, others): (Vec<_>, Vec<_>) = arrows
        .iter()
        .partition(|(_, title)| title.contains("denied by"));
    let arrow = red
        .iter()
        .find(|(_, title)| {
            title.starts_with(
                "deployment monitoring/grafana → deployment monitoring/prometheus on 9090/http",
            )
        })
        .unwrap_or_else(|| panic!("no denied arrow grafana → prometheus: {svg}"));
    let (g, title) = arrow;
    // Inferred (Grafana's datasources are not in the stream): drawn short-dashed, still red.
    assert_eq!(g.attribute("class"), Some("edge denied inferred"));
    assert!(title.contains("ISTIO-AZ-1"), "the rule is named: {title}");
    let path = g.children().find(|c| c.has_tag_name("path")).unwrap();
    assert_eq!(path.attribute("stroke"), Some("#dc2626"));
    assert_eq!(path.attribute("marker-end"), Some("url(#arrow-denied)"));
    let text: String = g
        .descendants()
        .filter(|n| n.is_text() && n.parent().is_some_and(|p| !p.has_tag_name("title")))
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(
        text,
        "9090/httpdenied by AuthorizationPolicy monitoring/deny-to-prometheus"
    );
    assert!(!others.is_empty());
    for (g, title) in others {
        let path = g.children().find(|c| c.has_tag_name("path")).unwrap();
        assert_ne!(path.attribute("stroke"), Some("#dc2626"), "{title}");
    }
}

// ---------------------------------------------------------------------------------------
// 8. Policies grow with the stack, not with its pairs of workloads
// ---------------------------------------------------------------------------------------

/// `n` Loki Deployments in `monitoring`, each selected by its own `app` label: a ring, every
/// member calls every other (the catalog's Loki → Loki flow).
fn loki_ring(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: loki-{i}
  namespace: monitoring
spec:
  selector: {{matchLabels: {{app: l{i}}}}}
  template:
    metadata:
      labels: {{app: l{i}, app.kubernetes.io/name: loki}}
    spec:
      containers:
      - name: loki
        image: grafana/loki:2.9.0
        ports: [{{containerPort: 3100, name: http}}]
"
            )
        })
        .collect()
}

/// The generated NetworkPolicies' names and pod selectors.
fn network_policies(output: &str) -> Vec<(String, Value)> {
    documents(output)
        .iter()
        .filter(|d| d["kind"] == "NetworkPolicy")
        .map(|d| {
            (
                d["metadata"]["name"].as_str().unwrap().to_string(),
                d["spec"]["podSelector"].clone(),
            )
        })
        .collect()
}

/// Six workloads of one component with the same rules get one NetworkPolicy whose pod
/// selector and peer list name their `app` values with `In`, and every flow of the ring is
/// still allowed (under Istio and Linkerd).
#[test]
fn many_workloads_of_a_component_share_one_network_policy_that_denies_none_of_their_flows() {
    let input = Input::new("ring.yaml", loki_ring(6));
    for mesh in MESHES {
        let r = run(std::slice::from_ref(&input), &strict(), mesh, None);
        let policies = network_policies(&r.output);
        let values: Vec<String> = (0..6).map(|i| format!("l{i}")).collect();
        let expected = serde_json::json!({
            "matchExpressions": [{"key": "app", "operator": "In", "values": values}]
        });
        assert_eq!(
            policies,
            vec![("loki-ingress".to_string(), expected.clone())],
            "{mesh:?}"
        );
        let np = documents(&r.output)
            .into_iter()
            .find(|d| d["kind"] == "NetworkPolicy")
            .unwrap();
        let peers = np["spec"]["ingress"][0]["from"].as_array().unwrap().clone();
        assert!(
            peers.iter().any(|p| p["podSelector"] == expected),
            "{mesh:?}: the callers are not one peer: {peers:?}"
        );
        let ring = r
            .graph
            .edges
            .iter()
            .filter(|e| e.from != e.to && e.port == 3100)
            .count();
        assert!(ring >= 30, "{mesh:?}: the ring has {ring} flows");
        for (e, v) in r.graph.edges.iter().zip(&r.verdicts) {
            assert!(
                !matches!(v, Verdict::Denied { .. }),
                "{mesh:?}: {}",
                describe(e, v)
            );
        }
    }
}

/// Fewer than five such workloads keep a policy each, selected by their own labels.
#[test]
fn a_few_workloads_of_a_component_keep_a_network_policy_each() {
    let input = Input::new("ring.yaml", loki_ring(4));
    let r = run(&[input], &strict(), MeshType::Istio, None);
    let names: Vec<String> = network_policies(&r.output)
        .into_iter()
        .map(|(name, selector)| {
            assert!(selector["matchExpressions"].is_null(), "{name}: {selector}");
            name
        })
        .collect();
    assert_eq!(
        names,
        [
            "loki-0-ingress",
            "loki-1-ingress",
            "loki-2-ingress",
            "loki-3-ingress"
        ]
    );
}
