//! Who may call whom, between components: the catalog's default flows of an observability
//! stack (the fallback where no config can be read), the config's own, and those the graph
//! read from the stream.

use super::Found;
use crate::config::Authorization;
use crate::model::mesh::Mesh;
use crate::model::stack::Stack;
use std::collections::{BTreeMap, BTreeSet};

/// Where a flow comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// The pods of a component in the stack (by their ServiceAccounts).
    Component(String),
    /// A ServiceAccount: `namespace`, `name`.
    Account(String, String),
    /// Any workload with a mesh identity.
    Any,
    /// Every identity of a namespace: callers of another release ([`Authorization::peers`]).
    Namespace(String),
    /// Every identity of the target's own namespace: callers the stream does not hold.
    OwnNamespace,
}

impl Source {
    /// The ServiceAccounts (`namespace`, `name`) that call into namespace `ns` (see
    /// [`Stack::callers`]); empty for `Any` and `Namespace`.
    pub fn accounts(&self, stack: &Stack, ns: Option<&str>) -> Vec<(Option<String>, String)> {
        let mut accounts: Vec<(Option<String>, String)> = match self {
            Source::Component(c) => stack
                .callers(c, ns)
                .into_iter()
                .map(|m| (m.namespace.clone(), m.service_account.clone()))
                .collect(),
            Source::Account(ns, sa) => vec![(Some(ns.clone()), sa.clone())],
            Source::Any | Source::Namespace(_) | Source::OwnNamespace => Vec::new(),
        };
        accounts.sort();
        accounts.dedup();
        accounts
    }
}

/// What [`flows`] says of the callers that are not in the stream.
#[derive(Debug, Default)]
pub struct Said {
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
}

/// One allowed flow to a component.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Flow {
    pub to: String,
    pub from: Source,
    pub reason: String,
    pub found: Found,
}

/// The linkerd-multicluster gateway's ServiceAccount: (namespace, name).
pub const MULTICLUSTER_GATEWAY: (&str, &str) = ("linkerd-multicluster", "linkerd-gateway");

const DATASOURCES: &[&str] = &[
    "prometheus",
    "loki",
    "tempo",
    "mimir",
    "thanos",
    "jaeger",
    "alertmanager",
];
const AGENTS: &[&str] = &[
    "promtail",
    "fluent-bit",
    "opentelemetry-collector",
    "alloy",
    "grafana-agent",
    "vector",
];
const SINKS: &[&str] = &["loki", "tempo", "mimir", "prometheus"];
/// Agents that scrape the stack's targets as Prometheus does (grafana/k8s-monitoring's
/// Alloy metrics collector scrapes kube-state-metrics, the exporters and the operators).
const SCRAPERS: &[&str] = &["alloy", "grafana-agent"];
/// Receiver ports: OTLP gRPC and HTTP, Zipkin, Jaeger's.
const RECEIVER_PORTS: &[u16] = &[4317, 4318, 9411, 14250, 14268];
const RULERS: &[&str] = &["loki", "mimir", "thanos", "prometheus"];

/// The flows for the components present in the stack, sorted and without duplicates:
/// those `read` from the stream (between components in the mesh), the catalog's defaults
/// (`authorization.defaults`) except from the components whose configuration was read in
/// full (`configured`), the ingress, the multi-cluster gateway to the `exported`
/// components and the config's `allow` rules. Where two say the
/// same, the one kept is the one read, else configured, else inferred. A flow whose caller
/// is not in the stream comes from the identities `authorization.peers` names for it, or,
/// with `peers` unset, from its target's namespace, which `said` warns of; it notes the
/// callers a non-empty `peers` leaves out.
pub fn flows(
    stack: &Stack,
    auth: &Authorization,
    mesh: &Mesh,
    read: &[(Source, String, String)],
    configured: &[String],
    exported: &[String],
    said: &mut Said,
) -> Vec<Flow> {
    let present = stack.components();
    let mut wanted: Vec<(Source, String, String, Found)> = read
        .iter()
        .map(|(from, to, why)| (from.clone(), to.clone(), why.clone(), Found::Read))
        .collect();
    let component = |c: &str| Source::Component(c.to_string());
    let mut inferred = |from: Source, to: &str, reason: String| {
        wanted.push((from, to.to_string(), reason, Found::Inferred));
    };
    if auth.defaults {
        for to in DATASOURCES {
            inferred(
                component("grafana"),
                to,
                format!("Grafana queries its {to} datasource"),
            );
        }
        for to in &present {
            if *to != "prometheus" {
                inferred(
                    component("prometheus"),
                    to,
                    format!("Prometheus scrapes {to}"),
                );
            }
            for from in SCRAPERS.iter().filter(|f| *f != to) {
                inferred(component(from), to, format!("{from} scrapes {to}"));
            }
            inferred(
                component(to),
                to,
                format!("{to} talks to its peers (rings, gossip, replication)"),
            );
        }
        for from in AGENTS {
            for to in SINKS {
                if from != to {
                    inferred(
                        component(from),
                        to,
                        format!("{from} ships telemetry to {to}"),
                    );
                }
            }
        }
        for from in RULERS {
            inferred(
                component(from),
                "alertmanager",
                format!("{from} sends alerts to Alertmanager"),
            );
        }
        inferred(
            component("thanos"),
            "prometheus",
            "Thanos Query reads the Prometheus sidecar".into(),
        );
        inferred(
            component("prometheus-adapter"),
            "prometheus",
            "prometheus-adapter queries Prometheus".into(),
        );
        if matches!(mesh, Mesh::Istio { .. }) {
            for to in ["prometheus", "grafana", "tempo", "jaeger"] {
                inferred(component("kiali"), to, format!("Kiali reads {to}"));
            }
        }
        inferred(
            Source::Any,
            "opentelemetry-collector",
            "applications send telemetry to the OpenTelemetry Collector".into(),
        );
        // An agent that listens on a receiver port (grafana/k8s-monitoring's
        // `alloy-receiver`) takes telemetry from the applications too.
        for agent in SCRAPERS {
            let receives = stack
                .of(agent)
                .any(|m| m.ports.iter().any(|p| RECEIVER_PORTS.contains(&p.number)));
            if receives {
                inferred(
                    Source::Any,
                    agent,
                    format!("applications send telemetry to {agent}'s receivers"),
                );
            }
        }
    }
    let ingress = match (&auth.ingress, mesh) {
        (Some(list), _) => list.clone(),
        (None, Mesh::Istio { .. }) if auth.defaults => {
            vec!["istio-system/istio-ingressgateway-service-account".into()]
        }
        (None, _) => Vec::new(),
    };
    for id in ingress {
        if let Some((ns, sa)) = id.split_once('/') {
            let found = if auth.ingress.is_some() {
                Found::Configured
            } else {
                Found::Inferred
            };
            wanted.push((
                Source::Account(ns.into(), sa.into()),
                "grafana".into(),
                "the ingress gateway serves Grafana".into(),
                found,
            ));
        }
    }
    // Helm test pods (in the mesh with `hooks: inject`) call the component whose chart
    // they test; they are no identity of it ([`Stack::callers`]), so they are admitted by
    // their own ServiceAccount. Not as `default`: that would admit every pod of the
    // namespace without its own.
    for m in stack
        .members
        .iter()
        .filter(|m| m.hook && m.service_account != "default")
    {
        if let Some(ns) = &m.namespace {
            wanted.push((
                Source::Account(ns.clone(), m.service_account.clone()),
                m.component.clone(),
                format!(
                    "Helm hook pod {} tests {} (hooks: inject)",
                    m.name, m.component
                ),
                Found::Inferred,
            ));
        }
    }
    // Other clusters' requests arrive through the linkerd-multicluster gateway, whose
    // identity the exported Services' pods see (`linkerd-gateway` in
    // `linkerd-multicluster`: <https://linkerd.io/2-edge/features/multicluster/>).
    for to in exported {
        wanted.push((
            Source::Account(MULTICLUSTER_GATEWAY.0.into(), MULTICLUSTER_GATEWAY.1.into()),
            to.clone(),
            "the linkerd-multicluster gateway forwards other clusters' requests (multiCluster.exportServices)".into(),
            Found::Configured,
        ));
    }
    for rule in &auth.allow {
        let from = match rule.from.split_once('/') {
            _ if rule.from == "*" => Source::Any,
            Some((ns, sa)) => Source::Account(ns.into(), sa.into()),
            None => component(&rule.from),
        };
        wanted.push((
            from,
            rule.to.clone(),
            "spec.authorization.allow".into(),
            Found::Configured,
        ));
    }
    let wanted: Vec<(Source, String, String, Found)> = wanted
        .into_iter()
        .filter(|(from, _, _, found)| {
            !(*found == Found::Inferred
                && matches!(from, Source::Component(c) if configured.contains(c)))
        })
        .filter(|(_, to, _, _)| present.contains(to.as_str()))
        .collect();
    // Callers that are not in the stream: named peers, or their target's namespace.
    let mut outside: BTreeMap<(String, Source), (Vec<String>, Found)> = BTreeMap::new();
    let mut guessed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut unnamed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut flows: Vec<Flow> = Vec::new();
    // A component none of whose workloads names its namespace (and no --namespace): its
    // namespace cannot be named in a policy.
    let unplaced = |to: &str| stack.of(to).all(|m| m.namespace.is_none());
    for (from, to, reason, found) in wanted {
        let absent = match &from {
            Source::Component(c) if !present.contains(c.as_str()) => c.clone(),
            _ => {
                flows.push(Flow {
                    to,
                    from,
                    reason,
                    found,
                });
                continue;
            }
        };
        let sources: Vec<Source> = match &auth.peers {
            Some(peers) if !peers.is_empty() && !peers.iter().any(|p| p.component == absent) => {
                unnamed
                    .entry(absent.clone())
                    .or_default()
                    .insert(to.clone());
                Vec::new()
            }
            Some(peers) => peers
                .iter()
                .filter(|p| p.component == absent)
                .flat_map(|p| {
                    let named = p
                        .service_accounts
                        .iter()
                        .filter_map(|id| id.split_once('/'))
                        .map(|(ns, sa)| Source::Account(ns.into(), sa.into()))
                        .chain(p.namespaces.iter().cloned().map(Source::Namespace));
                    let named: Vec<Source> = named.collect();
                    if named.is_empty() {
                        vec![Source::OwnNamespace]
                    } else {
                        named
                    }
                })
                .collect(),
            None if unplaced(&to) => Vec::new(),
            None => {
                guessed
                    .entry(to.clone())
                    .or_default()
                    .insert(absent.clone());
                vec![Source::OwnNamespace]
            }
        };
        for source in sources {
            let entry = outside
                .entry((to.clone(), source))
                .or_insert_with(|| (Vec::new(), found));
            entry.0.push(absent.clone());
            entry.1 = entry.1.min(found);
        }
    }
    for ((to, from), (mut callers, found)) in outside {
        callers.sort();
        callers.dedup();
        let whom = match &from {
            Source::Namespace(ns) => format!("from namespace {ns}"),
            Source::Account(ns, sa) => format!("as {ns}/{sa}"),
            _ => "from its own namespace".into(),
        };
        flows.push(Flow {
            reason: format!(
                "{} outside the stream {} (authorization.peers)",
                callers.join(", "),
                whom,
            ),
            to,
            from,
            found,
        });
    }
    if !unnamed.is_empty() {
        let list: Vec<String> = unnamed
            .iter()
            .map(|(from, to)| {
                format!(
                    "{from} → {}",
                    to.iter().cloned().collect::<Vec<_>>().join("/")
                )
            })
            .collect();
        said.notes.push(format!(
            "authorization.peers names none of these callers, so their flows are not allowed: {}",
            list.join(", ")
        ));
    }
    if !guessed.is_empty() {
        let callers: BTreeSet<&str> = guessed.values().flatten().map(String::as_str).collect();
        let targets: Vec<&str> = guessed.keys().map(String::as_str).collect();
        said.warnings.push(format!(
            "authorization: callers the stack's flows name are not in this stream ({}); as they may be other releases, {} accept every identity of their namespace. Name the callers in spec.authorization.peers (component, and ServiceAccounts or namespaces), or set `peers: []` to allow none",
            callers.into_iter().collect::<Vec<_>>().join(", "),
            targets.join(", "),
        ));
    }
    // Among flows between the same two ends, the one read stays, else the configured one.
    flows.sort_by(|a, b| (&a.to, &a.from, a.found).cmp(&(&b.to, &b.from, b.found)));
    flows.dedup_by(|a, b| a.to == b.to && a.from == b.from);
    flows
}
