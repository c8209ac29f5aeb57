//! Traffic and security policies for the components in the mesh: the resources appended
//! after the input documents, and the Service edits (protocol hints, mesh annotations),
//! built from the flows the stack needs ([`flows`]) by one module per mesh, and Kubernetes
//! NetworkPolicies beside them ([`netpol`]).

pub mod flows;
mod istio;
mod linkerd;
mod netpol;

use super::Additions;
use crate::config::ServiceMesh;
use crate::model::mesh::Mesh;
use crate::model::stack::{Stack, qualified};

/// Generates the policies the config asks for.
pub fn generate(stack: &Stack, config: &ServiceMesh, mesh: &Mesh) -> Additions {
    let flows = config
        .spec
        .authorization
        .as_ref()
        .map(|a| flows::flows(stack, a, mesh))
        .unwrap_or_default();
    let mesh_policies = |out: &mut Additions| match mesh {
        Mesh::Istio { ambient, .. } => istio::generate(stack, &config.spec, *ambient, &flows, out),
        Mesh::Linkerd => linkerd::generate(stack, &config.spec, &flows, out),
    };
    let network_policies = config
        .spec
        .authorization
        .as_ref()
        .is_some_and(|a| a.network_policies);
    // On a large stack the NetworkPolicies are built on another core meanwhile: they need
    // only the stack and the flows, unless ambient Istio's waypoints change them. Below
    // that size the second thread's heap costs a fresh 2 MiB page and saves no time
    // (benches/README.md).
    let concurrent = network_policies
        && stack.members.len() >= CONCURRENT_MEMBERS
        && !matches!(mesh, Mesh::Istio { ambient: true, .. })
        && crate::parallel::threads() > 1;
    let mut out = Additions::default();
    let netpols = if concurrent {
        std::thread::scope(|scope| {
            let worker = scope.spawn(|| {
                let mut netpols = Additions::default();
                netpol::generate(stack, mesh, &config.spec, &flows, &mut netpols);
                netpols
            });
            mesh_policies(&mut out);
            Some(worker.join().expect("the NetworkPolicy thread panicked"))
        })
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
    match netpols {
        Some(netpols) => {
            debug_assert!(netpols.edits.is_empty() && netpols.notes.is_empty());
            out.resources.extend(netpols.resources);
        }
        None if network_policies => netpol::generate(stack, mesh, &config.spec, &flows, &mut out),
        None => {}
    }
    out
}

/// The stack size from which NetworkPolicies are built concurrently (the 10 MB benchmark
/// stream has 390 workloads, the 100 MB one 3,870).
const CONCURRENT_MEMBERS: usize = 1000;
