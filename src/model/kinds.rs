//! The kinds gunj-mesh reads: the ones that run pods (where their pod template is, and for
//! operator custom resources, what the operator puts on the pods), the ones it generates,
//! and which documents of a stream the filter must parse at all.

use super::ports::Port;
use crate::config;
use crate::io::stream::Doc;
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
    /// For an operator's custom resource: the labels the operator puts on the pods of the
    /// resource named `name` in a namespace, and their default ports. The operator changes
    /// the pods through the resource itself.
    pub operator: Option<OperatorPods>,
}

/// The labels and ports of an operator's pods, from the resource's name and namespace.
pub type OperatorPods = fn(&str, Option<&str>) -> (BTreeMap<String, String>, Vec<Port>);

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

const fn prometheus_operator(kind: &'static str, pods: OperatorPods) -> PodKind {
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
    prometheus_operator("Prometheus", |name, _| {
        (
            labels(&[
                ("app.kubernetes.io/name", "prometheus"),
                ("app.kubernetes.io/instance", name),
            ]),
            vec![Port::tcp("web", 9090)],
        )
    }),
    prometheus_operator("PrometheusAgent", |name, _| {
        (
            labels(&[
                ("app.kubernetes.io/name", "prometheus-agent"),
                ("app.kubernetes.io/instance", name),
            ]),
            vec![Port::tcp("web", 9090)],
        )
    }),
    prometheus_operator("Alertmanager", |name, _| {
        (
            labels(&[
                ("app.kubernetes.io/name", "alertmanager"),
                ("app.kubernetes.io/instance", name),
            ]),
            vec![
                Port::tcp("web", 9093),
                Port::tcp("mesh-tcp", 9094),
                Port {
                    protocol: "UDP".into(),
                    ..Port::tcp("mesh-udp", 9094)
                },
            ],
        )
    }),
    prometheus_operator("ThanosRuler", |name, _| {
        (
            labels(&[
                ("app.kubernetes.io/name", "thanos-ruler"),
                ("app.kubernetes.io/instance", name),
            ]),
            vec![Port::tcp("grpc", 10901), Port::tcp("web", 10902)],
        )
    }),
    // The OpenTelemetry operator copies `spec.podAnnotations`, and the resource's own
    // labels, to the collector pods, labelled `app.kubernetes.io/instance:
    // <namespace>.<name>`.
    PodKind {
        kind: "OpenTelemetryCollector",
        labels: &["metadata", "labels"],
        annotations: &["spec", "podAnnotations"],
        spec: &["spec"],
        finishes: false,
        selector: false,
        operator: Some(|name, namespace| {
            let instance = format!("{}.{name}", namespace.unwrap_or("default"));
            (
                labels(&[
                    ("app.kubernetes.io/component", "opentelemetry-collector"),
                    ("app.kubernetes.io/instance", &instance),
                ]),
                vec![Port::tcp("otlp-grpc", 4317), Port::tcp("otlp-http", 4318)],
            )
        }),
    },
];

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

/// Documents the filter may change or must read, judged by the header scan (and, for
/// ConfigMaps, whether gunj-mesh wrote them: its dashboards).
pub fn is_candidate(doc: &Doc) -> bool {
    let h = &doc.header;
    if h.empty {
        return false;
    }
    if h.opaque {
        return true;
    }
    let kind = h.kind.unwrap_or_default();
    pod_kind(kind).is_some()
        || kind == "Namespace"
        || kind == "Service"
        || GENERATED_KINDS.contains(&kind)
        || (kind == "ConfigMap"
            && memchr::memmem::find(doc.text.as_bytes(), b"gunj-mesh").is_some())
        || kind == config::KIND
        || kind.ends_with("List")
}
