//! Ports and protocols: Alloy's clustering port, TLS ports, webhook and TLS-only Services,
//! the query-frontends of Loki and Mimir, UDP gossip in NetworkPolicies and the operator
//! pods' sidecar ports.

use super::{config, denied, documents, find, run, validates};
use gunj_mesh::{Input, MeshType};
use serde_json::{Value, json};

/// The grafana/alloy chart with clustering on: the main Service and the headless cluster
/// Service both reach port 12345, named `http-metrics` and `http`.
const ALLOY: &str = r#"---
# Source: alloy/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: alloy
  namespace: monitoring
  labels:
    app.kubernetes.io/name: alloy
    app.kubernetes.io/instance: alloy
    app.kubernetes.io/component: networking
spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: alloy
    app.kubernetes.io/instance: alloy
  internalTrafficPolicy: Cluster
  ports:
    - name: http-metrics
      port: 12345
      targetPort: 12345
      protocol: "TCP"
---
# Source: alloy/templates/cluster_service.yaml
apiVersion: v1
kind: Service
metadata:
  name: alloy-cluster
  namespace: monitoring
  labels:
    app.kubernetes.io/name: alloy
    app.kubernetes.io/instance: alloy
spec:
  type: ClusterIP
  clusterIP: 'None'
  publishNotReadyAddresses: true
  selector:
    app.kubernetes.io/name: alloy
    app.kubernetes.io/instance: alloy
  ports:
    # Do not include the -metrics suffix in the port name.
    - name: http
      port: 12345
      targetPort: 12345
      protocol: "TCP"
---
# Source: alloy/templates/controllers/statefulset.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: alloy
  namespace: monitoring
spec:
  replicas: 3
  serviceName: alloy
  selector:
    matchLabels:
      app.kubernetes.io/name: alloy
      app.kubernetes.io/instance: alloy
  template:
    metadata:
      annotations:
        kubectl.kubernetes.io/default-container: alloy
      labels:
        app.kubernetes.io/name: alloy
        app.kubernetes.io/instance: alloy
    spec:
      serviceAccountName: alloy
      containers:
        - name: alloy
          image: docker.io/grafana/alloy:v1.10.0
          args:
            - run
            - /etc/alloy/config.alloy
            - --server.http.listen-addr=0.0.0.0:12345
            - --cluster.enabled=true
            - --cluster.join-addresses=alloy-cluster
          ports:
            - containerPort: 12345
              name: http-metrics
        - name: config-reloader
          image: quay.io/prometheus-operator/prometheus-config-reloader:v0.81.0
"#;

#[test]
fn alloy_clustering_port_is_tcp_under_istio_whatever_its_name() {
    let inputs = [Input::new("alloy.yaml", ALLOY)];
    let out = run(&inputs, &config("  type: istio\n"), MeshType::Istio);
    let docs = documents(&out.output.text());
    for service in ["alloy", "alloy-cluster"] {
        let port = &find(&docs, "Service", service).unwrap()["spec"]["ports"][0];
        assert_eq!(port["appProtocol"], "tcp", "{service}: {port}");
    }
}

/// The opentelemetry-operator chart: the manager's secure metrics on 8443 named `metrics`,
/// and its webhook Service (443 → 9443) that a MutatingWebhookConfiguration names.
const OTEL_OPERATOR: &str = r#"---
# Source: opentelemetry-operator/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  labels:
    app.kubernetes.io/name: opentelemetry-operator
    app.kubernetes.io/component: controller-manager
  name: obs-opentelemetry-operator
  namespace: monitoring
spec:
  ports:
    - name: metrics
      port: 8443
      protocol: TCP
      targetPort: metrics
  selector:
      app.kubernetes.io/name: opentelemetry-operator
      app.kubernetes.io/component: controller-manager
---
# Source: opentelemetry-operator/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  labels:
    app.kubernetes.io/name: opentelemetry-operator
    app.kubernetes.io/component: controller-manager
  name: obs-opentelemetry-operator-webhook
  namespace: monitoring
spec:
  ports:
    - port: 443
      protocol: TCP
      targetPort: webhook-server
  selector:
      app.kubernetes.io/name: opentelemetry-operator
      app.kubernetes.io/component: controller-manager
---
# Source: opentelemetry-operator/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app.kubernetes.io/name: opentelemetry-operator
    app.kubernetes.io/component: controller-manager
  name: obs-opentelemetry-operator
  namespace: monitoring
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: opentelemetry-operator
      app.kubernetes.io/component: controller-manager
  template:
    metadata:
      labels:
        app.kubernetes.io/name: opentelemetry-operator
        app.kubernetes.io/component: controller-manager
    spec:
      serviceAccountName: opentelemetry-operator
      containers:
        - args:
            - --metrics-addr=0.0.0.0:8443
          image: "ghcr.io/open-telemetry/opentelemetry-operator/opentelemetry-operator:0.129.1"
          name: manager
          ports:
            - containerPort: 8443
              name: metrics
              protocol: TCP
            - containerPort: 9443
              name: webhook-server
              protocol: TCP
---
# Source: opentelemetry-operator/templates/admission-webhooks/operator-webhook.yaml
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: obs-opentelemetry-operator-mutation
webhooks:
  - admissionReviewVersions:
      - v1
    clientConfig:
      service:
        name: obs-opentelemetry-operator-webhook
        namespace: monitoring
        path: /mutate-v1-pod
    failurePolicy: Ignore
    name: mpod.kb.io
    rules:
      - apiGroups:
          - ""
        apiVersions:
          - v1
        operations:
          - CREATE
        resources:
          - pods
    sideEffects: None
"#;

const L7: &str = "  trafficManagement:\n    retries: {attempts: 3, perTryTimeout: 2s}\n    timeout: 30s\n    circuitBreaker: {consecutiveErrors: 5, interval: 10s, baseEjectionTime: 30s}\n  mtls:\n    mode: STRICT\n  authorization:\n    defaultDeny: true\n";

#[test]
fn tls_ports_get_no_http_hint_and_webhook_and_tls_services_no_l7_settings() {
    let inputs = [Input::new("otel-operator.yaml", OTEL_OPERATOR)];
    for mode in ["sidecar", "ambient"] {
        let spec = format!("  istio:\n    mode: {mode}\n{L7}");
        let out = run(&inputs, &config(&spec), MeshType::Istio);
        let text = out.output.text();
        let docs = documents(&text);
        for service in [
            "obs-opentelemetry-operator",
            "obs-opentelemetry-operator-webhook",
        ] {
            let svc = find(&docs, "Service", service).unwrap();
            assert_eq!(
                svc["spec"]["ports"][0]["appProtocol"],
                Value::Null,
                "{mode}: {svc}"
            );
            assert_eq!(
                svc["metadata"]["labels"]["istio.io/use-waypoint"],
                Value::Null,
                "{mode}"
            );
        }
        for kind in ["DestinationRule", "VirtualService"] {
            assert!(
                !docs.iter().any(|d| d["kind"] == kind),
                "{mode}: no {kind} for a webhook or TLS-only Service:\n{text}"
            );
        }
        assert_eq!(
            denied(&out.flows().unwrap()),
            Vec::<String>::new(),
            "{mode}"
        );
        validates(&text, mode);
    }
}

/// The grafana-community loki chart's query-frontend headless Service (without
/// `publishNotReadyAddresses`), and mimir-distributed with the query-scheduler on, which
/// renders no headless Service for the query-frontend.
const FRONTENDS: &str = r#"---
# Source: loki/templates/query-frontend/service-query-frontend-headless.yaml
apiVersion: v1
kind: Service
metadata:
  name: obs-loki-query-frontend-headless
  namespace: logs
  labels:
    app.kubernetes.io/name: loki
    app.kubernetes.io/instance: obs
    app.kubernetes.io/component: query-frontend
spec:
  clusterIP: None
  type: ClusterIP
  ports:
    - name: http-metrics
      port: 3100
      targetPort: http-metrics
      protocol: TCP
    - name: grpc
      port: 9095
      targetPort: grpc
      protocol: TCP
  selector:
    app.kubernetes.io/name: loki
    app.kubernetes.io/instance: obs
    app.kubernetes.io/component: query-frontend
---
# Source: loki/templates/query-frontend/deployment-query-frontend.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: obs-loki-query-frontend
  namespace: logs
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: loki
      app.kubernetes.io/instance: obs
      app.kubernetes.io/component: query-frontend
  template:
    metadata:
      labels:
        app.kubernetes.io/name: loki
        app.kubernetes.io/instance: obs
        app.kubernetes.io/component: query-frontend
    spec:
      serviceAccountName: obs-loki
      containers:
        - name: query-frontend
          image: docker.io/grafana/loki:3.5.3
          ports:
            - name: http-metrics
              containerPort: 3100
            - name: grpc
              containerPort: 9095
---
# Source: mimir-distributed/templates/query-frontend/query-frontend-dep.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: obs-mimir-query-frontend
  namespace: metrics
  labels:
    app.kubernetes.io/name: mimir
    app.kubernetes.io/instance: obs
    app.kubernetes.io/component: query-frontend
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: mimir
      app.kubernetes.io/instance: obs
      app.kubernetes.io/component: query-frontend
  template:
    metadata:
      labels:
        app.kubernetes.io/name: mimir
        app.kubernetes.io/instance: obs
        app.kubernetes.io/component: query-frontend
    spec:
      serviceAccountName: obs-mimir
      containers:
        - name: query-frontend
          image: "grafana/mimir:2.17.0"
          ports:
            - name: http-metrics
              containerPort: 8080
              protocol: TCP
            - name: grpc
              containerPort: 9095
              protocol: TCP
---
# Source: mimir-distributed/templates/query-frontend/query-frontend-svc.yaml
apiVersion: v1
kind: Service
metadata:
  name: obs-mimir-query-frontend
  namespace: metrics
spec:
  type: ClusterIP
  ports:
    - port: 8080
      protocol: TCP
      name: http-metrics
      targetPort: http-metrics
    - port: 9095
      protocol: TCP
      name: grpc
      targetPort: grpc
  selector:
    app.kubernetes.io/name: mimir
    app.kubernetes.io/instance: obs
    app.kubernetes.io/component: query-frontend
---
# Source: mimir-distributed/templates/query-scheduler/query-scheduler-dep.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: obs-mimir-query-scheduler
  namespace: metrics
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: mimir
      app.kubernetes.io/instance: obs
      app.kubernetes.io/component: query-scheduler
  template:
    metadata:
      labels:
        app.kubernetes.io/name: mimir
        app.kubernetes.io/instance: obs
        app.kubernetes.io/component: query-scheduler
    spec:
      serviceAccountName: obs-mimir
      containers:
        - name: query-scheduler
          image: "grafana/mimir:2.17.0"
          ports:
            - name: grpc
              containerPort: 9095
              protocol: TCP
"#;

#[test]
fn query_frontends_are_reachable_pod_by_pod_under_istio() {
    let inputs = [Input::new("frontends.yaml", FRONTENDS)];
    let out = run(&inputs, &config("  type: istio\n"), MeshType::Istio);
    let text = out.output.text();
    let docs = documents(&text);
    let loki = find(&docs, "Service", "obs-loki-query-frontend-headless").unwrap();
    assert_eq!(loki["spec"]["publishNotReadyAddresses"], true, "{loki}");
    let mimir = find(&docs, "Service", "obs-mimir-query-frontend-headless")
        .unwrap_or_else(|| panic!("no headless Service for Mimir's query-frontend:\n{text}"));
    assert_eq!(mimir["spec"]["clusterIP"], "None");
    assert_eq!(
        mimir["spec"]["selector"],
        json!({"app.kubernetes.io/component": "query-frontend", "app.kubernetes.io/instance": "obs", "app.kubernetes.io/name": "mimir"})
    );
    assert_eq!(
        mimir["spec"]["ports"],
        json!([{"name": "grpc", "port": 9095, "targetPort": 9095, "protocol": "TCP", "appProtocol": "tcp"}])
    );
    validates(&text, "frontends");
    // Linkerd reaches pod addresses without a Service.
    let linkerd = run(&inputs, &config("  type: linkerd\n"), MeshType::Linkerd);
    let docs = documents(&linkerd.output.text());
    assert!(find(&docs, "Service", "obs-mimir-query-frontend-headless").is_none());
    assert_eq!(
        find(&docs, "Service", "obs-loki-query-frontend-headless").unwrap()["spec"]["publishNotReadyAddresses"],
        Value::Null
    );
}

/// kube-prometheus's Alertmanager and Prometheus resources (the latter with a Thanos
/// sidecar), and the Grafana chart with unified alerting's HA gossip on 9094 TCP and UDP.
const GOSSIP: &str = r#"apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata:
  name: main
  namespace: monitoring
spec:
  replicas: 3
  serviceAccountName: alertmanager-main
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: k8s
  namespace: monitoring
spec:
  replicas: 2
  serviceAccountName: prometheus-k8s
  thanos:
    version: v0.39.2
---
# Source: grafana/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: obs-grafana
  namespace: monitoring
  labels:
    app.kubernetes.io/name: grafana
    app.kubernetes.io/instance: obs
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: grafana
      app.kubernetes.io/instance: obs
  template:
    metadata:
      labels:
        app.kubernetes.io/name: grafana
        app.kubernetes.io/instance: obs
    spec:
      serviceAccountName: obs-grafana
      containers:
        - name: grafana
          image: "docker.io/grafana/grafana:12.1.0"
          ports:
            - name: grafana
              containerPort: 3000
              protocol: TCP
            - name: gossip-tcp
              containerPort: 9094
              protocol: TCP
            - name: gossip-udp
              containerPort: 9094
              protocol: UDP
"#;

/// The (port, protocol) pairs a generated NetworkPolicy admits.
fn admitted(policy: &Value) -> Vec<(u64, String)> {
    let mut ports: Vec<(u64, String)> = policy["spec"]["ingress"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["ports"].as_array().cloned().unwrap_or_default())
        .map(|p| {
            (
                p["port"].as_u64().unwrap(),
                p["protocol"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    ports.sort();
    ports.dedup();
    ports
}

#[test]
fn network_policies_keep_udp_gossip_and_the_operator_pods_sidecar_ports() {
    let inputs = [Input::new("gossip.yaml", GOSSIP)];
    let spec = "  mtls:\n    mode: STRICT\n  authorization:\n    defaultDeny: true\n    networkPolicies: true\n";
    for mesh in [MeshType::Istio, MeshType::Linkerd] {
        let out = run(&inputs, &config(spec), mesh);
        let text = out.output.text();
        let docs = documents(&text);
        let udp = (9094, "UDP".to_string());
        for name in ["main-ingress", "obs-grafana-ingress"] {
            let policy = find(&docs, "NetworkPolicy", name)
                .unwrap_or_else(|| panic!("{mesh:?}: no NetworkPolicy {name}:\n{text}"));
            assert!(
                admitted(policy).contains(&udp),
                "{mesh:?}: {name}: {:?}",
                admitted(policy)
            );
        }
        let prometheus = admitted(find(&docs, "NetworkPolicy", "k8s-ingress").unwrap());
        for port in [8080, 10901, 10902] {
            assert!(
                prometheus.contains(&(port, "TCP".into())),
                "{mesh:?}: Prometheus's port {port}: {prometheus:?}"
            );
        }
        assert_eq!(
            denied(&out.flows().unwrap()),
            Vec::<String>::new(),
            "{mesh:?}"
        );
        validates(&text, &format!("{mesh:?}"));
    }
}
