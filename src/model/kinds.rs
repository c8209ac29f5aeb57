//! The kinds gunj-mesh reads: the ones that run pods (where their pod template is, and for
//! operator custom resources, what the operator puts on the pods), the ones it generates,
//! and which documents of a stream the filter must parse at all.

use super::ports::Port;
use crate::config;
use crate::io::stream::Doc;
use crate::yaml::Node;
use std::collections::BTreeMap;

/// A kind whose pods gunj-mesh can put in the mesh.
pub struct PodKind {
    pub kind: &'static str,
    /// Where the pod labels, pod annotations and pod spec are.
    pub labels: &'static [&'static str],
    pub annotations: &'static [&'static str],
    pub spec: &'static [&'static str],
    /// Its pods are meant to finish (Jobs; Pods decide by their `restartPolicy`).
    pub finishes: bool,
    /// `spec.selector.matchLabels` selects its pods.
    pub selector: bool,
    /// For an operator's custom resource: what the operator makes of the resource (`None`
    /// from the function when it runs no pods of its own). The operator changes the pods
    /// through the resource itself.
    pub operator: Option<Operator>,
}

/// What an operator makes of its resource `node` named `name` in a namespace.
pub type Operator = fn(node: &Node, name: &str, namespace: Option<&str>) -> Option<OperatorPods>;

/// The pods an operator runs for a resource.
pub struct OperatorPods {
    /// The labels it puts on them, which select them.
    pub labels: BTreeMap<String, String>,
    /// The other labels it puts on every one of them, over the resource's own: a Service of
    /// the stream may select the pods by these. Generated selectors keep to `labels`.
    pub more_labels: BTreeMap<String, String>,
    /// The container ports of its containers.
    pub ports: Vec<Port>,
    /// Their ServiceAccount, when the resource says or implies one.
    pub service_account: Option<String>,
    /// The workload the operator runs them in, whose name the meshes' metrics carry
    /// (Istio's `destination_workload`, Linkerd's `deployment`/`statefulset`).
    pub workload: String,
}

const TEMPLATE_LABELS: &[&str] = &["spec", "template", "metadata", "labels"];
const TEMPLATE_ANNOTATIONS: &[&str] = &["spec", "template", "metadata", "annotations"];
const TEMPLATE_SPEC: &[&str] = &["spec", "template", "spec"];
/// prometheus-operator copies `spec.podMetadata` to the pods it creates
/// (<https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.EmbeddedObjectMetadata>).
const POD_METADATA_LABELS: &[&str] = &["spec", "podMetadata", "labels"];
const POD_METADATA_ANNOTATIONS: &[&str] = &["spec", "podMetadata", "annotations"];

const fn template(kind: &'static str, finishes: bool, selector: bool) -> PodKind {
    PodKind {
        kind,
        labels: TEMPLATE_LABELS,
        annotations: TEMPLATE_ANNOTATIONS,
        spec: TEMPLATE_SPEC,
        finishes,
        selector,
        operator: None,
    }
}

const fn prometheus_operator(kind: &'static str, pods: Operator) -> PodKind {
    PodKind {
        kind,
        labels: POD_METADATA_LABELS,
        annotations: POD_METADATA_ANNOTATIONS,
        spec: &["spec"],
        finishes: false,
        selector: false,
        operator: Some(pods),
    }
}

/// Every kind that runs pods, in the order the filter has always listed them.
pub static POD_KINDS: &[PodKind] = &[
    template("Deployment", false, true),
    template("StatefulSet", false, true),
    template("DaemonSet", false, true),
    template("ReplicaSet", false, true),
    template("Job", true, false),
    PodKind {
        kind: "CronJob",
        labels: &[
            "spec",
            "jobTemplate",
            "spec",
            "template",
            "metadata",
            "labels",
        ],
        annotations: &[
            "spec",
            "jobTemplate",
            "spec",
            "template",
            "metadata",
            "annotations",
        ],
        spec: &["spec", "jobTemplate", "spec", "template", "spec"],
        finishes: true,
        selector: false,
        operator: None,
    },
    PodKind {
        kind: "Pod",
        labels: &["metadata", "labels"],
        annotations: &["metadata", "annotations"],
        spec: &["spec"],
        finishes: false,
        selector: false,
        operator: None,
    },
    template("ReplicationController", false, true),
    prometheus_operator("Prometheus", |node, name, _| {
        Some(prometheus_pods(node, "prometheus", name))
    }),
    prometheus_operator("PrometheusAgent", |node, name, _| {
        Some(prometheus_pods(node, "prometheus-agent", name))
    }),
    prometheus_operator("Alertmanager", |node, name, _| {
        let mut pods = prometheus_pods(node, "alertmanager", name);
        pods.ports = vec![
            Port::tcp(port_name(node), 9093),
            Port::tcp("mesh-tcp", 9094),
            Port {
                protocol: "UDP".into(),
                ..Port::tcp("mesh-udp", 9094)
            },
            Port::tcp("reloader-web", 8080),
        ];
        Some(pods)
    }),
    prometheus_operator("ThanosRuler", |node, name, _| {
        let mut pods = prometheus_pods(node, "thanos-ruler", name);
        pods.ports = vec![Port::tcp("grpc", 10901), Port::tcp("web", 10902)];
        Some(pods)
    }),
    // The OpenTelemetry operator copies `spec.podAnnotations`, and the resource's own
    // labels, to the collector pods, labelled `app.kubernetes.io/component:
    // opentelemetry-collector`, `app.kubernetes.io/instance: <namespace>.<name>`,
    // `app.kubernetes.io/managed-by: opentelemetry-operator`, `app.kubernetes.io/part-of:
    // opentelemetry` and, unless the resource's labels name it, `app.kubernetes.io/name:
    // <name>-collector` (`Labels` in its internal/manifests/manifestutils/labels.go). The
    // pods are selected by component and instance; when the namespace is not known (no
    // `metadata.namespace`, no `-n`: Helm decides it) by component and name, which need no
    // namespace. They run as `spec.serviceAccount`, else `<name>-collector`, and expose the
    // collector's own metrics on 8888. A collector in `mode: sidecar` runs in other
    // workloads' pods (<https://github.com/open-telemetry/opentelemetry-operator#deployment-modes>).
    PodKind {
        kind: "OpenTelemetryCollector",
        labels: &["metadata", "labels"],
        annotations: &["spec", "podAnnotations"],
        spec: &["spec"],
        finishes: false,
        selector: false,
        operator: Some(|node, name, namespace| {
            if node.at(&["spec", "mode"]).and_then(Node::scalar) == Some("sidecar") {
                return None;
            }
            let own_name = node
                .at(&["metadata", "labels", "app.kubernetes.io/name"])
                .and_then(Node::scalar);
            let app_name = own_name.map_or_else(|| format!("{name}-collector"), str::to_string);
            let mut more = vec![
                ("app.kubernetes.io/managed-by", "opentelemetry-operator"),
                ("app.kubernetes.io/part-of", "opentelemetry"),
                ("app.kubernetes.io/name", &app_name),
            ];
            let component = ("app.kubernetes.io/component", "opentelemetry-collector");
            let instance = namespace.map(|ns| format!("{ns}.{name}"));
            let selector = match &instance {
                Some(instance) => [component, ("app.kubernetes.io/instance", instance)],
                None => [component, more.pop().expect("the name label")],
            };
            Some(OperatorPods {
                labels: labels(&selector),
                more_labels: labels(&more),
                ports: vec![
                    Port::tcp("otlp-grpc", 4317),
                    Port::tcp("otlp-http", 4318),
                    Port::tcp("metrics", 8888),
                ],
                service_account: Some(
                    node.at(&["spec", "serviceAccount"])
                        .and_then(Node::scalar)
                        .map_or_else(|| format!("{name}-collector"), str::to_string),
                ),
                workload: format!("{name}-collector"),
            })
        }),
    },
    // The alloy-operator installs Grafana's `alloy` Helm chart with the resource's spec as
    // its values and its name as the release (<https://github.com/grafana/alloy-operator>):
    // the chart labels the pods `app.kubernetes.io/name: <nameOverride, else alloy>` and
    // `app.kubernetes.io/instance: <release>`, adds `controller.podLabels` and
    // `controller.podAnnotations`, runs them as `serviceAccount.name`, else its fullname,
    // and serves HTTP (UI, metrics, clustering) on `alloy.listenPort` (12345) named
    // `http-metrics`, and the receivers' `alloy.extraPorts`.
    PodKind {
        kind: "Alloy",
        labels: &["spec", "controller", "podLabels"],
        annotations: &["spec", "controller", "podAnnotations"],
        spec: &["spec", "controller"],
        finishes: false,
        selector: false,
        operator: Some(|node, name, _| {
            let get = |path: &[&str]| node.at(path).and_then(Node::scalar);
            let app = get(&["spec", "nameOverride"]).unwrap_or("alloy");
            let fullname = match get(&["spec", "fullnameOverride"]) {
                Some(f) => f.to_string(),
                None if name.contains(app) => name.to_string(),
                None => format!("{name}-{app}"),
            };
            let port = get(&["spec", "alloy", "listenPort"])
                .and_then(|p| p.parse().ok())
                .unwrap_or(12345);
            let mut ports = vec![Port::tcp("http-metrics", port)];
            // `alloy.extraPorts`: Service ports whose `targetPort` the container exposes.
            ports.extend(
                node.at(&["spec", "alloy", "extraPorts"])
                    .and_then(Node::items)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|p| Port::of_entry(p, &["targetPort", "port"])),
            );
            Some(OperatorPods {
                labels: labels(&[
                    ("app.kubernetes.io/name", app),
                    ("app.kubernetes.io/instance", name),
                ]),
                more_labels: BTreeMap::new(),
                ports,
                service_account: Some(
                    get(&["spec", "serviceAccount", "name"])
                        .map_or_else(|| fullname.clone(), str::to_string),
                ),
                workload: fullname,
            })
        }),
    },
    // The Jaeger operator gives every pod of an instance the resource's `spec.labels` and
    // `spec.annotations` over its own: `app: jaeger`, `app.kubernetes.io/instance: <name>`,
    // `app.kubernetes.io/part-of: jaeger`, `app.kubernetes.io/managed-by: jaeger-operator`,
    // and the annotations `sidecar.istio.io/inject: "false"` and `linkerd.io/inject:
    // disabled` unless the resource's say otherwise. The pods run as `spec.serviceAccount`,
    // else `<name>`, and serve the query UI (16686), the collector (14250 gRPC, 14268
    // HTTP, OTLP 4317/4318, Zipkin 9411) and the admin port (14269)
    // (<https://www.jaegertracing.io/docs/latest/operator/>, `pkg/deployment` in
    // jaegertracing/jaeger-operator).
    PodKind {
        kind: "Jaeger",
        labels: &["spec", "labels"],
        annotations: &["spec", "annotations"],
        spec: &["spec"],
        finishes: false,
        selector: false,
        operator: Some(|node, name, _| {
            Some(OperatorPods {
                labels: labels(&[("app", "jaeger"), ("app.kubernetes.io/instance", name)]),
                more_labels: labels(&[
                    ("app.kubernetes.io/name", name),
                    ("app.kubernetes.io/part-of", "jaeger"),
                    ("app.kubernetes.io/managed-by", "jaeger-operator"),
                ]),
                ports: [
                    ("http-query", 16686),
                    ("grpc", 14250),
                    ("http-c-binary-trft", 14268),
                    ("grpc-otlp", 4317),
                    ("http-otlp", 4318),
                    ("http-zipkin", 9411),
                    ("admin-http", 14269),
                ]
                .into_iter()
                .map(|(n, p)| Port::tcp(n, p))
                .collect(),
                service_account: Some(
                    node.at(&["spec", "serviceAccount"])
                        .and_then(Node::scalar)
                        .map_or_else(|| name.to_string(), str::to_string),
                ),
                workload: name.to_string(),
            })
        }),
    },
];

/// The pods prometheus-operator runs for a Prometheus-like resource: selected by
/// `app.kubernetes.io/name: <app>` and `app.kubernetes.io/instance: <name>`, and also
/// labelled `app.kubernetes.io/managed-by: prometheus-operator` and by the resource's name
/// under the kind's own key (`operator.prometheus.io/name` and `prometheus` for a
/// Prometheus, `operator.prometheus.io/name` for a PrometheusAgent, `alertmanager`,
/// `thanos-ruler`), which charts' Services select them by (kube-prometheus-stack's
/// `alertmanager: <name>`, `operator.prometheus.io/name: <name>`): `makeSelectorLabels` in
/// prometheus-operator's `pkg/{prometheus/server,prometheus/agent,alertmanager,thanos}`.
/// The main container's port is `spec.portName` (default `web`), the config reloader's
/// `reloader-web` (8080), a Thanos sidecar's `grpc` (10901) and `http` (10902); they run as
/// `spec.serviceAccountName` (<https://prometheus-operator.dev/docs/api-reference/api/>).
fn prometheus_pods(node: &Node, app: &str, name: &str) -> OperatorPods {
    let mut ports = vec![
        Port::tcp(port_name(node), 9090),
        Port::tcp("reloader-web", 8080),
    ];
    if node.at(&["spec", "thanos"]).is_some_and(|t| !t.is_null()) {
        ports.extend([Port::tcp("grpc", 10901), Port::tcp("http", 10902)]);
    }
    let mut more = vec![("app.kubernetes.io/managed-by", "prometheus-operator")];
    match app {
        "prometheus" => more.extend([("operator.prometheus.io/name", name), ("prometheus", name)]),
        "prometheus-agent" => more.push(("operator.prometheus.io/name", name)),
        _ => more.push((app, name)),
    }
    OperatorPods {
        labels: labels(&[
            ("app.kubernetes.io/name", app),
            ("app.kubernetes.io/instance", name),
        ]),
        more_labels: labels(&more),
        ports,
        service_account: None,
        // The StatefulSet: `prometheus-<name>`, `prom-agent-<name>`, `alertmanager-<name>`,
        // `thanos-ruler-<name>`.
        workload: match app {
            "prometheus-agent" => format!("prom-agent-{name}"),
            app => format!("{app}-{name}"),
        },
    }
}

/// A prometheus-operator resource's `spec.portName`, default `web`.
fn port_name<'n>(node: &'n Node) -> &'n str {
    node.at(&["spec", "portName"])
        .and_then(Node::scalar)
        .unwrap_or("web")
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The pod kind `kind`, if it runs pods.
pub fn pod_kind(kind: &str) -> Option<&'static PodKind> {
    POD_KINDS.iter().find(|k| k.kind == kind)
}

/// True for operator custom resources, whose pods are changed through the resource itself.
pub fn is_operator_cr(kind: &str) -> bool {
    pod_kind(kind).is_some_and(|k| k.operator.is_some())
}

/// Kinds gunj-mesh generates; documents of these kinds are read to avoid duplicates (and
/// ConfigMaps that mention gunj-mesh: its dashboards).
pub const GENERATED_KINDS: &[&str] = &[
    "PeerAuthentication",
    "DestinationRule",
    "VirtualService",
    "AuthorizationPolicy",
    "Gateway",
    "Server",
    "MeshTLSAuthentication",
    "NetworkAuthentication",
    "HTTPRoute",
    "ServiceProfile",
    "NetworkPolicy",
    "Telemetry",
    "PodMonitor",
];

/// Kinds the traffic graph reads: the kube-apiserver's callers and Prometheus's targets.
const GRAPH_KINDS: &[&str] = &[
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
    "ServiceMonitor",
];

/// Documents the filter may change or must read, judged by the header scan and a look for
/// a few words: ConfigMaps that gunj-mesh wrote (its dashboards) or that may name a
/// Service (a URL, a `.svc` name), CRDs with a conversion webhook, and
/// HorizontalPodAutoscalers (how many pods a workload keeps).
pub fn is_candidate(doc: &Doc) -> bool {
    let h = &doc.header;
    if h.empty {
        return false;
    }
    if h.opaque {
        return true;
    }
    let has = |word: &str| memchr::memmem::find(doc.text.as_bytes(), word.as_bytes()).is_some();
    let kind = h.kind.unwrap_or_default();
    pod_kind(kind).is_some()
        || kind == "Namespace"
        || kind == "Service"
        || GENERATED_KINDS.contains(&kind)
        || GRAPH_KINDS.contains(&kind)
        || kind == "HorizontalPodAutoscaler"
        || (kind == "ConfigMap"
            && (has("gunj-mesh") || has("://") || has(".svc") || has("kubernetes_sd_configs")))
        || (kind == "CustomResourceDefinition" && has("conversion:") && has("webhook"))
        || kind == config::KIND
        || kind.ends_with("List")
}
