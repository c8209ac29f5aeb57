//! Recognition: the main container decides, the operators and their resources of
//! grafana/k8s-monitoring and the Jaeger operator are known, collectors that run in other
//! pods are not members, Services in front of operator pods are matched, and ambient mode
//! turns off a pod's request for a sidecar.

use super::{config, denied, edges, recognised, run};
use gunj_mesh::{EntryAction, Input, MeshType};

const MESHES: [MeshType; 2] = [MeshType::Istio, MeshType::Linkerd];

/// An application with a Fluent Bit log-shipping sidecar (the pattern of Fluent Bit's
/// Kubernetes docs), and a Prometheus server behind a config reloader with no name labels
/// (the prometheus-community chart's container order).
const SIDECARS: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
  namespace: shop
spec:
  selector:
    matchLabels:
      app: checkout
  template:
    metadata:
      labels:
        app: checkout
    spec:
      containers:
      - name: checkout
        image: ghcr.io/acme/checkout:1.4.2
        ports:
        - containerPort: 8080
          name: http
        volumeMounts:
        - name: varlog
          mountPath: /var/log/app
      - name: fluent-bit
        image: cr.fluentbit.io/fluent/fluent-bit:4.0.3
        volumeMounts:
        - name: varlog
          mountPath: /var/log/app
      volumes:
      - name: varlog
        emptyDir: {}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: obs-prometheus-server
  namespace: monitoring
spec:
  selector:
    matchLabels:
      component: server
  template:
    metadata:
      labels:
        component: server
    spec:
      containers:
        - name: prometheus-server-configmap-reload
          image: "quay.io/prometheus-operator/prometheus-config-reloader:v0.83.0"
        - name: prometheus-server
          image: "quay.io/prometheus/prometheus:v3.5.0"
          ports:
            - containerPort: 9090
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shipper
  namespace: shop
spec:
  selector:
    matchLabels:
      run: shipper
  template:
    metadata:
      labels:
        run: shipper
      annotations:
        kubectl.kubernetes.io/default-container: fluent-bit
    spec:
      containers:
      - name: config-watcher
        image: ghcr.io/acme/watcher:0.3
      - name: fluent-bit
        image: cr.fluentbit.io/fluent/fluent-bit:4.0.3
"#;

#[test]
fn a_logging_sidecar_is_evidence_not_identity() {
    let inputs = [Input::new("sidecars.yaml", SIDECARS)];
    for mesh in MESHES {
        let out = run(&inputs, &config("  enabled: true\n"), mesh);
        assert_eq!(
            recognised(&out, "Deployment", "checkout"),
            None,
            "{mesh:?}: an application with a Fluent Bit sidecar is not Fluent Bit"
        );
        assert_eq!(
            recognised(&out, "Deployment", "obs-prometheus-server"),
            Some(("prometheus".into(), EntryAction::Inject)),
            "{mesh:?}: the container named after the workload is its main one"
        );
        assert_eq!(
            recognised(&out, "Deployment", "shipper"),
            Some(("fluent-bit".into(), EntryAction::Inject)),
            "{mesh:?}: kubectl.kubernetes.io/default-container names the main container"
        );
        let checkout = SIDECARS.split("---\n").next().unwrap();
        assert!(
            out.output.text().starts_with(checkout),
            "{mesh:?}: the application is left byte for byte"
        );
    }
}

/// grafana/k8s-monitoring's output: the alloy-operator, an `Alloy` resource (the metrics
/// collector, clustered) and kube-state-metrics, which only Alloy scrapes.
const K8S_MONITORING: &str = r#"---
# Source: k8s-monitoring/charts/alloy-operator/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: k8smon-alloy-operator
  namespace: default
  labels:
    helm.sh/chart: alloy-operator-0.6.3
    app.kubernetes.io/name: alloy-operator
    app.kubernetes.io/instance: k8smon
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: alloy-operator
      app.kubernetes.io/instance: k8smon
  template:
    metadata:
      labels:
        app.kubernetes.io/name: alloy-operator
        app.kubernetes.io/instance: k8smon
    spec:
      serviceAccountName: k8smon-alloy-operator
      containers:
        - name: alloy-operator
          image: "ghcr.io/grafana/alloy-operator:1.11.1"
          ports:
            - name: http
              containerPort: 8081
            - name: metrics
              containerPort: 8082
---
# Source: k8s-monitoring/charts/telemetryServices/charts/kube-state-metrics/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: k8smon-kube-state-metrics
  namespace: default
spec:
  type: "ClusterIP"
  ports:
  - name: http
    protocol: TCP
    port: 8080
    targetPort: 8080
  selector:
    app.kubernetes.io/name: kube-state-metrics
    app.kubernetes.io/instance: k8smon
---
# Source: k8s-monitoring/charts/telemetryServices/charts/kube-state-metrics/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: k8smon-kube-state-metrics
  namespace: default
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: kube-state-metrics
      app.kubernetes.io/instance: k8smon
  template:
    metadata:
      labels:
        app.kubernetes.io/name: kube-state-metrics
        app.kubernetes.io/instance: k8smon
    spec:
      serviceAccountName: k8smon-kube-state-metrics
      containers:
      - name: kube-state-metrics
        image: registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.19.1
        ports:
        - containerPort: 8080
          name: "http"
---
# Source: k8s-monitoring/templates/alloy.yaml
apiVersion: collectors.grafana.com/v1alpha1
kind: Alloy
metadata:
  name: k8smon-alloy-metrics
  namespace: default
spec:
  alloy:
    clustering:
      enabled: true
  controller:
    type: statefulset
    podAnnotations:
      k8s.grafana.com/logs.job: integrations/alloy
  nameOverride: alloy-metrics
---
# Source: k8s-monitoring/templates/alloy.yaml
apiVersion: collectors.grafana.com/v1alpha1
kind: Alloy
metadata:
  name: k8smon-alloy-receiver
  namespace: default
spec:
  alloy:
    extraPorts:
    - appProtocol: grpc
      name: otlp-grpc
      port: 4317
      protocol: TCP
      targetPort: 4317
  controller:
    type: daemonset
  nameOverride: alloy-receiver
"#;

const DENY: &str = "  mtls:\n    mode: STRICT\n  authorization:\n    defaultDeny: true\n    networkPolicies: true\n";

#[test]
fn alloy_resources_and_the_alloy_operator_are_recognised_and_alloy_reaches_its_targets() {
    let inputs = [Input::new("k8s-monitoring.yaml", K8S_MONITORING)];
    for mesh in MESHES {
        let out = run(&inputs, &config(DENY), mesh);
        assert_eq!(
            recognised(&out, "Alloy", "k8smon-alloy-metrics"),
            Some(("alloy".into(), EntryAction::Inject)),
            "{mesh:?}"
        );
        assert_eq!(
            recognised(&out, "Deployment", "k8smon-alloy-operator"),
            Some(("alloy-operator".into(), EntryAction::Inject)),
            "{mesh:?}"
        );
        let text = out.output.text();
        let podmeta = match mesh {
            MeshType::Istio => {
                "  controller:\n    type: statefulset\n    podAnnotations:\n      k8s.grafana.com/logs.job: integrations/alloy\n    podLabels:\n      sidecar.istio.io/inject: \"true\"\n"
            }
            _ => {
                "    podAnnotations:\n      k8s.grafana.com/logs.job: integrations/alloy\n      linkerd.io/inject: \"enabled\"\n"
            }
        };
        assert!(text.contains(podmeta), "{mesh:?}: {text}");
        let flows = out.flows().unwrap();
        assert_eq!(denied(&flows), Vec::<String>::new(), "{mesh:?}");
        for edge in [
            "alloy default/k8smon-alloy-metrics → deployment default/k8smon-kube-state-metrics port 8080",
            "any workload → alloy default/k8smon-alloy-receiver port 4317",
        ] {
            assert!(
                edges(&flows).iter().any(|e| e == edge),
                "{mesh:?}: no {edge}: {:#?}",
                edges(&flows)
            );
        }
    }
}

/// The Jaeger operator's simplest example (`kind: Jaeger` with no spec) beside the
/// operator's own Deployment, and Tempo's jsonnet vulture.
const JAEGER_AND_VULTURE: &str = r#"apiVersion: jaegertracing.io/v1
kind: Jaeger
metadata:
  name: simplest
  namespace: observability
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: jaeger-operator
  namespace: observability
spec:
  replicas: 1
  selector:
    matchLabels:
      name: jaeger-operator
  template:
    metadata:
      labels:
        name: jaeger-operator
    spec:
      serviceAccountName: jaeger-operator
      containers:
        - name: jaeger-operator
          image: jaegertracing/jaeger-operator:1.65.0
          ports:
            - containerPort: 8383
              name: http-metrics
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: vulture
  namespace: tracing
spec:
  minReadySeconds: 10
  replicas: 1
  revisionHistoryLimit: 10
  selector:
    matchLabels:
      name: vulture
  template:
    metadata:
      labels:
        name: vulture
    spec:
      containers:
      - args:
        - -prometheus-listen-address=:8080
        - -tempo-query-url=http://query-frontend.tracing:3200
        image: grafana/tempo-vulture:2.8.1
        name: vulture
        ports:
        - containerPort: 8080
          name: prom-metrics
"#;

#[test]
fn jaeger_resources_the_jaeger_operator_and_tempo_vulture_are_recognised() {
    let inputs = [Input::new("jaeger.yaml", JAEGER_AND_VULTURE)];
    for mesh in MESHES {
        let out = run(&inputs, &config(DENY), mesh);
        assert_eq!(
            recognised(&out, "Jaeger", "simplest"),
            Some(("jaeger".into(), EntryAction::Inject)),
            "{mesh:?}"
        );
        assert_eq!(
            recognised(&out, "Deployment", "jaeger-operator"),
            Some(("jaeger-operator".into(), EntryAction::Inject)),
            "{mesh:?}"
        );
        assert_eq!(
            recognised(&out, "Deployment", "vulture"),
            Some(("tempo".into(), EntryAction::Inject)),
            "{mesh:?}"
        );
        // The operator's own default turns injection off unless the resource says
        // otherwise: the label (Istio reads it before any annotation) or the annotation.
        let want = match mesh {
            MeshType::Istio => "spec:\n  labels:\n    sidecar.istio.io/inject: \"true\"\n",
            _ => "spec:\n  annotations:\n    linkerd.io/inject: \"enabled\"\n",
        };
        assert!(
            out.output.text().contains(want),
            "{mesh:?}: {}",
            out.output.text()
        );
        // The evaluator reads the operator's pods independently: injected, and reachable.
        assert_eq!(
            denied(&out.flows().unwrap()),
            Vec::<String>::new(),
            "{mesh:?}"
        );
    }
}

/// kube-prometheus style Services in front of operator pods, an OpenTelemetry collector
/// behind a Service of the operator's `<name>-collector` label, and a sidecar collector.
const OPERATOR_SERVICES: &str = r#"apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: k8s
  namespace: monitoring
spec:
  replicas: 2
  serviceAccountName: prometheus-k8s
---
apiVersion: v1
kind: Service
metadata:
  name: prometheus-k8s
  namespace: monitoring
spec:
  ports:
  - name: web
    port: 9090
    targetPort: web
  selector:
    operator.prometheus.io/name: k8s
---
apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata:
  name: main
  namespace: monitoring
spec:
  replicas: 3
---
apiVersion: v1
kind: Service
metadata:
  name: alertmanager-main
  namespace: monitoring
spec:
  ports:
  - name: web
    port: 9093
    targetPort: web
  selector:
    app.kubernetes.io/name: alertmanager
---
apiVersion: v1
kind: Service
metadata:
  name: alertmanager-main-cluster
  namespace: monitoring
spec:
  clusterIP: None
  ports:
  - name: tcp-mesh
    port: 9094
    targetPort: 9094
  - name: udp-mesh
    port: 9094
    protocol: UDP
    targetPort: 9094
  selector:
    alertmanager: main
---
apiVersion: opentelemetry.io/v1beta1
kind: OpenTelemetryCollector
metadata:
  name: otel
  namespace: monitoring
spec:
  mode: deployment
---
apiVersion: v1
kind: Service
metadata:
  name: otel-gateway
  namespace: monitoring
spec:
  ports:
  - name: otlp
    port: 4317
  selector:
    app.kubernetes.io/name: otel-collector
---
apiVersion: opentelemetry.io/v1beta1
kind: OpenTelemetryCollector
metadata:
  name: sidecar-for-my-app
  namespace: monitoring
spec:
  mode: sidecar
"#;

#[test]
fn services_in_front_of_operator_pods_are_matched_and_sidecar_collectors_are_no_members() {
    let inputs = [Input::new("operators.yaml", OPERATOR_SERVICES)];
    for mesh in MESHES {
        let out = run(&inputs, &config("  enabled: true\n"), mesh);
        assert_eq!(
            recognised(&out, "OpenTelemetryCollector", "sidecar-for-my-app"),
            None,
            "{mesh:?}: a sidecar collector's pods are other workloads'"
        );
        for (service, component) in [
            ("prometheus-k8s", "prometheus"),
            ("alertmanager-main", "alertmanager"),
            ("otel-gateway", "opentelemetry-collector"),
        ] {
            if mesh == MeshType::Istio {
                assert_eq!(
                    recognised(&out, "Service", service),
                    Some((component.into(), EntryAction::Edit)),
                    "{mesh:?}: {service}"
                );
            }
        }
        // The gossip Service, by the operator's `alertmanager: <name>` label: a protocol
        // hint under Istio, opaque ports under Linkerd.
        let gossip = super::entry(&out, "Service", "alertmanager-main-cluster")
            .unwrap_or_else(|| panic!("{mesh:?}: the gossip Service is not matched"));
        assert_eq!(gossip.component.as_deref(), Some("alertmanager"));
        let want = match mesh {
            MeshType::Istio => "appProtocol 9094 → tcp",
            _ => "opaque ports 9094",
        };
        assert!(gossip.detail.contains(want), "{mesh:?}: {}", gossip.detail);
        assert!(
            !out.report
                .generated
                .iter()
                .any(|g| g.name.contains("sidecar-for-my-app")),
            "{mesh:?}: no policy for a sidecar collector"
        );
    }
}

/// A chart that asks for a sidecar (Loki's `podLabels`), switched to ambient.
const ASKS_FOR_SIDECAR: &str = r#"apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: loki
  namespace: loki
  labels:
    app.kubernetes.io/name: loki
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: loki
  template:
    metadata:
      labels:
        app.kubernetes.io/name: loki
        sidecar.istio.io/inject: "true"
      annotations:
        sidecar.istio.io/inject: "true"
    spec:
      containers:
        - name: loki
          image: docker.io/grafana/loki:3.5.0
"#;

#[test]
fn ambient_turns_off_a_pods_request_for_a_sidecar() {
    let inputs = [Input::new("loki.yaml", ASKS_FOR_SIDECAR)];
    let out = run(
        &inputs,
        &config("  istio:\n    mode: ambient\n"),
        MeshType::Istio,
    );
    let text = out.output.text();
    assert!(
        text.contains("        app.kubernetes.io/name: loki\n        sidecar.istio.io/inject: \"false\"\n        istio.io/dataplane-mode: \"ambient\"\n      annotations:\n        sidecar.istio.io/inject: \"false\"\n"),
        "{text}"
    );
    let e = super::entry(&out, "StatefulSet", "loki").unwrap();
    assert_eq!(
        e.detail,
        "istio ambient, sidecar.istio.io/inject turned off"
    );
}
