//! What Linkerd reads on pods and namespaces.
//!
//! - The pod-template or namespace annotation `linkerd.io/inject: enabled`
//!   (<https://linkerd.io/2-edge/features/proxy-injection/>).
//! - Native sidecars for Jobs: `config.alpha.linkerd.io/proxy-enable-native-sidecar: "true"`
//!   (<https://linkerd.io/2-edge/reference/proxy-configuration/>).
//! - Ports no Server covers follow the default inbound policy
//!   (<https://linkerd.io/2-edge/reference/authorization-policy/>).

use super::NamespaceLabels;
use crate::config::Spec;
use crate::model::ports;
use crate::model::workload::Workload;
use crate::yaml::patch::Patch;

/// The pod annotations that put a workload in the mesh, with the config's proxy settings.
pub fn inject(w: &Workload, spec: &Spec, native: bool) -> Patch {
    let mut patch = Patch::new();
    patch.set(&w.pod_annotation("linkerd.io/inject"), "enabled");
    for (key, value) in spec.linkerd.proxy.annotations() {
        patch.set(&w.pod_annotation(key), value);
    }
    if spec.authorization.as_ref().is_some_and(|a| a.default_deny) {
        patch.set(
            &w.pod_annotation("config.linkerd.io/default-inbound-policy"),
            "deny",
        );
    }
    if let Some(ports) = opaque_ports(w)
        && spec.linkerd.proxy.opaque_ports.is_none()
    {
        patch.set(&w.pod_annotation("config.linkerd.io/opaque-ports"), &ports);
    }
    if native {
        patch.set(
            &w.pod_annotation("config.alpha.linkerd.io/proxy-enable-native-sidecar"),
            "true",
        );
    }
    patch
}

/// The pod's `config.linkerd.io/opaque-ports`: its gossip and server-first container ports,
/// added to what the chart says (<https://linkerd.io/2-edge/features/protocol-detection/>).
fn opaque_ports(w: &Workload) -> Option<String> {
    let opaque: Vec<u16> = w
        .ports
        .iter()
        .filter(|p| p.protocol != "UDP" && ports::is_opaque(p.number))
        .map(|p| p.number)
        .collect();
    ports::opaque_annotation(
        &opaque,
        w.pod_annotations
            .get("config.linkerd.io/opaque-ports")
            .map(String::as_str),
    )
}

/// How a workload opts out, if it does.
pub fn opted_out(w: &Workload) -> Option<String> {
    super::opted_out_by(w, &[("linkerd.io/inject", "disabled")])
}

/// An explicit opt-out, so that namespace-wide injection cannot catch the workload.
pub fn opt_out(patch: &mut Patch, w: &Workload) {
    patch.set(&w.pod_annotation("linkerd.io/inject"), "disabled");
}

/// True when a namespace (by its labels) opts out.
pub fn namespace_opted_out(labels: &NamespaceLabels) -> bool {
    labels.get("linkerd.io/inject") == Some("disabled")
}

/// The annotation that puts a namespace in the mesh.
pub fn namespace() -> Patch {
    let mut patch = Patch::new();
    patch.set(&["metadata", "annotations", "linkerd.io/inject"], "enabled");
    patch
}
