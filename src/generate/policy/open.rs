//! The flows that reach a workload in the mesh without a mesh identity, and what makes them
//! work: callers outside the mesh (the kube-apiserver, the kubelet where the mesh does not
//! take its probes, workloads that are not in the mesh) and Prometheus scraping with the
//! Istio certificate pattern.
//!
//! - The kube-apiserver is not in the mesh: under STRICT mTLS it cannot reach webhooks or
//!   aggregated APIs unless their ports accept plaintext ("You must use PERMISSIVE mode",
//!   istio/istio#39290; <https://istio.io/latest/about/faq/> "non-Istio workloads cannot
//!   communicate to Istio services").
//! - Istio rewrites HTTP, TCP and gRPC probes to its agent unless a pod turns that off
//!   (`sidecar.istio.io/rewriteAppHTTPProbers: "false"`,
//!   <https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/>); ambient
//!   lets node-local probes bypass ztunnel. Linkerd authorizes plain HTTP probes itself, but
//!   not HTTPS, TCP or gRPC ones
//!   (<https://linkerd.io/2-edge/features/server-policy/#default-authorizations>).
//! - Prometheus with the certificate pattern scrapes outside its sidecar: it presents the
//!   Istio certificate only where its scrape config says so (`scheme: https` and the
//!   certificate files, <https://istio.io/latest/docs/ops/integrations/prometheus/#tls-settings>).
//!   A ServiceMonitor endpoint or an Alertmanager endpoint in plain HTTP to workloads in the
//!   mesh is given those settings; other scrapes (PodMonitors, whose TLS settings take no
//!   files; targets with their own TLS; `prometheus.yml` jobs) reach ports that accept
//!   plaintext.

use crate::config::{MtlsMode, Spec};
use crate::generate::{Additions, ObjectEdit};
use crate::model::graph::{Edge, Graph, Party, Pods, Protocol, Via};
use crate::model::mesh::Mesh;
use crate::model::object::Object;
use crate::model::stack::{Member, Stack, qualified};
use crate::yaml::Node;
use crate::yaml::patch::Patch;
use serde_json::json;
use std::collections::BTreeMap;

/// Who reaches a port without a mesh identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Caller {
    ApiServer,
    Kubelet,
    /// A workload of the stream that sends plaintext: not in the mesh, or scraping outside
    /// its sidecar.
    Workload(Party),
}

impl Caller {
    /// A short name for resource names and reasons.
    pub fn slug(&self) -> String {
        match self {
            Caller::ApiServer => "kube-apiserver".into(),
            Caller::Kubelet => "kubelet".into(),
            Caller::Workload(_) => "plaintext".into(),
        }
    }
}

/// A port of a workload in the mesh that some caller reaches without a mesh identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    pub port: u16,
    pub port_name: Option<String>,
    pub caller: Caller,
    /// The application's own TLS (webhooks, aggregated APIs).
    pub tls: bool,
    pub why: String,
}

/// Per member (index into the stack's members), the ports to open, in order.
pub type Openings = BTreeMap<usize, Vec<Opening>>;

/// The member a party is, if any.
pub fn member(stack: &Stack, party: &Party) -> Option<usize> {
    let Party::Workload {
        kind,
        namespace,
        name,
    } = party
    else {
        return None;
    };
    stack.position(kind, namespace.as_deref(), name)
}

/// Whether a member scrapes with the Istio certificate pattern (see
/// `generate::telemetry::pod_patch`).
fn with_certificates(m: &Member, spec: &Spec, mesh: &Mesh) -> bool {
    m.component == "prometheus"
        && matches!(mesh, Mesh::Istio { ambient: false, .. })
        && spec
            .mtls
            .as_ref()
            .is_some_and(|t| t.mode == MtlsMode::Strict)
}

/// The ports to open, and the scrape configs to give the Istio certificate (as edits).
pub fn openings(
    stack: &Stack,
    graph: &Graph,
    pods: &[Pods],
    objects: &[Object],
    spec: &Spec,
    mesh: &Mesh,
    out: &mut Additions,
) -> Openings {
    let mut openings = Openings::new();
    let meshed = |party: &Party| member(stack, party);
    // A Prometheus scraping outside its sidecar whose configuration the stream does not
    // hold: nothing here can give its jobs the certificate.
    for m in stack
        .members
        .iter()
        .filter(|m| !m.hook && with_certificates(m, spec, mesh))
    {
        let party = Party::Workload {
            kind: m.kind.clone(),
            namespace: m.namespace.clone(),
            name: m.name.clone(),
        };
        if !graph.read.contains(&party) {
            out.warn(format!(
                "prometheus {}: under STRICT mTLS it scrapes outside its sidecar, and its scrape configuration is not in the stream (a prometheus.yml ConfigMap, or a Prometheus resource without additionalScrapeConfigs): its jobs that reach workloads in the mesh fail unless each sets `scheme: https` and `tls_config: {{ca_file: /etc/prom-certs/root-cert.pem, cert_file: /etc/prom-certs/cert-chain.pem, key_file: /etc/prom-certs/key.pem, insecure_skip_verify: true}}`. Add its configuration to the stream, or set spec.mtls.mode to PERMISSIVE",
                qualified(m.namespace.as_deref(), &m.name)
            ));
        }
    }
    // Scrape configs that can carry the certificate: every caller with that config scrapes
    // with it, and every target is in the mesh, in plain HTTP.
    let mut configs: BTreeMap<&Via, bool> = BTreeMap::new();
    for e in &graph.edges {
        let Some(via) = &e.via else { continue };
        let ep = e.via_object.and_then(|o| endpoint(&objects[o], via));
        let certified = meshed(&e.from)
            .is_some_and(|i| with_certificates(&stack.members[i], spec, mesh))
            && meshed(&e.to).is_some()
            && !matches!(via, Via::PodMonitor { .. })
            && ep.is_some_and(|ep| {
                (e.protocol == Protocol::Http && ep.get("tlsConfig").is_none())
                    || carries_certificates(ep)
            });
        let ok = configs.entry(via).or_insert(true);
        *ok &= certified;
    }
    for e in &graph.edges {
        let Some(to) = meshed(&e.to) else { continue };
        let caller = match &e.from {
            Party::ApiServer => Some(Caller::ApiServer),
            Party::Kubelet => kubelet(e, &stack.members[to], pods, mesh).then_some(Caller::Kubelet),
            from @ Party::Workload { .. } => match meshed(from) {
                None => Some(Caller::Workload(from.clone())),
                Some(i) if with_certificates(&stack.members[i], spec, mesh) => {
                    let certified = e
                        .via
                        .as_ref()
                        .is_some_and(|v| configs.get(v) == Some(&true));
                    (!certified).then(|| Caller::Workload(from.clone()))
                }
                Some(_) => None,
            },
            Party::Ingress { .. } | Party::AnyWorkload => None,
        };
        let Some(caller) = caller else { continue };
        let list = openings.entry(to).or_default();
        let opening = Opening {
            port: e.port,
            port_name: e.port_name.clone(),
            caller,
            tls: e.protocol == Protocol::Tls,
            why: e.evidence.clone(),
        };
        if !list
            .iter()
            .any(|o| o.port == opening.port && o.caller == opening.caller)
        {
            list.push(opening);
        }
    }
    outside_scrapes(stack, objects, spec, mesh, out);
    for (via, ok) in configs {
        let (Some(object), true) = (
            graph
                .edges
                .iter()
                .find(|e| e.via.as_ref() == Some(via))
                .and_then(|e| e.via_object),
            ok,
        ) else {
            continue;
        };
        if !endpoint(&objects[object], via).is_some_and(carries_certificates) {
            certificates(objects, object, via, out);
        }
    }
    openings
}

/// ServiceMonitors of a stream without a Prometheus (one release of several: the stack's
/// Prometheus is another's) whose every Service is in front of workloads in the mesh: under
/// STRICT mTLS their plain HTTP endpoints get the Istio certificate, which that release's
/// Prometheus mounts when it is filtered with the same config. Left as they are, its
/// scrapes would be plaintext, which STRICT rejects.
fn outside_scrapes(
    stack: &Stack,
    objects: &[Object],
    spec: &Spec,
    mesh: &Mesh,
    out: &mut Additions,
) {
    let strict = spec
        .mtls
        .as_ref()
        .is_some_and(|t| t.mode == MtlsMode::Strict);
    if !strict
        || !matches!(mesh, Mesh::Istio { ambient: false, .. })
        || stack.of("prometheus").any(|m| !m.hook)
    {
        return;
    }
    for (i, o) in objects.iter().enumerate() {
        let api = o.node.get("apiVersion").and_then(Node::str).unwrap_or("");
        if o.kind != "ServiceMonitor"
            || !api.starts_with("monitoring.coreos.com/")
            || o.node.at(&["spec", "namespaceSelector"]).is_some()
        {
            continue;
        }
        let Some(selector) = o.node.at(&["spec", "selector"]) else {
            continue;
        };
        let namespace = o.node.at(&["metadata", "namespace"]).and_then(Node::scalar);
        let selected: Vec<_> = stack
            .services
            .iter()
            .filter(|s| s.namespace.as_deref() == namespace || namespace.is_none())
            .filter(|s| crate::model::graph::selects(selector, &s.labels))
            .collect();
        if selected.is_empty() || selected.iter().any(|s| s.component.is_none()) {
            continue;
        }
        let endpoints = o
            .node
            .at(&["spec", "endpoints"])
            .and_then(Node::items)
            .unwrap_or_default();
        for (j, ep) in endpoints.iter().enumerate() {
            let plain = ep.get("scheme").and_then(Node::scalar).unwrap_or("http") == "http"
                && ep.get("tlsConfig").is_none();
            if plain {
                let via = Via::ServiceMonitor {
                    namespace: namespace.map(str::to_string),
                    name: o.name().to_string(),
                    endpoint: j,
                };
                certificates(objects, i, &via, out);
            }
        }
    }
}

/// Whether the kubelet's probe needs an opening: where the mesh does not take it.
fn kubelet(e: &Edge, m: &Member, pods: &[Pods], mesh: &Mesh) -> bool {
    match mesh {
        Mesh::Istio { ambient: true, .. } => false,
        Mesh::Istio { .. } => pods
            .iter()
            .find(|p| p.party == e.to)
            .and_then(|p| p.annotations.get("sidecar.istio.io/rewriteAppHTTPProbers"))
            .is_some_and(|v| v == "false"),
        Mesh::Linkerd => e.probe_path.is_none() && !m.ports.is_empty(),
    }
}

/// The endpoint a scrape or alerting config names in its object.
fn endpoint<'o>(object: &'o Object, via: &Via) -> Option<&'o Node<'o>> {
    let (path, i): (&[&str], usize) = match via {
        Via::ServiceMonitor { endpoint, .. } => (&["spec", "endpoints"], *endpoint),
        Via::PodMonitor { endpoint, .. } => (&["spec", "podMetricsEndpoints"], *endpoint),
        Via::Alerting { endpoint, .. } => (&["spec", "alerting", "alertmanagers"], *endpoint),
    };
    object.node.at(path)?.items()?.get(i)
}

/// Whether an endpoint already presents the Istio certificate (an earlier run's edit, or the
/// user's own).
fn carries_certificates(ep: &Node) -> bool {
    ep.at(&["tlsConfig", "certFile"])
        .and_then(Node::scalar)
        .is_some_and(|f| f.starts_with("/etc/prom-certs/"))
}

/// The Istio certificate pattern's client settings on a ServiceMonitor or alerting endpoint.
fn certificates(objects: &[Object], object: usize, via: &Via, out: &mut Additions) {
    let (path, i): (&[&str], usize) = match via {
        Via::ServiceMonitor { endpoint, .. } => (&["spec", "endpoints"], *endpoint),
        Via::Alerting { endpoint, .. } => (&["spec", "alerting", "alertmanagers"], *endpoint),
        Via::PodMonitor { .. } => return,
    };
    let mut patch = Patch::new();
    let mut at = &mut patch;
    for key in path {
        at = at.field(key);
    }
    let ep = at.item(i);
    *ep.field("scheme") = Patch::Str("https".into());
    *ep.field("tlsConfig") = Patch::Value(json!({
        "caFile": "/etc/prom-certs/root-cert.pem",
        "certFile": "/etc/prom-certs/cert-chain.pem",
        "keyFile": "/etc/prom-certs/key.pem",
        "insecureSkipVerify": true,
    }));
    let o = &objects[object];
    let what = if matches!(via, Via::Alerting { .. }) {
        "alerts"
    } else {
        "scrapes"
    };
    out.edit(ObjectEdit {
        object,
        component: "prometheus".into(),
        reason: format!(
            "Prometheus {what} workloads in the mesh under STRICT mTLS with the Istio certificate ({} {})",
            o.kind,
            o.name()
        ),
        patch,
    });
}
