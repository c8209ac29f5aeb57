//! Traffic and security policies for the components in the mesh: the resources appended
//! after the input documents, and the Service edits (protocol hints, mesh annotations),
//! built from the flows the stack needs ([`flows`]) by one module per mesh, and Kubernetes
//! NetworkPolicies beside them ([`netpol`]).

mod istio;
mod linkerd;
mod netpol;

pub(crate) use istio::{Selector as WorkloadSelector, TargetRef};
mod open;

use super::Additions;
use crate::config::ServiceMesh;
use crate::generate::dns_name;
use crate::model::graph::flows::{Flow, Source};
use crate::model::graph::{Graph, Party, Pods};
use crate::model::mesh::Mesh;
use crate::model::object::Object;
use crate::model::stack::{Stack, qualified};
use std::collections::BTreeMap;

/// What the policies are derived from: the stack, its traffic graph and the flows between
/// its components.
pub struct Inputs<'i, 'a> {
    pub stack: &'i Stack,
    pub graph: &'i Graph,
    pub pods: &'i [Pods],
    pub objects: &'i [Object<'a>],
    pub flows: &'i [Flow],
}

/// Generates the policies the config asks for.
pub fn generate(inputs: &Inputs, config: &ServiceMesh, mesh: &Mesh) -> Additions {
    let Inputs {
        stack,
        graph,
        pods,
        objects,
        flows,
    } = *inputs;
    let mut out = Additions::default();
    let openings = open::openings(stack, graph, pods, objects, &config.spec, mesh, &mut out);
    let mesh_policies = |out: &mut Additions| match mesh {
        Mesh::Istio { ambient, .. } => {
            istio::generate(stack, &config.spec, *ambient, flows, &openings, out)
        }
        Mesh::Linkerd => linkerd::generate(stack, &config.spec, flows, &openings, out),
    };
    let network_policies = config
        .spec
        .authorization
        .as_ref()
        .is_some_and(|a| a.network_policies);
    // The ports the graph's flows from pods reach on each member, and in ambient mode the
    // kubelet's probes too: they arrive from 169.254.7.127, which the NetworkPolicy admits
    // (<https://istio.io/latest/docs/ambient/usage/networkpolicy/>), on ports the pods may
    // not declare.
    let ambient = matches!(mesh, Mesh::Istio { ambient: true, .. });
    let mut reached: BTreeMap<usize, Vec<u16>> = BTreeMap::new();
    for e in graph.edges.iter().filter(|e| match e.from {
        Party::Workload { .. } => true,
        Party::Kubelet => ambient,
        _ => false,
    }) {
        if let Some(m) = open::member(stack, &e.to) {
            reached.entry(m).or_default().push(e.port);
        }
    }
    let netpol = |out: &mut Additions| {
        netpol::generate(inputs, mesh, &config.spec, &openings, &reached, out)
    };
    // On a large stack the NetworkPolicies are built on another core meanwhile: they need
    // only the stack and the flows, unless ambient Istio's waypoints change them. Below
    // that size the second thread's heap costs a fresh 2 MiB page and saves no time
    // (benches/README.md).
    let concurrent = network_policies
        && stack.members.len() >= CONCURRENT_MEMBERS
        && !matches!(mesh, Mesh::Istio { ambient: true, .. })
        && crate::parallel::threads() > 1;
    let netpols = if concurrent {
        let (netpols, ()) = crate::parallel::both(
            || {
                let mut netpols = Additions::default();
                netpol(&mut netpols);
                netpols
            },
            || mesh_policies(&mut out),
        );
        Some(netpols)
    } else {
        mesh_policies(&mut out);
        None
    };
    if config.spec.authorization.is_some() {
        for m in stack
            .members
            .iter()
            .filter(|m| !m.hook && m.service_account == "default")
        {
            out.note(format!(
                "{} {} ({}) runs as ServiceAccount default: every pod of namespace {} without its own ServiceAccount gets its access; give it its own",
                m.kind.to_lowercase(),
                qualified(m.namespace.as_deref(), &m.name),
                m.component,
                m.namespace.as_deref().unwrap_or("(the release namespace)")
            ));
        }
    }
    if config.spec.authorization.is_some() {
        for m in stack
            .members
            .iter()
            .filter(|m| m.hook && m.service_account == "default")
        {
            let admitted = flows.iter().any(|f| {
                f.to == m.component
                    && matches!(&f.from, Source::Account(ns, sa)
                        if sa == "default" && m.namespace.as_deref() == Some(ns.as_str()))
            });
            if !admitted {
                let ns = m.namespace.as_deref().unwrap_or("<namespace>");
                out.warn(format!(
                    "authorization: Helm hook pod {} runs as ServiceAccount default, so no policy admits it to {} (admitting default would admit every pod of its namespace without its own ServiceAccount) and `helm test` may fail. Give it its own ServiceAccount, or add spec.authorization.allow `{{from: {ns}/default, to: {}}}`",
                    qualified(m.namespace.as_deref(), &m.name),
                    m.component,
                    m.component
                ));
            }
        }
    }
    netpol::companions(inputs, mesh, &mut out);
    match netpols {
        Some(netpols) => {
            debug_assert!(
                netpols.edits.is_empty() && netpols.notes.is_empty() && netpols.warnings.is_empty()
            );
            out.resources.extend(netpols.resources);
        }
        None if network_policies => netpol(&mut out),
        None => {}
    }
    out
}

/// A short name for resource names: `grafana`, `sa-istio-system-istio-ingressgateway`,
/// `any`, `ns-monitoring`, `namespace` (the target's own).
pub fn slug(source: &Source) -> String {
    match source {
        Source::Component(c) => c.clone(),
        Source::Account(ns, sa) => dns_name(&format!("sa-{ns}-{sa}")),
        Source::Any => "any".into(),
        Source::Namespace(ns) => dns_name(&format!("ns-{ns}")),
        Source::OwnNamespace => "namespace".into(),
    }
}

/// A regular expression (RE2, as Istio and Linkerd read it) that matches a `cookie` header
/// (`name=value; name=value`, in any order) holding cookie `name` with exactly `value`.
pub fn cookie_regex(name: &str, value: &str) -> String {
    format!(
        r"^(.*;\s*)?{}={}(;.*)?$",
        regex_escape(name),
        regex_escape(value)
    )
}

/// `text` with every RE2 metacharacter escaped.
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The stack size from which NetworkPolicies are built concurrently (the 10 MB benchmark
/// stream has 390 workloads, the 100 MB one 3,870).
const CONCURRENT_MEMBERS: usize = 1000;
