//! Who may call whom: the flows an observability stack needs, plus the config's own.

use crate::config::Authorization;
use crate::generate::dns_name;
use crate::model::mesh::Mesh;
use crate::model::stack::Stack;

/// Where a flow comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// The pods of a component in the stack (by their ServiceAccounts).
    Component(String),
    /// A ServiceAccount: `namespace`, `name`.
    Account(String, String),
    /// Any workload with a mesh identity.
    Any,
}

impl Source {
    /// A short name for resource names: `grafana`, `sa-istio-system-istio-ingressgateway`,
    /// `any`.
    pub fn slug(&self) -> String {
        match self {
            Source::Component(c) => c.clone(),
            Source::Account(ns, sa) => dns_name(&format!("sa-{ns}-{sa}")),
            Source::Any => "any".into(),
        }
    }

    /// The ServiceAccounts (`namespace`, `name`) that call into namespace `ns` (see
    /// [`Stack::callers`]); empty for `Any`.
    pub fn accounts(&self, stack: &Stack, ns: Option<&str>) -> Vec<(Option<String>, String)> {
        let mut accounts: Vec<(Option<String>, String)> = match self {
            Source::Component(c) => stack
                .callers(c, ns)
                .into_iter()
                .map(|m| (m.namespace.clone(), m.service_account.clone()))
                .collect(),
            Source::Account(ns, sa) => vec![(Some(ns.clone()), sa.clone())],
            Source::Any => Vec::new(),
        };
        accounts.sort();
        accounts.dedup();
        accounts
    }
}

/// One allowed flow to a component.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Flow {
    pub to: String,
    pub from: Source,
    pub reason: String,
}

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
const RULERS: &[&str] = &["loki", "mimir", "thanos", "prometheus"];

/// The flows for the components present in the stack, sorted and without duplicates.
pub fn flows(stack: &Stack, auth: &Authorization, mesh: &Mesh) -> Vec<Flow> {
    let present = stack.components();
    let mut flows = Vec::new();
    let mut add = |from: Source, to: &str, reason: String| {
        let known = match &from {
            Source::Component(c) => present.contains(c.as_str()),
            _ => true,
        };
        if known && present.contains(to) {
            flows.push(Flow {
                to: to.to_string(),
                from,
                reason,
            });
        }
    };
    let component = |c: &str| Source::Component(c.to_string());
    if auth.defaults {
        for to in DATASOURCES {
            add(
                component("grafana"),
                to,
                format!("Grafana queries its {to} datasource"),
            );
        }
        for to in &present {
            if *to != "prometheus" {
                add(
                    component("prometheus"),
                    to,
                    format!("Prometheus scrapes {to}"),
                );
            }
            add(
                component(to),
                to,
                format!("{to} talks to its peers (rings, gossip, replication)"),
            );
        }
        for from in AGENTS {
            for to in SINKS {
                if from != to {
                    add(
                        component(from),
                        to,
                        format!("{from} ships telemetry to {to}"),
                    );
                }
            }
        }
        for from in RULERS {
            add(
                component(from),
                "alertmanager",
                format!("{from} sends alerts to Alertmanager"),
            );
        }
        add(
            component("thanos"),
            "prometheus",
            "Thanos Query reads the Prometheus sidecar".into(),
        );
        add(
            component("prometheus-adapter"),
            "prometheus",
            "prometheus-adapter queries Prometheus".into(),
        );
        if matches!(mesh, Mesh::Istio { .. }) {
            for to in ["prometheus", "grafana", "tempo", "jaeger"] {
                add(component("kiali"), to, format!("Kiali reads {to}"));
            }
        }
        add(
            Source::Any,
            "opentelemetry-collector",
            "applications send telemetry to the OpenTelemetry Collector".into(),
        );
        let ingress = match (&auth.ingress, mesh) {
            (Some(list), _) => list.clone(),
            (None, Mesh::Istio { .. }) => {
                vec!["istio-system/istio-ingressgateway-service-account".into()]
            }
            (None, _) => Vec::new(),
        };
        for id in ingress {
            if let Some((ns, sa)) = id.split_once('/') {
                add(
                    Source::Account(ns.into(), sa.into()),
                    "grafana",
                    "the ingress gateway serves Grafana".into(),
                );
            }
        }
    } else if let Some(list) = &auth.ingress {
        for id in list {
            if let Some((ns, sa)) = id.split_once('/') {
                add(
                    Source::Account(ns.into(), sa.into()),
                    "grafana",
                    "the ingress gateway serves Grafana".into(),
                );
            }
        }
    }
    for rule in &auth.allow {
        let from = match rule.from.split_once('/') {
            _ if rule.from == "*" => Source::Any,
            Some((ns, sa)) => Source::Account(ns.into(), sa.into()),
            None => component(&rule.from),
        };
        add(from, &rule.to, "spec.authorization.allow".into());
    }
    flows.sort();
    flows.dedup_by(|a, b| a.to == b.to && a.from == b.from);
    flows
}
