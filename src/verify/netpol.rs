//! Kubernetes NetworkPolicy: the destination's ingress and a workload caller's egress, on
//! the port the packets arrive on (K8S-NP-*).
//! https://kubernetes.io/docs/concepts/services-networking/network-policies/

use super::cidr::{Block, Cidr, Source};
use super::objects::{
    Labels, Namespace, Ns, Object, Pod, PortRef, selector_is_empty, selector_values, selects,
    strings,
};
use super::parties::{Dataplane, over_ns, same_ns};
use super::{Flow, Trace, Tri};
use crate::model::graph::Party;
use crate::yaml::Node;

/// Istio ambient SNATs node-local traffic to this address (ISTIO-AMB-2).
const AMBIENT_PROBE_SOURCE: &str = "169.254.7.127/32";

/// One end of a connection as a NetworkPolicy peer sees it.
struct Peer<'p> {
    /// The namespace of a pod in the pod network; `None` for node and external traffic,
    /// which podSelector and namespaceSelector never match (K8S-NP-8, K8S-NP-10).
    namespace: Option<&'p Namespace>,
    /// The pod labels, when known.
    labels: Option<&'p Labels>,
    source: Source,
    label: &'p str,
}

pub fn check(flow: &Flow, wire: u16, trace: &mut Trace) {
    ingress(flow, wire, trace);
    if !trace.denied() {
        egress(flow, wire, trace);
    }
}

/// `ingress` or `egress` in the policy's `policyTypes`; without `policyTypes`, Ingress
/// always, Egress when the policy has an `egress` section (K8S-NP-2).
fn has_type(policy: &Object, kind: &str) -> bool {
    let spec = policy.spec();
    match spec.and_then(|s| s.get("policyTypes")) {
        Some(types) => strings(Some(types)).iter().any(|t| t == kind),
        None => kind == "Ingress" || spec.and_then(|s| s.get("egress")).is_some(),
    }
}

/// The policies that isolate `pod` in one direction: in its namespace, selecting it, with
/// that policy type (K8S-NP-1).
fn isolating<'c, 'a>(flow: &'c Flow<'_, 'a>, pod: &Pod, kind: &str) -> Vec<&'c Object<'a>> {
    flow.cluster
        .selecting("networking.k8s.io", "NetworkPolicy", &pod.labels)
        .filter(|p| p.namespace == pod.namespace && has_type(p, kind))
        .filter(|p| {
            p.spec()
                .and_then(|s| s.get("podSelector"))
                .is_none_or(|sel| selects(sel, &pod.labels))
        })
        .collect()
}

fn ingress(flow: &Flow, wire: u16, trace: &mut Trace) {
    let dest = flow.dest;
    let policies = isolating(flow, dest, "Ingress");
    if policies.is_empty() {
        trace.pass(format!(
            "no NetworkPolicy isolates {} for ingress (K8S-NP-1)",
            dest.label()
        ));
        return;
    }
    let ids = ids(&policies);
    if dest.host_network {
        trace.unknown(format!(
            "K8S-NP-8: {} runs in the host network, where NetworkPolicy behaviour is undefined \
             ({ids} select it)",
            dest.label()
        ));
        return;
    }
    let caller = &flow.caller;
    // ISTIO-AMB-2: node-local traffic to an ambient pod arrives from 169.254.7.127, and
    // whether the CNI still takes it for node traffic depends on the CNI (K8S-NP-8).
    let snat = flow.dest_plane == Dataplane::IstioAmbient && caller.node_local != Tri::No;
    if caller.node_local == Tri::Yes && !snat {
        trace.pass("K8S-NP-8: traffic from the pod's own node is always allowed");
        return;
    }
    let source = if snat {
        Source::Within(Cidr::parse(AMBIENT_PROBE_SOURCE).into_iter().collect())
    } else {
        caller.source.clone()
    };
    let peer = Peer {
        namespace: caller.namespace.as_ref(),
        labels: caller.labels.as_ref(),
        source,
        label: &caller.label,
    };
    let found = rules(flow, &policies, "ingress", "from", wire, &peer);
    let (yes, unknown) = found;
    if let Some(by) = yes {
        trace.pass(by);
        return;
    }
    let on = format!("port {wire}/{}", protocol(flow));
    if snat {
        let why = unknown.unwrap_or_else(|| {
            format!("no ingress rule of {ids} admits 169.254.7.127/32 (or all sources) on {on}")
        });
        trace.unknown(format!(
            "K8S-NP-8, ISTIO-AMB-2: node-local traffic reaches the ambient pod {} SNATed from \
             169.254.7.127, which depends on the CNI: {why}",
            dest.label()
        ));
        return;
    }
    if let Some(why) = unknown {
        trace.unknown(why);
        return;
    }
    if caller.node_local != Tri::No {
        trace.unknown(format!(
            "K8S-NP-8: {} is admitted only if it runs on {}'s node (no ingress rule of {ids} \
             admits it on {on})",
            caller.label,
            dest.label()
        ));
        return;
    }
    let rule = match caller.party {
        Party::ApiServer => format!(
            "K8S-NP-10: {} is isolated for ingress and no rule admits the kube-apiserver on \
             {on}: pod and namespace selectors never match it, and no rule admits all sources \
             or an ipBlock covering it",
            dest.label()
        ),
        _ => format!(
            "K8S-NP-1: {} is isolated for ingress and no ingress rule admits {} on {on}",
            dest.label(),
            caller.label
        ),
    };
    trace.deny(ids, rule);
}

/// A workload caller's egress, to the destination pod.
fn egress(flow: &Flow, wire: u16, trace: &mut Trace) {
    let Some(pod) = flow.caller.pod else {
        return;
    };
    let policies = isolating(flow, pod, "Egress");
    if policies.is_empty() {
        trace.pass(format!(
            "no NetworkPolicy isolates {} for egress (K8S-NP-1)",
            pod.label()
        ));
        return;
    }
    let ids = ids(&policies);
    if pod.host_network {
        trace.unknown(format!(
            "K8S-NP-8: {} runs in the host network, where NetworkPolicy behaviour is undefined \
             ({ids} select it)",
            pod.label()
        ));
        return;
    }
    let dest = flow.dest;
    let dest_label = dest.label();
    let peer = Peer {
        namespace: (!dest.host_network).then_some(&flow.dest_ns),
        labels: Some(&dest.labels),
        source: if dest.host_network {
            Source::Node
        } else {
            Source::Pod
        },
        label: &dest_label,
    };
    match rules(flow, &policies, "egress", "to", wire, &peer) {
        (Some(by), _) => trace.pass(by),
        (None, Some(why)) => trace.unknown(why),
        (None, None) => trace.deny(
            ids,
            format!(
                "K8S-NP-3: {} is isolated for egress and no egress rule admits {dest_label} on \
                 port {wire}/{}",
                pod.label(),
                protocol(flow)
            ),
        ),
    }
}

/// The first rule that admits the peer (as text), else the first reason it may.
fn rules(
    flow: &Flow,
    policies: &[&Object],
    section: &str,
    peers_key: &str,
    wire: u16,
    peer: &Peer,
) -> (Option<String>, Option<String>) {
    let mut unknown = None;
    for policy in policies {
        let rules = policy
            .spec()
            .and_then(|s| s.get(section))
            .and_then(Node::items)
            .unwrap_or_default();
        for (i, rule) in rules.iter().enumerate() {
            let matched = ports(flow, rule.get("ports"), wire)
                .and(|| peers(rule.get(peers_key), &policy.namespace, peer));
            match matched {
                Tri::Yes => {
                    let by = format!(
                        "{} {section} rule {i} admits {} on port {wire} (K8S-NP-4)",
                        policy.id(),
                        peer.label
                    );
                    return (Some(by), None);
                }
                Tri::Unknown(why) if unknown.is_none() => {
                    unknown = Some(format!("{} {section} rule {i}: {why}", policy.id()));
                }
                _ => {}
            }
        }
    }
    (None, unknown)
}

/// `from`/`to` absent or empty: every peer; otherwise any of them (K8S-NP-4, K8S-NP-5).
/// The rule's ipBlocks count together: a caller somewhere in several networks (IPv4 and
/// IPv6, say) is admitted when they cover every one of them (K8S-NP-6).
fn peers(list: Option<&Node>, policy_ns: &Ns, peer: &Peer) -> Tri {
    let items = list.and_then(Node::items).unwrap_or_default();
    if items.is_empty() {
        return Tri::Yes;
    }
    let blocks: Vec<Block> = items
        .iter()
        .filter_map(|item| item.get("ipBlock"))
        .filter_map(|block| {
            let cidr = block.get("cidr").and_then(Node::scalar).unwrap_or("");
            let except = strings(block.get("except"));
            let except: Vec<&str> = except.iter().map(String::as_str).collect();
            Block::new(cidr, &except)
        })
        .collect();
    let by_blocks = if blocks.is_empty() {
        Tri::No
    } else {
        peer.source.in_blocks(&blocks)
    };
    Tri::any(
        std::iter::once(by_blocks).chain(
            items
                .iter()
                .filter(|item| item.get("ipBlock").is_none())
                .map(|item| one_peer(item, policy_ns, peer)),
        ),
    )
}

fn one_peer(item: &Node, policy_ns: &Ns, peer: &Peer) -> Tri {
    let Some(ns) = peer.namespace else {
        return Tri::No;
    };
    let in_namespace = match item.get("namespaceSelector") {
        Some(sel) => namespace_selects(sel, ns),
        None => same_ns(&ns.name, policy_ns),
    };
    in_namespace.and(|| match item.get("podSelector") {
        None => Tri::Yes,
        Some(sel) => match peer.labels {
            Some(labels) => Tri::of(selects(sel, labels)),
            None if selector_is_empty(sel) => Tri::Yes,
            None => Tri::Unknown(format!("the pod labels of {} are not known", peer.label)),
        },
    })
}

/// A namespaceSelector against a namespace's labels; for the release namespace of unknown
/// name, against the names the selector mentions (K8S-NP-5).
pub fn namespace_selects(selector: &Node, ns: &Namespace) -> Tri {
    const NAME: &str = "kubernetes.io/metadata.name";
    over_ns(&ns.name, selector_values(selector, NAME), |name| {
        let mut labels = ns.labels.clone();
        if ns.name.is_none() {
            labels.insert(NAME.into(), name.into());
        }
        Tri::of(selects(selector, &labels))
    })
}

/// `ports` absent or empty: every port; a number (with `endPort`, a range a CNI may not
/// support), or a named container port of the destination pod; `protocol` defaults to TCP
/// (K8S-NP-7).
fn ports(flow: &Flow, list: Option<&Node>, wire: u16) -> Tri {
    let items = list.and_then(Node::items).unwrap_or_default();
    if items.is_empty() {
        return Tri::Yes;
    }
    let protocol = protocol(flow);
    Tri::any(items.iter().map(|item| {
        let proto = item.get("protocol").and_then(Node::scalar).unwrap_or("TCP");
        if proto != protocol {
            return Tri::No;
        }
        let Some(port) = item.get("port").and_then(PortRef::read) else {
            return Tri::Yes;
        };
        match port {
            PortRef::Number(n) => {
                let end = item
                    .get("endPort")
                    .and_then(Node::scalar)
                    .and_then(|e| e.parse::<u16>().ok());
                match end {
                    _ if n == wire => Tri::Yes,
                    Some(end) if (n..=end).contains(&wire) => Tri::Unknown(format!(
                        "K8S-NP-7: port {wire} is in the range {n}-{end}, which only a CNI that \
                         supports endPort admits"
                    )),
                    _ => Tri::No,
                }
            }
            PortRef::Name(name) => Tri::of(named_port(flow, &name, wire, protocol)),
        }
    }))
}

/// Whether a port name of the destination pod stands for `wire`: a declared container
/// port, the edge's port name, or the injected Linkerd proxy's `linkerd-proxy` (4143).
fn named_port(flow: &Flow, name: &str, wire: u16, protocol: &str) -> bool {
    let declared = flow
        .dest
        .ports
        .iter()
        .any(|p| p.number == wire && p.name.as_deref() == Some(name) && p.protocol == protocol);
    declared
        || wire == flow.port() && flow.port_name() == Some(name)
        || flow.dest_plane == Dataplane::Linkerd && name == "linkerd-proxy" && wire == 4143
}

fn protocol(flow: &Flow) -> &'static str {
    if flow.udp() { "UDP" } else { "TCP" }
}

fn ids(policies: &[&Object]) -> String {
    policies
        .iter()
        .map(|p| p.id())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::model::graph::Party;

    const WEBHOOK: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: webhook, namespace: mon}
spec:
  template:
    metadata: {labels: {app: webhook}}
    spec: {containers: [{name: c, ports: [{name: https, containerPort: 9443}]}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: mon, labels: {team: obs}}
";

    fn policy(body: &str) -> String {
        format!(
            "{WEBHOOK}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: np, namespace: mon}}\nspec:\n{body}"
        )
    }

    fn from_api(yaml: &str, settings: &super::super::Settings) -> crate::model::graph::Verdict {
        run(
            yaml,
            edge(
                Party::ApiServer,
                workload("Deployment", "mon", "webhook"),
                9443,
            ),
            settings,
        )
    }

    /// https://kubernetes.io/docs/concepts/services-networking/network-policies/#the-two-sorts-of-pod-isolation
    #[test]
    fn k8s_np_1_a_pod_no_policy_selects_is_not_isolated() {
        let yaml = policy("  podSelector: {matchLabels: {app: other}}\n  policyTypes: [Ingress]\n");
        assert_allowed(&from_api(&yaml, &unmeshed()), "no NetworkPolicy isolates");
        let yaml = policy("  podSelector: {}\n  policyTypes: [Ingress]\n");
        assert_denied(
            &from_api(&yaml, &unmeshed()),
            "NetworkPolicy mon/np",
            "K8S-NP-10",
        );
    }

    /// https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-resource
    #[test]
    fn k8s_np_2_without_policy_types_ingress_is_always_set() {
        // No policyTypes and an egress section: the pod is isolated for both.
        let yaml = policy("  podSelector: {}\n  egress: [{}]\n");
        assert_denied(
            &from_api(&yaml, &unmeshed()),
            "NetworkPolicy mon/np",
            "K8S-NP-10",
        );
        // policyTypes [Egress] only: ingress is not isolated.
        let yaml = policy("  podSelector: {}\n  policyTypes: [Egress]\n");
        assert_allowed(&from_api(&yaml, &unmeshed()), "no NetworkPolicy isolates");
    }

    /// https://kubernetes.io/docs/concepts/services-networking/network-policies/#the-two-sorts-of-pod-isolation
    #[test]
    fn k8s_np_3_both_the_callers_egress_and_the_destinations_ingress_must_allow() {
        let yaml = format!(
            "{WEBHOOK}---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: client, namespace: mon}}
spec: {{template: {{metadata: {{labels: {{app: client}}}}, spec: {{containers: [{{name: c}}]}}}}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: client-egress, namespace: mon}}
spec:
  podSelector: {{matchLabels: {{app: client}}}}
  policyTypes: [Egress]
  egress: [{{to: [{{podSelector: {{matchLabels: {{app: dns}}}}}}]}}]
"
        );
        let e = edge(
            workload("Deployment", "mon", "client"),
            workload("Deployment", "mon", "webhook"),
            9443,
        );
        assert_denied(
            &run(&yaml, e.clone(), &unmeshed()),
            "NetworkPolicy mon/client-egress",
            "K8S-NP-3",
        );
        let fixed = yaml.replace("app: dns", "app: webhook");
        assert_allowed(&run(&fixed, e, &unmeshed()), "egress rule 0");
    }

    /// https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/#NetworkPolicySpec
    #[test]
    fn k8s_np_4_an_empty_from_admits_every_source_and_no_ingress_admits_nothing() {
        let yaml = policy("  podSelector: {}\n  ingress: [{ports: [{port: 9443}]}]\n");
        assert_allowed(&from_api(&yaml, &unmeshed()), "ingress rule 0");
        let yaml = policy("  podSelector: {}\n  ingress: []\n");
        assert_denied(
            &from_api(&yaml, &unmeshed()),
            "NetworkPolicy mon/np",
            "K8S-NP-10",
        );
    }

    /// https://kubernetes.io/docs/concepts/services-networking/network-policies/#behavior-of-to-and-from-selectors
    #[test]
    fn k8s_np_5_namespace_and_pod_selectors_in_one_peer_are_anded() {
        let client = "---
apiVersion: apps/v1
kind: Deployment
metadata: {name: grafana, namespace: viz}
spec: {template: {metadata: {labels: {app: grafana}}, spec: {containers: [{name: c}]}}}
";
        let e = edge(
            workload("Deployment", "viz", "grafana"),
            workload("Deployment", "mon", "webhook"),
            9443,
        );
        let and = policy(
            "  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: viz}}, podSelector: {matchLabels: {app: grafana}}}]}]\n",
        ) + client;
        assert_allowed(&run(&and, e.clone(), &unmeshed()), "ingress rule 0");
        // A podSelector alone selects pods of the policy's own namespace.
        let alone = policy(
            "  podSelector: {}\n  ingress: [{from: [{podSelector: {matchLabels: {app: grafana}}}]}]\n",
        ) + client;
        assert_denied(
            &run(&alone, e, &unmeshed()),
            "NetworkPolicy mon/np",
            "K8S-NP-1",
        );
    }

    /// https://kubernetes.io/docs/concepts/services-networking/network-policies/#behavior-of-to-and-from-selectors
    #[test]
    fn k8s_np_6_an_ip_block_decides_a_pod_caller_only_if_it_covers_everything() {
        let client = "---
apiVersion: apps/v1
kind: Deployment
metadata: {name: grafana, namespace: mon}
spec: {template: {metadata: {labels: {app: grafana}}, spec: {containers: [{name: c}]}}}
";
        let e = edge(
            workload("Deployment", "mon", "grafana"),
            workload("Deployment", "mon", "webhook"),
            9443,
        );
        let narrow =
            policy("  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}]}]\n")
                + client;
        assert_unknown(&run(&narrow, e.clone(), &unmeshed()), "pod IP");
        let all =
            policy("  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}]}]\n")
                + client;
        assert_allowed(&run(&all, e, &unmeshed()), "ingress rule 0");
    }

    /// https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/#NetworkPolicySpec
    #[test]
    fn k8s_np_7_named_ports_end_ports_and_protocols() {
        let named = policy("  podSelector: {}\n  ingress: [{ports: [{port: https}]}]\n");
        assert_allowed(&from_api(&named, &unmeshed()), "ingress rule 0");
        let udp =
            policy("  podSelector: {}\n  ingress: [{ports: [{port: 9443, protocol: UDP}]}]\n");
        assert_denied(
            &from_api(&udp, &unmeshed()),
            "NetworkPolicy mon/np",
            "K8S-NP-10",
        );
        let range =
            policy("  podSelector: {}\n  ingress: [{ports: [{port: 9000, endPort: 9999}]}]\n");
        assert_unknown(&from_api(&range, &unmeshed()), "endPort");
    }

    /// https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-and-hostnetwork-pods
    #[test]
    fn k8s_np_8_the_pods_node_is_always_allowed_but_host_network_elsewhere_is_not_known() {
        let isolate = policy("  podSelector: {}\n  ingress: [{from: [{podSelector: {}}]}]\n");
        let probe = edge(
            Party::Kubelet,
            workload("Deployment", "mon", "webhook"),
            9443,
        );
        assert_allowed(&run(&isolate, probe, &unmeshed()), "K8S-NP-8");
        let host = isolate.clone()
            + "---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: mon}
spec: {template: {metadata: {labels: {app: agent}}, spec: {hostNetwork: true, containers: [{name: c}]}}}
";
        let e = edge(
            workload("DaemonSet", "mon", "agent"),
            workload("Deployment", "mon", "webhook"),
            9443,
        );
        assert_unknown(&run(&host, e, &unmeshed()), "K8S-NP-8");
    }

    /// https://istio.io/latest/docs/ambient/usage/networkpolicy/#ambient-health-probes-and-kubernetes-networkpolicy
    #[test]
    fn k8s_np_9_ambient_hbone_arrives_on_15008() {
        let yaml = policy("  podSelector: {}\n  ingress: [{ports: [{port: 9443}]}]\n")
            + "---
apiVersion: apps/v1
kind: Deployment
metadata: {name: grafana, namespace: mon}
spec: {template: {metadata: {labels: {app: grafana}}, spec: {containers: [{name: c}]}}}
";
        let yaml = yaml.replace(
            "labels: {team: obs}",
            "labels: {team: obs, istio.io/dataplane-mode: ambient}",
        );
        let e = edge(
            workload("Deployment", "mon", "grafana"),
            workload("Deployment", "mon", "webhook"),
            9443,
        );
        assert_denied(
            &run(&yaml, e.clone(), &ambient()),
            "NetworkPolicy mon/np",
            "port 15008",
        );
        let fixed = yaml.replace("port: 9443}", "port: 15008}");
        assert_allowed(&run(&fixed, e, &ambient()), "on port 15008");
    }

    /// https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-and-hostnetwork-pods
    #[test]
    fn k8s_np_10_selectors_never_admit_the_kube_apiserver() {
        // The webhook pod is isolated and its rules admit only pods and namespaces: the
        // kube-apiserver is neither, so no rule can admit it (denied, not unknown).
        let yaml = policy(
            "  podSelector: {matchLabels: {app: webhook}}\n  ingress: [{from: [{namespaceSelector: {}}, {podSelector: {}}]}]\n",
        );
        assert_denied(
            &from_api(&yaml, &unmeshed()),
            "NetworkPolicy mon/np",
            "K8S-NP-10",
        );
        // An ipBlock decides only with the apiserver's networks.
        let block =
            policy("  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 172.16.0.0/12}}]}]\n");
        assert_unknown(&from_api(&block, &unmeshed()), "kube-apiserver's source IP");
        let mut known = unmeshed();
        known.api_server_networks = Some(vec!["172.20.0.0/16".into()]);
        assert_allowed(&from_api(&block, &known), "ingress rule 0");
        known.api_server_networks = Some(vec!["192.168.0.0/24".into()]);
        assert_denied(
            &from_api(&block, &known),
            "NetworkPolicy mon/np",
            "K8S-NP-10",
        );
    }

    /// https://kubernetes.io/docs/concepts/services-networking/network-policies/#targeting-a-namespace-by-its-name
    #[test]
    fn a_namespace_selector_on_the_unknown_release_namespace_is_unknown() {
        let yaml = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: webhook}
spec: {template: {metadata: {labels: {app: webhook}}, spec: {containers: [{name: c}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: grafana}
spec: {template: {metadata: {labels: {app: grafana}}, spec: {containers: [{name: c}]}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np}
spec:
  podSelector: {matchLabels: {app: webhook}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]}]
";
        let e = edge(
            Party::Workload {
                kind: "Deployment".into(),
                namespace: None,
                name: "grafana".into(),
            },
            Party::Workload {
                kind: "Deployment".into(),
                namespace: None,
                name: "webhook".into(),
            },
            9443,
        );
        assert_unknown(&run(yaml, e.clone(), &unmeshed()), "release namespace");
        let mut known = unmeshed();
        known.release_namespace = Some("monitoring".into());
        assert_allowed(&run(yaml, e, &known), "ingress rule 0");
    }
}
