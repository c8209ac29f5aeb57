//! Generated policies over the real corpus: every example config in both meshes, on every
//! corpus file. What the filter writes (generated and edited documents) validates against
//! the official CRDs
//! (`../shared/tools/validate-crs.py --require-known`), generated NetworkPolicies are exact
//! k8s-openapi objects, a second pass adds nothing, and the gossip ports of Loki and Tempo
//! get their protocol hints. Skips (saying so) when `../shared` is missing.

use crate::common;
use gunj_mesh::MeshType;
use gunj_mesh::internals::stream;
use gunj_mesh::{Input, Options};
use std::path::{Path, PathBuf};

const CONFIGS: [&str; 4] = ["basic", "istio-advanced", "linkerd", "multi-cluster"];

fn corpus_files(shared: &Path) -> Vec<Input> {
    let mut inputs = Vec::new();
    for folder in [
        "helm-template",
        "postrender-stdin",
        "kube-prometheus",
        "istio-addons",
        "upstream",
    ] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(shared.join("corpus").join(folder))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        for p in paths {
            inputs.push(Input::new(
                format!("{folder}/{}", p.file_name().unwrap().to_string_lossy()),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
    }
    inputs
}

fn config(name: &str) -> Input {
    let path = format!("{}/examples/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    Input::new(path, text)
}

fn filter(input: &Input, config: &Input, mesh: MeshType, label: &str) -> String {
    let options = Options {
        config: Some(config.clone()),
        mesh: Some(mesh),
        ..Options::default()
    };
    gunj_mesh::run(std::slice::from_ref(input), &options)
        .unwrap_or_else(|f| panic!("{label}: {f}"))
        .output
        .text()
}

/// Every generated NetworkPolicy round-trips through k8s-openapi without losing a field.
fn check_network_policies(output: &str, label: &str) -> usize {
    let mut n = 0;
    for doc in stream::split(0, output) {
        if doc.header.kind != Some("NetworkPolicy") || !doc.text.contains("gunj-mesh") {
            continue;
        }
        let value: serde_json::Value = gunj_mesh::internals::yaml::from_str(doc.text).unwrap();
        let typed: k8s_openapi::api::networking::v1::NetworkPolicy =
            serde_json::from_value(value.clone())
                .unwrap_or_else(|e| panic!("{label}: not a NetworkPolicy: {e}"));
        assert_eq!(
            serde_json::to_value(&typed).unwrap(),
            value,
            "{label}: a NetworkPolicy field is not in the k8s-openapi type"
        );
        n += 1;
    }
    n
}

#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn generated_resources_validate_against_the_official_crds_on_every_corpus_file() {
    let Some(shared) = common::needs::shared() else {
        return;
    };
    // validate-crs.py reads the schemas with these.
    if !common::needs::python3(&["jsonschema", "yaml"]) {
        return;
    }
    let inputs = corpus_files(&shared);
    let dir = std::env::temp_dir().join(format!("gunj-mesh-policies-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut network_policies = 0;
    for name in CONFIGS {
        let config = config(name);
        for mesh in [MeshType::Istio, MeshType::Linkerd] {
            let mut all = String::new();
            for input in &inputs {
                let label = format!("{} with {name} ({mesh:?})", input.name);
                let output = filter(input, &config, mesh, &label);
                let again = Input::new(input.name.clone(), output.clone());
                assert!(
                    filter(&again, &config, mesh, &label) == output,
                    "{label}: a second pass changed the output"
                );
                network_policies += check_network_policies(&output, &label);
                // Validate what the filter wrote: generated and edited documents (the
                // schemas do not cover every kind of the charts' own documents).
                let before: std::collections::HashSet<&str> = stream::split(0, &input.text)
                    .into_iter()
                    .map(|d| d.text.trim_end())
                    .collect();
                for doc in stream::split(0, &output) {
                    // `../shared/schemas` has no CRD for these prometheus-operator kinds
                    // (upstream/prometheus-operator-examples.yaml has them); their edits
                    // are `spec.podMetadata`, which the Prometheus CRD checks.
                    let uncovered = ["PrometheusAgent", "ThanosRuler"];
                    if doc.header.kind.is_some_and(|k| uncovered.contains(&k)) {
                        continue;
                    }
                    if !before.contains(doc.text.trim_end()) {
                        all.push_str("\n---\n");
                        all.push_str(doc.text);
                    }
                }
            }
            let file = dir.join(format!("{name}-{mesh:?}.yaml"));
            std::fs::write(&file, &all).unwrap();
            let run = std::process::Command::new("python3")
                .arg(shared.join("tools/validate-crs.py"))
                .arg("--require-known")
                .arg(&file)
                .output()
                .expect("python3 runs");
            let report = String::from_utf8_lossy(&run.stdout);
            assert!(
                run.status.success(),
                "{name} ({mesh:?}): invalid resources:\n{report}{}",
                String::from_utf8_lossy(&run.stderr)
            );
            assert!(report.contains(" 0 invalid"), "{report}");
        }
    }
    assert!(network_policies > 0, "no NetworkPolicy was generated");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Loki's and Tempo's memberlist Services: `appProtocol: tcp` under Istio, opaque under
/// Linkerd (as an annotation on the Service).
#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn memberlist_ports_get_protocol_hints_in_both_meshes() {
    let Some(shared) = common::needs::shared() else {
        return;
    };
    for (file, service) in [
        ("helm-template/loki.yaml", "obs-loki-memberlist"),
        (
            "helm-template/loki-distributed.yaml",
            "obs-loki-distributed-memberlist",
        ),
        (
            "helm-template/tempo-distributed.yaml",
            "obs-tempo-gossip-ring",
        ),
    ] {
        let input = Input::new(
            file,
            std::fs::read_to_string(shared.join("corpus").join(file)).unwrap(),
        );
        for mesh in [MeshType::Istio, MeshType::Linkerd] {
            let label = format!("{file} ({mesh:?})");
            let output = filter(&input, &config("basic"), mesh, &label);
            let doc = stream::split(0, &output)
                .into_iter()
                .find(|d| {
                    d.header.kind == Some("Service")
                        && d.text.contains(&format!("name: {service}\n"))
                })
                .unwrap_or_else(|| panic!("{label}: no Service {service}"));
            let value: serde_json::Value = gunj_mesh::internals::yaml::from_str(doc.text).unwrap();
            let port = value["spec"]["ports"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["port"] == 7946)
                .unwrap_or_else(|| panic!("{label}: no port 7946"));
            match mesh {
                MeshType::Istio => assert_eq!(port["appProtocol"], "tcp", "{label}"),
                _ => assert_eq!(
                    value["metadata"]["annotations"]["config.linkerd.io/opaque-ports"], "7946",
                    "{label}"
                ),
            }
        }
    }
}

/// A NetworkPolicy of the stream that isolates Grafana: the ingress the config names gets a
/// companion policy admitting it on Grafana's port (and, under Linkerd, the proxy's 4143);
/// the catalog's guesses the stream's policy stops are not flows, and nothing is denied.
#[test]
fn a_streams_own_network_policy_gets_a_companion_for_what_the_config_names() {
    const STREAM: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: grafana, namespace: monitoring}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: grafana}}
  template:
    metadata: {labels: {app.kubernetes.io/name: grafana}}
    spec:
      serviceAccountName: grafana
      containers: [{name: grafana, image: grafana/grafana, ports: [{name: http, containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: grafana, namespace: monitoring}
spec:
  selector: {app.kubernetes.io/name: grafana}
  ports: [{name: http, port: 3000, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: grafana, namespace: monitoring}
spec:
  podSelector: {matchLabels: {app.kubernetes.io/name: grafana}}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {matchLabels: {app: prometheus}}}], ports: [{port: 3000}]}]
";
    const CONFIG: &str = "apiVersion: mesh.gunj.io/v1alpha1
kind: ServiceMesh
spec:
  authorization:
    defaultDeny: true
    ingress: [ingress-nginx/ingress-nginx]
";
    for (mesh, transport) in [(MeshType::Istio, None), (MeshType::Linkerd, Some(4143))] {
        let options = gunj_mesh::Options {
            config: Some(Input::new("config.yaml", CONFIG)),
            mesh: Some(mesh),
            traffic_graph: true,
            ..Default::default()
        };
        let inputs = [Input::new("stream.yaml", STREAM)];
        let outcome = gunj_mesh::run(&inputs, &options).unwrap();
        let output = outcome.output.text();
        let companion = stream::split(0, &output)
            .into_iter()
            .find(|d| d.text.contains("name: grafana-mesh-admit\n"))
            .unwrap_or_else(|| panic!("{mesh:?}: no companion policy:\n{output}"));
        let value: serde_json::Value =
            gunj_mesh::internals::yaml::from_str(companion.text).unwrap();
        let mut rules = serde_json::json!([{
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
            "ports": [{"port": 3000, "protocol": "TCP"}],
        }]);
        if let Some(port) = transport {
            rules.as_array_mut().unwrap().insert(
                0,
                serde_json::json!({"ports": [{"port": port, "protocol": "TCP"}]}),
            );
        }
        assert_eq!(value["spec"]["ingress"], rules, "{mesh:?}");
        let flows = outcome.flows().unwrap();
        let ingress = flows
            .graph
            .edges
            .iter()
            .position(|e| matches!(e.from, gunj_mesh::Party::Ingress { .. }))
            .unwrap_or_else(|| panic!("{mesh:?}: no ingress flow"));
        assert!(
            matches!(flows.verdicts[ingress], gunj_mesh::Verdict::Allowed { .. }),
            "{mesh:?}: {:?}",
            flows.verdicts[ingress]
        );
        // Grafana's inferred flow to its peers is one the stream's policy disproves, and the
        // summary counts what `flows` shows.
        assert!(
            !flows.graph.edges.iter().any(|e| e.from == e.to),
            "{mesh:?}: {:?}",
            flows.graph.edges
        );
        let n = flows.graph.edges.len();
        assert!(
            outcome
                .summary()
                .iter()
                .any(|l| l.starts_with(&format!("traffic graph: {n} flow"))),
            "{mesh:?}: {:?}",
            outcome.summary()
        );
    }
}

/// An `allow` rule that repeats one of the catalog's flows is the config's word, not a
/// guess: the stream's NetworkPolicy does not disprove it, and the companion admits it.
#[test]
fn an_allow_rule_repeating_a_default_flow_is_configured() {
    const STREAM: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: grafana, namespace: monitoring}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: grafana}}
  template:
    metadata: {labels: {app.kubernetes.io/name: grafana}}
    spec:
      serviceAccountName: grafana
      containers: [{name: grafana, image: grafana/grafana, ports: [{name: http, containerPort: 3000}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: prometheus, namespace: monitoring}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: prometheus}}
  template:
    metadata: {labels: {app.kubernetes.io/name: prometheus}}
    spec:
      serviceAccountName: prometheus
      containers: [{name: prometheus, image: prom/prometheus, ports: [{name: web, containerPort: 9090}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: grafana, namespace: monitoring}
spec:
  podSelector: {matchLabels: {app.kubernetes.io/name: grafana}}
  policyTypes: [Ingress]
  ingress: []
";
    const CONFIG: &str = "apiVersion: mesh.gunj.io/v1alpha1
kind: ServiceMesh
spec:
  type: istio
  authorization:
    allow: [{from: prometheus, to: grafana}]
";
    let options = gunj_mesh::Options {
        config: Some(Input::new("config.yaml", CONFIG)),
        traffic_graph: true,
        ..Default::default()
    };
    let inputs = [Input::new("stream.yaml", STREAM)];
    let outcome = gunj_mesh::run(&inputs, &options).unwrap();
    let flows = outcome.flows().unwrap();
    let scrape = flows
        .graph
        .edges
        .iter()
        .position(|e| {
            matches!(&e.from, gunj_mesh::Party::Workload { name, .. } if name == "prometheus")
                && matches!(&e.to, gunj_mesh::Party::Workload { name, .. } if name == "grafana")
        })
        .expect("the configured flow Prometheus → Grafana is in the graph");
    assert_eq!(
        flows.graph.edges[scrape].found,
        gunj_mesh::Found::Configured
    );
    assert!(
        matches!(flows.verdicts[scrape], gunj_mesh::Verdict::Allowed { .. }),
        "{:?}",
        flows.verdicts[scrape]
    );
    assert!(outcome.output.text().contains("name: grafana-mesh-admit\n"));
}
