//! What Linkerd reads on pods and namespaces.
//!
//! - The pod-template or namespace annotation `linkerd.io/inject: enabled`
//!   (<https://linkerd.io/2-edge/features/proxy-injection/>).
//! - Native sidecars for Jobs: `config.beta.linkerd.io/proxy-enable-native-sidecar: "true"`
//!   from Linkerd 2.19, which deprecates the `config.alpha.linkerd.io` annotation it
//!   replaces (<https://linkerd.io/2-edge/reference/proxy-configuration/>,
//!   <https://linkerd.io/2-edge/features/native-sidecar/>).
//! - Ports no Server covers follow the default inbound policy
//!   (<https://linkerd.io/2-edge/reference/authorization-policy/>).
//! - The injector reads `linkerd.io/inject` exactly: `enabled` injects, `ingress` injects in
//!   ingress mode, `disabled` opts out, no value leaves it to the namespace, and any other
//!   value is invalid and not injected (`disableByAnnotation` and `isInjectAnnotationValid`
//!   in <https://github.com/linkerd/linkerd2/blob/main/pkg/inject/report.go>).

use super::NamespaceMeta;
use crate::config::{Release, Spec};
use crate::model::ports;
use crate::model::workload::Workload;
use crate::yaml::patch::Patch;

/// The pod annotations that put a workload in the mesh, with the config's proxy settings.
pub fn inject(w: &Workload, spec: &Spec, native: bool) -> Patch {
    let mut patch = Patch::new();
    // `ingress` is injected already, in the mode an ingress controller needs.
    if w.pod_annotations.get(INJECT).map(String::as_str) != Some("ingress") {
        patch.set(&w.pod_annotation(INJECT), "enabled");
    }
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
        let key = if spec.linkerd.release() >= Release(2, 19) {
            "config.beta.linkerd.io/proxy-enable-native-sidecar"
        } else {
            "config.alpha.linkerd.io/proxy-enable-native-sidecar"
        };
        patch.set(&w.pod_annotation(key), "true");
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

const INJECT: &str = "linkerd.io/inject";

/// Why the injector leaves a value out, or `None` when it injects it or leaves it to the
/// namespace.
fn disables(value: &str) -> Option<&'static str> {
    match value {
        "" | "enabled" | "ingress" => None,
        "disabled" => Some(""),
        _ => Some(" (not enabled, ingress or disabled: Linkerd does not inject it)"),
    }
}

/// How a workload opts out, if it does: as the injector reads the pod annotation, else the
/// same key as a pod or workload label (which Linkerd does not read, but which states the
/// chart's intent).
pub fn opted_out(w: &Workload) -> Option<String> {
    let (what, value) = super::setting(w, INJECT, &["annotation", "label", "own label"])?;
    disables(value).map(|why| format!("{what} {INJECT}={value}{why}"))
}

/// An explicit opt-out, so that namespace-wide injection cannot catch the workload.
pub fn opt_out(patch: &mut Patch, w: &Workload) {
    patch.set(&w.pod_annotation(INJECT), "disabled");
}

/// How a namespace opts out, if it does: by its annotation, as Linkerd reads it, else by a
/// label of the same key.
pub fn namespace_opted_out(meta: &NamespaceMeta) -> Option<String> {
    let (what, value) = meta
        .annotation(INJECT)
        .map(|v| ("annotation", v))
        .or_else(|| meta.label(INJECT).map(|v| ("label", v)))?;
    disables(value).map(|why| format!("{what} {INJECT}={value}{why}"))
}

/// The annotation that puts a namespace in the mesh.
pub fn namespace() -> Patch {
    let mut patch = Patch::new();
    patch.set(&["metadata", "annotations", INJECT], "enabled");
    patch
}
