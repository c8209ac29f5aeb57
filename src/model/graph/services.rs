//! Finding the pods behind a name: Services by namespace and name, the pods a Service or a
//! label selector picks, and the container port a Service port reaches on them
//! (<https://kubernetes.io/docs/concepts/services-networking/service/#defining-a-service>:
//! `targetPort` defaults to `port` and may name a container port).

use super::Pods;
use crate::model::stack::{Service, ServicePort};
use crate::yaml::Node;
use std::collections::BTreeMap;

/// Whether two namespaces may be the same: equal, or one of them is the release namespace
/// (`None`) and that is `release`, or not known.
pub fn same_namespace(a: Option<&str>, b: Option<&str>, release: Option<&str>) -> bool {
    match (a.or(release), b.or(release)) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// The Service `namespace/name`.
pub fn service<'s>(
    services: &'s [Service],
    namespace: Option<&str>,
    name: &str,
    release: Option<&str>,
) -> Option<&'s Service> {
    services
        .iter()
        .find(|s| s.name == name && same_namespace(s.namespace.as_deref(), namespace, release))
}

/// A port of a Service: by number (`port`) or by name.
pub enum ServicePortRef<'r> {
    Number(u16),
    Name(&'r str),
}

impl ServicePortRef<'_> {
    /// A port given as a number or a name.
    pub fn parse(text: &str) -> ServicePortRef<'_> {
        match text.parse() {
            Ok(n) => ServicePortRef::Number(n),
            Err(_) => ServicePortRef::Name(text),
        }
    }

    fn picks(&self, p: &ServicePort) -> bool {
        match self {
            ServicePortRef::Number(n) => p.port == *n,
            ServicePortRef::Name(name) => p.name.as_deref() == Some(name),
        }
    }
}

/// A container port reached on a workload's pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Index into the pods the graph is built from.
    pub pods: usize,
    pub port: u16,
    pub port_name: Option<String>,
    /// The Service port is UDP.
    pub udp: bool,
}

/// The container ports a Service port reaches, one per workload it selects (all its ports
/// when `port` is `None`). Helm hook and test pods are no target: they run only while a
/// release is installed or tested, and a chart's test pod often carries the labels its
/// Service selects (grafana's).
pub fn through(
    service: &Service,
    port: Option<&ServicePortRef>,
    pods: &[Pods],
    release: Option<&str>,
) -> Vec<Target> {
    if service.selector.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, p) in pods.iter().enumerate() {
        let selected = !p.hook
            && same_namespace(p.namespace(), service.namespace.as_deref(), release)
            && service
                .selector
                .iter()
                .all(|(k, v)| p.labels.get(k) == Some(v));
        if !selected {
            continue;
        }
        for sp in service
            .ports
            .iter()
            .filter(|sp| port.is_none_or(|r| r.picks(sp)))
        {
            if let Some(t) = container_port(p, sp.target.as_deref().unwrap_or(&sp.port.to_string()))
            {
                out.push(Target {
                    pods: i,
                    port: t.0,
                    port_name: t.1,
                    udp: sp.protocol == "UDP",
                });
            }
        }
    }
    out
}

/// A container port of `pods` by number or name: its number and name. A number the pods do
/// not declare still reaches them.
pub fn container_port(pods: &Pods, target: &str) -> Option<(u16, Option<String>)> {
    match target.parse::<u16>() {
        Ok(n) => Some((
            n,
            pods.ports
                .iter()
                .find(|p| p.number == n)
                .and_then(|p| p.name.clone()),
        )),
        Err(_) => pods
            .ports
            .iter()
            .find(|p| p.name.as_deref() == Some(target))
            .map(|p| (p.number, p.name.clone())),
    }
}

/// Whether a Kubernetes label selector (`matchLabels`, `matchExpressions`) picks `labels`;
/// an empty one picks everything
/// (<https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#resources-that-support-set-based-requirements>).
pub fn selects(selector: &Node, labels: &BTreeMap<String, String>) -> bool {
    let exact = selector
        .get("matchLabels")
        .map(Node::string_map)
        .unwrap_or_default()
        .into_iter()
        .all(|(k, v)| labels.get(k).map(String::as_str) == v);
    let expressions = selector
        .get("matchExpressions")
        .and_then(Node::items)
        .unwrap_or_default()
        .iter()
        .all(|e| {
            let key = e.get("key").and_then(Node::scalar).unwrap_or_default();
            let values: Vec<&str> = e
                .get("values")
                .and_then(Node::items)
                .unwrap_or_default()
                .iter()
                .filter_map(Node::scalar)
                .collect();
            let value = labels.get(key).map(String::as_str);
            match e.get("operator").and_then(Node::scalar) {
                Some("In") => value.is_some_and(|v| values.contains(&v)),
                Some("NotIn") => value.is_none_or(|v| !values.contains(&v)),
                Some("Exists") => value.is_some(),
                Some("DoesNotExist") => value.is_none(),
                _ => false,
            }
        });
    exact && expressions
}
