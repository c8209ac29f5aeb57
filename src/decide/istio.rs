//! What Istio reads on pods and namespaces.
//!
//! - Sidecar injection is selected by the pod *label* `sidecar.istio.io/inject`; the
//!   annotation form is deprecated, and the webhook's objectSelector only sees labels
//!   (<https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/#controlling-the-injection-policy>).
//!   A revision is chosen with `istio.io/rev`; a namespace opts in with `istio-injection:
//!   enabled` or `istio.io/rev` (the former wins when both are set).
//! - Ambient mode: `istio.io/dataplane-mode: ambient` on the namespace or pod
//!   (<https://istio.io/latest/docs/ambient/usage/add-workloads/>).
//! - Native sidecars for Jobs: `sidecar.istio.io/nativeSidecar: "true"`
//!   (<https://istio.io/latest/blog/2023/native-sidecars/>).

use super::NamespaceLabels;
use crate::model::workload::Workload;
use crate::yaml::patch::Patch;

/// The pod labels and annotations that put a workload in the mesh.
pub fn inject(w: &Workload, ambient: bool, revision: Option<&str>, native: bool) -> Patch {
    let mut patch = Patch::new();
    if ambient {
        patch.set(&w.pod_label("istio.io/dataplane-mode"), "ambient");
        return patch;
    }
    patch.set(&w.pod_label("sidecar.istio.io/inject"), "true");
    if let Some(rev) = revision {
        patch.set(&w.pod_label("istio.io/rev"), rev);
    }
    if w.pod_annotations
        .get("sidecar.istio.io/inject")
        .is_some_and(|v| v != "true")
    {
        patch.set(&w.pod_annotation("sidecar.istio.io/inject"), "true");
    }
    if native {
        patch.set(&w.pod_annotation("sidecar.istio.io/nativeSidecar"), "true");
    }
    patch
}

/// How a workload opts out, if it does.
pub fn opted_out(w: &Workload, ambient: bool) -> Option<String> {
    let checks: &[(&str, &str)] = if ambient {
        &[
            ("istio.io/dataplane-mode", "none"),
            ("sidecar.istio.io/inject", "false"),
        ]
    } else {
        &[("sidecar.istio.io/inject", "false")]
    };
    super::opted_out_by(w, checks)
}

/// An explicit opt-out, so that namespace-wide injection cannot catch the workload.
pub fn opt_out(patch: &mut Patch, w: &Workload, ambient: bool) {
    if ambient {
        patch.set(&w.pod_label("istio.io/dataplane-mode"), "none");
    } else {
        patch.set(&w.pod_label("sidecar.istio.io/inject"), "false");
    }
}

/// True when a namespace (by its labels) opts out.
pub fn namespace_opted_out(labels: &NamespaceLabels, ambient: bool) -> bool {
    if ambient {
        labels.get("istio.io/dataplane-mode") == Some("none")
    } else {
        labels.get("istio-injection") == Some("disabled")
    }
}

/// The labels that put a namespace in the mesh, or why they cannot.
pub fn namespace(
    labels: &NamespaceLabels,
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
            if labels.get("istio-injection").is_some() {
                return Err("has istio-injection, which overrides istio.io/rev: remove it to use a revision".into());
            }
            patch.set(&["metadata", "labels", "istio.io/rev"], rev)
        }
        (false, None) => patch.set(&["metadata", "labels", "istio-injection"], "enabled"),
    }
    Ok(patch)
}
