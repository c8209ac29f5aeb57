//! Kubernetes NetworkPolicies (defence in depth) for the components flows reach: ingress
//! only from the callers' pods, on the component's ports plus the ports the mesh needs.
//!
//! - Istio ambient: HBONE on 15008, and kubelet probes arrive from the link-local address
//!   169.254.7.127 (<https://istio.io/latest/docs/ambient/usage/networkpolicy/>).
//! - Istio sidecars: Prometheus scrapes 15020 (merged metrics) and 15090 (Envoy).
//! - Linkerd: opaque traffic arrives on the proxy's inbound port 4143; Prometheus scrapes
//!   the proxy on 4191 (<https://linkerd.io/2-edge/features/protocol-detection/>).

use super::Inputs;
use super::open::{Caller, Openings};
use super::slug;
use crate::config::Spec;
use crate::generate::{Additions, metadata};
use crate::model::graph::Found;
use crate::model::graph::flows::{Flow, Source};
use crate::model::graph::selects;
use crate::model::mesh::Mesh;
use crate::model::object::Object;
use crate::model::stack::MANAGED_BY;
use crate::yaml::Node;
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

/// `openings` are the ports callers without a mesh identity reach; `reached` the other
/// ports the graph's flows reach per member (ports its pods may not declare).
pub fn generate(
    inputs: &Inputs,
    mesh: &Mesh,
    spec: &Spec,
    openings: &Openings,
    reached_ports: &BTreeMap<usize, Vec<u16>>,
    out: &mut Additions,
) {
    let Inputs {
        stack, flows, pods, ..
    } = *inputs;
    // The waypoint forwards Service traffic (label set by Gateway API).
    let waypoint = BTreeMap::from([(
        "gateway.networking.k8s.io/gateway-name".to_string(),
        "waypoint".to_string(),
    )]);
    let exceptions: &[u16] = spec
        .mtls
        .as_ref()
        .map_or(&[], |m| m.port_exceptions.as_slice());
    let mesh_ports: &[u16] = match mesh {
        Mesh::Istio { ambient: true, .. } => &[15008],
        Mesh::Istio { .. } => &[15020, 15090],
        Mesh::Linkerd => &[4143, 4191],
    };
    let api_server_networks: &[String] = spec
        .authorization
        .as_ref()
        .map_or(&[], |a| a.api_server_networks.as_slice());
    for (i, m) in stack.members.iter().enumerate().filter(|(_, m)| m.serves) {
        let reached: Vec<&Flow> = flows.iter().filter(|f| f.to == m.component).collect();
        if reached.is_empty() || m.selector.is_empty() {
            continue;
        }
        let open = openings.get(&i).map(Vec::as_slice).unwrap_or_default();
        // Deduplicated by what they are built from (callers repeat across flows).
        let mut keys: Vec<Peer> = Vec::new();
        let mut add = |peer| {
            if !keys.contains(&peer) {
                keys.push(peer);
            }
        };
        for flow in &reached {
            match &flow.from {
                Source::Any => add(Peer::Any),
                Source::Account(ns, _) => add(Peer::Namespace(Some(ns), None)),
                Source::Component(c) => {
                    for src in stack.callers(c, m.namespace.as_deref()) {
                        add(Peer::Namespace(
                            src.namespace.as_deref(),
                            Some(&*src.selector),
                        ));
                    }
                }
            }
        }
        // Workloads that call without a mesh identity (not in the mesh, or scraping outside
        // their sidecar).
        for o in open {
            if let Caller::Workload(party) = &o.caller
                && let Some(p) = pods.iter().find(|p| &p.party == party)
            {
                add(Peer::Namespace(p.namespace(), Some(&p.labels)));
            }
        }
        if matches!(mesh, Mesh::Istio { ambient: true, .. }) {
            add(Peer::Kubelet);
            if out.waypoints.contains(&m.namespace) {
                add(Peer::Namespace(m.namespace.as_deref(), Some(&waypoint)));
            }
        }
        let peers: Vec<NetworkPolicyPeer> = keys
            .into_iter()
            .map(|p| p.build(m.namespace.is_some()))
            .collect();
        // A pod that declares no ports may listen anywhere: then every port is allowed.
        // UDP ports (gossip) are allowed as UDP: the meshes do not proxy them.
        let declared: Vec<u16> = m
            .ports
            .iter()
            .filter(|p| p.protocol != "UDP")
            .map(|p| p.number)
            .collect();
        let ports = (!declared.is_empty()).then(|| {
            let mut ports: Vec<(u16, &str)> = declared
                .iter()
                .chain(mesh_ports)
                .chain(reached_ports.get(&i).into_iter().flatten())
                .chain(open.iter().map(|o| &o.port))
                .map(|&p| (p, "TCP"))
                .chain(
                    m.ports
                        .iter()
                        .filter(|p| p.protocol == "UDP")
                        .map(|p| (p.number, "UDP")),
                )
                .collect();
            ports.sort();
            ports.dedup();
            ports
        });
        // The kube-apiserver connects from outside the pod network.
        let mut api_server: Vec<u16> = open
            .iter()
            .filter(|o| o.caller == Caller::ApiServer)
            .map(|o| o.port)
            .collect();
        api_server.sort();
        api_server.dedup();
        let plaintext: Vec<u16> = declared
            .iter()
            .copied()
            .filter(|p| exceptions.contains(p))
            .collect();
        let meta = metadata(
            &format!("{}-ingress", m.slug),
            m.namespace.as_deref(),
            &m.component,
        );
        let name = meta.name.clone();
        let policy = NetworkPolicy {
            metadata: meta.into(),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(LabelSelector {
                    match_labels: Some(BTreeMap::clone(&m.selector)),
                    match_expressions: None,
                }),
                policy_types: Some(vec!["Ingress".into()]),
                // No callers: no rule (an empty `from` would admit everyone).
                ingress: Some(
                    (!peers.is_empty())
                        .then(|| NetworkPolicyIngressRule {
                            from: Some(peers),
                            ports: ports.map(|p| network_ports(&p)),
                        })
                        .into_iter()
                        // mtls.portExceptions serve callers outside the mesh, from anywhere.
                        .chain((!plaintext.is_empty()).then(|| NetworkPolicyIngressRule {
                            from: None,
                            ports: Some(tcp(plaintext)),
                        }))
                        .chain((!api_server.is_empty()).then(|| {
                            NetworkPolicyIngressRule {
                                from: Some(
                                    api_server_networks
                                        .iter()
                                        .map(|cidr| NetworkPolicyPeer {
                                            ip_block: Some(IPBlock {
                                                cidr: cidr.clone(),
                                                except: None,
                                            }),
                                            ..Default::default()
                                        })
                                        .collect(),
                                ),
                                ports: Some(tcp(api_server.clone())),
                            }
                        }))
                        .collect(),
                ),
                egress: None,
            }),
        };
        let mut callers: Vec<String> = reached.iter().map(|f| slug(&f.from)).collect();
        if !api_server.is_empty() {
            callers.push("kube-apiserver".into());
        }
        out.add_value(
            &m.component,
            format!(
                "network policy: {} may reach {}",
                callers.join(", "),
                m.name
            ),
            "networking.k8s.io/v1",
            "NetworkPolicy",
            &name,
            m.namespace.as_deref(),
            policy,
        );
    }
}

/// A peer of the ingress rule, by what it is built from.
#[derive(PartialEq)]
enum Peer<'a> {
    /// Every namespace.
    Any,
    /// The pods of a namespace (all of them without a selector).
    /// `None`: the release namespace, which the policy lands in too.
    Namespace(Option<&'a str>, Option<&'a BTreeMap<String, String>>),
    /// Where kubelet probes come from in ambient mode.
    Kubelet,
}

impl Peer<'_> {
    /// The peer, in a policy that names its namespace (`named`) or lands in the release
    /// namespace.
    fn build(self, named: bool) -> NetworkPolicyPeer {
        match self {
            Peer::Any => NetworkPolicyPeer {
                namespace_selector: Some(LabelSelector::default()),
                ..Default::default()
            },
            Peer::Namespace(ns, pods) => namespace_peer(ns, pods, named),
            Peer::Kubelet => NetworkPolicyPeer {
                ip_block: Some(IPBlock {
                    cidr: "169.254.7.127/32".into(),
                    except: None,
                }),
                ..Default::default()
            },
        }
    }
}

fn tcp(ports: Vec<u16>) -> Vec<NetworkPolicyPort> {
    network_ports(&ports.into_iter().map(|p| (p, "TCP")).collect::<Vec<_>>())
}

fn network_ports(ports: &[(u16, &str)]) -> Vec<NetworkPolicyPort> {
    ports
        .iter()
        .map(|(p, protocol)| NetworkPolicyPort {
            port: Some(IntOrString::Int((*p).into())),
            protocol: Some(protocol.to_string()),
            end_port: None,
        })
        .collect()
}

/// The pods of namespace `ns` (by its `kubernetes.io/metadata.name` label), all of them or
/// those `pods` selects. Pods that name no namespace land in the release namespace: in a
/// policy that lands there too, the policy's own namespace; in one that names its
/// namespace, any namespace (the release namespace's name is not known).
fn namespace_peer(
    ns: Option<&str>,
    pods: Option<&BTreeMap<String, String>>,
    named: bool,
) -> NetworkPolicyPeer {
    let pods = pods.map(|labels| LabelSelector {
        match_labels: Some(labels.clone()),
        match_expressions: None,
    });
    let namespace_selector = match ns {
        Some(ns) => Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(
                "kubernetes.io/metadata.name".to_string(),
                ns.to_string(),
            )])),
            match_expressions: None,
        }),
        None if named => Some(LabelSelector::default()),
        None => None,
    };
    NetworkPolicyPeer {
        // A peer with neither selector would be invalid: the policy's namespace, all pods.
        pod_selector: pods.or_else(|| namespace_selector.is_none().then(LabelSelector::default)),
        namespace_selector,
        ip_block: None,
    }
}

/// NetworkPolicies already in the stream that isolate a workload put in the mesh would stop
/// what the mesh and the config add. Each such workload gets a companion policy (policies
/// add up: <https://kubernetes.io/docs/concepts/services-networking/network-policies/#the-two-sorts-of-pod-isolation>)
/// that admits:
/// - the mesh's own transport: Linkerd's meshed connections arrive on the proxy's inbound
///   port 4143, not the application's
///   (<https://linkerd.io/2-edge/common-errors/network-policy/>), ambient Istio's on
///   HBONE's 15008 (<https://istio.io/latest/docs/ambient/usage/networkpolicy/>); the proxy
///   still enforces the mesh's policies there;
/// - the callers the config names (`authorization.ingress`, `authorization.allow`) on the
///   workload's ports. The catalog's guesses are not admitted: where the stream's policies
///   stop one, the stream says it is not needed.
pub fn companions(inputs: &Inputs, mesh: &Mesh, out: &mut Additions) {
    let Inputs {
        stack,
        objects,
        flows,
        ..
    } = *inputs;
    let transport: &[u16] = match mesh {
        Mesh::Linkerd => &[4143],
        Mesh::Istio { ambient: true, .. } => &[15008],
        Mesh::Istio { .. } => &[],
    };
    let theirs: Vec<&Object> = objects
        .iter()
        .filter(|o| o.kind == "NetworkPolicy")
        .filter(|o| {
            o.node
                .at(&["metadata", "labels", MANAGED_BY.0])
                .and_then(Node::str)
                != Some(MANAGED_BY.1)
        })
        .collect();
    if theirs.is_empty() {
        return;
    }
    for m in stack.servers().filter(|m| !m.selector.is_empty()) {
        let isolated: Vec<String> = theirs
            .iter()
            .filter(|o| {
                let ns = o.node.at(&["metadata", "namespace"]).and_then(Node::scalar);
                let same = ns.is_none() || m.namespace.is_none() || ns == m.namespace.as_deref();
                let ingress = o
                    .node
                    .at(&["spec", "policyTypes"])
                    .and_then(Node::items)
                    .is_none_or(|t| t.iter().any(|t| t.scalar() == Some("Ingress")));
                same && ingress
                    && o.node
                        .at(&["spec", "podSelector"])
                        .is_some_and(|sel| selects(sel, &m.pod_labels))
            })
            .map(|o| o.name().to_string())
            .collect();
        if isolated.is_empty() {
            continue;
        }
        let mut peers: Vec<Peer> = Vec::new();
        let mut named: Vec<String> = Vec::new();
        for flow in flows
            .iter()
            .filter(|f| f.to == m.component && f.found == Found::Configured)
        {
            let mut add = |peer| {
                if !peers.contains(&peer) {
                    peers.push(peer);
                }
            };
            match &flow.from {
                Source::Any => add(Peer::Any),
                Source::Account(ns, _) => add(Peer::Namespace(Some(ns), None)),
                Source::Component(c) => {
                    for src in stack.callers(c, m.namespace.as_deref()) {
                        add(Peer::Namespace(
                            src.namespace.as_deref(),
                            Some(&*src.selector),
                        ));
                    }
                }
            }
            named.push(slug(&flow.from));
        }
        let mut rules = Vec::new();
        if !transport.is_empty() {
            rules.push(NetworkPolicyIngressRule {
                from: None,
                ports: Some(tcp(transport.to_vec())),
            });
        }
        if !peers.is_empty() {
            // A pod that declares no ports may listen anywhere: every port.
            let mut ports: Vec<(u16, &str)> = m
                .ports
                .iter()
                .map(|p| (p.number, if p.protocol == "UDP" { "UDP" } else { "TCP" }))
                .collect();
            ports.sort();
            ports.dedup();
            rules.push(NetworkPolicyIngressRule {
                from: Some(
                    peers
                        .into_iter()
                        .map(|p| p.build(m.namespace.is_some()))
                        .collect(),
                ),
                ports: (!ports.is_empty()).then(|| network_ports(&ports)),
            });
        }
        if rules.is_empty() {
            continue;
        }
        let meta = metadata(
            &format!("{}-mesh-admit", m.slug),
            m.namespace.as_deref(),
            &m.component,
        );
        let name = meta.name.clone();
        let policy = NetworkPolicy {
            metadata: meta.into(),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(LabelSelector {
                    match_labels: Some(BTreeMap::clone(&m.selector)),
                    match_expressions: None,
                }),
                policy_types: Some(vec!["Ingress".into()]),
                ingress: Some(rules),
                egress: None,
            }),
        };
        let what = match (transport.first(), named.is_empty()) {
            (Some(port), true) => format!("the mesh's port {port}"),
            (Some(port), false) => format!("the mesh's port {port} and {}", named.join(", ")),
            (None, _) => named.join(", "),
        };
        out.add_value(
            &m.component,
            format!(
                "{what} on {}, which NetworkPolicy {} of the stream isolates",
                m.name,
                isolated.join(", ")
            ),
            "networking.k8s.io/v1",
            "NetworkPolicy",
            &name,
            m.namespace.as_deref(),
            policy,
        );
    }
}
