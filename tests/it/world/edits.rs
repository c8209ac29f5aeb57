//! Edits: Istio's proxy-config and user-volume-mount annotations merged into, mesh
//! versions, and the trust and cluster domains as config.

use super::{config, documents, find, run, validates};
use gunj_mesh::{Input, MeshType};
use serde_json::Value;

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

/// Loki's chart with a canary and a compactor-retention CronJob in the style of the
/// grafana-community chart, for the mesh versions and domains.
const LOKI: &str = r#"---
# Source: loki/templates/single-binary/statefulset.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: obs-loki
  namespace: logs
  labels:
    app.kubernetes.io/name: loki
    app.kubernetes.io/instance: obs
spec:
  replicas: 1
  serviceName: obs-loki-headless
  selector:
    matchLabels:
      app.kubernetes.io/name: loki
      app.kubernetes.io/instance: obs
  template:
    metadata:
      labels:
        app.kubernetes.io/name: loki
        app.kubernetes.io/instance: obs
    spec:
      serviceAccountName: obs-loki
      containers:
        - name: loki
          image: docker.io/grafana/loki:3.5.3
          ports:
            - name: http-metrics
              containerPort: 3100
            - name: grpc
              containerPort: 9095
---
# Source: loki/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: obs-loki
  namespace: logs
spec:
  type: ClusterIP
  ports:
    - name: http-metrics
      port: 3100
      targetPort: http-metrics
  selector:
    app.kubernetes.io/name: loki
    app.kubernetes.io/instance: obs
---
# Source: loki/templates/retention-cronjob.yaml
apiVersion: batch/v1
kind: CronJob
metadata:
  name: obs-loki-retention
  namespace: logs
  labels:
    app.kubernetes.io/name: loki
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        metadata:
          labels:
            app.kubernetes.io/name: loki
            app.kubernetes.io/component: retention
        spec:
          restartPolicy: OnFailure
          containers:
            - name: retention
              image: docker.io/grafana/loki:3.5.3
---
# Source: grafana/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: obs-grafana
  namespace: logs
  labels:
    app.kubernetes.io/name: grafana
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: grafana
  template:
    metadata:
      labels:
        app.kubernetes.io/name: grafana
    spec:
      serviceAccountName: obs-grafana
      containers:
        - name: grafana
          image: docker.io/grafana/grafana:12.1.0
          ports:
            - containerPort: 3000
"#;

#[test]
fn linkerd_version_picks_the_native_sidecar_annotation() {
    let inputs = [Input::new("loki.yaml", LOKI)];
    for (version, key) in [
        ("", "config.beta.linkerd.io/proxy-enable-native-sidecar"),
        (
            "    version: \"2.19.2\"\n",
            "config.beta.linkerd.io/proxy-enable-native-sidecar",
        ),
        (
            "    version: \"2.18\"\n",
            "config.alpha.linkerd.io/proxy-enable-native-sidecar",
        ),
    ] {
        let spec = format!("  type: linkerd\n  linkerd:\n    proxy: {{}}\n{version}");
        let out = run(&inputs, &config(&spec), MeshType::Linkerd);
        let docs = documents(&out.output.text());
        let cron = find(&docs, "CronJob", "obs-loki-retention").unwrap();
        let annotations =
            &cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["annotations"];
        assert_eq!(annotations[key], "true", "{version:?}: {annotations}");
        assert_eq!(
            annotations
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| k.contains("native-sidecar"))
                .count(),
            1
        );
    }
}

#[test]
fn istio_version_picks_the_api_versions() {
    let inputs = [Input::new("loki.yaml", LOKI)];
    let policies = "  mtls:\n    mode: STRICT\n  authorization:\n    defaultDeny: true\n  trafficManagement:\n    timeout: 30s\n  observability:\n    accessLogs: {}\n";
    for (version, networking, security, telemetry) in [
        (
            "",
            "networking.istio.io/v1",
            "security.istio.io/v1",
            "telemetry.istio.io/v1",
        ),
        (
            "  istio:\n    version: \"1.21.6\"\n",
            "networking.istio.io/v1beta1",
            "security.istio.io/v1beta1",
            "telemetry.istio.io/v1alpha1",
        ),
    ] {
        let out = run(
            &inputs,
            &config(&format!("{version}{policies}")),
            MeshType::Istio,
        );
        let text = out.output.text();
        let docs = documents(&text);
        let api = |kind: &str| {
            let versions: Vec<&Value> = docs
                .iter()
                .filter(|d| d["kind"] == kind)
                .map(|d| &d["apiVersion"])
                .collect();
            assert!(!versions.is_empty(), "{version:?}: no {kind}");
            versions
        };
        assert!(
            api("VirtualService").iter().all(|v| *v == networking),
            "{version:?}"
        );
        assert!(
            api("AuthorizationPolicy").iter().all(|v| *v == security),
            "{version:?}"
        );
        assert!(
            api("PeerAuthentication").iter().all(|v| *v == security),
            "{version:?}"
        );
        assert!(
            api("Telemetry").iter().all(|v| *v == telemetry),
            "{version:?}"
        );
        assert_eq!(
            super::denied(&out.flows().unwrap()),
            Vec::<String>::new(),
            "{version:?}"
        );
        validates(&text, version);
    }
}

#[test]
fn trust_domain_and_cluster_domain_come_from_the_config() {
    let inputs = [Input::new("loki.yaml", LOKI)];
    let spec = "  trustDomain: corp.example\n  clusterDomain: k8s.internal\n  authorization:\n    defaultDeny: true\n  trafficManagement:\n    timeout: 30s\n";
    let out = run(&inputs, &config(spec), MeshType::Istio);
    let text = out.output.text();
    assert!(!text.contains("cluster.local"), "{text}");
    let docs = documents(&text);
    let vs = docs.iter().find(|d| d["kind"] == "VirtualService").unwrap();
    assert_eq!(vs["spec"]["hosts"][0], "obs-loki.logs.svc.k8s.internal");
    let policy = find(&docs, "AuthorizationPolicy", "obs-loki-from-grafana")
        .unwrap_or_else(|| panic!("no policy for Grafana's calls:\n{text}"));
    assert_eq!(
        policy["spec"]["rules"][0]["from"][0]["source"]["principals"][0],
        "corp.example/ns/logs/sa/obs-grafana"
    );
    assert_eq!(super::denied(&out.flows().unwrap()), Vec::<String>::new());
    validates(&text, "domains");
}

#[test]
fn bad_versions_and_domains_are_config_errors_naming_the_field() {
    let inputs = [Input::new("loki.yaml", LOKI)];
    for (spec, field) in [
        ("  linkerd:\n    version: latest\n", "spec.linkerd.version"),
        ("  istio:\n    version: \"1\"\n", "spec.istio.version"),
        ("  trustDomain: Corp_Example\n", "spec.trustDomain"),
        (
            "  clusterDomain: \"cluster.local.\"\n",
            "spec.clusterDomain",
        ),
    ] {
        let options = gunj_mesh::Options {
            config: Some(Input::new("config.yaml", config(spec))),
            ..Default::default()
        };
        let err = gunj_mesh::run(&inputs, &options)
            .expect_err(spec)
            .to_string();
        assert!(err.contains(field), "{spec}: {err}");
    }
}
