//! An evaluator of mesh semantics: given the emitted YAML and the flows the stack needs,
//! whether each flow is allowed, denied (by which resource and rule) or unknown under the
//! generated and existing policies. It reads the output stream itself, with its own reader
//! of pods and policies, and implements the upstream rules independently of the code that
//! generates the policies (see docs/ARCHITECTURE.md).
//!
//! The rules and their ids (`ISTIO-PA-5`, `LINKERD-SRV-2`, `K8S-NP-1`, …) are those of the
//! rule specification (`notes/semantics.md`); each is cited where it is implemented. A flow
//! goes through the layers in the specification's order (§0): NetworkPolicy on the port as
//! it arrives (`netpol`), then the mesh's capture, client transport, peer authentication
//! and authorization (`istio`, `authz`, `linkerd`). The first layer that denies decides;
//! otherwise any layer that cannot decide makes the flow unknown.

mod authz;
mod cidr;
mod istio;
mod linkerd;
mod netpol;
mod objects;
mod parties;

use crate::model::graph::{Edge, Protocol, Verdict};
use crate::model::mesh::Mesh;
use objects::{Cluster, Namespace, Pod};
use parties::{Caller, Dataplane};

/// What the evaluator assumes about the cluster, beyond the manifests.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The mesh the stream is in.
    pub mesh: Mesh,
    /// The namespace of objects that name none (`--namespace`), if known.
    pub release_namespace: Option<String>,
    /// Istio's root namespace (`meshConfig.rootNamespace`).
    pub istio_root_namespace: String,
    /// Istio's trust domain (`meshConfig.trustDomain`).
    pub trust_domain: String,
    /// Istio rewrites HTTP, TCP and gRPC probes to the sidecar agent (the install default).
    pub istio_probe_rewrite: bool,
    /// Linkerd's cluster-wide default inbound policy (`proxy.defaultInboundPolicy`).
    pub linkerd_default_policy: String,
    /// Linkerd's `clusterNetworks`.
    pub linkerd_cluster_networks: Vec<String>,
    /// Linkerd's `policyController.probeNetworks`.
    pub linkerd_probe_networks: Vec<String>,
    /// The networks the kube-apiserver's connections come from, if known.
    pub api_server_networks: Option<Vec<String>>,
}

/// The verdict for each edge, in order.
#[cfg_attr(
    not(test),
    allow(
        dead_code,
        reason = "the pipeline calls it once the traffic graph is wired in"
    )
)]
pub fn evaluate(output: &str, edges: &[Edge], settings: &Settings) -> Vec<Verdict> {
    let roots = objects::parse(output);
    let cluster = Cluster::read(&roots, &settings.release_namespace);
    edges
        .iter()
        .map(|edge| match Flow::new(&cluster, edge, settings) {
            Ok(flow) => flow.evaluate(),
            Err(why) => Verdict::Unknown { why },
        })
        .collect()
}

/// A three-valued answer: a rule matches, does not, or the manifests do not say (and why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tri {
    Yes,
    No,
    Unknown(String),
}

impl Tri {
    pub fn of(b: bool) -> Tri {
        if b { Tri::Yes } else { Tri::No }
    }

    pub fn and(self, other: impl FnOnce() -> Tri) -> Tri {
        match self {
            Tri::No => Tri::No,
            Tri::Yes => other(),
            Tri::Unknown(why) => match other() {
                Tri::No => Tri::No,
                _ => Tri::Unknown(why),
            },
        }
    }

    pub fn or(self, other: impl FnOnce() -> Tri) -> Tri {
        match self {
            Tri::Yes => Tri::Yes,
            Tri::No => other(),
            Tri::Unknown(why) => match other() {
                Tri::Yes => Tri::Yes,
                _ => Tri::Unknown(why),
            },
        }
    }

    pub fn not(self) -> Tri {
        match self {
            Tri::Yes => Tri::No,
            Tri::No => Tri::Yes,
            unknown => unknown,
        }
    }

    /// Yes if any is; No if all are No (and for none).
    pub fn any(items: impl IntoIterator<Item = Tri>) -> Tri {
        items.into_iter().fold(Tri::No, |acc, t| acc.or(|| t))
    }

    /// No if any is; Yes if all are Yes (and for none).
    pub fn all(items: impl IntoIterator<Item = Tri>) -> Tri {
        items.into_iter().fold(Tri::Yes, |acc, t| acc.and(|| t))
    }
}

/// What the layers found for one flow, in order: the first denial, else the first unknown,
/// else everything that admitted it.
#[derive(Debug, Default)]
pub struct Trace {
    by: Vec<String>,
    denied: Option<(String, String)>,
    unknown: Option<String>,
}

impl Trace {
    pub fn pass(&mut self, why: impl Into<String>) {
        self.by.push(why.into());
    }

    pub fn deny(&mut self, resource: impl Into<String>, rule: impl Into<String>) {
        if self.denied.is_none() {
            self.denied = Some((resource.into(), rule.into()));
        }
    }

    pub fn unknown(&mut self, why: impl Into<String>) {
        if self.unknown.is_none() {
            self.unknown = Some(why.into());
        }
    }

    pub fn denied(&self) -> bool {
        self.denied.is_some()
    }

    /// Folds a layer evaluated on its own into this one.
    pub fn append(&mut self, other: Trace) {
        self.by.extend(other.by);
        if let Some((resource, rule)) = other.denied {
            self.deny(resource, rule);
        }
        if let Some(why) = other.unknown {
            self.unknown(why);
        }
    }

    /// A denial that another fact may overturn (an UNCONFIRMED rule, a caller that may be
    /// on the pod's node) becomes unknown.
    pub fn denial_unknown(mut self, why: &str) -> Trace {
        if let Some((resource, rule)) = self.denied.take() {
            self.unknown(format!("{why} (otherwise denied by {resource}: {rule})"));
        }
        self
    }

    fn verdict(self) -> Verdict {
        match (self.denied, self.unknown) {
            (Some((resource, rule)), _) => Verdict::Denied { resource, rule },
            (None, Some(why)) => Verdict::Unknown { why },
            (None, None) => Verdict::Allowed { by: self.by },
        }
    }
}

/// One edge with both ends read from the stream.
pub struct Flow<'c, 'a> {
    pub cluster: &'c Cluster<'a>,
    pub settings: &'c Settings,
    pub edge: &'c Edge,
    pub caller: Caller<'c>,
    pub dest: &'c Pod,
    pub dest_ns: Namespace,
    pub dest_plane: Dataplane,
}

impl<'c, 'a> Flow<'c, 'a> {
    fn new(
        cluster: &'c Cluster<'a>,
        edge: &'c Edge,
        settings: &'c Settings,
    ) -> Result<Self, String> {
        let dest = parties::workload(cluster, &edge.to, settings)?;
        let caller = parties::caller(cluster, &edge.from, settings)?;
        let dest_ns = cluster.namespace(&dest.namespace);
        let dest_plane = parties::dataplane(dest, &dest_ns, &settings.mesh);
        Ok(Flow {
            cluster,
            settings,
            edge,
            caller,
            dest,
            dest_ns,
            dest_plane,
        })
    }

    /// The container (target) port.
    pub fn port(&self) -> u16 {
        self.edge.port
    }

    /// The container port's name: the edge's, else the destination pod's.
    pub fn port_name(&self) -> Option<&str> {
        self.edge
            .port_name
            .as_deref()
            .or_else(|| self.dest.port_name(self.port()))
    }

    pub fn udp(&self) -> bool {
        self.edge.protocol == Protocol::Udp
    }

    /// HTTP (or gRPC) as the proxies see it, not TLS the application terminates.
    pub fn http(&self) -> bool {
        matches!(self.edge.protocol, Protocol::Http | Protocol::Grpc)
    }

    /// `kube-apiserver → deployment monitoring/webhook:9443`.
    pub fn describe(&self) -> String {
        format!(
            "{} → {}:{}",
            self.caller.label,
            self.dest.label(),
            self.port()
        )
    }

    fn evaluate(&self) -> Verdict {
        let mut trace = Trace::default();
        let wire = match self.settings.mesh {
            Mesh::Istio { .. } => istio::wire_port(self),
            Mesh::Linkerd => linkerd::wire_port(self),
        };
        netpol::check(self, wire, &mut trace);
        if !trace.denied() {
            match self.settings.mesh {
                Mesh::Istio { .. } => istio::check(self, &mut trace),
                Mesh::Linkerd => linkerd::check(self, &mut trace),
            }
        }
        trace.verdict()
    }
}

/// Comma-separated port numbers, as the mesh annotations list them (`25,443`, and
/// Linkerd's ranges `4190-4191`).
fn port_list(text: &str) -> Vec<(u16, u16)> {
    text.split(',')
        .filter_map(|item| {
            let item = item.trim();
            match item.split_once('-') {
                Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
                None => item.parse().ok().map(|p| (p, p)),
            }
        })
        .collect()
}

fn in_ports(text: &str, port: u16) -> bool {
    port_list(text)
        .iter()
        .any(|&(a, b)| (a..=b).contains(&port))
}

#[cfg(test)]
pub(crate) mod testing;
