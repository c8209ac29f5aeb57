//! The evaluator's own reader of the emitted stream: the objects (through `List` and KRM
//! `ResourceList` documents), the pods each workload or operator resource runs, the
//! Namespaces and the Services. It shares no code with the generator's model of the stream.

use crate::model::ports::Port;
use crate::yaml::{Kind, Limits, Node, Style, Tag};
use std::collections::{BTreeMap, HashMap};

/// A namespace as an object of the stream places it: named, or `None` for the release
/// namespace when its name is not known (objects without `metadata.namespace` are all in
/// it).
pub type Ns = Option<String>;
pub type Labels = BTreeMap<String, String>;

/// `monitoring`, or `the release namespace`.
pub fn ns_name(ns: &Ns) -> &str {
    ns.as_deref().unwrap_or("the release namespace")
}

/// The parsed documents of a stream. The documents of gunj-mesh's output always parse; one
/// that does not is left out, and an edge that needs it finds nothing.
pub fn parse(output: &str) -> Vec<Node<'_>> {
    crate::io::stream::split(0, output)
        .into_iter()
        .filter_map(|doc| {
            let text = &doc.text[doc.parse_from..];
            crate::yaml::parse(text, Limits::default()).ok().flatten()
        })
        .collect()
}

/// One Kubernetes object of the stream.
#[derive(Debug, Clone)]
pub struct Object<'a> {
    /// The API group: `""` for the core group.
    pub group: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    pub namespace: Ns,
    pub node: &'a Node<'a>,
}

impl<'a> Object<'a> {
    pub fn is(&self, group: &str, kind: &str) -> bool {
        self.group == group && self.kind == kind
    }

    /// `PeerAuthentication monitoring/default`.
    pub fn id(&self) -> String {
        format!("{} {}/{}", self.kind, ns_name(&self.namespace), self.name)
    }

    pub fn spec(&self) -> Option<&'a Node<'a>> {
        self.node.get("spec")
    }

    pub fn labels(&self) -> Labels {
        string_map(self.node.at(&["metadata", "labels"]))
    }

    pub fn annotations(&self) -> Labels {
        string_map(self.node.at(&["metadata", "annotations"]))
    }

    /// `metadata.creationTimestamp` (RFC 3339, so that its text orders as the time does).
    pub fn created(&self) -> Option<&'a str> {
        self.node
            .at(&["metadata", "creationTimestamp"])
            .and_then(Node::scalar)
    }
}

/// Every object of the parsed documents, the items of `List` and KRM `ResourceList`
/// documents included. Objects without a namespace get the release namespace, if known.
pub fn objects<'a>(roots: &'a [Node<'a>], release: &Ns) -> Vec<Object<'a>> {
    let mut out = Vec::new();
    for root in roots {
        collect(root, release, &mut out);
    }
    out
}

fn collect<'a>(node: &'a Node<'a>, release: &Ns, out: &mut Vec<Object<'a>>) {
    let kind = node.get("kind").and_then(Node::scalar).unwrap_or("");
    let api_version = node.get("apiVersion").and_then(Node::scalar).unwrap_or("");
    // `List` (kubectl), KRM `ResourceList`, and typed lists such as `PodList`, whose list
    // metadata has no name; a custom resource whose kind ends in `List` has one.
    let named = node.at(&["metadata", "name"]).is_some()
        || node.at(&["metadata", "generateName"]).is_some();
    let is_list = kind == "List" || (kind.ends_with("List") && !named);
    if is_list && let Some(items) = node.get("items").and_then(Node::items) {
        for item in items {
            collect(item, release, out);
        }
        return;
    }
    let Some(name) = node.at(&["metadata", "name"]).and_then(Node::scalar) else {
        return;
    };
    let namespace = node
        .at(&["metadata", "namespace"])
        .and_then(Node::scalar)
        .map(str::to_string)
        .or_else(|| release.clone());
    out.push(Object {
        group: api_version.rsplit_once('/').map_or("", |(g, _)| g),
        kind,
        name,
        namespace,
        node,
    });
}

/// A mapping of labels or annotations. Values are taken as written: the API server
/// rejects a label whose value YAML would read as a boolean or a number anyway.
pub fn string_map(node: Option<&Node>) -> Labels {
    node.map(Node::merged_entries)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| Some((k.scalar()?.to_string(), v.scalar()?.to_string())))
        .collect()
}

/// A boolean field as the API server reads YAML (go-yaml v2, YAML 1.1): plain `true`,
/// `yes`, `on`, `y` in their usual cases are true, and so are they under an explicit
/// `!!bool` tag, quoted or not; a quoted string is not a boolean.
/// https://yaml.org/type/bool.html,
/// https://github.com/kubernetes-sigs/yaml/blob/master/goyaml.v2/resolve.go
pub fn yaml11_true(node: Option<&Node>) -> bool {
    match node.map(|n| &n.resolved().kind) {
        Some(
            Kind::Scalar {
                value,
                style: Style::Plain,
                tag: Tag::None,
            }
            | Kind::Scalar {
                value,
                tag: Tag::Bool,
                ..
            },
        ) => matches!(
            value.as_ref(),
            "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON"
        ),
        _ => false,
    }
}

/// The strings of a sequence of scalars (a missing field is an empty list).
pub fn strings(node: Option<&Node>) -> Vec<String> {
    node.and_then(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|n| n.scalar().map(str::to_string))
        .collect()
}

/// A port as an `IntOrString` field gives it: a number, or a container port's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRef {
    Number(u16),
    Name(String),
}

impl PortRef {
    /// An unquoted integer is a number; any string (even `"8080"`) is a name, as the API
    /// server's `IntOrString` reads it.
    pub fn read(node: &Node) -> Option<PortRef> {
        match node.str() {
            Some(name) => Some(PortRef::Name(name.to_string())),
            None => node.scalar()?.parse().ok().map(PortRef::Number),
        }
    }

    /// Whether it names port `number` of a pod with these container ports.
    pub fn is(&self, number: u16, ports: &[ContainerPort]) -> bool {
        match self {
            PortRef::Number(n) => *n == number,
            PortRef::Name(name) => ports
                .iter()
                .any(|p| p.number == number && p.name.as_deref() == Some(name.as_str())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPort {
    pub name: Option<String>,
    pub number: u16,
    /// `TCP` (the default), `UDP` or `SCTP`.
    pub protocol: String,
}

/// How a probe reaches a container (exec probes open no connection and are left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    Http,
    Https,
    Tcp,
    Grpc,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub container: String,
    pub kind: ProbeKind,
    pub port: PortRef,
}

/// The pods of one workload, as admission receives them (before any injection).
#[derive(Debug, Clone)]
pub struct Pod {
    /// `Deployment`, `Prometheus`, …
    pub kind: String,
    pub name: String,
    pub namespace: Ns,
    pub labels: Labels,
    pub annotations: Labels,
    pub service_account: String,
    pub host_network: bool,
    pub ports: Vec<ContainerPort>,
    pub probes: Vec<Probe>,
    /// False for an OpenTelemetryCollector in `sidecar` mode, which runs no pods itself.
    pub runs_pods: bool,
}

impl Pod {
    /// `deployment monitoring/grafana`.
    pub fn label(&self) -> String {
        format!(
            "{} {}/{}",
            self.kind.to_lowercase(),
            ns_name(&self.namespace),
            self.name
        )
    }

    /// `Deployment monitoring/grafana`.
    pub fn id(&self) -> String {
        format!("{} {}/{}", self.kind, ns_name(&self.namespace), self.name)
    }

    /// The name of container port `number`, if it has one.
    pub fn port_name(&self, number: u16) -> Option<&str> {
        self.ports
            .iter()
            .find(|p| p.number == number)
            .and_then(|p| p.name.as_deref())
    }

    /// The probes that reach port `number`.
    pub fn probes_on(&self, number: u16) -> impl Iterator<Item = &Probe> {
        self.probes
            .iter()
            .filter(move |p| p.port.is(number, &self.ports))
    }
}

/// Where a workload kind keeps its pod template.
/// https://kubernetes.io/docs/concepts/workloads/pods/#pod-templates
fn template<'a>(obj: &Object<'a>) -> Option<&'a Node<'a>> {
    match (obj.group, obj.kind) {
        ("apps" | "extensions", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("", "ReplicationController")
        | ("batch", "Job") => obj.node.at(&["spec", "template"]),
        ("batch", "CronJob") => obj.node.at(&["spec", "jobTemplate", "spec", "template"]),
        ("", "Pod") => Some(obj.node),
        _ => None,
    }
}

/// The pods of a pod-running object, or `None` when the object runs none or its operator
/// is not one this reader knows.
pub fn pod(obj: &Object) -> Option<Pod> {
    if let Some(template) = template(obj) {
        return Some(from_template(obj, template));
    }
    match obj.group {
        "monitoring.coreos.com" => prometheus_operator(obj),
        "opentelemetry.io" if obj.kind == "OpenTelemetryCollector" => otel_collector(obj),
        "collectors.grafana.com" if obj.kind == "Alloy" => alloy(obj),
        "jaegertracing.io" if obj.kind == "Jaeger" => jaeger(obj),
        _ => None,
    }
}

fn from_template(obj: &Object, template: &Node) -> Pod {
    let spec = template.get("spec");
    let field = |key: &str| spec.and_then(|s| s.get(key));
    let service_account = field("serviceAccountName")
        .or_else(|| field("serviceAccount"))
        .and_then(Node::scalar)
        .unwrap_or("default");
    let containers = field("containers")
        .and_then(Node::items)
        .unwrap_or_default();
    Pod {
        kind: obj.kind.to_string(),
        name: obj.name.to_string(),
        namespace: obj.namespace.clone(),
        labels: string_map(template.at(&["metadata", "labels"])),
        annotations: string_map(template.at(&["metadata", "annotations"])),
        service_account: service_account.to_string(),
        host_network: yaml11_true(field("hostNetwork")),
        ports: containers.iter().flat_map(container_ports).collect(),
        probes: containers.iter().flat_map(probes).collect(),
        runs_pods: true,
    }
}

fn container_ports(container: &Node) -> Vec<ContainerPort> {
    container
        .get("ports")
        .and_then(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| port_entry(p, &["containerPort"]))
        .collect()
}

/// A port entry numbered by the first of `number_keys` it has ([`Port::of_entry`]).
fn port_entry(p: &Node, number_keys: &[&str]) -> Option<ContainerPort> {
    let Port {
        name,
        number,
        protocol,
    } = Port::of_entry(p, number_keys)?;
    Some(ContainerPort {
        name,
        number,
        protocol,
    })
}

/// The liveness, readiness and startup probes of a container that open a connection.
/// https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#Probe
fn probes(container: &Node) -> Vec<Probe> {
    let name = container.get("name").and_then(Node::scalar).unwrap_or("");
    ["livenessProbe", "readinessProbe", "startupProbe"]
        .iter()
        .filter_map(|key| container.get(key))
        .filter_map(|probe| {
            let (kind, handler) = if let Some(http) = probe.get("httpGet") {
                let https = http.get("scheme").and_then(Node::scalar) == Some("HTTPS");
                let kind = if https {
                    ProbeKind::Https
                } else {
                    ProbeKind::Http
                };
                (kind, http)
            } else if let Some(tcp) = probe.get("tcpSocket") {
                (ProbeKind::Tcp, tcp)
            } else {
                (ProbeKind::Grpc, probe.get("grpc")?)
            };
            Some(Probe {
                container: name.to_string(),
                kind,
                port: PortRef::read(handler.get("port")?)?,
            })
        })
        .collect()
}

fn port(name: &str, number: u16, protocol: &str) -> ContainerPort {
    ContainerPort {
        name: Some(name.to_string()),
        number,
        protocol: protocol.to_string(),
    }
}

/// The pods prometheus-operator runs for a `Prometheus`, `PrometheusAgent`,
/// `Alertmanager` or `ThanosRuler`: the operator's labels over `spec.podMetadata`, the
/// ServiceAccount `spec.serviceAccountName` (else `default`), the operator's container
/// ports. https://prometheus-operator.dev/docs/api-reference/api/
///
/// The labels are `makeSelectorLabels` of the operator's `pkg/prometheus/server`,
/// `pkg/prometheus/agent`, `pkg/alertmanager` and `pkg/thanos` (`operator.go`):
/// `app.kubernetes.io/{name,instance,managed-by}`, and the resource's name under
/// `operator.prometheus.io/name` and `prometheus` (Prometheus), `operator.prometheus.io/name`
/// (PrometheusAgent), `alertmanager` or `thanos-ruler`. The shard label is left out: it
/// differs between the pods of a sharded Prometheus.
fn prometheus_operator(obj: &Object) -> Option<Pod> {
    let spec = obj.spec();
    let field = |key: &str| spec.and_then(|s| s.get(key));
    let port_name = field("portName").and_then(Node::scalar).unwrap_or("web");
    let (app, ports) = match obj.kind {
        "Prometheus" | "PrometheusAgent" => {
            let mut ports = vec![
                port(port_name, 9090, "TCP"),
                port("reloader-web", 8080, "TCP"),
            ];
            if obj.kind == "Prometheus" && field("thanos").is_some_and(|t| !t.is_null()) {
                ports.extend([port("grpc", 10901, "TCP"), port("http", 10902, "TCP")]);
            }
            let app = if obj.kind == "Prometheus" {
                "prometheus"
            } else {
                "prometheus-agent"
            };
            (app, ports)
        }
        "Alertmanager" => (
            "alertmanager",
            vec![
                port(port_name, 9093, "TCP"),
                port("mesh-tcp", 9094, "TCP"),
                port("mesh-udp", 9094, "UDP"),
                port("reloader-web", 8080, "TCP"),
            ],
        ),
        "ThanosRuler" => (
            "thanos-ruler",
            vec![port("grpc", 10901, "TCP"), port(port_name, 10902, "TCP")],
        ),
        _ => return None,
    };
    let mut labels = string_map(spec.and_then(|s| s.at(&["podMetadata", "labels"])));
    labels.insert("app.kubernetes.io/name".into(), app.into());
    labels.insert("app.kubernetes.io/instance".into(), obj.name.into());
    labels.insert(
        "app.kubernetes.io/managed-by".into(),
        "prometheus-operator".into(),
    );
    let own: &[&str] = match app {
        "prometheus" => &["operator.prometheus.io/name", "prometheus"],
        "prometheus-agent" => &["operator.prometheus.io/name"],
        _ => &[app],
    };
    for key in own {
        labels.insert((*key).into(), obj.name.into());
    }
    Some(Pod {
        kind: obj.kind.to_string(),
        name: obj.name.to_string(),
        namespace: obj.namespace.clone(),
        labels,
        annotations: string_map(spec.and_then(|s| s.at(&["podMetadata", "annotations"]))),
        service_account: field("serviceAccountName")
            .and_then(Node::scalar)
            .unwrap_or("default")
            .to_string(),
        host_network: yaml11_true(field("hostNetwork")),
        ports,
        probes: Vec::new(),
        runs_pods: true,
    })
}

/// The container ports a list of Service ports reaches (`targetPort`, else `port`).
fn service_ports(list: Option<&Node>) -> Vec<ContainerPort> {
    list.and_then(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| port_entry(p, &["targetPort", "port"]))
        .collect()
}

/// The pods the alloy-operator runs for an `Alloy`: it installs the `alloy` Helm chart
/// with the spec as values and the resource's name as the release
/// (https://github.com/grafana/alloy-operator). The chart's pods are labelled
/// `app.kubernetes.io/name: <nameOverride or alloy>` and `app.kubernetes.io/instance:
/// <release>` plus `controller.podLabels`, annotated with `controller.podAnnotations`, run
/// as `serviceAccount.name` (else the chart's fullname: the release when it contains the
/// name, else `<release>-<name>`, or `fullnameOverride`), on the host network when
/// `controller.hostNetwork`, with the HTTP port `alloy.listenPort` (12345) and
/// `alloy.extraPorts`
/// (https://github.com/grafana/alloy/tree/main/operations/helm/charts/alloy).
fn alloy(obj: &Object) -> Option<Pod> {
    let spec = obj.spec();
    let at = |path: &[&str]| spec.and_then(|s| s.at(path));
    let text = |path: &[&str]| at(path).and_then(Node::scalar);
    let app = text(&["nameOverride"]).unwrap_or("alloy");
    let mut labels = string_map(at(&["controller", "podLabels"]));
    labels.insert("app.kubernetes.io/name".into(), app.into());
    labels.insert("app.kubernetes.io/instance".into(), obj.name.into());
    let fullname = match text(&["fullnameOverride"]) {
        Some(f) => f.to_string(),
        None if obj.name.contains(app) => obj.name.to_string(),
        None => format!("{}-{app}", obj.name),
    };
    let listen = text(&["alloy", "listenPort"])
        .and_then(|p| p.parse().ok())
        .unwrap_or(12345);
    let mut ports = vec![port("http-metrics", listen, "TCP")];
    ports.extend(service_ports(at(&["alloy", "extraPorts"])));
    Some(Pod {
        kind: obj.kind.to_string(),
        name: obj.name.to_string(),
        namespace: obj.namespace.clone(),
        labels,
        annotations: string_map(at(&["controller", "podAnnotations"])),
        service_account: text(&["serviceAccount", "name"]).map_or(fullname, str::to_string),
        host_network: yaml11_true(at(&["controller", "hostNetwork"])),
        ports,
        probes: Vec::new(),
        runs_pods: true,
    })
}

/// The pods the Jaeger operator runs for a `Jaeger` (every strategy; the all-in-one's
/// ports): `spec.labels` over `app: jaeger`, `app.kubernetes.io/name` and
/// `app.kubernetes.io/instance: <name>`, `app.kubernetes.io/part-of: jaeger`,
/// `app.kubernetes.io/managed-by: jaeger-operator`; `spec.annotations` over the operator's
/// own `sidecar.istio.io/inject: "false"` and `linkerd.io/inject: disabled`, which keep its
/// pods out of the meshes unless the resource says otherwise; ServiceAccount
/// `spec.serviceAccount`, else `<name>`
/// (https://www.jaegertracing.io/docs/latest/operator/, `pkg/deployment/all_in_one.go`
/// and `pkg/util` in jaegertracing/jaeger-operator).
fn jaeger(obj: &Object) -> Option<Pod> {
    let spec = obj.spec();
    let field = |key: &str| spec.and_then(|s| s.get(key));
    let mut labels = string_map(field("labels"));
    for (k, v) in [
        ("app", "jaeger"),
        ("app.kubernetes.io/name", obj.name),
        ("app.kubernetes.io/instance", obj.name),
        ("app.kubernetes.io/part-of", "jaeger"),
        ("app.kubernetes.io/managed-by", "jaeger-operator"),
    ] {
        labels.insert(k.into(), v.into());
    }
    let mut annotations = string_map(field("annotations"));
    for (k, v) in [
        ("sidecar.istio.io/inject", "false"),
        ("linkerd.io/inject", "disabled"),
    ] {
        annotations.entry(k.into()).or_insert_with(|| v.into());
    }
    let ports = [
        ("http-query", 16686),
        ("grpc", 14250),
        ("http-c-binary-trft", 14268),
        ("grpc-otlp", 4317),
        ("http-otlp", 4318),
        ("http-zipkin", 9411),
        ("admin-http", 14269),
    ]
    .into_iter()
    .map(|(name, number)| port(name, number, "TCP"))
    .collect();
    Some(Pod {
        kind: obj.kind.to_string(),
        name: obj.name.to_string(),
        namespace: obj.namespace.clone(),
        labels,
        annotations,
        service_account: field("serviceAccount")
            .and_then(Node::scalar)
            .unwrap_or(obj.name)
            .to_string(),
        host_network: false,
        ports,
        probes: Vec::new(),
        runs_pods: true,
    })
}

/// The pods the OpenTelemetry operator runs for an `OpenTelemetryCollector`: the
/// resource's labels plus `app.kubernetes.io/component: opentelemetry-collector`,
/// `app.kubernetes.io/instance: <namespace>.<name>` (when the namespace is known),
/// `app.kubernetes.io/managed-by: opentelemetry-operator`, `app.kubernetes.io/part-of:
/// opentelemetry` and `app.kubernetes.io/name: <name>-collector` unless the resource's
/// labels have a name (`Labels` in the operator's
/// internal/manifests/manifestutils/labels.go), annotations `spec.podAnnotations`,
/// ServiceAccount `spec.serviceAccount` (else `<name>-collector`), container ports
/// `spec.ports`; `mode: sidecar` runs no pods of its own.
/// https://github.com/open-telemetry/opentelemetry-operator/blob/main/docs/api/opentelemetrycollectors.md
fn otel_collector(obj: &Object) -> Option<Pod> {
    let spec = obj.spec();
    let field = |key: &str| spec.and_then(|s| s.get(key));
    let mut labels = obj.labels();
    labels.insert(
        "app.kubernetes.io/component".into(),
        "opentelemetry-collector".into(),
    );
    if let Some(ns) = &obj.namespace {
        labels.insert(
            "app.kubernetes.io/instance".into(),
            format!("{ns}.{}", obj.name),
        );
    }
    labels.insert(
        "app.kubernetes.io/managed-by".into(),
        "opentelemetry-operator".into(),
    );
    labels.insert("app.kubernetes.io/part-of".into(), "opentelemetry".into());
    labels
        .entry("app.kubernetes.io/name".into())
        .or_insert_with(|| format!("{}-collector", obj.name));
    let ports = service_ports(field("ports"));
    Some(Pod {
        kind: obj.kind.to_string(),
        name: obj.name.to_string(),
        namespace: obj.namespace.clone(),
        labels,
        annotations: string_map(field("podAnnotations")),
        service_account: field("serviceAccount")
            .and_then(Node::scalar)
            .map_or_else(|| format!("{}-collector", obj.name), str::to_string),
        host_network: yaml11_true(field("hostNetwork")),
        ports,
        probes: Vec::new(),
        runs_pods: field("mode").and_then(Node::scalar) != Some("sidecar"),
    })
}

/// A Service port: what `targetPort` it reaches (K8S-SVC-1).
#[derive(Debug, Clone)]
pub struct ServicePort {
    pub port: u16,
    /// `None`: the same as `port`.
    pub target: Option<PortRef>,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub namespace: Ns,
    pub labels: Labels,
    pub selector: Labels,
    pub ports: Vec<ServicePort>,
}

impl Service {
    fn read(obj: &Object) -> Service {
        let spec = obj.spec();
        let ports = spec
            .and_then(|s| s.get("ports"))
            .and_then(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(|p| {
                Some(ServicePort {
                    port: p.get("port")?.scalar()?.parse().ok()?,
                    target: p.get("targetPort").and_then(PortRef::read),
                })
            })
            .collect();
        Service {
            name: obj.name.to_string(),
            namespace: obj.namespace.clone(),
            labels: obj.labels(),
            selector: string_map(spec.and_then(|s| s.get("selector"))),
            ports,
        }
    }

    /// The Service ports that reach container port `number` of `pod`: `targetPort` is a
    /// number, a container port's name, or (when absent) the same as `port` (K8S-SVC-1,
    /// https://kubernetes.io/docs/concepts/services-networking/service/#defining-a-service).
    pub fn ports_to(&self, pod: &Pod, number: u16) -> Vec<u16> {
        let selects = pod.namespace == self.namespace
            && !self.selector.is_empty()
            && self
                .selector
                .iter()
                .all(|(k, v)| pod.labels.get(k) == Some(v));
        if !selects {
            return Vec::new();
        }
        self.ports
            .iter()
            .filter(|p| match &p.target {
                Some(target) => target.is(number, &pod.ports),
                None => p.port == number,
            })
            .map(|p| p.port)
            .collect()
    }
}

/// A namespace as far as the stream says: its Namespace document's labels and
/// annotations, or none; the `kubernetes.io/metadata.name` label when its name is known.
#[derive(Debug, Clone, Default)]
pub struct Namespace {
    pub name: Ns,
    pub labels: Labels,
    pub annotations: Labels,
}

/// What the evaluator reads from a stream, with indexes that keep each flow's lookups
/// from reading every object: a flow's cost must not grow with the stream.
pub struct Cluster<'a> {
    pub objects: Vec<Object<'a>>,
    pub pods: Vec<Pod>,
    pub services: Vec<Service>,
    namespaces: BTreeMap<String, (Labels, Labels)>,
    /// The objects of each `(group, kind)`, in stream order.
    kinds: HashMap<(&'a str, &'a str), Vec<usize>>,
    /// The pod of each `(kind, namespace, name)`: the first in stream order.
    pod_at: HashMap<(String, Ns, String), usize>,
    /// The objects of the kinds in [`SELECTORS`], by their selector.
    selecting: HashMap<(&'static str, &'static str), ByFirstLabel>,
    /// The Services, by their selector.
    services_by: ByFirstLabel,
}

/// The kinds whose objects apply to the pods their label selector selects, and where the
/// selector's `matchLabels` are.
const SELECTORS: [(&str, &str, [&str; 3]); 4] = [
    (
        "security.istio.io",
        "AuthorizationPolicy",
        ["spec", "selector", "matchLabels"],
    ),
    (
        "security.istio.io",
        "PeerAuthentication",
        ["spec", "selector", "matchLabels"],
    ),
    (
        "networking.k8s.io",
        "NetworkPolicy",
        ["spec", "podSelector", "matchLabels"],
    ),
    (
        "policy.linkerd.io",
        "Server",
        ["spec", "podSelector", "matchLabels"],
    ),
];

/// Items filed under the first `(key, value)` of their selector's labels, or under
/// `always` without one. Labels a selector requires must all be there, so the items that
/// may select a set of labels are `always` and those filed under one of its pairs. The
/// callers still apply the whole selector: this only leaves out what cannot match.
#[derive(Default)]
struct ByFirstLabel {
    always: Vec<usize>,
    /// Key, then value: looked up with borrowed labels, allocating nothing per flow.
    by_pair: HashMap<String, HashMap<String, Vec<usize>>>,
}

impl ByFirstLabel {
    fn file(&mut self, item: usize, selector: &Labels) {
        match selector.iter().next() {
            Some((k, v)) => self
                .by_pair
                .entry(k.clone())
                .or_default()
                .entry(v.clone())
                .or_default()
                .push(item),
            None => self.always.push(item),
        }
    }

    /// The items that may select `labels`, in the order they were filed.
    fn candidates(&self, labels: &Labels) -> Vec<usize> {
        let mut found = self.always.clone();
        for (k, v) in labels {
            if let Some(items) = self.by_pair.get(k).and_then(|values| values.get(v)) {
                found.extend_from_slice(items);
            }
        }
        found.sort_unstable();
        found
    }
}

impl<'a> Cluster<'a> {
    /// The objects of the parsed documents that `keep` accepts.
    pub fn read(
        roots: &'a [Node<'a>],
        release: &Ns,
        keep: impl Fn(&Object) -> bool,
    ) -> Cluster<'a> {
        let mut objects = objects(roots, release);
        objects.retain(|o| keep(o));
        let pods: Vec<Pod> = objects.iter().filter_map(pod).collect();
        let services: Vec<Service> = objects
            .iter()
            .filter(|o| o.is("", "Service"))
            .map(Service::read)
            .collect();
        let namespaces = objects
            .iter()
            .filter(|o| o.is("", "Namespace"))
            .map(|o| (o.name.to_string(), (o.labels(), o.annotations())))
            .collect();
        let mut kinds: HashMap<_, Vec<usize>> = HashMap::new();
        for (i, o) in objects.iter().enumerate() {
            kinds.entry((o.group, o.kind)).or_default().push(i);
        }
        let mut pod_at = HashMap::new();
        for (i, p) in pods.iter().enumerate() {
            pod_at
                .entry((p.kind.clone(), p.namespace.clone(), p.name.clone()))
                .or_insert(i);
        }
        let mut selecting = HashMap::new();
        for (group, kind, path) in SELECTORS {
            let mut index = ByFirstLabel::default();
            for &i in kinds.get(&(group, kind)).into_iter().flatten() {
                index.file(i, &string_map(objects[i].node.at(&path)));
            }
            selecting.insert((group, kind), index);
        }
        let mut services_by = ByFirstLabel::default();
        for (i, s) in services.iter().enumerate() {
            services_by.file(i, &s.selector);
        }
        Cluster {
            objects,
            pods,
            services,
            namespaces,
            kinds,
            pod_at,
            selecting,
            services_by,
        }
    }

    /// The objects of one kind, in any served version of its group.
    pub fn all(
        &self,
        group: &'static str,
        kind: &'static str,
    ) -> impl Iterator<Item = &Object<'a>> {
        self.kinds
            .get(&(group, kind))
            .into_iter()
            .flatten()
            .map(|&i| &self.objects[i])
    }

    /// The objects of one of the kinds in [`SELECTORS`] that may select pods with
    /// `labels`, in stream order: those whose `matchLabels` it holds, and those without
    /// (which may select by expressions, or select everything). The caller applies the
    /// whole selector.
    pub fn selecting(
        &self,
        group: &'static str,
        kind: &'static str,
        labels: &Labels,
    ) -> impl Iterator<Item = &Object<'a>> {
        let index = self
            .selecting
            .get(&(group, kind))
            .expect("a kind in SELECTORS");
        index
            .candidates(labels)
            .into_iter()
            .map(|i| &self.objects[i])
    }

    /// The pods of the workload of this kind, namespace and name.
    pub fn pod(&self, kind: &str, namespace: &Ns, name: &str) -> Option<&Pod> {
        self.pod_at
            .get(&(kind.to_string(), namespace.clone(), name.to_string()))
            .map(|&i| &self.pods[i])
    }

    /// The object of a kind with this namespace and name.
    pub fn find(
        &self,
        group: &'static str,
        kind: &'static str,
        ns: &Ns,
        name: &str,
    ) -> Option<&Object<'a>> {
        self.all(group, kind)
            .find(|o| &o.namespace == ns && o.name == name)
    }

    pub fn namespace(&self, ns: &Ns) -> Namespace {
        let Some(name) = ns else {
            return Namespace::default();
        };
        let (mut labels, annotations) = self.namespaces.get(name).cloned().unwrap_or_default();
        labels.insert("kubernetes.io/metadata.name".into(), name.clone());
        Namespace {
            name: ns.clone(),
            labels,
            annotations,
        }
    }

    /// The Services that select `pod` and reach its port `number`, with those ports.
    pub fn services_to(&self, pod: &Pod, number: u16) -> Vec<(&Service, Vec<u16>)> {
        self.services_by
            .candidates(&pod.labels)
            .into_iter()
            .map(|i| &self.services[i])
            .map(|s| (s, s.ports_to(pod, number)))
            .filter(|(_, ports)| !ports.is_empty())
            .collect()
    }
}

/// Whether a `metav1.LabelSelector` (`matchLabels` and `matchExpressions`) selects these
/// labels; `{}` selects everything.
/// https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#resources-that-support-set-based-requirements
pub fn selects(selector: &Node, labels: &Labels) -> bool {
    let by_labels = string_map(selector.get("matchLabels"))
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v));
    let expressions = selector
        .get("matchExpressions")
        .and_then(Node::items)
        .unwrap_or_default();
    by_labels
        && expressions.iter().all(|e| {
            let key = e.get("key").and_then(Node::scalar).unwrap_or("");
            // Read in place: an `In` list can name every workload of a component.
            let values = e.get("values").and_then(Node::items).unwrap_or_default();
            let listed = |v: &String| values.iter().any(|n| n.scalar() == Some(v.as_str()));
            let value = labels.get(key);
            match e.get("operator").and_then(Node::scalar) {
                Some("In") => value.is_some_and(listed),
                Some("NotIn") => value.is_none_or(|v| !listed(v)),
                Some("Exists") => value.is_some(),
                Some("DoesNotExist") => value.is_none(),
                _ => false,
            }
        })
}

/// The label values a selector names for `key` (to try an unknown namespace name
/// against).
pub fn selector_values(selector: &Node, key: &str) -> Vec<String> {
    let mut out: Vec<String> = string_map(selector.get("matchLabels"))
        .into_iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v)
        .collect();
    for e in selector
        .get("matchExpressions")
        .and_then(Node::items)
        .unwrap_or_default()
    {
        if e.get("key").and_then(Node::scalar) == Some(key) {
            out.extend(strings(e.get("values")));
        }
    }
    out
}

/// True for a selector with no requirement (`{}`).
pub fn selector_is_empty(selector: &Node) -> bool {
    let empty = |key| {
        selector.get(key).is_none_or(|n| {
            n.is_null()
                || n.entries().is_some_and(<[_]>::is_empty)
                || n.items().is_some_and(<[_]>::is_empty)
        })
    };
    empty("matchLabels") && empty("matchExpressions")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(yaml: &str, release: Ns, f: impl FnOnce(&Cluster)) {
        let roots = parse(yaml);
        let cluster = Cluster::read(&roots, &release, |_| true);
        f(&cluster);
    }

    #[test]
    fn lists_and_resource_lists_are_flattened_and_named_list_kinds_are_objects() {
        let yaml = "\
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Service, metadata: {name: a}}
- {apiVersion: example.com/v1, kind: AllowList, metadata: {name: c}, items: [{kind: Service, metadata: {name: d}}]}
---
apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- {apiVersion: v1, kind: Service, metadata: {name: b, namespace: x}}
functionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: fc}}
---
";
        read(yaml, Some("rel".into()), |c| {
            let names: Vec<_> = c.objects.iter().map(|o| o.id()).collect();
            assert_eq!(names, ["Service rel/a", "AllowList rel/c", "Service x/b"]);
        });
    }

    /// The index leaves out only what cannot select: every NetworkPolicy whose selector
    /// selects the labels is among the candidates, in stream order.
    #[test]
    fn selecting_keeps_every_object_that_selects_in_order() {
        let np = |name: &str, selector: &str| {
            format!(
                "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}}}\nspec: {{podSelector: {selector}}}\n"
            )
        };
        let yaml: String = [
            np("all", "{}"),
            np("app-a", "{matchLabels: {app: a}}"),
            np("app-b", "{matchLabels: {app: b}}"),
            np("two", "{matchLabels: {app: a, tier: x}}"),
            np("two-miss", "{matchLabels: {app: a, tier: y}}"),
            np(
                "expr",
                "{matchExpressions: [{key: app, operator: In, values: [a, c]}]}",
            ),
            np("tier", "{matchLabels: {tier: x}}"),
        ]
        .concat();
        read(&yaml, None, |c| {
            let labels: Labels = [("app", "a"), ("tier", "x")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into();
            let candidates: Vec<&str> = c
                .selecting("networking.k8s.io", "NetworkPolicy", &labels)
                .map(|o| o.name)
                .collect();
            let selecting: Vec<&str> = c
                .all("networking.k8s.io", "NetworkPolicy")
                .filter(|o| selects(o.spec().unwrap().get("podSelector").unwrap(), &labels))
                .map(|o| o.name)
                .collect();
            assert_eq!(selecting, ["all", "app-a", "two", "expr", "tier"]);
            assert_eq!(
                candidates,
                ["all", "app-a", "two", "two-miss", "expr", "tier"]
            );
        });
    }

    /// https://kubernetes.io/docs/concepts/workloads/pods/#pod-templates
    #[test]
    fn pod_templates_of_each_kind() {
        let yaml = "\
apiVersion: batch/v1
kind: CronJob
metadata: {name: cj, namespace: n}
spec:
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: cj}}
        spec:
          serviceAccountName: runner
          hostNetwork: yes
          containers:
          - name: c
            ports: [{name: http, containerPort: 8080}, {containerPort: 53, protocol: UDP}]
            readinessProbe: {httpGet: {port: http, scheme: HTTPS}}
            livenessProbe: {tcpSocket: {port: 8080}}
            startupProbe: {exec: {command: [true]}}
---
apiVersion: v1
kind: Pod
metadata: {name: p, annotations: {a: b}}
spec:
  hostNetwork: \"true\"
  containers: [{name: c, readinessProbe: {grpc: {port: 9000}}}]
";
        read(yaml, None, |c| {
            let cj = &c.pods[0];
            assert_eq!(cj.label(), "cronjob n/cj");
            assert_eq!(cj.service_account, "runner");
            assert!(cj.host_network, "YAML 1.1 `yes` is true");
            assert_eq!(cj.labels["app"], "cj");
            assert_eq!(cj.port_name(8080), Some("http"));
            assert_eq!(cj.ports[1].protocol, "UDP");
            let kinds: Vec<_> = cj.probes_on(8080).map(|p| p.kind).collect();
            assert_eq!(kinds, [ProbeKind::Tcp, ProbeKind::Https]);
            let pod = &c.pods[1];
            assert_eq!(pod.namespace, None);
            assert!(!pod.host_network, "a quoted \"true\" is not a boolean");
            assert_eq!(pod.service_account, "default");
            assert_eq!(pod.probes[0].kind, ProbeKind::Grpc);
        });
    }

    /// https://prometheus-operator.dev/docs/api-reference/api/,
    /// https://github.com/open-telemetry/opentelemetry-operator/blob/main/docs/api/opentelemetrycollectors.md
    #[test]
    fn operator_resources_run_the_operators_pods() {
        let yaml = "\
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: k8s, namespace: mon}
spec:
  podMetadata: {labels: {team: a}, annotations: {x: y}}
  thanos: {}
---
apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata: {name: main, namespace: mon}
spec: {serviceAccountName: am, portName: http-web}
---
apiVersion: opentelemetry.io/v1beta1
kind: OpenTelemetryCollector
metadata: {name: otel, namespace: obs, labels: {team: b}}
spec: {mode: sidecar, podAnnotations: {p: q}}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
";
        read(yaml, None, |c| {
            let prom = &c.pods[0];
            assert_eq!(prom.labels["app.kubernetes.io/name"], "prometheus");
            assert_eq!(prom.labels["app.kubernetes.io/instance"], "k8s");
            assert_eq!(prom.labels["team"], "a");
            assert_eq!(prom.annotations["x"], "y");
            assert_eq!(prom.service_account, "default");
            assert_eq!(prom.port_name(9090), Some("web"));
            assert_eq!(prom.port_name(10901), Some("grpc"));
            let am = &c.pods[1];
            assert_eq!(am.service_account, "am");
            assert_eq!(am.port_name(9093), Some("http-web"));
            assert!(
                am.ports
                    .iter()
                    .any(|p| p.number == 9094 && p.protocol == "UDP")
            );
            let otel = &c.pods[2];
            assert_eq!(otel.labels["app.kubernetes.io/instance"], "obs.otel");
            assert_eq!(otel.labels["team"], "b");
            assert_eq!(otel.service_account, "otel-collector");
            assert!(!otel.runs_pods);
            assert_eq!(
                c.pods.len(),
                3,
                "an unknown operator's resource runs no known pods"
            );
        });
    }

    /// https://kubernetes.io/docs/concepts/services-networking/service/#defining-a-service
    #[test]
    fn k8s_svc_1_target_port_defaults_to_port_and_may_name_a_container_port() {
        let yaml = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: n}
spec:
  template:
    metadata: {labels: {app: d}}
    spec: {containers: [{name: c, ports: [{name: web, containerPort: 3000}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: n}
spec:
  selector: {app: d}
  ports: [{port: 80, targetPort: web}, {port: 3000}, {port: 81, targetPort: 3000}, {port: 82, targetPort: 9}]
";
        read(yaml, None, |c| {
            let pod = &c.pods[0];
            let found = c.services_to(pod, 3000);
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].1, [80, 3000, 81]);
        });
    }

    #[test]
    fn label_selectors() {
        let roots = parse(
            "{matchLabels: {a: '1'}, matchExpressions: [{key: b, operator: NotIn, values: ['2']}, {key: c, operator: Exists}]}",
        );
        let sel = &roots[0];
        let labels = |pairs: &[(&str, &str)]| -> Labels {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(selects(sel, &labels(&[("a", "1"), ("c", "")])));
        assert!(!selects(sel, &labels(&[("a", "1"), ("b", "2"), ("c", "")])));
        assert!(!selects(sel, &labels(&[("a", "1")])));
        assert_eq!(selector_values(sel, "b"), ["2"]);
        assert!(!selector_is_empty(sel));
        let empty = parse("{matchLabels: {}}");
        assert!(selector_is_empty(&empty[0]));
        assert!(selects(&empty[0], &Labels::new()));
    }
}
