//! Edits: Istio's proxy-config and user-volume-mount annotations merged into, mesh
//! versions, and the trust and cluster domains as config.

use super::{config, documents, find, run, validates};
use gunj_mesh::{Input, MeshType};

/// The prometheus-community chart's server Deployment with `server.podAnnotations` that
/// hold the app until the proxy starts (Istio's FAQ pattern, as a `|` block with a
/// comment) and mount a volume into the proxy.
const PROMETHEUS: &str = r#"---
# Source: prometheus/templates/deploy.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app.kubernetes.io/component: server
    app.kubernetes.io/name: prometheus
    app.kubernetes.io/instance: obs
  name: obs-prometheus-server
  namespace: monitoring
spec:
  selector:
    matchLabels:
      app.kubernetes.io/component: server
      app.kubernetes.io/name: prometheus
      app.kubernetes.io/instance: obs
  replicas: 1
  template:
    metadata:
      annotations:
        # Hold Prometheus until the proxy is up, capture DNS.
        proxy.istio.io/config: |
          holdApplicationUntilProxyStarts: true
          proxyMetadata:
            ISTIO_META_DNS_CAPTURE: "true"
          # the proxy's own port list
          proxyStatsMatcher:
            inclusionPrefixes:
            - cluster.outbound
        sidecar.istio.io/userVolumeMount: '[{"name": "tls-extra", "mountPath": "/etc/tls-extra"}]'
      labels:
        app.kubernetes.io/component: server
        app.kubernetes.io/name: prometheus
        app.kubernetes.io/instance: obs
    spec:
      serviceAccountName: obs-prometheus-server
      containers:
        - name: prometheus-server-configmap-reload
          image: "quay.io/prometheus-operator/prometheus-config-reloader:v0.83.0"
        - name: prometheus-server
          image: "quay.io/prometheus/prometheus:v3.5.0"
          ports:
            - containerPort: 9090
          volumeMounts:
            - name: config-volume
              mountPath: /etc/config
      volumes:
        - name: config-volume
          configMap:
            name: obs-prometheus-server
"#;

#[test]
fn strict_mtls_merges_into_the_users_proxy_config_and_volume_mounts() {
    let inputs = [Input::new("prometheus.yaml", PROMETHEUS)];
    let out = run(
        &inputs,
        &config("  mtls:\n    mode: STRICT\n"),
        MeshType::Istio,
    );
    let text = out.output.text();
    let input_doc = PROMETHEUS;
    let output_doc = &text[..text.find("\n---\n").map_or(text.len(), |i| i + 1)];
    let diff = similar::TextDiff::from_lines(input_doc, output_doc);
    let changed: Vec<String> = diff
        .iter_all_changes()
        .filter(|c| c.tag() != similar::ChangeTag::Equal)
        .map(|c| format!("{}{}", c.tag(), c.value()))
        .collect();
    assert_eq!(
        changed,
        [
            "+            OUTPUT_CERTS: \"/etc/istio-output-certs\"\n",
            "-        sidecar.istio.io/userVolumeMount: '[{\"name\": \"tls-extra\", \"mountPath\": \"/etc/tls-extra\"}]'\n",
            "+        sidecar.istio.io/userVolumeMount: '[{\"name\": \"tls-extra\", \"mountPath\": \"/etc/tls-extra\"}, {\"name\": \"istio-certs\", \"mountPath\": \"/etc/istio-output-certs\"}]'\n",
            "+        traffic.sidecar.istio.io/includeOutboundIPRanges: \"\"\n",
            "+        sidecar.istio.io/inject: \"true\"\n",
            "+            - name: istio-certs\n",
            "+              mountPath: /etc/prom-certs/\n",
            "+        - name: istio-certs\n",
            "+          emptyDir:\n",
            "+            medium: Memory\n",
        ],
        "only the lines the merge needs change:\n{output_doc}"
    );
    let docs = documents(&text);
    let deployment = find(&docs, "Deployment", "obs-prometheus-server").unwrap();
    let config = deployment["spec"]["template"]["metadata"]["annotations"]["proxy.istio.io/config"]
        .as_str()
        .unwrap();
    assert!(
        config.contains("holdApplicationUntilProxyStarts: true\n"),
        "{config}"
    );
    let second = [Input::new("-", text.clone())];
    let again = run(
        &second,
        &super::config("  mtls:\n    mode: STRICT\n"),
        MeshType::Istio,
    );
    assert_eq!(again.output.text(), text, "a second pass changes nothing");
    validates(&text, "prometheus");
}
