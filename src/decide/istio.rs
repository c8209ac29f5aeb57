//! What Istio reads on pods and namespaces.
//!
//! - Sidecar injection is selected by the pod *label* `sidecar.istio.io/inject`; the
//!   annotation form is deprecated, and the webhook's objectSelector only sees labels
//!   (<https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/#controlling-the-injection-policy>).
//!   A revision is chosen with `istio.io/rev`; a namespace opts in with `istio-injection:
//!   enabled` or `istio.io/rev` (the former wins when both are set).
//! - Ambient mode: `istio.io/dataplane-mode: ambient` on the namespace or pod
//!   (<https://istio.io/latest/docs/ambient/usage/add-workloads/>). A pod with a sidecar is
//!   not captured by ztunnel, so a pod's request for one is turned off.
//! - Native sidecars for Jobs: `sidecar.istio.io/nativeSidecar: "true"`
//!   (<https://istio.io/latest/blog/2023/native-sidecars/>).
//! - The injector's `injectRequired` reads the pod's `sidecar.istio.io/inject` label, else
//!   its annotation: lower-cased, `y`, `yes`, `true` and `on` inject, an empty value leaves
//!   the choice to the namespace, and any other value (`false`, `False`, `no`, `off`, `0`,
//!   `disabled`) keeps the pod out
//!   (<https://github.com/istio/istio/blob/master/pkg/kube/inject/inject.go>). It is not
//!   `strconv.ParseBool`: `1` and `t` do not inject.
//! - A namespace is injected only when labelled `istio-injection: enabled` (the webhook's
//!   namespaceSelector); `disabled`, or any other value, keeps its pods out
//!   (<https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/#controlling-the-injection-policy>).

use super::NamespaceMeta;
use crate::model::workload::Workload;
use crate::yaml::patch::Patch;

const INJECT: &str = "sidecar.istio.io/inject";

/// True when `injectRequired` reads `value` as "inject".
fn injects(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "y" | "yes" | "true" | "on"
    )
}

/// The pod labels and annotations that put a workload in the mesh.
pub fn inject(w: &Workload, ambient: bool, revision: Option<&str>, native: bool) -> Patch {
    let mut patch = Patch::new();
    if ambient {
        patch.set(&w.pod_label("istio.io/dataplane-mode"), "ambient");
        // A pod that asks for a sidecar still gets one where the injector runs, and
        // ztunnel leaves pods with sidecars alone: the request is turned off, not removed,
        // so that a namespace's `istio-injection: enabled` cannot bring it back.
        if w.pod_labels.get(INJECT).is_some_and(|v| injects(v)) {
            patch.set(&w.pod_label(INJECT), "false");
        }
        if w.pod_annotations.get(INJECT).is_some_and(|v| injects(v)) {
            patch.set(&w.pod_annotation(INJECT), "false");
        }
        return patch;
    }
    // The webhook's objectSelector matches the label `"true"` exactly.
    patch.set(&w.pod_label(INJECT), "true");
    if let Some(rev) = revision {
        patch.set(&w.pod_label("istio.io/rev"), rev);
    }
    // The deprecated annotation is rewritten only when it says otherwise.
    if w.pod_annotations.get(INJECT).is_some_and(|v| !injects(v)) {
        patch.set(&w.pod_annotation(INJECT), "true");
    }
    if native {
        patch.set(&w.pod_annotation("sidecar.istio.io/nativeSidecar"), "true");
    }
    patch
}

/// True when the pod's label or annotation asks for a sidecar.
pub fn asks_for_sidecar(w: &Workload) -> bool {
    [&w.pod_labels, &w.pod_annotations]
        .iter()
        .any(|m| m.get(INJECT).is_some_and(|v| injects(v)))
}

/// How a workload opts out, if it does: as `injectRequired` reads the pod's label, else its
/// annotation, else the workload's own label (which Istio does not read, but which states
/// the chart's intent). Ambient mode also takes `istio.io/dataplane-mode: none`.
pub fn opted_out(w: &Workload, ambient: bool) -> Option<String> {
    if ambient
        && let Some((what, "none")) = super::setting(
            w,
            "istio.io/dataplane-mode",
            &["label", "annotation", "own label"],
        )
    {
        return Some(format!("{what} istio.io/dataplane-mode=none"));
    }
    let (what, value) = super::setting(w, INJECT, &["label", "annotation", "own label"])?;
    (!value.is_empty() && !injects(value)).then(|| format!("{what} {INJECT}={value}"))
}

/// An explicit opt-out, so that namespace-wide injection cannot catch the workload.
pub fn opt_out(patch: &mut Patch, w: &Workload, ambient: bool) {
    if ambient {
        patch.set(&w.pod_label("istio.io/dataplane-mode"), "none");
    } else {
        patch.set(&w.pod_label("sidecar.istio.io/inject"), "false");
    }
}

/// How a namespace (by its labels) opts out, if it does.
pub fn namespace_opted_out(meta: &NamespaceMeta, ambient: bool) -> Option<String> {
    let (key, out) = if ambient {
        let mode = meta.label("istio.io/dataplane-mode");
        ("istio.io/dataplane-mode", mode.filter(|v| *v == "none"))
    } else {
        let injection = meta.label("istio-injection");
        ("istio-injection", injection.filter(|v| *v != "enabled"))
    };
    out.map(|v| format!("label {key}={v}"))
}

/// The labels that put a namespace in the mesh, or why they cannot.
pub fn namespace(
    meta: &NamespaceMeta,
    ambient: bool,
    revision: Option<&str>,
) -> Result<Patch, String> {
    let mut patch = Patch::new();
    match (ambient, revision) {
        (true, _) => patch.set(
            &["metadata", "labels", "istio.io/dataplane-mode"],
            "ambient",
        ),
        (false, Some(rev)) => {
            if meta.label("istio-injection").is_some() {
                return Err("has istio-injection, which overrides istio.io/rev: remove it to use a revision".into());
            }
            patch.set(&["metadata", "labels", "istio.io/rev"], rev)
        }
        (false, None) => patch.set(&["metadata", "labels", "istio-injection"], "enabled"),
    }
    Ok(patch)
}
