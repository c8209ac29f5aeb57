//! Telemetry on the real corpus: the Prometheus certificate pattern under Istio STRICT mTLS
//! (on the prometheus-operator CR and on the prometheus chart's Deployment), and the
//! dashboard ConfigMap. Skips (saying so) when `../shared/corpus` is missing.

use crate::common;
use gunj_mesh::internals::stream;
use gunj_mesh::{Input, Options};
use serde_json::{Value, json};

const STRICT: &str = "apiVersion: mesh.gunj.io/v1alpha1
kind: ServiceMesh
spec:
  type: istio
  mtls: {mode: STRICT}
  observability:
    dashboards: {}
";

/// A file of the corpus, or `None` when the test is skipped ([`common::corpus`]).
fn corpus_file(name: &str) -> Option<Input> {
    let path = common::corpus()?.join(name);
    Some(Input::new(name, std::fs::read_to_string(path).unwrap()))
}

fn run(input: &Input) -> String {
    let options = Options {
        config: Some(Input::new("strict.yaml", STRICT)),
        ..Options::default()
    };
    gunj_mesh::run(std::slice::from_ref(input), &options)
        .unwrap()
        .output
        .text()
}

/// The document of `kind` named `name`, as JSON.
fn find(text: &str, kind: &str, name: &str) -> Value {
    stream::split(0, text)
        .iter()
        .filter(|d| d.header.kind == Some(kind))
        .map(|d| gunj_mesh::internals::yaml::from_str::<Value>(d.text).unwrap())
        .find(|v| v["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// Removes a key from the object at `path`, returning its value.
fn take(value: &mut Value, path: &[&str], key: &str) -> Option<Value> {
    let mut node = value;
    for p in path {
        node = node.get_mut(*p)?;
    }
    node.as_object_mut()?.remove(key)
}

/// Istio's certificate pattern for Prometheus
/// (<https://istio.io/latest/docs/ops/integrations/prometheus/#tls-settings>) without its
/// `includeInboundPorts: ""`: inbound capture stays, so callers' auto-mTLS to Prometheus is
/// decrypted (istio/istio#30311).
fn certificate_annotations() -> [(&'static str, Value); 3] {
    [
        (
            "traffic.sidecar.istio.io/includeOutboundIPRanges",
            json!(""),
        ),
        (
            "proxy.istio.io/config",
            json!("proxyMetadata:\n  OUTPUT_CERTS: /etc/istio-output-certs\n"),
        ),
        (
            "sidecar.istio.io/userVolumeMount",
            json!(r#"[{"name": "istio-certs", "mountPath": "/etc/istio-output-certs"}]"#),
        ),
    ]
}

#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn prometheus_cr_gets_the_certificate_pattern_and_nothing_else() {
    let Some(input) = corpus_file("kube-prometheus/prometheus-prometheus.yaml") else {
        return;
    };
    let before = find(&input.text, "Prometheus", "k8s");
    let mut after = find(&run(&input), "Prometheus", "k8s");
    let meta = ["spec", "podMetadata"];
    assert_eq!(
        take(
            &mut after,
            &[&meta[..], &["labels"]].concat(),
            "sidecar.istio.io/inject"
        ),
        Some(json!("true"))
    );
    for (key, value) in certificate_annotations() {
        assert_eq!(
            take(&mut after, &[&meta[..], &["annotations"]].concat(), key),
            Some(value),
            "{key}"
        );
    }
    assert!(
        after["spec"]["podMetadata"]["annotations"]
            .get("traffic.sidecar.istio.io/includeInboundPorts")
            .is_none(),
        "inbound capture must stay"
    );
    // The annotations map was created for the pattern.
    assert!(before["spec"]["podMetadata"].get("annotations").is_none());
    assert_eq!(after["spec"]["podMetadata"]["annotations"], json!({}));
    after["spec"]["podMetadata"]
        .as_object_mut()
        .unwrap()
        .remove("annotations");
    let volumes = after["spec"]["volumes"].as_array_mut().unwrap();
    assert_eq!(
        volumes.pop(),
        Some(json!({"name": "istio-certs", "emptyDir": {"medium": "Memory"}}))
    );
    let mounts = after["spec"]["volumeMounts"].as_array_mut().unwrap();
    assert_eq!(
        mounts.pop(),
        Some(json!({"name": "istio-certs", "mountPath": "/etc/prom-certs/"}))
    );
    for key in ["volumes", "volumeMounts"] {
        if after["spec"][key] == json!([]) && before["spec"].get(key).is_none() {
            after["spec"].as_object_mut().unwrap().remove(key);
        }
    }
    assert_eq!(after, before, "more than the certificate pattern changed");
}

#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn prometheus_chart_deployment_gets_the_certificate_pattern() {
    let Some(input) = corpus_file("helm-template/prometheus.yaml") else {
        return;
    };
    let output = run(&input);
    let server = find(&output, "Deployment", "obs-prometheus-server");
    let template = &server["spec"]["template"];
    for (key, value) in certificate_annotations() {
        assert_eq!(template["metadata"]["annotations"][key], value, "{key}");
    }
    assert!(
        template["metadata"]["annotations"]["traffic.sidecar.istio.io/includeInboundPorts"]
            .is_null(),
        "inbound capture must stay"
    );
    let spec = &template["spec"];
    assert!(
        spec["volumes"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "istio-certs", "emptyDir": {"medium": "Memory"}}))
    );
    let container = spec["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "prometheus-server")
        .unwrap();
    assert!(
        container["volumeMounts"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "istio-certs", "mountPath": "/etc/prom-certs/"}))
    );
    // Other workloads of the chart are not scrapers: no certificates for them.
    let alertmanager = find(&output, "StatefulSet", "obs-alertmanager");
    assert!(
        alertmanager["spec"]["template"]["metadata"]["annotations"]["proxy.istio.io/config"]
            .is_null()
    );
}

#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn dashboard_config_map_is_valid_grafana_json_for_the_components_in_the_mesh() {
    let Some(input) = corpus_file("helm-template/prometheus.yaml") else {
        return;
    };
    let output = run(&input);
    let cm = find(&output, "ConfigMap", "obs-prometheus-istio-golden-signals");
    assert_eq!(cm["metadata"]["labels"]["grafana_dashboard"], "1");
    let json: Value = serde_json::from_str(
        cm["data"]["obs-prometheus-istio-golden-signals.json"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let rows: Vec<&str> = json["panels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] == "row")
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        rows,
        [
            "alertmanager (monitoring)",
            "kube-state-metrics (monitoring)",
            "prometheus (monitoring)",
            "pushgateway (monitoring)"
        ]
    );
    // A second run finds its own dashboard and adds nothing.
    let again = run(&Input::new("-", output.clone()));
    assert!(again == output, "a second pass changed the output");
}
