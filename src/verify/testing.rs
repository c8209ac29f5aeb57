//! Settings, edges and verdict assertions for the evaluator's tests.

use super::{Settings, evaluate};
use crate::model::graph::{Edge, Found, Party, Protocol, Verdict};
use crate::model::mesh::Mesh;

/// Istio in sidecar mode with the install defaults; pods are in the mesh only as their
/// labels say.
pub fn istio() -> Settings {
    Settings {
        mesh: Mesh::Istio {
            ambient: false,
            revision: None,
        },
        release_namespace: None,
        istio_root_namespace: "istio-system".into(),
        trust_domain: "cluster.local".into(),
        istio_probe_rewrite: true,
        linkerd_default_policy: "all-unauthenticated".into(),
        linkerd_cluster_networks: [
            "10.0.0.0/8",
            "100.64.0.0/10",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "fd00::/8",
        ]
        .map(String::from)
        .to_vec(),
        linkerd_probe_networks: vec!["0.0.0.0/0".into(), "::/0".into()],
        api_server_networks: None,
    }
}

/// [`istio`] for fixtures whose pods are not in any mesh.
pub fn unmeshed() -> Settings {
    istio()
}

pub fn ambient() -> Settings {
    Settings {
        mesh: Mesh::Istio {
            ambient: true,
            revision: None,
        },
        ..istio()
    }
}

pub fn linkerd() -> Settings {
    Settings {
        mesh: Mesh::Linkerd,
        ..istio()
    }
}

pub fn workload(kind: &str, namespace: &str, name: &str) -> Party {
    Party::Workload {
        kind: kind.into(),
        namespace: Some(namespace.into()),
        name: name.into(),
    }
}

/// An HTTP flow read from the stream.
pub fn edge(from: Party, to: Party, port: u16) -> Edge {
    Edge {
        from,
        to,
        port,
        port_name: None,
        protocol: Protocol::Http,
        found: Found::Read,
        evidence: "a test".into(),
        via: None,
        via_object: None,
        probe_path: None,
    }
}

pub fn with_protocol(mut edge: Edge, protocol: Protocol) -> Edge {
    edge.protocol = protocol;
    edge
}

pub fn run(yaml: &str, edge: Edge, settings: &Settings) -> Verdict {
    let mut verdicts = evaluate(yaml, &[edge], settings);
    assert_eq!(verdicts.len(), 1);
    verdicts.remove(0)
}

#[track_caller]
pub fn assert_allowed(verdict: &Verdict, by: &str) {
    match verdict {
        Verdict::Allowed { by: found } if found.iter().any(|b| b.contains(by)) => {}
        other => panic!("expected allowed by `{by}`, got {other:#?}"),
    }
}

#[track_caller]
pub fn assert_denied(verdict: &Verdict, resource: &str, rule: &str) {
    match verdict {
        Verdict::Denied {
            resource: r,
            rule: found,
        } if r.contains(resource) && found.contains(rule) => {}
        other => panic!("expected denied by `{resource}` with `{rule}`, got {other:#?}"),
    }
}

#[track_caller]
pub fn assert_unknown(verdict: &Verdict, why: &str) {
    match verdict {
        Verdict::Unknown { why: found } if found.contains(why) => {}
        other => panic!("expected unknown because `{why}`, got {other:#?}"),
    }
}

/// A Namespace document with these labels (a flow mapping's content).
pub fn namespace(name: &str, labels: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {{{labels}}}}}\n"
    )
}

/// A Deployment `name` (label `app: <name>`, ServiceAccount `sa`) with one container
/// port `http` and these pod annotations (a flow mapping's content).
pub fn deployment(ns: &str, name: &str, sa: &str, port: u16, annotations: &str) -> String {
    format!(
        "---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  template:
    metadata:
      labels: {{app: {name}}}
      annotations: {{{annotations}}}
    spec:
      serviceAccountName: {sa}
      containers: [{{name: {name}, ports: [{{name: http, containerPort: {port}}}]}}]
"
    )
}

/// A Service `name` selecting `app: <name>`, port `port` to `target`.
pub fn service(ns: &str, name: &str, port: u16, target: &str) -> String {
    format!(
        "---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{app: {name}}}
  ports: [{{port: {port}, targetPort: {target}}}]
"
    )
}

/// Any object: `apiVersion`, `kind`, namespace and name, and the YAML of its `spec`
/// (indented by two spaces).
pub fn object(api_version: &str, kind: &str, ns: &str, name: &str, spec: &str) -> String {
    format!(
        "---\napiVersion: {api_version}\nkind: {kind}\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n{spec}"
    )
}
