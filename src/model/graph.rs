//! The traffic graph of a stack: who calls whom, on which port, and how we know.
//!
//! Nodes are the workloads of the stream (operator resources standing for their pods) and
//! the callers outside the mesh: the kube-apiserver (admission and conversion webhooks,
//! aggregated APIs), the kubelet (probes), ingress gateways and any workload of the cluster.
//! Edges are the flows the stack needs, each with the container port it reaches, its
//! protocol and the evidence it came from: read from the stream (a webhook configuration, a
//! ServiceMonitor, a datasource URL), or inferred from the catalog's defaults.

use serde::Serialize;

/// One end of a flow.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Party {
    /// A workload of the stream, or an operator resource standing for its pods. A workload
    /// without `metadata.namespace` is in the release namespace (`namespace: None`).
    Workload {
        kind: String,
        namespace: Option<String>,
        name: String,
    },
    /// The Kubernetes API server, which is never in the mesh.
    ApiServer,
    /// The kubelet on the pod's node, which sends probes and is never in the mesh.
    Kubelet,
    /// An ingress gateway's identity.
    Ingress {
        namespace: String,
        service_account: String,
    },
    /// Any workload of the cluster, meshed or not (applications that send telemetry).
    AnyWorkload,
}

impl Party {
    /// `deployment monitoring/grafana`, `kube-apiserver`, `kubelet`, `ingress
    /// istio-system/istio-ingressgateway-service-account`, `any workload`.
    pub fn label(&self) -> String {
        match self {
            Party::Workload {
                kind,
                namespace,
                name,
            } => match namespace {
                Some(ns) => format!("{} {ns}/{name}", kind.to_lowercase()),
                None => format!("{} {name}", kind.to_lowercase()),
            },
            Party::ApiServer => "kube-apiserver".into(),
            Party::Kubelet => "kubelet".into(),
            Party::Ingress {
                namespace,
                service_account,
            } => format!("ingress {namespace}/{service_account}"),
            Party::AnyWorkload => "any workload".into(),
        }
    }

    /// True for the callers that are never in the mesh and carry no mesh identity.
    pub fn outside_mesh(&self) -> bool {
        matches!(self, Party::ApiServer | Party::Kubelet)
    }
}

/// What a flow carries, as far as the meshes care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Http,
    Grpc,
    /// TLS the application terminates itself (webhooks, kube-rbac-proxy, HTTPS metrics).
    Tls,
    /// Other TCP: gossip, memcached, server-first protocols, or not known.
    Tcp,
    Udp,
}

/// Where an edge was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Found {
    /// Read from the stream: a webhook configuration, a ServiceMonitor, a URL in a config.
    Read,
    /// The catalog's default flows between components (no config could be read).
    Inferred,
}

/// How a scraper or alert sender configures the client side of a flow, when an object of the
/// stream does: the evaluator reads that object's TLS settings in the output.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind")]
pub enum Via {
    /// `ServiceMonitor namespace/name`, `spec.endpoints[endpoint]`.
    ServiceMonitor {
        namespace: Option<String>,
        name: String,
        endpoint: usize,
    },
    /// `PodMonitor namespace/name`, `spec.podMetricsEndpoints[endpoint]`.
    PodMonitor {
        namespace: Option<String>,
        name: String,
        endpoint: usize,
    },
    /// A `Prometheus` resource's `spec.alerting.alertmanagers[endpoint]`.
    Alerting {
        namespace: Option<String>,
        name: String,
        endpoint: usize,
    },
}

/// One flow the stack needs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Edge {
    pub from: Party,
    /// Always a [`Party::Workload`].
    pub to: Party,
    /// The container (target) port the flow reaches: what the meshes and NetworkPolicies
    /// match on.
    pub port: u16,
    /// The container port's name, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_name: Option<String>,
    pub protocol: Protocol,
    pub found: Found,
    /// Why the flow exists, naming the object it was read from.
    pub evidence: String,
    /// The object that configures the caller's side, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    /// For a kubelet probe: `httpGet` with scheme HTTP, which the meshes' probe handling
    /// covers (Istio's probe rewrite, Linkerd's default probe routes), with its path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe_path: Option<String>,
}

/// A node of the graph: a party and what is known of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    pub party: Party,
    /// The catalog component of a workload, when recognised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// A workload the filter puts in (or finds in) the mesh.
    pub in_mesh: bool,
}

/// The traffic graph.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// What the generated policies do to a flow, as the evaluator of mesh semantics finds it in
/// the emitted YAML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum Verdict {
    /// Every layer lets it through; `by` names what admits it at each layer that applies
    /// (`NetworkPolicy monitoring/grafana-ingress`, `no AuthorizationPolicy applies`, …).
    Allowed { by: Vec<String> },
    /// A layer stops it: the resource (`PeerAuthentication monitoring/default`) and the rule
    /// (with the semantic rule's id, such as `ISTIO-PA-5: STRICT rejects plaintext`).
    Denied { resource: String, rule: String },
    /// The outcome depends on something the manifests do not say (a CNI, an IP address, an
    /// external authorizer).
    Unknown { why: String },
}
