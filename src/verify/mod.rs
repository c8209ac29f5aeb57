//! An evaluator of mesh semantics: given the emitted YAML and the flows the stack needs,
//! whether each flow is allowed, denied (by which resource and rule) or unknown under the
//! generated and existing policies. It reads the output stream itself, with its own reader
//! of pods and policies, and implements the upstream rules independently of the code that
//! generates the policies (see docs/ARCHITECTURE.md).
//!
//! The rules and their ids (`ISTIO-PA-5`, `LINKERD-SRV-2`, `K8S-NP-1`, …) are those of the
//! rule specification (`docs/mesh-semantics.md`); each is cited where it is implemented. A flow
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
use crate::model::stack::OWN_KEY;
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

impl Settings {
    /// The install defaults of both meshes, for `mesh`.
    pub fn new(mesh: Mesh) -> Settings {
        Settings {
            mesh,
            release_namespace: None,
            istio_root_namespace: "istio-system".into(),
            trust_domain: "cluster.local".into(),
            istio_probe_rewrite: true,
            linkerd_default_policy: "all-unauthenticated".into(),
            // The chart's `clusterNetworks`: every private IPv4 range and IPv6 ULA.
            linkerd_cluster_networks: [
                "10.0.0.0/8",
                "100.64.0.0/10",
                "172.16.0.0/12",
                "192.168.0.0/16",
                "fd00::/8",
            ]
            .map(String::from)
            .to_vec(),
            linkerd_probe_networks: vec!["0.0.0.0/0".into(), "::/0".into()],
            api_server_networks: None,
        }
    }
}

/// The verdict for each edge, in order.
#[cfg(test)]
pub fn evaluate(output: &str, edges: &[Edge], settings: &Settings) -> Vec<Verdict> {
    evaluate_needed(output, edges, |_| false, settings)
        .into_iter()
        .map(|v| v.expect("no edge is optional"))
        .collect()
}

/// The verdict for each edge, in order, or `None` for an edge that `optional` marks (a
/// flow the catalog guesses) and that the stream's own NetworkPolicies, those gunj-mesh
/// does not manage, stop on the application's port: the stream's authors closed that path,
/// so the stack does not need it.
pub fn evaluate_needed(
    output: &str,
    edges: &[Edge],
    optional: impl Fn(&Edge) -> bool,
    settings: &Settings,
) -> Vec<Option<Verdict>> {
    let roots = objects::parse(output);
    let release = &settings.release_namespace;
    let cluster = Cluster::read(&roots, release, |_| true);
    let theirs = edges.iter().any(&optional).then(|| {
        Cluster::read(&roots, release, |o| {
            !(o.is("networking.k8s.io", "NetworkPolicy") && o.annotations().contains_key(OWN_KEY))
        })
    });
    edges
        .iter()
        .map(|edge| {
            if let Some(theirs) = theirs.as_ref().filter(|_| optional(edge))
                && let Ok(flow) = Flow::new(theirs, edge, settings)
            {
                let mut trace = Trace::default();
                netpol::check(&flow, flow.port(), &mut trace);
                if trace.denied() {
                    return None;
                }
            }
            Some(match Flow::new(&cluster, edge, settings) {
                Ok(flow) => flow.evaluate(),
                Err(why) => Verdict::Unknown { why },
            })
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

#[cfg(test)]
mod tests {
    use super::testing::*;
    use crate::model::graph::{Found, Party, Protocol, Verdict};

    const SECURITY: &str = "security.istio.io/v1";

    fn monitoring(prometheus: &str) -> String {
        namespace("monitoring", "istio-injection: enabled")
            + &deployment("monitoring", "prometheus", "prometheus", 9090, prometheus)
            + &deployment("monitoring", "grafana", "grafana", 3000, "")
            + &deployment("monitoring", "webhook", "operator", 9443, "")
            + &service("monitoring", "prometheus", 9090, "http")
    }

    fn grafana_to_prometheus() -> crate::model::graph::Edge {
        edge(
            workload("Deployment", "monitoring", "grafana"),
            workload("Deployment", "monitoring", "prometheus"),
            9090,
        )
    }

    fn api_to_webhook() -> crate::model::graph::Edge {
        with_protocol(
            edge(
                Party::ApiServer,
                workload("Deployment", "monitoring", "webhook"),
                9443,
            ),
            Protocol::Tls,
        )
    }

    fn strict_and_allow_nothing() -> String {
        object(
            SECURITY,
            "PeerAuthentication",
            "monitoring",
            "default",
            "  mtls: {mode: STRICT}\n",
        ) + &object(
            SECURITY,
            "AuthorizationPolicy",
            "monitoring",
            "allow-nothing",
            "  {}\n",
        )
    }

    /// https://istio.io/latest/docs/concepts/security/#allow-nothing-deny-all-and-allow-all-policy
    #[test]
    fn end_to_end_meshed_grafana_reaches_prometheus_under_strict_allow_nothing_and_an_allow() {
        let yaml = monitoring("")
            + &strict_and_allow_nothing()
            + &object(
                SECURITY,
                "AuthorizationPolicy",
                "monitoring",
                "prometheus",
                "  selector: {matchLabels: {app: prometheus}}\n  rules: [{from: [{source: {principals: [cluster.local/ns/monitoring/sa/grafana]}}]}]\n",
            );
        let v = run(&yaml, grafana_to_prometheus(), &istio());
        assert_allowed(&v, "PeerAuthentication monitoring/default sets STRICT");
        assert_allowed(
            &v,
            "AuthorizationPolicy monitoring/prometheus rule 0 allows it",
        );
    }

    /// https://github.com/istio/istio/issues/39290
    #[test]
    fn end_to_end_the_apiserver_to_a_webhook_under_strict_is_denied_by_the_peer_authentication() {
        let yaml = monitoring("") + &strict_and_allow_nothing();
        let v = run(&yaml, api_to_webhook(), &istio());
        assert_eq!(
            v,
            Verdict::Denied {
                resource: "PeerAuthentication monitoring/default".into(),
                rule: "ISTIO-PA-5: STRICT rejects plaintext (its own TLS is not Istio mTLS) from \
                       kube-apiserver"
                    .into(),
            }
        );
    }

    /// https://istio.io/latest/docs/reference/config/security/peer_authentication/#PeerAuthentication
    #[test]
    fn rec_istio_1_a_port_level_permissive_and_a_port_rule_admit_the_apiserver() {
        let yaml = monitoring("")
            + &strict_and_allow_nothing()
            + &object(
                SECURITY,
                "PeerAuthentication",
                "monitoring",
                "webhook",
                "  selector: {matchLabels: {app: webhook}}\n  portLevelMtls: {\"9443\": {mode: PERMISSIVE}}\n",
            )
            + &object(
                SECURITY,
                "AuthorizationPolicy",
                "monitoring",
                "webhook",
                "  selector: {matchLabels: {app: webhook}}\n  rules: [{to: [{operation: {ports: [\"9443\"]}}]}]\n",
            );
        let v = run(&yaml, api_to_webhook(), &istio());
        assert_allowed(
            &v,
            "PeerAuthentication monitoring/webhook sets PERMISSIVE on port 9443",
        );
        assert_allowed(
            &v,
            "AuthorizationPolicy monitoring/webhook rule 0 allows it",
        );
    }

    /// https://linkerd.io/2-edge/reference/authorization-policy/#networkauthentication
    #[test]
    fn rec_linkerd_1_a_network_authentication_admits_the_apiserver() {
        let yaml = "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: monitoring, annotations: {linkerd.io/inject: enabled}}\n".to_string()
            + &deployment("monitoring", "webhook", "operator", 9443, "")
            + &object(
                "policy.linkerd.io/v1beta3",
                "Server",
                "monitoring",
                "webhook",
                "  podSelector: {matchLabels: {app: webhook}}\n  port: http\n  proxyProtocol: TLS\n  accessPolicy: deny\n",
            )
            + &object(
                "policy.linkerd.io/v1alpha1",
                "NetworkAuthentication",
                "monitoring",
                "kube-api-server",
                "  networks: [{cidr: 0.0.0.0/0}, {cidr: \"::/0\"}]\n",
            )
            + &object(
                "policy.linkerd.io/v1alpha1",
                "AuthorizationPolicy",
                "monitoring",
                "webhook",
                "  targetRef: {group: policy.linkerd.io, kind: Server, name: webhook}\n  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: NetworkAuthentication, name: kube-api-server}]\n",
            );
        let v = run(&yaml, api_to_webhook(), &linkerd());
        assert_allowed(&v, "AuthorizationPolicy monitoring/webhook admits it");
    }

    /// https://github.com/istio/istio/issues/30311
    #[test]
    fn end_to_end_prometheus_without_inbound_capture_needs_a_destination_rule_for_meshed_clients() {
        let yaml = monitoring("traffic.sidecar.istio.io/includeInboundPorts: \"\"");
        let v = run(&yaml, grafana_to_prometheus(), &istio());
        assert_denied(&v, "Deployment monitoring/prometheus", "ISTIO-MTLS-3");
        let fixed = yaml
            + &object(
                "networking.istio.io/v1",
                "DestinationRule",
                "monitoring",
                "prometheus",
                "  host: prometheus.monitoring.svc.cluster.local\n  trafficPolicy: {tls: {mode: DISABLE}}\n",
            );
        let v = run(&fixed, grafana_to_prometheus(), &istio());
        assert_allowed(
            &v,
            "DestinationRule monitoring/prometheus sets tls.mode DISABLE",
        );
    }

    /// A policy that isolates the webhook pod and admits only pod and namespace selectors
    /// cannot admit the kube-apiserver, which is neither (K8S-NP-10): denied, not unknown;
    /// unknown is for rules whose ipBlock might cover its address.
    /// https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-and-hostnetwork-pods
    #[test]
    fn end_to_end_a_network_policy_without_an_ip_block_denies_the_apiserver() {
        let yaml = monitoring("")
            + &object(
                "networking.k8s.io/v1",
                "NetworkPolicy",
                "monitoring",
                "webhook",
                "  podSelector: {matchLabels: {app: webhook}}\n  ingress: [{from: [{namespaceSelector: {}}, {podSelector: {matchLabels: {app: grafana}}}], ports: [{port: 9443}]}]\n",
            );
        let v = run(&yaml, api_to_webhook(), &istio());
        assert_denied(&v, "NetworkPolicy monitoring/webhook", "K8S-NP-10");
    }

    #[test]
    fn verdicts_come_in_edge_order_from_a_resource_list() {
        let mut yaml =
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n".to_string();
        for doc in monitoring("")
            .split("---\n")
            .filter(|d| !d.trim().is_empty())
        {
            for (i, line) in doc.lines().enumerate() {
                yaml += if i == 0 { "- " } else { "  " };
                yaml += line;
                yaml += "\n";
            }
        }
        let mut inferred = grafana_to_prometheus();
        inferred.found = Found::Inferred;
        inferred.protocol = Protocol::Grpc;
        let edges = [
            api_to_webhook(),
            inferred,
            edge(
                Party::Kubelet,
                workload("StatefulSet", "monitoring", "loki"),
                3100,
            ),
        ];
        let verdicts = super::evaluate(&yaml, &edges, &istio());
        assert_allowed(&verdicts[0], "PERMISSIVE");
        assert_allowed(&verdicts[1], "auto mTLS");
        assert_unknown(
            &verdicts[2],
            "statefulset monitoring/loki is not in the output",
        );
    }

    /// A guessed flow that the stream's own NetworkPolicy stops is not needed; one that only
    /// a policy gunj-mesh manages stops stays, and is denied.
    /// https://kubernetes.io/docs/concepts/services-networking/network-policies/#the-two-sorts-of-pod-isolation
    #[test]
    fn k8s_np_1_an_inferred_flow_the_streams_own_policy_stops_is_left_out() {
        let policy = |meta: &str| {
            format!(
                "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: prometheus, namespace: monitoring, {meta}}}\nspec:\n  podSelector: {{matchLabels: {{app: prometheus}}}}\n  ingress: [{{from: [{{podSelector: {{matchLabels: {{app: webhook}}}}}}]}}]\n"
            )
        };
        let mut inferred = grafana_to_prometheus();
        inferred.found = Found::Inferred;
        let edges = [grafana_to_prometheus(), inferred.clone()];
        let inferred_only = |e: &crate::model::graph::Edge| e.found == Found::Inferred;
        // The read flow keeps its verdict; the inferred one goes.
        let theirs = monitoring("") + &policy("labels: {app: prometheus}");
        let verdicts = super::evaluate_needed(&theirs, &edges, inferred_only, &istio());
        assert_eq!(verdicts.len(), 2);
        assert_denied(
            verdicts[0].as_ref().unwrap(),
            "NetworkPolicy monitoring/prometheus",
            "K8S-NP-1",
        );
        assert_eq!(verdicts[1], None);
        // gunj-mesh's own policy must not disprove a flow: the verdict stays. Its own key
        // tells it apart, after Helm overwrote its managed-by label.
        let ours = monitoring("")
            + &policy(
                "labels: {app.kubernetes.io/managed-by: Helm}, annotations: {mesh.gunj.io/component: prometheus}",
            );
        let verdicts = super::evaluate_needed(&ours, &[inferred], inferred_only, &istio());
        assert_denied(
            verdicts[0].as_ref().unwrap(),
            "NetworkPolicy monitoring/prometheus",
            "K8S-NP-1",
        );
    }

    /// https://kubernetes.io/docs/reference/kubernetes-api/extend-resources/mutating-webhook-configuration-v1/
    #[test]
    fn k8s_caller_1_the_apiservers_own_tls_is_opaque_to_routes() {
        // Linkerd detects the apiserver's TLS as non-HTTP: a route-level authorization,
        // which would admit any address, never applies.
        let yaml = "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: monitoring, annotations: {linkerd.io/inject: enabled}}\n".to_string()
            + &deployment("monitoring", "webhook", "operator", 9443, "")
            + &object("policy.linkerd.io/v1beta3", "Server", "monitoring", "webhook", "  podSelector: {matchLabels: {app: webhook}}\n  port: 9443\n")
            + &object("policy.linkerd.io/v1beta3", "HTTPRoute", "monitoring", "mutate", "  parentRefs: [{group: policy.linkerd.io, kind: Server, name: webhook}]\n")
            + &object("policy.linkerd.io/v1alpha1", "NetworkAuthentication", "monitoring", "all", "  networks: [{cidr: 0.0.0.0/0}]\n")
            + &object(
                "policy.linkerd.io/v1alpha1",
                "AuthorizationPolicy",
                "monitoring",
                "mutate",
                "  targetRef: {group: policy.linkerd.io, kind: HTTPRoute, name: mutate}\n  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: NetworkAuthentication, name: all}]\n",
            );
        let v = run(&yaml, api_to_webhook(), &linkerd());
        assert_denied(&v, "Server monitoring/webhook", "is not http");
    }

    /// https://kubernetes.io/docs/concepts/services-networking/network-policies/
    #[test]
    fn k8s_caller_4_the_kubelet_is_node_local_and_has_no_identity() {
        let mut settings = linkerd();
        settings.linkerd_default_policy = "all-authenticated".into();
        let yaml = "---
apiVersion: v1
kind: Namespace
metadata: {name: monitoring, annotations: {linkerd.io/inject: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: loki, namespace: monitoring}
spec:
  template:
    metadata: {labels: {app: loki}}
    spec:
      containers:
      - name: loki
        ports: [{name: http, containerPort: 3100}]
        livenessProbe: {httpGet: {port: http, path: /ready}}
        readinessProbe: {httpGet: {port: http, path: /ready, scheme: HTTPS}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: monitoring}
spec: {podSelector: {}, ingress: []}
";
        // The HTTPS probe gets no probe route: the default policy decides, and the
        // kubelet has no identity.
        let tcp = with_protocol(
            edge(
                Party::Kubelet,
                workload("Deployment", "monitoring", "loki"),
                3100,
            ),
            Protocol::Tls,
        );
        let v = run(yaml, tcp, &settings);
        assert_denied(&v, "the cluster default", "all-authenticated");
        let mut http = edge(
            Party::Kubelet,
            workload("Deployment", "monitoring", "loki"),
            3100,
        );
        http.probe_path = Some("/ready".into());
        let v = run(yaml, http, &settings);
        assert_allowed(&v, "K8S-NP-8");
        assert_allowed(&v, "LINKERD-PROBE-1");
    }

    /// https://istio.io/latest/docs/concepts/security/#value-matching
    #[test]
    fn any_workload_is_admitted_only_by_rules_for_every_identity() {
        let to_grafana = || {
            edge(
                Party::AnyWorkload,
                workload("Deployment", "monitoring", "grafana"),
                3000,
            )
        };
        let allow = |source: &str| {
            monitoring("")
                + &object(
                    SECURITY,
                    "AuthorizationPolicy",
                    "monitoring",
                    "grafana",
                    &format!(
                        "  selector: {{matchLabels: {{app: grafana}}}}\n  rules: [{{from: [{{source: {{{source}}}}}]}}]\n"
                    ),
                )
        };
        assert_allowed(
            &run(&allow("principals: [\"*\"]"), to_grafana(), &istio()),
            "rule 0 allows it",
        );
        assert_denied(
            &run(&allow("namespaces: [monitoring]"), to_grafana(), &istio()),
            "AuthorizationPolicy monitoring/grafana",
            "ISTIO-AZ-2",
        );
        let np = |from: &str| {
            monitoring("")
                + &object(
                    "networking.k8s.io/v1",
                    "NetworkPolicy",
                    "monitoring",
                    "np",
                    &format!("  podSelector: {{}}\n  ingress: [{{from: [{from}]}}]\n"),
                )
        };
        assert_allowed(
            &run(&np("{namespaceSelector: {}}"), to_grafana(), &istio()),
            "ingress rule 0",
        );
        assert_denied(
            &run(&np("{podSelector: {}}"), to_grafana(), &istio()),
            "NetworkPolicy monitoring/np",
            "K8S-NP-1",
        );
    }

    /// https://istio.io/latest/docs/ops/deployment/application-requirements/#ports-used-by-istio
    #[test]
    fn udp_is_not_proxied_and_operator_resources_stand_for_their_pods() {
        let alertmanager = |np_port: &str| {
            namespace("monitoring", "istio-injection: enabled")
                + &object(
                    "monitoring.coreos.com/v1",
                    "Alertmanager",
                    "monitoring",
                    "main",
                    "  replicas: 3\n",
                )
                + &strict_and_allow_nothing()
                + &object(
                    "networking.k8s.io/v1",
                    "NetworkPolicy",
                    "monitoring",
                    "gossip",
                    &format!(
                        "  podSelector: {{matchLabels: {{app.kubernetes.io/name: alertmanager}}}}\n  ingress: [{{ports: [{np_port}]}}]\n"
                    ),
                )
        };
        let main = || workload("Alertmanager", "monitoring", "main");
        let udp = with_protocol(edge(main(), main(), 9094), Protocol::Udp);
        let v = run(
            &alertmanager("{port: mesh-udp, protocol: UDP}"),
            udp.clone(),
            &istio(),
        );
        assert_allowed(&v, "Istio does not proxy UDP");
        let v = run(&alertmanager("{port: 9094}"), udp, &istio());
        assert_denied(&v, "NetworkPolicy monitoring/gossip", "port 9094/UDP");
        // The same gossip over TCP is proxied and meets allow-nothing.
        let tcp = with_protocol(edge(main(), main(), 9094), Protocol::Tcp);
        let v = run(&alertmanager("{port: mesh-tcp}"), tcp, &istio());
        assert_denied(
            &v,
            "AuthorizationPolicy monitoring/allow-nothing",
            "ISTIO-AZ-3",
        );
        // A collector in sidecar mode runs no pods of its own.
        let otel = object(
            "opentelemetry.io/v1beta1",
            "OpenTelemetryCollector",
            "monitoring",
            "agent",
            "  mode: sidecar\n",
        );
        let e = edge(
            Party::ApiServer,
            workload("OpenTelemetryCollector", "monitoring", "agent"),
            4317,
        );
        assert_unknown(&run(&otel, e, &istio()), "runs no pods of its own");
    }
}
