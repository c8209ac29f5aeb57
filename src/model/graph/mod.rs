//! The traffic graph of a stack: who calls whom, on which port, and how we know.
//!
//! Nodes are the workloads of the stream (operator resources standing for their pods) and
//! the callers outside the mesh: the kube-apiserver (admission and conversion webhooks,
//! aggregated APIs), the kubelet (probes), ingress gateways and any workload of the cluster.
//! Edges are the flows the stack needs, each with the container port it reaches, its
//! protocol and the evidence it came from: read from the stream (a webhook configuration, a
//! ServiceMonitor, a datasource URL), or inferred from the catalog's defaults.

mod callers;
pub mod flows;
mod scrapes;
mod services;

pub use services::selects;
mod urls;

use super::mesh::Mesh;
use super::object::Object;
use super::ports::{self, Port};
use super::stack::{Service, Stack};
use super::workload::{Probe, Workload};
use flows::{Flow, Source};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

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
    /// Named by the config (`authorization.allow`, `authorization.ingress`).
    Configured,
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
    /// The index of that object among the objects the graph was built from.
    #[serde(skip)]
    pub via_object: Option<usize>,
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
    /// The workloads whose configuration was read in full (a Prometheus and its scrape
    /// configs): their flows are the ones read, with no defaults beside them.
    #[serde(skip)]
    pub read: Vec<Party>,
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

/// The pods of one workload of the stream, as the graph sees them.
#[derive(Debug, Clone)]
pub struct Pods {
    pub party: Party,
    /// Index into the objects the graph is built from.
    pub object: usize,
    pub component: Option<String>,
    /// Put in (or found in) the mesh by the filter.
    pub in_mesh: bool,
    /// Every label the pods carry that the stream shows.
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub ports: Vec<Port>,
    pub probes: Vec<Probe>,
    pub service_account: String,
    /// A Helm hook or test pod: it runs only while a release is installed or tested.
    pub hook: bool,
}

impl Pods {
    /// The pods of workload `w` (object `object`), in `namespace` (its own or the release
    /// namespace, if known).
    pub fn of(
        object: usize,
        w: &Workload,
        namespace: Option<&str>,
        component: Option<&str>,
        in_mesh: bool,
    ) -> Pods {
        Pods {
            party: Party::Workload {
                kind: w.kind.clone(),
                namespace: namespace.map(str::to_string),
                name: w.name.clone(),
            },
            object,
            component: component.map(str::to_string),
            in_mesh,
            labels: w
                .pod_labels
                .iter()
                .chain(&w.selector)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            annotations: w.pod_annotations.clone(),
            ports: w.ports.clone(),
            probes: w.probes.clone(),
            service_account: w
                .service_account
                .clone()
                .unwrap_or_else(|| "default".into()),
            hook: w.is_hook(),
        }
    }

    pub fn namespace(&self) -> Option<&str> {
        match &self.party {
            Party::Workload { namespace, .. } => namespace.as_deref(),
            _ => None,
        }
    }
}

/// What the graph is built from.
pub struct Sources<'s, 'a> {
    pub objects: &'s [Object<'a>],
    pub pods: &'s [Pods],
    pub services: &'s [Service],
    /// The namespace of objects that name none, if known.
    pub release: Option<&'s str>,
    pub mesh: &'s Mesh,
    /// Istio merges the application's metrics into the agent's (`enablePrometheusMerge`,
    /// on unless the config turns it off).
    pub merge_metrics: bool,
}

impl Graph {
    /// The flows read from the stream: the kube-apiserver's, the kubelet's, Prometheus's
    /// scrapes and alerts, and those the workloads' configurations name.
    pub fn build(src: &Sources) -> Graph {
        let mut edges = Vec::new();
        let mut read = Vec::new();
        callers::api_server(src, &mut edges);
        callers::kubelet(src, &mut edges);
        let cms = urls::ConfigMaps::index(src);
        scrapes::prometheus(src, &cms, &mut edges, &mut read);
        urls::named(src, &cms, &mut edges);
        // A hook or test pod outside the mesh (`hooks: skip`) calls without an identity only
        // while Helm runs it: not a flow the running stack needs.
        let passing: HashSet<&Party> = src
            .pods
            .iter()
            .filter(|p| p.hook && !p.in_mesh)
            .map(|p| &p.party)
            .collect();
        edges.retain(|e| !passing.contains(&e.from));
        let edges = merge(edges);
        let mut nodes: Vec<Node> = src
            .pods
            .iter()
            .map(|p| Node {
                party: p.party.clone(),
                component: p.component.clone(),
                in_mesh: p.in_mesh,
            })
            .collect();
        for caller in [Party::ApiServer, Party::Kubelet] {
            if edges.iter().any(|e| e.from == caller) {
                nodes.push(Node {
                    party: caller,
                    component: None,
                    in_mesh: false,
                });
            }
        }
        Graph { nodes, edges, read }
    }

    /// The components all of whose workloads in the mesh had their configuration read.
    pub fn read_components(&self, pods: &[Pods]) -> Vec<String> {
        let mut components: Vec<String> = pods
            .iter()
            .filter(|p| p.in_mesh && self.read.contains(&p.party))
            .filter_map(|p| p.component.clone())
            .collect();
        components.sort();
        components.dedup();
        components.retain(|c| {
            pods.iter()
                .filter(|p| p.in_mesh && p.component.as_deref() == Some(c))
                .all(|p| self.read.contains(&p.party))
        });
        components
    }

    /// The read flows between workloads in the mesh, as component flows: `(from, to, why)`.
    /// A hook or test pod in the mesh (`hooks: inject`) calls as its own ServiceAccount.
    pub fn component_flows(&self, pods: &[Pods]) -> Vec<(Source, String, String)> {
        let mut members: HashMap<&Party, &Pods> = HashMap::new();
        for p in pods.iter().filter(|p| p.in_mesh) {
            members.entry(&p.party).or_insert(p);
        }
        let member = |party: &Party| members.get(party).copied();
        let mut out: Vec<(Source, String, String)> = Vec::new();
        let mut seen: HashSet<(Source, String)> = HashSet::new();
        for e in &self.edges {
            let (Some(from), Some(to)) = (member(&e.from), member(&e.to)) else {
                continue;
            };
            let (Some(to), Some(c)) = (to.component.clone(), from.component.clone()) else {
                continue;
            };
            let source = match (from.hook, from.namespace()) {
                (false, _) => Source::Component(c),
                (true, Some(ns)) => Source::Account(ns.to_string(), from.service_account.clone()),
                (true, None) => continue,
            };
            if seen.insert((source.clone(), to.clone())) {
                out.push((source, to, e.evidence.clone()));
            }
        }
        out
    }

    /// Adds the configured and inferred component flows' edges: from each calling
    /// workload (or identity) to each serving workload of the target component, on the ports
    /// a Service of the stream exposes (all its declared TCP ports when none does). False,
    /// with the graph as it was, when that would make more than `limit` edges.
    pub fn add_flows(
        &mut self,
        flows: &[Flow],
        stack: &Stack,
        pods: &[Pods],
        release: Option<&str>,
        limit: usize,
    ) -> bool {
        let mut added = Vec::new();
        let mut known: HashSet<(Party, Party, u16, bool)> = self
            .edges
            .iter()
            .map(|e| {
                (
                    e.from.clone(),
                    e.to.clone(),
                    e.port,
                    e.protocol == Protocol::Udp,
                )
            })
            .collect();
        let mut in_mesh: HashSet<&Party> = HashSet::new();
        for p in pods.iter().filter(|p| p.in_mesh) {
            in_mesh.insert(&p.party);
        }
        let servers: HashSet<&str> = stack.servers().map(|m| m.name.as_str()).collect();
        // A flow read from the stream is there already, on the ports it was read with.
        for flow in flows.iter().filter(|f| f.found != Found::Read) {
            for target in pods
                .iter()
                .filter(|p| p.in_mesh && p.component.as_deref() == Some(flow.to.as_str()))
                .filter(|p| servers.contains(p.name()))
            {
                // The callers the policies admit into the target's namespace
                // ([`Stack::callers`]: one stack per namespace).
                let callers: Vec<Party> = match &flow.from {
                    Source::Component(c) => stack
                        .callers(c, target.namespace())
                        .into_iter()
                        .map(|m| Party::Workload {
                            kind: m.kind.clone(),
                            namespace: m.namespace.clone(),
                            name: m.name.clone(),
                        })
                        .filter(|party| in_mesh.contains(party))
                        .collect(),
                    Source::Account(ns, sa) => vec![Party::Ingress {
                        namespace: ns.clone(),
                        service_account: sa.clone(),
                    }],
                    Source::Any => vec![Party::AnyWorkload],
                    // Callers of other releases are not in the stream, nor in its graph.
                    Source::Namespace(_) | Source::OwnNamespace => Vec::new(),
                };
                let exposed: Vec<(u16, Option<String>, bool)> = stack
                    .services
                    .iter()
                    .flat_map(|s| services::through(s, None, std::slice::from_ref(target), release))
                    .map(|t| (t.port, t.port_name, t.udp))
                    .collect();
                let ports: Vec<(u16, Option<String>, bool)> = if exposed.is_empty() {
                    target
                        .ports
                        .iter()
                        .map(|p| (p.number, p.name.clone(), p.protocol == "UDP"))
                        .collect()
                } else {
                    exposed
                };
                for from in &callers {
                    for (port, port_name, udp) in &ports {
                        if !known.insert((from.clone(), target.party.clone(), *port, *udp)) {
                            continue;
                        }
                        if self.edges.len() + added.len() >= limit {
                            return false;
                        }
                        added.push(Edge {
                            from: from.clone(),
                            to: target.party.clone(),
                            port: *port,
                            port_name: port_name.clone(),
                            protocol: match ports::classify(&[*port], port_name.as_deref()) {
                                _ if *udp => Protocol::Udp,
                                ports::Proto::Grpc => Protocol::Grpc,
                                ports::Proto::Http => Protocol::Http,
                                _ => Protocol::Tcp,
                            },
                            found: flow.found,
                            evidence: flow.reason.clone(),
                            via: None,
                            via_object: None,
                            probe_path: None,
                        });
                    }
                }
            }
        }
        let mut present: HashSet<Party> = self.nodes.iter().map(|n| n.party.clone()).collect();
        for e in &added {
            for party in [&e.from, &e.to] {
                if present.insert(party.clone()) {
                    self.nodes.push(Node {
                        party: party.clone(),
                        component: None,
                        in_mesh: !matches!(party, Party::AnyWorkload),
                    });
                }
            }
        }
        self.edges.extend(added);
        self.edges.sort();
        self.edges.dedup();
        true
    }
}

/// One edge per caller, target, port and client configuration (`via`), in order: the first
/// one found, with the evidence of the others after its own. Flows through different client
/// configurations stay apart (a scrape and the alerts to one port), since each may send
/// differently.
fn merge(mut edges: Vec<Edge>) -> Vec<Edge> {
    let key = |e: &Edge| {
        (
            e.from.clone(),
            e.to.clone(),
            e.port,
            e.protocol == Protocol::Udp,
            e.via.clone(),
        )
    };
    edges.sort_by_key(key);
    let mut out: Vec<Edge> = Vec::with_capacity(edges.len());
    for e in edges {
        match out.last_mut() {
            Some(last) if key(last) == key(&e) => {
                if !last.evidence.split("; ").any(|x| x == e.evidence) {
                    last.evidence.push_str("; ");
                    last.evidence.push_str(&e.evidence);
                }
            }
            _ => out.push(e),
        }
    }
    out
}

impl Pods {
    fn name(&self) -> &str {
        match &self.party {
            Party::Workload { name, .. } => name,
            _ => "",
        }
    }
}
