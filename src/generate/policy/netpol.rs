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
use crate::model::graph::Party;
use crate::model::graph::flows::{Flow, Source};
use crate::model::graph::selects;
use crate::model::mesh::{MESH_LABELS, Mesh};
use crate::model::object::Object;
use crate::model::stack::is_ours;
use crate::yaml::Node;
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::{BTreeMap, HashMap, HashSet};

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
    // The members of one component in one namespace share the callers the flows admit, and
    // those with the same rules share one policy (see [`GROUPED`]).
    let mut common: HashMap<(&str, Option<&str>), Shared> = HashMap::new();
    // Callers without a mesh identity are selected by their pod labels, less the ones
    // injection writes: those appear once a first run has added them, and a second run
    // would write another selector.
    let callers: HashMap<&Party, (Option<&str>, BTreeMap<String, String>)> = openings
        .values()
        .flatten()
        .filter_map(|o| match &o.caller {
            Caller::Workload(party) => pods.iter().find(|p| &p.party == party),
            _ => None,
        })
        .map(|p| {
            let labels = p
                .labels
                .iter()
                .filter(|(k, _)| !MESH_LABELS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            (&p.party, (p.namespace(), labels))
        })
        .collect();
    let mut plans: Vec<(usize, Rules)> = Vec::new();
    for (i, m) in stack.members.iter().enumerate().filter(|(_, m)| m.serves) {
        let reached: Vec<&Flow> = flows.iter().filter(|f| f.to == m.component).collect();
        if reached.is_empty() || m.selector.is_empty() {
            continue;
        }
        let place = (m.component.as_str(), m.namespace.as_deref());
        let (_, shared) = common.entry(place).or_insert_with(|| {
            // Deduplicated by what they are built from (callers repeat across flows).
            let mut keys = Vec::new();
            let mut seen = HashSet::new();
            for flow in &reached {
                let found: Vec<Peer> = match &flow.from {
                    Source::Any => vec![Peer::Any],
                    Source::Account(ns, _) | Source::Namespace(ns) => {
                        vec![Peer::Namespace(Some(ns), None)]
                    }
                    Source::OwnNamespace => vec![Peer::Namespace(m.namespace.as_deref(), None)],
                    Source::Component(c) => stack
                        .callers(c, m.namespace.as_deref())
                        .into_iter()
                        .map(|src| Peer::Namespace(src.namespace.as_deref(), Some(&*src.selector)))
                        .collect(),
                };
                keys.extend(found.into_iter().filter(|p| seen.insert(p.clone())));
            }
            (keys, seen)
        });
        let open = openings.get(&i).map(Vec::as_slice).unwrap_or_default();
        let mut extra: Vec<Peer> = Vec::new();
        // Workloads that call without a mesh identity (not in the mesh, or scraping outside
        // their sidecar).
        for o in open {
            if let Caller::Workload(party) = &o.caller
                && let Some((ns, labels)) = callers.get(party)
            {
                extra.push(Peer::Namespace(*ns, Some(labels)));
            }
        }
        if matches!(mesh, Mesh::Istio { ambient: true, .. }) {
            extra.push(Peer::Kubelet);
            if out.waypoints.contains(&m.namespace) {
                extra.push(Peer::Namespace(m.namespace.as_deref(), Some(&waypoint)));
            }
        }
        let mut extra_unique: Vec<Peer> = Vec::new();
        for p in extra {
            if !shared.contains(&p) && !extra_unique.contains(&p) {
                extra_unique.push(p);
            }
        }
        // A pod that declares no ports may listen anywhere: then every port is allowed.
        // UDP ports (gossip) are allowed as UDP: the meshes do not proxy them.
        let declared: Vec<u16> = m
            .ports
            .iter()
            .filter(|p| p.protocol != "UDP")
            .map(|p| p.number)
            .collect();
        let ports = (!declared.is_empty()).then(|| {
            let mut ports: Vec<(u16, &'static str)> = declared
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
        let mut callers: Vec<String> = reached.iter().map(|f| slug(&f.from)).collect();
        if !api_server.is_empty() {
            callers.push("kube-apiserver".into());
        }
        plans.push((
            i,
            Rules {
                component: &m.component,
                namespace: m.namespace.as_deref(),
                extra: extra_unique,
                ports,
                api_server,
                plaintext,
                callers,
            },
        ));
    }
    // Members with the same rules, by the first one's place in `plans`.
    let mut alike: HashMap<&Rules, Vec<usize>> = HashMap::new();
    for (at, (_, rules)) in plans.iter().enumerate() {
        alike.entry(rules).or_default().push(at);
    }
    let selectors = |group: &[usize]| -> Vec<&BTreeMap<String, String>> {
        group
            .iter()
            .map(|&g| &*stack.members[plans[g].0].selector)
            .collect()
    };
    // The label whose values tell a group's members apart, for groups written as one.
    let varying: HashMap<&Rules, &str> = alike
        .iter()
        .filter(|(_, group)| group.len() >= GROUPED)
        .filter_map(|(rules, group)| Some((*rules, one_varying(&selectors(group))?)))
        .collect();
    for (at, (i, rules)) in plans.iter().enumerate() {
        let group = &alike[rules];
        let grouped = varying.get(rules).copied();
        if grouped.is_some() && group[0] != at {
            continue;
        }
        let m = &stack.members[*i];
        let mut keys = common[&(rules.component, rules.namespace)].0.clone();
        keys.extend(rules.extra.iter().cloned());
        let peers = build_peers(keys, m.namespace.is_some());
        let (name, pod_selector, target) = match grouped {
            Some(key) => (
                format!("{}-ingress", rules.component),
                in_selector(&selectors(group), key),
                format!("the {} workloads of {}", group.len(), rules.component),
            ),
            None => (
                format!("{}-ingress", m.slug),
                LabelSelector {
                    match_labels: Some(BTreeMap::clone(&m.selector)),
                    match_expressions: None,
                },
                m.name.clone(),
            ),
        };
        let meta = metadata(&name, m.namespace.as_deref(), &m.component);
        let name = meta.name.clone();
        let policy = NetworkPolicy {
            metadata: meta.into(),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(pod_selector),
                policy_types: Some(vec!["Ingress".into()]),
                // No callers: no rule (an empty `from` would admit everyone).
                ingress: Some(
                    (!peers.is_empty())
                        .then(|| NetworkPolicyIngressRule {
                            from: Some(peers),
                            ports: rules.ports.as_deref().map(network_ports),
                        })
                        .into_iter()
                        // mtls.portExceptions serve callers outside the mesh, from anywhere.
                        .chain(
                            (!rules.plaintext.is_empty()).then(|| NetworkPolicyIngressRule {
                                from: None,
                                ports: Some(tcp(rules.plaintext.clone())),
                            }),
                        )
                        .chain((!rules.api_server.is_empty()).then(|| {
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
                                ports: Some(tcp(rules.api_server.clone())),
                            }
                        }))
                        .collect(),
                ),
                egress: None,
            }),
        };
        out.add_value(
            &m.component,
            format!(
                "network policy: {} may reach {}",
                rules.callers.join(", "),
                target
            ),
            "networking.k8s.io/v1",
            "NetworkPolicy",
            &name,
            m.namespace.as_deref(),
            policy,
        );
    }
}

/// The callers a component's members in one namespace share, in order and as a set.
type Shared<'a> = (Vec<Peer<'a>>, HashSet<Peer<'a>>);

/// What a member's policy holds besides its pod selector and the callers its component
/// shares.
#[derive(PartialEq, Eq, Hash)]
struct Rules<'a> {
    component: &'a str,
    namespace: Option<&'a str>,
    /// Callers of this member only, not among the shared ones.
    extra: Vec<Peer<'a>>,
    ports: Option<Vec<(u16, &'static str)>>,
    api_server: Vec<u16>,
    plaintext: Vec<u16>,
    callers: Vec<String>,
}

/// The one label whose value differs between `selectors` that have the same keys and agree
/// on every other value.
fn one_varying<'a>(selectors: &[&'a BTreeMap<String, String>]) -> Option<&'a str> {
    let first = selectors.first()?;
    let mut varying = None;
    for s in &selectors[1..] {
        if s.len() != first.len() {
            return None;
        }
        for (k, v) in first.iter() {
            match s.get(k) {
                None => return None,
                Some(w) if w == v => {}
                Some(_) => match varying {
                    None => varying = Some(k.as_str()),
                    Some(key) if key == k => {}
                    Some(_) => return None,
                },
            }
        }
    }
    varying
}

/// The selector of every pod one of `selectors` selects: their common labels, and `key`
/// in the set of their values.
fn in_selector(selectors: &[&BTreeMap<String, String>], key: &str) -> LabelSelector {
    let mut labels = selectors[0].clone();
    labels.remove(key);
    let mut values: Vec<String> = selectors.iter().map(|s| s[key].clone()).collect();
    values.sort();
    values.dedup();
    LabelSelector {
        match_labels: (!labels.is_empty()).then_some(labels),
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: key.to_string(),
            operator: "In".into(),
            values: Some(values),
        }]),
    }
}

/// Peers that select pods of one namespace by the same labels but for one label's value
/// are written as one peer from [`GROUPED`] of them on, with that label as an `In`
/// expression: a policy then grows with the stack's components, not with every pair of
/// workloads that call each other (a ring of N members gives N policies of N peers each
/// otherwise). Fewer stay apart, each with its own `matchLabels`, as they read.
const GROUPED: usize = 5;

/// The peers, in the order first seen, grouped as [`GROUPED`] says.
fn build_peers(keys: Vec<Peer>, named: bool) -> Vec<NetworkPolicyPeer> {
    /// Peers of one namespace whose selectors differ at most in the value of `varying`.
    struct Group<'a> {
        ns: Option<&'a str>,
        labels: &'a BTreeMap<String, String>,
        varying: Option<&'a str>,
        members: Vec<&'a BTreeMap<String, String>>,
    }
    type Signature<'a> = (Option<&'a str>, &'a str, Vec<(&'a str, &'a str)>);
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<Signature, usize> = HashMap::new();
    // Each peer's place: itself, or its group and whether it is the group's first.
    let mut order: Vec<Result<Peer, (usize, bool)>> = Vec::new();
    for peer in keys {
        let Peer::Namespace(ns, Some(labels)) = peer else {
            order.push(Ok(peer));
            continue;
        };
        let joined = labels.keys().find_map(|key| {
            let g = *index.get(&sig(ns, labels, key))?;
            (groups[g].varying.is_none_or(|v| v == key)).then_some((g, key))
        });
        match joined {
            Some((g, key)) => {
                groups[g].varying = Some(key);
                groups[g].members.push(labels);
                order.push(Err((g, false)));
            }
            None => {
                for key in labels.keys() {
                    index.entry(sig(ns, labels, key)).or_insert(groups.len());
                }
                order.push(Err((groups.len(), true)));
                groups.push(Group {
                    ns,
                    labels,
                    varying: None,
                    members: vec![labels],
                });
            }
        }
    }
    // Where each group's members stand, in order.
    let mut next = vec![0; groups.len()];
    let mut out = Vec::new();
    for slot in order {
        match slot {
            Ok(peer) => out.push(peer.build(named)),
            Err((at, first)) => {
                let g = &groups[at];
                match g.varying {
                    Some(key) if g.members.len() >= GROUPED => {
                        if first {
                            let mut peer = namespace_peer(g.ns, Some(g.labels), named);
                            peer.pod_selector = Some(in_selector(&g.members, key));
                            out.push(peer);
                        }
                    }
                    _ => {
                        let labels = g.members[next[at]];
                        next[at] += 1;
                        out.push(Peer::Namespace(g.ns, Some(labels)).build(named));
                    }
                }
            }
        }
    }
    out
}

/// A selector with the value of `key` left out: what the peers one [`build_peers`] group
/// holds have in common.
fn sig<'a>(
    ns: Option<&'a str>,
    labels: &'a BTreeMap<String, String>,
    key: &'a str,
) -> (Option<&'a str>, &'a str, Vec<(&'a str, &'a str)>) {
    (
        ns,
        key,
        labels
            .iter()
            .filter(|(k, _)| k.as_str() != key)
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
    )
}

/// A peer of the ingress rule, by what it is built from.
#[derive(Clone, PartialEq, Eq, Hash)]
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
        .filter(|o| !is_ours(o.node))
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
                Source::Account(ns, _) | Source::Namespace(ns) => {
                    add(Peer::Namespace(Some(ns), None))
                }
                Source::OwnNamespace => add(Peer::Namespace(m.namespace.as_deref(), None)),
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
