//! Documents that several test modules feed the filter.
//!
//! The Grafana Deployment is written once, in pieces, and each variant is put together
//! from them with `concat!` (which takes only literals, hence the macros): the tests get the
//! same bytes as when each module had its own copy. Not variants of it: `krm::GRAFANA` (an
//! item of a kpt ResourceList, with kpt's annotations) and `corpus::GRAFANA_DEPLOYMENT`
//! (the full render of the grafana chart).

/// `# Source:`, the comment Helm 3 writes before each document.
macro_rules! source {
    () => {
        "# Source: grafana/templates/deployment.yaml\n"
    };
}

macro_rules! head {
    () => {
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: grafana
  namespace: monitoring
spec:
"
    };
}

macro_rules! selector {
    () => {
        "  selector:
    matchLabels:
      app.kubernetes.io/name: grafana
"
    };
}

/// The pod template: recognised as Grafana by its `app.kubernetes.io/name` label.
macro_rules! template {
    () => {
        "  template:
    metadata:
      labels:
        app.kubernetes.io/name: grafana
    spec:
      containers:
      - name: grafana
        image: grafana/grafana:11.0.0
"
    };
}

macro_rules! port {
    () => {
        "        ports:
        - containerPort: 3000
"
    };
}

/// A Grafana Deployment in `monitoring`, without selector or ports.
pub const GRAFANA: &str = concat!(head!(), template!());

/// [`GRAFANA`] after a `# Source:` line, as Helm 3 renders it (its pod label is on line 11).
pub const GRAFANA_HELM: &str = concat!(source!(), head!(), template!());

/// [`GRAFANA_HELM`] with a selector and a container port, so that a Service can select it.
pub const GRAFANA_HELM_WITH_SELECTOR_AND_PORT: &str =
    concat!(source!(), head!(), selector!(), template!(), port!());

/// The OpenTelemetry operator in `monitoring` and the validating webhook the kube-apiserver
/// calls on its port 9443 (`webhook-server`) through a Service: the traffic graph reads
/// that flow from the stream.
pub const OPERATOR_WEBHOOK: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: otel-operator
  namespace: monitoring
spec:
  selector:
    matchLabels: {app.kubernetes.io/name: opentelemetry-operator}
  template:
    metadata:
      labels: {app.kubernetes.io/name: opentelemetry-operator}
    spec:
      containers:
        - name: manager
          image: ghcr.io/open-telemetry/opentelemetry-operator/opentelemetry-operator:0.100.0
          ports:
            - {name: webhook-server, containerPort: 9443}
---
apiVersion: v1
kind: Service
metadata:
  name: otel-operator-webhook
  namespace: monitoring
spec:
  selector: {app.kubernetes.io/name: opentelemetry-operator}
  ports:
    - {port: 443, targetPort: webhook-server}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: otel-operator
webhooks:
  - name: vopentelemetrycollector.kb.io
    clientConfig:
      service: {name: otel-operator-webhook, namespace: monitoring, path: /validate}
    admissionReviewVersions: [v1]
    sideEffects: None
";
