//! Traffic and telemetry: outlier detection that never empties a Service, multi-cluster
//! export of serving Services only with the gateway authorised, Linkerd tracing over
//! OpenTelemetry, PodMonitors and dashboards the stack's Prometheus and Grafana fill, test
//! pods authorised, and gRPC retries.

use super::{config, denied, documents, find, run, validates};
use gunj_mesh::{Input, MeshType};

/// The grafana chart at its default of one replica, and the loki-distributed chart's
/// querier at three.
const GRAFANA_AND_QUERIER: &str = r#"---
# Source: grafana/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: obs-grafana
  namespace: monitoring
  labels:
    app.kubernetes.io/name: grafana
    app.kubernetes.io/instance: obs
spec:
  type: ClusterIP
  ports:
    - name: service
      port: 80
      protocol: TCP
      targetPort: 3000
  selector:
    app.kubernetes.io/name: grafana
    app.kubernetes.io/instance: obs
---
# Source: grafana/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: obs-grafana
  namespace: monitoring
spec:
  replicas: 1
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
          image: "docker.io/grafana/grafana:12.0.2"
          ports:
            - name: grafana
              containerPort: 3000
              protocol: TCP
---
# Source: loki-distributed/templates/querier/service-querier.yaml
apiVersion: v1
kind: Service
metadata:
  name: obs-loki-querier
  namespace: monitoring
spec:
  type: ClusterIP
  ports:
    - name: http
      port: 3100
      targetPort: http
      protocol: TCP
  selector:
    app.kubernetes.io/name: loki-distributed
    app.kubernetes.io/instance: obs
    app.kubernetes.io/component: querier
---
# Source: loki-distributed/templates/querier/statefulset-querier.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: obs-loki-querier
  namespace: monitoring
spec:
  replicas: 3
  serviceName: obs-loki-querier-headless
  selector:
    matchLabels:
      app.kubernetes.io/name: loki-distributed
      app.kubernetes.io/instance: obs
      app.kubernetes.io/component: querier
  template:
    metadata:
      labels:
        app.kubernetes.io/name: loki-distributed
        app.kubernetes.io/instance: obs
        app.kubernetes.io/component: querier
    spec:
      serviceAccountName: obs-loki-distributed
      containers:
        - name: querier
          image: docker.io/grafana/loki:2.9.10
          args:
            - -config.file=/etc/loki/config/config.yaml
            - -target=querier
          ports:
            - name: http
              containerPort: 3100
              protocol: TCP
            - name: grpc
              containerPort: 9095
              protocol: TCP
"#;

const CIRCUIT_BREAKER: &str = "  trafficManagement:\n    circuitBreaker:\n      consecutiveErrors: 5\n      baseEjectionTime: 30s\n";

#[test]
fn outlier_detection_never_ejects_the_last_healthy_endpoint() {
    let inputs = [Input::new("obs.yaml", GRAFANA_AND_QUERIER)];
    let istio = run(
        &inputs,
        &config(&format!("  type: istio\n{CIRCUIT_BREAKER}")),
        MeshType::Istio,
    );
    let text = istio.output.text();
    let docs = documents(&text);
    for service in ["obs-grafana", "obs-loki-querier"] {
        let rule = find(&docs, "DestinationRule", service).expect(service);
        let outlier = &rule["spec"]["trafficPolicy"]["outlierDetection"];
        assert_eq!(outlier["consecutive5xxErrors"], 5, "{service}: {outlier}");
        assert_eq!(outlier["minHealthPercent"], 50, "{service}: {outlier}");
    }
    validates(&text, "istio outlier detection");

    let linkerd = run(
        &inputs,
        &config(&format!("  type: linkerd\n{CIRCUIT_BREAKER}")),
        MeshType::Linkerd,
    );
    let docs = documents(&linkerd.output.text());
    let accrual = "balancer.linkerd.io/failure-accrual";
    let annotations =
        |name: &str| find(&docs, "Service", name).unwrap()["metadata"]["annotations"].clone();
    assert!(
        annotations("obs-grafana").get(accrual).is_none(),
        "{}",
        annotations("obs-grafana")
    );
    assert_eq!(annotations("obs-loki-querier")[accrual], "consecutive");
    assert!(
        linkerd
            .report
            .notes
            .iter()
            .any(|n| n.contains("monitoring/obs-grafana fronts a single pod")),
        "{:?}",
        linkerd.report.notes
    );
}

#[test]
fn min_health_percent_zero_is_refused_naming_the_field() {
    let inputs = [Input::new("obs.yaml", GRAFANA_AND_QUERIER)];
    let options = gunj_mesh::Options {
        config: Some(Input::new(
            "config.yaml",
            config(&format!(
                "  type: istio\n{CIRCUIT_BREAKER}      minHealthPercent: 0\n"
            )),
        )),
        ..gunj_mesh::Options::default()
    };
    let Err(failure) = gunj_mesh::run(&inputs, &options) else {
        panic!("minHealthPercent 0 was accepted");
    };
    let message = failure.to_string();
    assert!(
        message.contains("trafficManagement.circuitBreaker.minHealthPercent"),
        "{message}"
    );
}
