//! Callers from outside the mesh: the kube-apiserver, which calls admission webhooks, CRD
//! conversion webhooks and aggregated APIs through Services, and the kubelet, which probes
//! the pods.
//!
//! - Admission webhooks: `webhooks[].clientConfig.service` (`port` defaults to 443)
//!   (<https://kubernetes.io/docs/reference/kubernetes-api/extend-resources/mutating-webhook-configuration-v1/>).
//! - Conversion webhooks: `spec.conversion.webhook.clientConfig.service`
//!   (<https://kubernetes.io/docs/reference/kubernetes-api/extend-resources/custom-resource-definition-v1/>).
//! - Aggregated APIs: `APIService` `spec.service` (port 443 by default)
//!   (<https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/api-service-v1/>).

use super::services::{self, ServicePortRef};
use super::{Edge, Found, Party, Protocol, Sources};
use crate::yaml::Node;

/// The kube-apiserver's flows to the pods that serve its webhooks and aggregated APIs.
pub fn api_server(src: &Sources, edges: &mut Vec<Edge>) {
    for o in src.objects {
        let name = o.name();
        let refs: Vec<(String, &Node)> = match o.kind.as_str() {
            "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration" => o
                .node
                .get("webhooks")
                .and_then(Node::items)
                .unwrap_or_default()
                .iter()
                .filter_map(|w| {
                    let hook = w.get("name").and_then(Node::scalar).unwrap_or_default();
                    Some((
                        format!("{} {name} webhook {hook}", o.kind),
                        w.at(&["clientConfig", "service"])?,
                    ))
                })
                .collect(),
            "CustomResourceDefinition" => o
                .node
                .at(&["spec", "conversion", "webhook", "clientConfig", "service"])
                .map(|s| {
                    (
                        format!("CustomResourceDefinition {name} conversion webhook"),
                        s,
                    )
                })
                .into_iter()
                .collect(),
            "APIService" => o
                .node
                .at(&["spec", "service"])
                .map(|s| (format!("APIService {name}"), s))
                .into_iter()
                .collect(),
            _ => continue,
        };
        for (what, service) in refs {
            let get = |k: &str| service.get(k).and_then(Node::scalar);
            let (Some(svc_name), svc_ns) = (get("name"), get("namespace")) else {
                continue;
            };
            let port = get("port").unwrap_or("443");
            let Some(svc) = services::service(src.services, svc_ns, svc_name, src.release) else {
                continue;
            };
            let evidence = format!("{what} → Service {}:{port}", svc.host());
            let port = ServicePortRef::parse(port);
            for t in services::through(svc, Some(&port), src.pods, src.release) {
                edges.push(Edge {
                    from: Party::ApiServer,
                    to: src.pods[t.pods].party.clone(),
                    port: t.port,
                    port_name: t.port_name,
                    protocol: Protocol::Tls,
                    found: Found::Read,
                    evidence: evidence.clone(),
                    via: None,
                    via_object: None,
                    probe_path: None,
                });
            }
        }
    }
}

/// The kubelet's probes (`exec` probes reach no port).
pub fn kubelet(src: &Sources, edges: &mut Vec<Edge>) {
    for p in src.pods {
        for probe in &p.probes {
            let port_name = p
                .ports
                .iter()
                .find(|c| c.number == probe.port)
                .and_then(|c| c.name.clone());
            edges.push(Edge {
                from: Party::Kubelet,
                to: p.party.clone(),
                port: probe.port,
                port_name,
                protocol: if probe.http_path.is_some() {
                    Protocol::Http
                } else {
                    Protocol::Tcp
                },
                found: Found::Read,
                evidence: match &probe.http_path {
                    Some(path) => format!("probe httpGet {path}"),
                    None => "probe (TCP, gRPC or HTTPS)".into(),
                },
                via: None,
                via_object: None,
                probe_path: probe.http_path.clone(),
            });
        }
    }
}
