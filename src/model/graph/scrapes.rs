//! Prometheus's flows: the targets of the ServiceMonitors and PodMonitors a `Prometheus`
//! selects, its Alertmanagers, and, for a Prometheus configured by a `prometheus.yml`, the
//! Services and pods annotated `prometheus.io/scrape`.
//!
//! - Selection (<https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.PrometheusSpec>):
//!   a null `serviceMonitorSelector` picks none and an empty one all; a null
//!   `serviceMonitorNamespaceSelector` means the Prometheus's own namespace and an empty one
//!   every namespace; the same for PodMonitors.
//! - A ServiceMonitor's `namespaceSelector` is `any: true` or `matchNames`, else its own
//!   namespace; an endpoint names a Service port (`port`) or a container port
//!   (`targetPort`) (<https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.Endpoint>).
//! - `spec.alerting.alertmanagers[]` name a Service, its namespace and port.
//! - Istio metrics merging rewrites the `prometheus.io/*` annotations of injected pods to
//!   the agent's port 15020 (<https://istio.io/latest/docs/ops/integrations/prometheus/#option-1-metrics-merging>).

use super::services::{self, ServicePortRef, Target};
use super::urls::ConfigMaps;
use super::{Edge, Found, Party, Protocol, Sources, Via};
use crate::model::mesh::Mesh;
use crate::model::object::Object;
use crate::yaml::Node;

/// Scrape and alerting flows of every Prometheus of the stream; the Prometheus servers whose
/// whole configuration was read go to `read` (their flows are exactly these).
pub fn prometheus(src: &Sources, cms: &ConfigMaps, edges: &mut Vec<Edge>, read: &mut Vec<Party>) {
    for (i, o) in src.objects.iter().enumerate() {
        if matches!(o.kind.as_str(), "Prometheus" | "PrometheusAgent") {
            operator(src, i, o, edges);
            // Scrape configs kept in a Secret cannot be read.
            if o.node.at(&["spec", "additionalScrapeConfigs"]).is_none() {
                read.push(Party::Workload {
                    kind: o.kind.clone(),
                    namespace: namespace(o).or(src.release).map(str::to_string),
                    name: o.name().to_string(),
                });
            }
        }
    }
    for p in src.pods.iter().filter(|p| {
        p.component.as_deref() == Some("prometheus")
            && !matches!(kind(&p.party), "Prometheus" | "PrometheusAgent")
    }) {
        let config = super::urls::configs(src, cms, p);
        let has = |word: &str| config.iter().any(|(_, text)| text.contains(word));
        if has("prometheus.io/scrape") || has("prometheus_io_scrape") {
            annotated(src, &p.party, edges);
        }
        if has("scrape_configs") {
            read.push(p.party.clone());
        }
        if has("alertmanagers") {
            alert_pods(src, &p.party, edges);
        }
    }
}

fn kind(party: &Party) -> &str {
    match party {
        Party::Workload { kind, .. } => kind,
        _ => "",
    }
}

/// The namespace of an object, or the release namespace.
fn namespace<'o>(o: &'o Object) -> Option<&'o str> {
    o.node.at(&["metadata", "namespace"]).and_then(Node::scalar)
}

/// Whether a namespace selector of a Prometheus in `home` picks namespace `ns` (a null
/// selector: `home` only; labels known only by name).
fn namespace_selected(
    selector: Option<&Node>,
    home: Option<&str>,
    ns: Option<&str>,
    release: Option<&str>,
) -> bool {
    match selector.filter(|s| !s.is_null()) {
        None => services::same_namespace(home, ns, release),
        Some(s) => match ns.or(release) {
            Some(name) => services::selects(
                s,
                &[("kubernetes.io/metadata.name".to_string(), name.to_string())].into(),
            ),
            None => true,
        },
    }
}

fn operator(src: &Sources, index: usize, prom: &Object, edges: &mut Vec<Edge>) {
    let from = Party::Workload {
        kind: prom.kind.clone(),
        namespace: namespace(prom).or(src.release).map(str::to_string),
        name: prom.name().to_string(),
    };
    let home = namespace(prom);
    let spec = |k: &str| prom.node.at(&["spec", k]).filter(|n| !n.is_null());
    for (monitor_kind, selector, ns_selector) in [
        (
            "ServiceMonitor",
            "serviceMonitorSelector",
            "serviceMonitorNamespaceSelector",
        ),
        (
            "PodMonitor",
            "podMonitorSelector",
            "podMonitorNamespaceSelector",
        ),
    ] {
        let Some(selector) = spec(selector) else {
            continue;
        };
        for (i, m) in src.objects.iter().enumerate() {
            if m.kind != monitor_kind {
                continue;
            }
            let labels = m
                .node
                .at(&["metadata", "labels"])
                .map(Node::string_map)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(k, v)| Some((k.to_string(), v?.to_string())))
                .collect();
            if !services::selects(selector, &labels)
                || !namespace_selected(spec(ns_selector), home, namespace(m), src.release)
            {
                continue;
            }
            monitor(src, &from, i, m, edges);
        }
    }
    for (n, am) in spec("alerting")
        .and_then(|a| a.get("alertmanagers"))
        .and_then(Node::items)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let get = |k: &str| am.get(k).and_then(Node::scalar);
        let Some(name) = get("name") else { continue };
        let ns = get("namespace").or(home);
        let Some(svc) = services::service(src.services, ns, name, src.release) else {
            continue;
        };
        let port = get("port").map(ServicePortRef::parse);
        let scheme = get("scheme").unwrap_or("http");
        let via = Via::Alerting {
            namespace: home.map(str::to_string),
            name: prom.name().to_string(),
            endpoint: n,
        };
        let evidence = format!(
            "{} {} spec.alerting.alertmanagers[{n}] → Service {}",
            prom.kind,
            prom.name(),
            svc.host()
        );
        for t in services::through(svc, port.as_ref(), src.pods, src.release) {
            push(
                src,
                edges,
                &from,
                t,
                scheme,
                &evidence,
                Some((via.clone(), index)),
            );
        }
    }
}

/// The targets of one ServiceMonitor or PodMonitor.
fn monitor(src: &Sources, from: &Party, index: usize, m: &Object, edges: &mut Vec<Edge>) {
    let home = namespace(m);
    let ns_selector = m.node.at(&["spec", "namespaceSelector"]);
    let in_scope = |ns: Option<&str>| match ns_selector {
        Some(s) if s.get("any").and_then(Node::scalar) == Some("true") => true,
        Some(s) if s.get("matchNames").is_some() => s
            .get("matchNames")
            .and_then(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(Node::scalar)
            .any(|n| services::same_namespace(Some(n), ns, src.release)),
        _ => services::same_namespace(home, ns, src.release),
    };
    let Some(selector) = m.node.at(&["spec", "selector"]) else {
        return;
    };
    let service_monitor = m.kind == "ServiceMonitor";
    let list = if service_monitor {
        "endpoints"
    } else {
        "podMetricsEndpoints"
    };
    for (n, ep) in m
        .node
        .at(&["spec", list])
        .and_then(Node::items)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let get = |k: &str| ep.get(k).and_then(Node::scalar);
        let scheme = get("scheme").unwrap_or("http");
        let via = if service_monitor {
            Via::ServiceMonitor {
                namespace: home.map(str::to_string),
                name: m.name().to_string(),
                endpoint: n,
            }
        } else {
            Via::PodMonitor {
                namespace: home.map(str::to_string),
                name: m.name().to_string(),
                endpoint: n,
            }
        };
        let evidence = format!("{} {} {list}[{n}]", m.kind, m.name());
        let mut targets = Vec::new();
        if service_monitor {
            for svc in src.services.iter().filter(|s| {
                in_scope(s.namespace.as_deref()) && services::selects(selector, &s.labels)
            }) {
                match (get("port"), get("targetPort")) {
                    (Some(port), _) => targets.extend(services::through(
                        svc,
                        Some(&ServicePortRef::Name(port)),
                        src.pods,
                        src.release,
                    )),
                    (None, Some(target)) => {
                        for t in services::through(svc, None, src.pods, src.release) {
                            if let Some((port, port_name)) =
                                services::container_port(&src.pods[t.pods], target)
                                && !targets
                                    .iter()
                                    .any(|x: &Target| x.pods == t.pods && x.port == port)
                            {
                                targets.push(Target {
                                    pods: t.pods,
                                    port,
                                    port_name,
                                    udp: false,
                                });
                            }
                        }
                    }
                    (None, None) => {}
                }
            }
        } else {
            let port = get("port").or(get("portNumber")).or(get("targetPort"));
            for (i, p) in src.pods.iter().enumerate() {
                if in_scope(p.namespace())
                    && services::selects(selector, &p.labels)
                    && let Some((port, port_name)) =
                        port.and_then(|t| services::container_port(p, t))
                {
                    targets.push(Target {
                        pods: i,
                        port,
                        port_name,
                        udp: false,
                    });
                }
            }
        }
        for t in targets {
            push(
                src,
                edges,
                from,
                t,
                scheme,
                &evidence,
                Some((via.clone(), index)),
            );
        }
    }
}

/// A Prometheus configured by annotations: the Services and pods annotated
/// `prometheus.io/scrape: "true"`, on `prometheus.io/port` (Istio merges an injected
/// pod's metrics on 15020).
fn annotated(src: &Sources, from: &Party, edges: &mut Vec<Edge>) {
    for svc in src.services.iter().filter(|s| {
        s.annotations
            .get("prometheus.io/scrape")
            .map(String::as_str)
            == Some("true")
    }) {
        let port = svc.annotations.get("prometheus.io/port");
        let evidence = format!("Service {} annotated prometheus.io/scrape", svc.host());
        for t in services::through(svc, None, src.pods, src.release) {
            let t = match port.and_then(|p| services::container_port(&src.pods[t.pods], p)) {
                Some((port, port_name)) => Target {
                    pods: t.pods,
                    port,
                    port_name,
                    udp: false,
                },
                None => t,
            };
            if !edges
                .iter()
                .any(|e| &e.from == from && e.to == src.pods[t.pods].party && e.port == t.port)
            {
                push(src, edges, from, t, "http", &evidence, None);
            }
        }
    }
    for (i, p) in src.pods.iter().enumerate() {
        if p.annotations
            .get("prometheus.io/scrape")
            .map(String::as_str)
            != Some("true")
        {
            continue;
        }
        let merged = matches!(src.mesh, Mesh::Istio { ambient: false, .. })
            && p.in_mesh
            && src.merge_metrics
            && p.annotations
                .get("prometheus.istio.io/merge-metrics")
                .map(String::as_str)
                != Some("false");
        let target = if merged {
            Some((15020, None))
        } else {
            p.annotations
                .get("prometheus.io/port")
                .and_then(|port| services::container_port(p, port))
        };
        let Some((port, port_name)) = target else {
            continue;
        };
        let evidence = if merged {
            "pod annotated prometheus.io/scrape (merged by Istio on 15020)"
        } else {
            "pod annotated prometheus.io/scrape"
        };
        push(
            src,
            edges,
            from,
            Target {
                pods: i,
                port,
                port_name,
                udp: false,
            },
            "http",
            evidence,
            None,
        );
    }
}

/// A Prometheus configured by a `prometheus.yml` that discovers Alertmanagers: the
/// Alertmanagers of its namespace, on their web port.
fn alert_pods(src: &Sources, from: &Party, edges: &mut Vec<Edge>) {
    let home = match from {
        Party::Workload { namespace, .. } => namespace.as_deref(),
        _ => None,
    };
    for (i, p) in src.pods.iter().enumerate() {
        if p.component.as_deref() != Some("alertmanager")
            || !services::same_namespace(p.namespace(), home, src.release)
        {
            continue;
        }
        let Some(port) = p
            .ports
            .iter()
            .find(|c| c.number == 9093 || matches!(c.name.as_deref(), Some("http" | "web")))
        else {
            continue;
        };
        push(
            src,
            edges,
            from,
            Target {
                pods: i,
                port: port.number,
                port_name: port.name.clone(),
                udp: false,
            },
            "http",
            "prometheus.yml alerting (Alertmanagers discovered by kubernetes_sd)",
            None,
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn push(
    src: &Sources,
    edges: &mut Vec<Edge>,
    from: &Party,
    t: Target,
    scheme: &str,
    evidence: &str,
    via: Option<(Via, usize)>,
) {
    let (via, via_object) = via.map_or((None, None), |(v, i)| (Some(v), Some(i)));
    edges.push(Edge {
        from: from.clone(),
        to: src.pods[t.pods].party.clone(),
        port: t.port,
        port_name: t.port_name,
        protocol: if scheme.eq_ignore_ascii_case("https") {
            Protocol::Tls
        } else {
            Protocol::Http
        },
        found: Found::Read,
        evidence: evidence.to_string(),
        via,
        via_object,
        probe_path: None,
    });
}
