//! Traffic and telemetry: outlier detection that never empties a Service, multi-cluster
//! export of serving Services only with the gateway authorised, Linkerd tracing over
//! OpenTelemetry, PodMonitors and dashboards the stack's Prometheus and Grafana fill, test
//! pods authorised, and gRPC retries.

use super::{config, denied, documents, find, find_scoped, run, validates};
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

/// The loki-distributed chart's querier with `autoscaling.enabled`: no `replicas`, and an
/// HPA that keeps two.
const QUERIER_HPA: &str = r#"---
# Source: loki-distributed/templates/querier/hpa.yaml
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: obs-loki-querier
  namespace: monitoring
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: StatefulSet
    name: obs-loki-querier
  minReplicas: 2
  maxReplicas: 3
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: 60
"#;

#[test]
fn a_workload_an_autoscaler_keeps_at_two_pods_gets_failure_accrual() {
    let unscaled = GRAFANA_AND_QUERIER.replace("  replicas: 3\n", "");
    let accrual = |inputs: &[Input]| {
        let out = run(
            inputs,
            &config(&format!("  type: linkerd\n{CIRCUIT_BREAKER}")),
            MeshType::Linkerd,
        );
        let docs = documents(&out.output.text());
        find(&docs, "Service", "obs-loki-querier").unwrap()["metadata"]["annotations"]
            ["balancer.linkerd.io/failure-accrual"]
            .clone()
    };
    let alone = [Input::new("obs.yaml", unscaled.clone())];
    assert_eq!(accrual(&alone), serde_json::Value::Null);
    let scaled = [
        Input::new("obs.yaml", unscaled),
        Input::new("hpa.yaml", QUERIER_HPA),
    ];
    assert_eq!(accrual(&scaled), "consecutive");
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

/// The tempo-distributed chart's querier: HTTP on 3100 and gRPC on 9095.
const TEMPO_QUERIER: &str = r#"---
# Source: tempo-distributed/templates/querier/service-querier.yaml
apiVersion: v1
kind: Service
metadata:
  name: obs-tempo-querier
  namespace: tracing
  labels:
    app.kubernetes.io/name: tempo
    app.kubernetes.io/instance: obs
    app.kubernetes.io/component: querier
spec:
  ports:
    - name: http-metrics
      port: 3100
      targetPort: 3100
      protocol: TCP
    - name: grpc
      port: 9095
      protocol: TCP
      targetPort: 9095
  selector:
    app.kubernetes.io/name: tempo
    app.kubernetes.io/instance: obs
    app.kubernetes.io/component: querier
---
# Source: tempo-distributed/templates/querier/deployment-querier.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: obs-tempo-querier
  namespace: tracing
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: tempo
      app.kubernetes.io/instance: obs
      app.kubernetes.io/component: querier
  template:
    metadata:
      labels:
        app.kubernetes.io/name: tempo
        app.kubernetes.io/instance: obs
        app.kubernetes.io/component: querier
    spec:
      serviceAccountName: obs-tempo
      containers:
        - name: querier
          image: docker.io/grafana/tempo:2.8.1
          args:
            - -target=querier
            - -config.file=/conf/tempo.yaml
          ports:
            - name: http-metrics
              containerPort: 3100
              protocol: TCP
            - name: grpc
              containerPort: 9095
              protocol: TCP
"#;

#[test]
fn grpc_ports_get_grpc_retries() {
    let inputs = [Input::new("tempo.yaml", TEMPO_QUERIER)];
    let retries = "  trafficManagement:\n    retries:\n      attempts: 3\n      retryOn: 5xx,unavailable,resource-exhausted,reset\n";
    let out = run(
        &inputs,
        &config(&format!("  type: linkerd\n{retries}")),
        MeshType::Linkerd,
    );
    let docs = documents(&out.output.text());
    let annotations =
        &find(&docs, "Service", "obs-tempo-querier").unwrap()["metadata"]["annotations"];
    assert_eq!(annotations["retry.linkerd.io/http"], "5xx", "{annotations}");
    assert_eq!(
        annotations["retry.linkerd.io/grpc"], "unavailable,resource-exhausted",
        "{annotations}"
    );
    assert_eq!(annotations["retry.linkerd.io/limit"], "3", "{annotations}");
}

#[test]
fn service_profiles_bound_the_tries_and_say_what_they_cannot_express() {
    let inputs = [Input::new("tempo.yaml", TEMPO_QUERIER)];
    let retries = "  linkerd:\n    version: \"2.15\"\n  trafficManagement:\n    retries:\n      attempts: 2\n      perTryTimeout: 1500ms\n";
    let out = run(
        &inputs,
        &config(&format!("  type: linkerd\n{retries}")),
        MeshType::Linkerd,
    );
    let text = out.output.text();
    let docs = documents(&text);
    let profile = find(
        &docs,
        "ServiceProfile",
        "obs-tempo-querier.tracing.svc.cluster.local",
    )
    .expect("a ServiceProfile");
    let route = &profile["spec"]["routes"][0];
    assert_eq!(route["isRetryable"], true, "{route}");
    assert_eq!(route["timeout"], "4500ms", "{route}");
    let note = out
        .report
        .notes
        .iter()
        .find(|n| n.contains("not retries.attempts (2)"))
        .unwrap_or_else(|| panic!("{:?}", out.report.notes));
    assert!(
        note.contains("perTryTimeout 1500ms bounds all tries together"),
        "{note}"
    );
    validates(&text, "ServiceProfile fallback");
}

/// The opentelemetry-collector chart in deployment mode, with its own ServiceAccount.
const OTEL_COLLECTOR: &str = r#"---
# Source: opentelemetry-collector/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: obs-opentelemetry-collector
  namespace: monitoring
  labels:
    app.kubernetes.io/name: opentelemetry-collector
    app.kubernetes.io/instance: obs
    component: standalone-collector
spec:
  type: ClusterIP
  ports:
    - name: otlp
      port: 4317
      targetPort: 4317
      protocol: TCP
      appProtocol: grpc
    - name: otlp-http
      port: 4318
      targetPort: 4318
      protocol: TCP
  selector:
    app.kubernetes.io/name: opentelemetry-collector
    app.kubernetes.io/instance: obs
    component: standalone-collector
  internalTrafficPolicy: Cluster
---
# Source: opentelemetry-collector/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: obs-opentelemetry-collector
  namespace: monitoring
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: opentelemetry-collector
      app.kubernetes.io/instance: obs
      component: standalone-collector
  template:
    metadata:
      labels:
        app.kubernetes.io/name: opentelemetry-collector
        app.kubernetes.io/instance: obs
        component: standalone-collector
    spec:
      serviceAccountName: obs-opentelemetry-collector
      containers:
        - name: opentelemetry-collector
          command:
            - /otelcol-k8s
            - --config=/conf/relay.yaml
          image: "otel/opentelemetry-collector-k8s:0.129.1"
          ports:
            - name: otlp
              containerPort: 4317
              protocol: TCP
            - name: otlp-http
              containerPort: 4318
              protocol: TCP
"#;

#[test]
fn linkerd_proxies_send_opentelemetry_to_the_collector_they_can_verify() {
    let inputs = [
        Input::new("grafana.yaml", GRAFANA_AND_QUERIER),
        Input::new("collector.yaml", OTEL_COLLECTOR),
    ];
    let strict = "  type: linkerd\n  authorization:\n    defaultDeny: true\n  observability:\n    tracing:\n      samplingRate: 10\n";
    let out = run(&inputs, &config(strict), MeshType::Linkerd);
    let docs = documents(&out.output.text());
    let pod = &find(&docs, "Deployment", "obs-grafana").unwrap()["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(
        pod["config.linkerd.io/trace-collector"],
        "obs-opentelemetry-collector.monitoring.svc.cluster.local:4317",
        "{pod}"
    );
    assert_eq!(
        pod["config.linkerd.io/trace-collector-protocol"], "opentelemetry",
        "{pod}"
    );
    assert_eq!(
        pod["config.alpha.linkerd.io/trace-collector-service-account"],
        "obs-opentelemetry-collector",
        "{pod}"
    );
    assert_eq!(denied(&out.flows().unwrap()), Vec::<String>::new());
}

/// The loki chart in simple scalable mode, cut to the read path: the read Service, its
/// headless twin, the memberlist Service and the chunks cache (memcached and its exporter).
const LOKI_READ: &str = r#"---
# Source: loki/templates/read/service-read.yaml
apiVersion: v1
kind: Service
metadata:
  name: loki-read
  namespace: loki
  labels:
    app.kubernetes.io/name: loki
    app.kubernetes.io/instance: loki
    app.kubernetes.io/component: read
spec:
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
    app.kubernetes.io/instance: loki
    app.kubernetes.io/component: read
---
# Source: loki/templates/read/service-read-headless.yaml
apiVersion: v1
kind: Service
metadata:
  name: loki-read-headless
  namespace: loki
spec:
  type: ClusterIP
  clusterIP: None
  ports:
    - name: http-metrics
      port: 3100
      targetPort: http-metrics
      protocol: TCP
  selector:
    app.kubernetes.io/name: loki
    app.kubernetes.io/instance: loki
    app.kubernetes.io/component: read
---
# Source: loki/templates/service-memberlist.yaml
apiVersion: v1
kind: Service
metadata:
  name: loki-memberlist
  namespace: loki
spec:
  type: ClusterIP
  clusterIP: None
  ports:
    - name: tcp
      port: 7946
      targetPort: http-memberlist
      protocol: TCP
  selector:
    app.kubernetes.io/name: loki
    app.kubernetes.io/instance: loki
    app.kubernetes.io/part-of: memberlist
---
# Source: loki/templates/chunks-cache/service-chunks-cache.yaml
apiVersion: v1
kind: Service
metadata:
  name: loki-chunks-cache
  namespace: loki
spec:
  type: ClusterIP
  ports:
    - name: memcached-client
      port: 11211
      targetPort: 11211
    - name: http-metrics
      port: 9150
      targetPort: 9150
  selector:
    app.kubernetes.io/name: loki
    app.kubernetes.io/instance: loki
    app.kubernetes.io/component: memcached-chunks-cache
---
# Source: loki/templates/read/deployment-read.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: loki-read
  namespace: loki
spec:
  replicas: 3
  selector:
    matchLabels:
      app.kubernetes.io/name: loki
      app.kubernetes.io/instance: loki
      app.kubernetes.io/component: read
  template:
    metadata:
      labels:
        app.kubernetes.io/name: loki
        app.kubernetes.io/instance: loki
        app.kubernetes.io/component: read
        app.kubernetes.io/part-of: memberlist
    spec:
      serviceAccountName: loki
      containers:
        - name: loki
          image: docker.io/grafana/loki:3.5.2
          args:
            - -config.file=/etc/loki/config/config.yaml
            - -target=read
          ports:
            - containerPort: 3100
              name: http-metrics
              protocol: TCP
            - containerPort: 9095
              name: grpc
              protocol: TCP
            - containerPort: 7946
              name: http-memberlist
              protocol: TCP
---
# Source: loki/templates/chunks-cache/statefulset-chunks-cache.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: loki-chunks-cache
  namespace: loki
spec:
  replicas: 1
  serviceName: loki-chunks-cache
  selector:
    matchLabels:
      app.kubernetes.io/name: loki
      app.kubernetes.io/instance: loki
      app.kubernetes.io/component: memcached-chunks-cache
  template:
    metadata:
      labels:
        app.kubernetes.io/name: loki
        app.kubernetes.io/instance: loki
        app.kubernetes.io/component: memcached-chunks-cache
    spec:
      serviceAccountName: loki
      containers:
        - name: memcached
          image: memcached:1.6.38-alpine
          ports:
            - containerPort: 11211
              name: client
        - name: exporter
          image: prom/memcached-exporter:v0.15.3
          ports:
            - containerPort: 9150
              name: http-metrics
"#;

#[test]
fn multicluster_exports_serving_services_and_admits_the_gateway() {
    let inputs = [Input::new("loki.yaml", LOKI_READ)];
    let spec = "  type: linkerd\n  authorization:\n    defaultDeny: true\n  multiCluster:\n    enabled: true\n    exportServices: [loki]\n";
    let out = run(&inputs, &config(spec), MeshType::Linkerd);
    let text = out.output.text();
    let docs = documents(&text);
    let exported = |name: &str| {
        find(&docs, "Service", name).unwrap()["metadata"]["labels"]["mirror.linkerd.io/exported"]
            == "true"
    };
    assert!(exported("loki-read"));
    for internal in ["loki-read-headless", "loki-memberlist", "loki-chunks-cache"] {
        assert!(!exported(internal), "{internal} is exported");
    }
    let gateway = find_scoped(
        &docs,
        "MeshTLSAuthentication",
        "from-sa-linkerd-multicluster-linkerd-gateway",
    )
    .expect("the gateway's identity");
    assert_eq!(
        gateway["spec"]["identityRefs"][0],
        serde_json::json!({"kind": "ServiceAccount", "name": "linkerd-gateway", "namespace": "linkerd-multicluster"})
    );
    let flows = out.flows().unwrap();
    assert!(
        super::edges(&flows).iter().any(|e| e.contains(
            "linkerd-multicluster/linkerd-gateway → deployment loki/loki-read port 3100"
        )),
        "{:?}",
        super::edges(&flows)
    );
    assert_eq!(denied(&flows), Vec::<String>::new());
    validates(&text, "multi-cluster export");
}

/// The grafana chart's `helm test` pod: bats against the Grafana Service, with its own
/// ServiceAccount.
const GRAFANA_TEST: &str = r#"---
# Source: grafana/templates/tests/test-serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  labels:
    app.kubernetes.io/name: grafana
    app.kubernetes.io/instance: obs
  name: obs-grafana-test
  namespace: monitoring
---
# Source: grafana/templates/tests/test-configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: obs-grafana-test
  namespace: monitoring
  annotations:
    "helm.sh/hook": "test"
    "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded"
  labels:
    app.kubernetes.io/name: grafana
    app.kubernetes.io/instance: obs
data:
  run.sh: |-
    @test "Test Health" {
      url="http://obs-grafana/api/health"

      code=$(wget --server-response --spider --timeout 90 --tries 10 ${url} 2>&1 | awk '/^  HTTP/{print $2}')
      [ "$code" == "200" ]
    }
---
# Source: grafana/templates/tests/test.yaml
apiVersion: v1
kind: Pod
metadata:
  name: obs-grafana-test
  labels:
    app.kubernetes.io/name: grafana
    app.kubernetes.io/instance: obs
  annotations:
    "helm.sh/hook": test
    "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded"
  namespace: monitoring
spec:
  serviceAccountName: obs-grafana-test
  containers:
    - name: obs-test
      image: "docker.io/bats/bats:v1.4.1"
      imagePullPolicy: IfNotPresent
      command: ["/opt/bats/bin/bats", "-t", "/tests/run.sh"]
      volumeMounts:
        - mountPath: /tests
          name: tests
          readOnly: true
  volumes:
    - name: tests
      configMap:
        name: obs-grafana-test
  restartPolicy: Never
"#;

/// The test pod alone, its script's ConfigMap rendered elsewhere (`helm template
/// --show-only templates/tests/test.yaml`): the Service it calls cannot be read.
fn test_pod_alone() -> String {
    let pod = GRAFANA_TEST
        .find("# Source: grafana/templates/tests/test.yaml")
        .unwrap();
    format!("---\n{}", &GRAFANA_TEST[pod..])
}

#[test]
fn injected_helm_test_pods_may_call_what_they_test() {
    for test in [GRAFANA_TEST.to_string(), test_pod_alone()] {
        injected_test_pod_is_admitted(&test);
    }
}

fn injected_test_pod_is_admitted(test: &str) {
    let inputs = [
        Input::new("grafana.yaml", GRAFANA_AND_QUERIER),
        Input::new("test.yaml", test),
    ];
    for (mesh, spec) in [
        (
            MeshType::Istio,
            "  type: istio\n  hooks: inject\n  mtls:\n    mode: STRICT\n  authorization:\n    defaultDeny: true\n",
        ),
        (
            MeshType::Linkerd,
            "  type: linkerd\n  hooks: inject\n  authorization:\n    defaultDeny: true\n",
        ),
    ] {
        let out = run(&inputs, &config(spec), mesh);
        let flows = out.flows().unwrap();
        let edges = super::edges(&flows);
        assert!(
            edges.iter().any(|e| e.ends_with(
                "monitoring/obs-grafana-test → deployment monitoring/obs-grafana port 3000"
            )),
            "{mesh:?}: {edges:?}"
        );
        assert_eq!(denied(&flows), Vec::<String>::new(), "{mesh:?}");
        validates(&out.output.text(), "helm test pods");
    }
}

/// kube-prometheus-stack's Prometheus and Alertmanager resources for release `obs`: the
/// Prometheus selects PodMonitors labelled `release: obs`, from every namespace.
const KUBE_PROMETHEUS_STACK: &str = r#"---
# Source: kube-prometheus-stack/templates/prometheus/prometheus.yaml
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: obs-kube-prometheus-prometheus
  namespace: monitoring
  labels:
    app: kube-prometheus-stack-prometheus
    release: "obs"
spec:
  image: "quay.io/prometheus/prometheus:v3.4.1"
  replicas: 1
  serviceAccountName: obs-kube-prometheus-prometheus
  serviceMonitorSelector:
    matchLabels:
      release: "obs"
  serviceMonitorNamespaceSelector: {}
  podMonitorSelector:
    matchLabels:
      release: "obs"
  podMonitorNamespaceSelector: {}
  alerting:
    alertmanagers:
      - namespace: monitoring
        name: obs-kube-prometheus-alertmanager
        port: http-web
        pathPrefix: "/"
        apiVersion: v2
  portName: http-web
---
# Source: kube-prometheus-stack/templates/alertmanager/alertmanager.yaml
apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata:
  name: obs-kube-prometheus-alertmanager
  namespace: monitoring
  labels:
    app: kube-prometheus-stack-alertmanager
    release: "obs"
spec:
  image: "quay.io/prometheus/alertmanager:v0.28.1"
  replicas: 1
  serviceAccountName: obs-kube-prometheus-alertmanager
  portName: http-web
---
# Source: kube-prometheus-stack/templates/alertmanager/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: obs-kube-prometheus-alertmanager
  namespace: monitoring
  labels:
    app: kube-prometheus-stack-alertmanager
    release: "obs"
spec:
  ports:
  - name: http-web
    port: 9093
    targetPort: 9093
    protocol: TCP
  selector:
    app.kubernetes.io/name: alertmanager
    alertmanager: obs-kube-prometheus-alertmanager
"#;

const METRICS: &str =
    "  observability:\n    metrics:\n      enabled: true\n    dashboards:\n      enabled: true\n";

/// The dashboard JSON of an output's dashboard ConfigMap.
fn dashboard_json(docs: &[serde_json::Value]) -> String {
    let map = docs
        .iter()
        .find(|d| {
            d["kind"] == "ConfigMap"
                && d["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.contains("golden-signals"))
        })
        .expect("a dashboard ConfigMap");
    map["data"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn proxy_pod_monitors_and_dashboards_are_what_the_stack_selects() {
    let inputs = [
        Input::new("kps.yaml", KUBE_PROMETHEUS_STACK),
        Input::new("grafana.yaml", GRAFANA_AND_QUERIER),
    ];
    for mesh in [MeshType::Istio, MeshType::Linkerd] {
        let name = if mesh == MeshType::Istio {
            "istio"
        } else {
            "linkerd"
        };
        let out = run(
            &inputs,
            &config(&format!("  type: {name}\n{METRICS}")),
            mesh,
        );
        let text = out.output.text();
        let docs = documents(&text);
        let monitor =
            find_scoped(&docs, "PodMonitor", &format!("{name}-proxies")).expect("a PodMonitor");
        assert_eq!(monitor["metadata"]["labels"]["release"], "obs", "{monitor}");
        assert_eq!(monitor["metadata"]["namespace"], "monitoring", "{monitor}");
        let relabelings = &monitor["spec"]["podMetricsEndpoints"][0]["relabelings"];
        if mesh == MeshType::Linkerd {
            assert!(
                relabelings
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["action"] == "labelmap"
                        && r["regex"] == "__meta_kubernetes_pod_label_linkerd_io_proxy_(.+)"),
                "{relabelings}"
            );
        }
        let dashboard = dashboard_json(&docs);
        for workload in [
            "prometheus-obs-kube-prometheus-prometheus",
            "alertmanager-obs-kube-prometheus-alertmanager",
        ] {
            assert!(
                dashboard.contains(workload),
                "{name}: no row for {workload}"
            );
        }
        assert!(
            !dashboard.contains("\\\"obs-kube-prometheus-prometheus\\\""),
            "{name}: a row names the Prometheus resource, not its StatefulSet"
        );
        validates(&text, "PodMonitors and dashboards");
    }
}

#[test]
fn a_prometheus_reading_its_own_namespace_gets_the_pod_monitor_there() {
    let own = KUBE_PROMETHEUS_STACK.replace("  podMonitorNamespaceSelector: {}\n", "");
    let grafana = GRAFANA_AND_QUERIER.replace("namespace: monitoring", "namespace: grafana");
    let inputs = [
        Input::new("kps.yaml", own),
        Input::new("grafana.yaml", grafana),
    ];
    let out = run(
        &inputs,
        &config(&format!("  type: linkerd\n{METRICS}")),
        MeshType::Linkerd,
    );
    let docs = documents(&out.output.text());
    let monitors: Vec<_> = docs.iter().filter(|d| d["kind"] == "PodMonitor").collect();
    assert_eq!(monitors.len(), 1, "{monitors:?}");
    assert_eq!(monitors[0]["metadata"]["namespace"], "monitoring");
    assert_eq!(
        monitors[0]["spec"]["namespaceSelector"]["matchNames"],
        serde_json::json!(["grafana", "monitoring"])
    );
}

#[test]
fn a_prometheus_that_selects_no_pod_monitor_is_a_warning() {
    let none = KUBE_PROMETHEUS_STACK.replace(
        "  podMonitorSelector:\n    matchLabels:\n      release: \"obs\"\n",
        "",
    );
    let inputs = [Input::new("kps.yaml", none)];
    let out = run(
        &inputs,
        &config(&format!("  type: istio\n{METRICS}")),
        MeshType::Istio,
    );
    assert!(
        out.report.warnings.iter().any(|w| w
            .contains("monitoring/obs-kube-prometheus-prometheus has no spec.podMonitorSelector")),
        "{:?}",
        out.report.warnings
    );
}
