//! One stack as several Helm releases in one namespace: each release's output owns what it
//! generates (no kind/namespace/name twice across the releases), and the union of the
//! outputs, judged as it is (`flows --as-is`), denies none of the flows the whole stack
//! needs: Grafana → Prometheus, Alertmanager, Loki and Tempo, Promtail → Loki, Prometheus →
//! every target its ServiceMonitors name (Loki's and Tempo's included, rendered with their
//! charts' monitoring on), and the kube-apiserver → the webhooks.

use crate::common::{self, TempDir};
use serde_json::Value;
use std::collections::BTreeMap;

/// kube-prometheus-stack (with its Grafana), loki, tempo and promtail, each a release.
const RELEASES: [&str; 4] = ["kube-prometheus-stack", "loki", "tempo", "promtail"];

const ISTIO: &str = "apiVersion: mesh.gunj.io/v1alpha1
kind: ServiceMesh
metadata: {name: stack}
spec:
  type: istio
  istio: {revision: 1-24-1}
  hooks: inject
  namespaces: [monitoring]
  mtls: {mode: STRICT}
  authorization:
    defaultDeny: true
    networkPolicies: true
PEERS  observability:
    accessLogs: {}
    dashboards: {}
";

const LINKERD: &str = "apiVersion: mesh.gunj.io/v1alpha1
kind: ServiceMesh
metadata: {name: stack}
spec:
  type: linkerd
  namespaces: [monitoring]
  authorization:
    defaultDeny: true
    ingress: [ingress-nginx/ingress-nginx]
PEERS  observability:
    dashboards: {}
";

/// The callers of the other releases by their ServiceAccounts in the corpus.
const NAMED_PEERS: &str = "    peers:
      - {component: grafana, serviceAccounts: [monitoring/obs-grafana]}
      - {component: prometheus, serviceAccounts: [monitoring/obs-kube-prometheus-stack-prometheus]}
      - {component: promtail, serviceAccounts: [monitoring/obs-promtail]}
      - component: loki
        serviceAccounts: [monitoring/obs-loki, monitoring/obs-loki-gateway, monitoring/obs-loki-canary, monitoring/obs-loki-memcached]
";

/// The ServiceMonitor a release renders with its chart's monitoring on (`release: obs`,
/// which kube-prometheus-stack's Prometheus selects), so that Prometheus scrapes it from
/// another release.
fn service_monitor(release: &str) -> String {
    let (component, port) = match release {
        "loki" => ("single-binary", "http-metrics"),
        "tempo" => ("", "tempo-prom-metrics"),
        _ => return String::new(),
    };
    let component = if component.is_empty() {
        String::new()
    } else {
        format!("\n      app.kubernetes.io/component: {component}")
    };
    format!(
        "---
# Source: {release}/templates/servicemonitor.yaml
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: obs-{release}
  namespace: monitoring
  labels:
    app.kubernetes.io/instance: obs
    release: obs
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: {release}
      app.kubernetes.io/instance: obs{component}
  endpoints:
    - port: {port}
"
    )
}

/// Each release post-rendered alone with `config`: the output files.
fn render(dir: &TempDir, config: &str) -> Option<Vec<String>> {
    let corpus = common::corpus()?.join("helm-template");
    let config = dir.write("config.yaml", config);
    let mut outputs = Vec::new();
    for release in RELEASES {
        let mut input = std::fs::read(corpus.join(format!("{release}.yaml"))).unwrap();
        input.extend(service_monitor(release).into_bytes());
        let (code, out, err) = common::gunj(&["-c", config.to_str().unwrap()], input);
        assert_eq!(code, 0, "{release}: {err}");
        outputs.push(
            dir.write(&format!("{release}.out.yaml"), &out)
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    Some(outputs)
}

fn config_file(dir: &TempDir, config: &str) -> String {
    dir.write("check-config.yaml", config)
        .to_str()
        .unwrap()
        .to_string()
}

/// Every object of the outputs by kind, namespace and name, with the releases it is in.
fn identities(outputs: &[String]) -> BTreeMap<(String, String, String), Vec<usize>> {
    let mut seen: BTreeMap<(String, String, String), Vec<usize>> = BTreeMap::new();
    for (i, file) in outputs.iter().enumerate() {
        let text = std::fs::read_to_string(file).unwrap();
        for doc in gunj_mesh::internals::stream::split(0, &text) {
            let Ok(v) = gunj_mesh::internals::yaml::from_str::<Value>(doc.text) else {
                continue;
            };
            let Some(kind) = v["kind"].as_str() else {
                continue;
            };
            let meta = &v["metadata"];
            let key = (
                kind.to_string(),
                meta["namespace"].as_str().unwrap_or("").to_string(),
                meta["name"].as_str().unwrap_or("").to_string(),
            );
            seen.entry(key).or_default().push(i);
        }
    }
    seen
}

/// `flows --as-is` over the union of the outputs: the flows as JSON.
fn union_flows(dir: &TempDir, outputs: &[String], config: &str) -> (i32, Vec<Value>) {
    let config = dir.write("union-config.yaml", config);
    let mut args = vec![
        "flows",
        "--as-is",
        "-q",
        "--output",
        "json",
        "-c",
        config.to_str().unwrap(),
    ];
    args.extend(outputs.iter().map(String::as_str));
    let (code, out, err) = common::gunj(&args, "");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    (code, v["flows"].as_array().unwrap().clone())
}

fn name(party: &Value) -> String {
    match party["type"].as_str() {
        Some("workload") => party["name"].as_str().unwrap().to_string(),
        other => other.unwrap_or_default().to_string(),
    }
}

fn denied(flows: &[Value]) -> Vec<String> {
    flows
        .iter()
        .filter(|f| f["verdict"]["verdict"] != "allowed")
        .map(|f| {
            format!(
                "{} → {} {}: {}",
                name(&f["from"]),
                name(&f["to"]),
                f["port"],
                f["verdict"]
            )
        })
        .collect()
}

/// True when the union has a flow from a workload whose name contains `from` to one whose
/// name contains `to` (or from the party type `from`, such as `api-server`).
fn has(flows: &[Value], from: &str, to: &str) -> bool {
    flows
        .iter()
        .any(|f| name(&f["from"]).contains(from) && name(&f["to"]).contains(to))
}

fn four_releases_compose(mesh: &str, template: &str) {
    let dir = TempDir::new(&format!("releases-{mesh}"));
    let config = template.replace("PEERS", "");
    let Some(outputs) = render(&dir, &config) else {
        return;
    };
    // Each release's output is what the filter would write again: nothing missing, no
    // drift (a policy built from labels injection adds would differ on a second run).
    for file in &outputs {
        let (code, text, err) = common::gunj(
            &[
                "check",
                "--fail-on",
                "error",
                "-c",
                &config_file(&dir, &config),
                file,
            ],
            "",
        );
        assert_eq!(code, 0, "{mesh}: {file}: {text}{err}");
    }
    let twice: Vec<String> = identities(&outputs)
        .into_iter()
        .filter(|(_, releases)| releases.len() > 1)
        .map(|(key, releases)| format!("{key:?} in {releases:?}"))
        .collect();
    assert!(twice.is_empty(), "{mesh}: {twice:#?}");

    // The callers of other releases are allowed from the namespace (with a warning).
    let (code, flows) = union_flows(&dir, &outputs, &config);
    assert_eq!(denied(&flows), Vec::<String>::new(), "{mesh}");
    assert_eq!(code, 0);
    for (from, to) in [
        ("grafana", "prometheus-stack-prometheus"),
        ("grafana", "alertmanager"),
        ("grafana", "obs-loki"),
        ("grafana", "obs-tempo"),
        ("obs-promtail", "obs-loki"),
        ("prometheus-stack-prometheus", "obs-loki"),
        ("prometheus-stack-prometheus", "obs-tempo"),
        ("prometheus-stack-prometheus", "kube-state-metrics"),
    ] {
        assert!(has(&flows, from, to), "{mesh}: no flow {from} → {to}");
    }
    assert!(
        has(&flows, "api-server", "operator"),
        "{mesh}: the admission webhook"
    );

    // Named peers allow the same flows, from their identities only.
    let named = template.replace("PEERS", NAMED_PEERS);
    let outputs = render(&dir, &named).unwrap();
    let (_, flows) = union_flows(&dir, &outputs, &named);
    assert_eq!(denied(&flows), Vec::<String>::new(), "{mesh}, named peers");

    // With no peer allowed, the union denies the calls between releases: the test sees them.
    let none = template.replace("PEERS", "    peers: []\n");
    let outputs = render(&dir, &none).unwrap();
    let (code, flows) = union_flows(&dir, &outputs, &none);
    let denied = denied(&flows);
    assert_eq!(code, 1);
    assert!(
        denied
            .iter()
            .any(|d| d.starts_with("obs-grafana → obs-loki")),
        "{mesh}: {denied:#?}"
    );
}

#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn four_istio_releases_in_one_namespace_own_their_resources_and_allow_each_others_calls() {
    four_releases_compose("istio", ISTIO);
}

#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn four_linkerd_releases_in_one_namespace_own_their_resources_and_allow_each_others_calls() {
    four_releases_compose("linkerd", LINKERD);
}

/// `--release` names what a run generates; without it, the stream's release and chart do
/// (as Helm's `fullname`), and a stream of several releases says which it took.
#[test]
fn generated_names_carry_the_release() {
    let config = "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: linkerd\n  authorization: {defaultDeny: true}\n  observability: {dashboards: {}}\n---\n";
    let grafana = |release: &str, name: &str| {
        common::fixtures::GRAFANA_HELM_WITH_SELECTOR_AND_PORT
            .replace(
                "  name: grafana\n",
                &format!("  name: {name}\n  labels: {{app.kubernetes.io/instance: {release}}}\n"),
            )
            .replace(
                "app.kubernetes.io/name: grafana\n",
                &format!(
                    "app.kubernetes.io/name: grafana\n      app.kubernetes.io/instance: {release}\n"
                ),
            )
    };
    let stream = format!("{config}{}", grafana("obs", "obs-grafana"));
    let (code, out, err) = common::gunj(&["--release", "logs"], stream.as_str());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("  name: logs-grafana-from-grafana\n"), "{out}");
    assert!(
        out.contains("  name: logs-grafana-linkerd-golden-signals\n"),
        "{out}"
    );
    // Release `obs` of chart `grafana` (its `# Source:`): `obs-grafana`.
    let (_, out, _) = common::gunj(&[], stream.as_str());
    assert!(out.contains("  name: obs-grafana-from-grafana\n"), "{out}");
    // A release whose name holds the chart's is the name alone.
    let (_, out, _) = common::gunj(&["--release", "grafana"], stream.as_str());
    assert!(out.contains("  name: grafana-from-grafana\n"), "{out}");
    let two = format!(
        "{stream}---\n{}",
        grafana("other", "other-grafana").replace("# Source: grafana/", "# Source: other/")
    );
    let (code, _, err) = common::gunj(&[], two.as_str());
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("note: the stream shows 2 releases (obs, other): generated names carry `obs`"),
        "{err}"
    );
}

/// Callers of other releases, as the policies name them: a peer's namespaces, its target's
/// namespace when `peers` is unset (with the warning), nobody with `peers: []`; a peer that
/// is no catalog component is refused at its field.
#[test]
fn peers_name_the_callers_of_other_releases() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let loki = std::fs::read_to_string(corpus.join("helm-template/loki.yaml")).unwrap();
    let run = |peers: &str| {
        let config = format!(
            "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: istio\n  authorization:\n    defaultDeny: true\n{peers}---\n"
        );
        common::gunj(&[], format!("{config}{loki}"))
    };
    let gateway_from = |out: &str, who: &str| {
        let name = format!("  name: obs-loki-gateway-from-{who}\n");
        out.split("\n---\n")
            .find(|d| d.contains(&name))
            .map(str::to_string)
    };
    let (code, out, err) =
        run("    peers:\n      - {component: grafana, namespaces: [dashboards]}\n");
    assert_eq!(code, 0, "{err}");
    let policy = gateway_from(&out, "ns-dashboards").expect("a policy for the peer");
    assert!(
        policy.contains("        namespaces:\n        - dashboards"),
        "{policy}"
    );
    assert!(!err.contains("callers the stack's flows name"), "{err}");
    // The callers the list leaves out are said, not allowed.
    assert!(
        err.contains("note: authorization.peers names none of these callers, so their flows are not allowed: ")
            && err.contains("promtail → loki"),
        "{err}"
    );

    let (_, out, err) = run("");
    let policy = gateway_from(&out, "namespace").expect("the namespace fallback");
    assert!(
        policy.contains("        namespaces:\n        - monitoring"),
        "{policy}"
    );
    assert!(
        err.contains(
            "warning: authorization: callers the stack's flows name are not in this stream ("
        ) && err.contains("grafana"),
        "{err}"
    );

    let (_, out, _) = run("    peers: []\n");
    assert_eq!(gateway_from(&out, "namespace"), None);
    assert!(!out.contains("namespaces:"), "{out}");

    let (code, out, err) = run("    peers:\n      - {component: grafanna}\n");
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.contains("spec.authorization.peers[0].component"),
        "{err}"
    );
}
