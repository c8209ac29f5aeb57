//! Flows a workload's configuration names: Service addresses in its containers' arguments
//! and environment, in the ConfigMaps it mounts and, for Grafana, in the datasource
//! ConfigMaps its sidecar loads (label `grafana_datasource`). Datasource URLs, push
//! endpoints, alerting URLs, ring and gossip peers all name Services this way. Secrets are
//! never read.

use std::collections::{HashMap, HashSet};

use super::services::{self, ServicePortRef};
use super::{Edge, Found, Party, Pods, Protocol, Sources};
use crate::model::kinds;
use crate::model::ports::{self, Proto};
use crate::model::stack::Service;
use crate::yaml::Node;

/// The stream's ConfigMaps by name, and Grafana's datasource ConfigMaps (label
/// `grafana_datasource`): object indices in stream order.
pub struct ConfigMaps<'s> {
    by_name: HashMap<&'s str, Vec<usize>>,
    datasources: Vec<usize>,
}

impl<'s> ConfigMaps<'s> {
    pub fn index(src: &Sources<'s, '_>) -> Self {
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut datasources = Vec::new();
        for (i, cm) in src.objects.iter().enumerate() {
            if cm.kind != "ConfigMap" {
                continue;
            }
            by_name.entry(cm.name()).or_default().push(i);
            if cm
                .node
                .at(&["metadata", "labels", "grafana_datasource"])
                .is_some()
            {
                datasources.push(i);
            }
        }
        ConfigMaps {
            by_name,
            datasources,
        }
    }
}

/// The configuration texts of a workload: (where, text).
pub fn configs(src: &Sources, cms: &ConfigMaps, pods: &Pods) -> Vec<(String, String)> {
    let o = &src.objects[pods.object];
    let mut texts = Vec::new();
    let Some(kind) = kinds::pod_kind(&o.kind) else {
        return texts;
    };
    let spec = o.node.at(kind.spec);
    let mut mounted: Vec<&str> = Vec::new();
    if let Some(spec) = spec {
        for list in ["initContainers", "containers"] {
            for c in spec.get(list).and_then(Node::items).unwrap_or_default() {
                let name = c.get("name").and_then(Node::scalar).unwrap_or_default();
                for key in ["command", "args"] {
                    let words: Vec<&str> = c
                        .get(key)
                        .and_then(Node::items)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(Node::scalar)
                        .collect();
                    if !words.is_empty() {
                        texts.push((format!("container {name} {key}"), words.join(" ")));
                    }
                }
                for env in c.get("env").and_then(Node::items).unwrap_or_default() {
                    if let (Some(k), Some(v)) = (
                        env.get("name").and_then(Node::scalar),
                        env.get("value").and_then(Node::scalar),
                    ) {
                        texts.push((format!("container {name} env {k}"), v.to_string()));
                    }
                }
            }
        }
        for v in spec
            .get("volumes")
            .and_then(Node::items)
            .unwrap_or_default()
        {
            mounted.extend(v.at(&["configMap", "name"]).and_then(Node::scalar));
            for s in v
                .at(&["projected", "sources"])
                .and_then(Node::items)
                .unwrap_or_default()
            {
                mounted.extend(s.at(&["configMap", "name"]).and_then(Node::scalar));
            }
        }
        // prometheus-operator mounts `spec.configMaps`; the OpenTelemetry operator renders
        // `spec.config`.
        if kind.operator.is_some() {
            mounted.extend(
                spec.get("configMaps")
                    .and_then(Node::items)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(Node::scalar),
            );
            if let Some(config) = spec.get("config") {
                let text = match config.scalar() {
                    Some(s) => s.to_string(),
                    None => config.to_json().to_string(),
                };
                texts.push(("spec.config".into(), text));
            }
        }
    }
    let grafana = pods.component.as_deref() == Some("grafana");
    let mut read: Vec<usize> = mounted
        .iter()
        .filter_map(|name| cms.by_name.get(name))
        .flatten()
        .copied()
        .filter(|&i| {
            let ns = src.objects[i]
                .node
                .at(&["metadata", "namespace"])
                .and_then(Node::scalar);
            services::same_namespace(ns, pods.namespace(), src.release)
        })
        .collect();
    if grafana {
        read.extend(&cms.datasources);
    }
    read.sort_unstable();
    read.dedup();
    for cm in read.into_iter().map(|i| &src.objects[i]) {
        let name = cm.name();
        for (key, value) in cm
            .node
            .get("data")
            .and_then(Node::entries)
            .unwrap_or_default()
        {
            if let (Some(k), Some(v)) = (key.scalar(), value.scalar()) {
                texts.push((format!("ConfigMap {name} {k}"), v.to_string()));
            }
        }
    }
    texts
}

/// Flows to the Services each workload's configuration names.
pub fn named(src: &Sources, cms: &ConfigMaps, edges: &mut Vec<Edge>) {
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, svc) in src.services.iter().enumerate() {
        by_name.entry(svc.name.as_str()).or_default().push(i);
    }
    let mut seen: HashSet<(Party, Party, u16)> = edges
        .iter()
        .map(|e| (e.from.clone(), e.to.clone(), e.port))
        .collect();
    for p in src.pods {
        for (place, text) in configs(src, cms, p) {
            for svc in named_in(&text, &by_name).map(|i| &src.services[i]) {
                for (port, scheme) in mentions(&text, svc, src.release) {
                    let port_ref = port.map(ServicePortRef::Number);
                    let targets = services::through(svc, port_ref.as_ref(), src.pods, src.release);
                    for t in targets {
                        let to = src.pods[t.pods].party.clone();
                        let protocol = match scheme {
                            Some("https") => Protocol::Tls,
                            Some("http") => Protocol::Http,
                            _ => match ports::classify(&[t.port], t.port_name.as_deref()) {
                                Proto::Grpc => Protocol::Grpc,
                                Proto::Http => Protocol::Http,
                                _ => Protocol::Tcp,
                            },
                        };
                        if !seen.insert((p.party.clone(), to.clone(), t.port)) {
                            continue;
                        }
                        edges.push(Edge {
                            from: p.party.clone(),
                            to,
                            port: t.port,
                            port_name: t.port_name,
                            protocol,
                            found: Found::Read,
                            evidence: format!("{place} names Service {}", svc.host()),
                            via: None,
                            via_object: None,
                            probe_path: None,
                        });
                    }
                }
            }
        }
    }
}

/// The Services (indices into `by_name`'s values, in order) whose name is the first label
/// of a host-like word of `text`: the only ones [`mentions`] can find there, since a
/// Service name is a DNS label and a mention starts a word.
fn named_in(text: &str, by_name: &HashMap<&str, Vec<usize>>) -> impl Iterator<Item = usize> {
    let mut found: Vec<usize> = text
        .split(|c: char| !host_char(c))
        .filter_map(|word| by_name.get(word.split('.').next().unwrap_or(word)))
        .flatten()
        .copied()
        .collect();
    found.sort_unstable();
    found.dedup();
    found.into_iter()
}

fn host_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_'
}

/// Where `text` names Service `svc`: each mention's port (`:port`, or the URL scheme's
/// default; `None`: every port) and scheme. A bare name counts only in a URL or with a port.
fn mentions(
    text: &str,
    svc: &Service,
    release: Option<&str>,
) -> Vec<(Option<u16>, Option<&'static str>)> {
    let ns = svc.namespace.as_deref().or(release);
    let mut hosts = Vec::new();
    if let Some(ns) = ns {
        hosts.push(format!("{}.{ns}.svc.{}", svc.name, svc.cluster_domain));
        hosts.push(format!("{}.{ns}.svc", svc.name));
        hosts.push(format!("{}.{ns}", svc.name));
    }
    hosts.push(svc.name.clone());
    let mut found = Vec::new();
    for (h, host) in hosts.iter().enumerate() {
        let bare = h == hosts.len() - 1;
        for (at, _) in text.match_indices(host.as_str()) {
            let before = &text[..at];
            let after = &text[at + host.len()..];
            // One trailing dot may end a fully qualified name (`svc.ns.svc.cluster.local.`).
            let rest = after.strip_prefix('.').unwrap_or(after);
            let longer = after.starts_with(|c: char| host_char(c) && c != '.')
                || (after.starts_with('.') && rest.starts_with(|c: char| host_char(c) && c != '.'));
            if before.ends_with(host_char) || longer {
                continue;
            }
            let scheme = [
                "https://",
                "http://",
                "grpc://",
                "dns+",
                "dnssrv+",
                "dnssrvnoa+",
            ]
            .into_iter()
            .find(|s| before.ends_with(s));
            let port = rest
                .strip_prefix(':')
                .map(|p| &p[..p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len())])
                .and_then(|p| p.parse::<u16>().ok());
            if bare && scheme.is_none() && port.is_none() {
                continue;
            }
            let scheme = match scheme {
                Some("https://") => Some("https"),
                Some("http://") => Some("http"),
                _ => None,
            };
            let port = port.or(match scheme {
                Some("https") => Some(443),
                Some("http") => Some(80),
                _ => None,
            });
            if !found.contains(&(port, scheme)) {
                found.push((port, scheme));
            }
        }
    }
    found
}
