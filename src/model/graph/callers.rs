//! Callers from outside the mesh: the kube-apiserver, which calls admission webhooks, CRD
//! conversion webhooks and aggregated APIs through Services
//! ([`crate::model::object::Object::api_server_services`]; `port` defaults to 443), and
//! the kubelet, which probes the pods.

use super::services::{self, ServicePortRef};
use super::{Edge, Found, Party, Protocol, Sources};
use crate::yaml::Node;

/// The kube-apiserver's flows to the pods that serve its webhooks and aggregated APIs.
pub fn api_server(src: &Sources, edges: &mut Vec<Edge>) {
    for o in src.objects {
        let refs = o.api_server_services();
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
