//! The meshes gunj-mesh knows: which one a stream is put into once `type: auto` is resolved,
//! the pod labels that mark membership, and the identities each mesh gives a workload.

use crate::config::{IstioMode, Release, Spec};

/// The first Istio release that serves the `v1` networking, security and telemetry APIs
/// (<https://istio.io/latest/blog/2024/v1-apis/>); earlier ones serve `v1beta1` and
/// Telemetry `v1alpha1`.
pub const ISTIO_V1_APIS: Release = Release(1, 22);

/// The mesh the stream is being put into, once `auto` is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mesh {
    Istio {
        ambient: bool,
        revision: Option<String>,
    },
    Linkerd,
}

impl Mesh {
    pub fn from_spec(spec: &Spec, linkerd: bool) -> Mesh {
        if linkerd {
            Mesh::Linkerd
        } else {
            Mesh::Istio {
                ambient: spec.istio.mode == IstioMode::Ambient,
                revision: spec.istio.revision.clone(),
            }
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Mesh::Istio { ambient: true, .. } => "istio ambient",
            Mesh::Istio { .. } => "istio sidecar",
            Mesh::Linkerd => "linkerd",
        }
    }

    /// The mesh's name: `istio`, `linkerd`.
    pub fn name(&self) -> &'static str {
        match self {
            Mesh::Istio { .. } => "istio",
            Mesh::Linkerd => "linkerd",
        }
    }

    /// The mesh's name as a title: `Istio`, `Linkerd`.
    pub fn title(&self) -> &'static str {
        match self {
            Mesh::Istio { .. } => "Istio",
            Mesh::Linkerd => "Linkerd",
        }
    }

    /// True when each pod gets a proxy container (not Istio ambient).
    pub fn has_sidecars(&self) -> bool {
        matches!(self, Mesh::Istio { ambient: false, .. } | Mesh::Linkerd)
    }
}

/// The pod labels injection writes. They mark mesh membership, not a workload: a selector
/// built from them would pick every meshed pod of the namespace, and it would appear only
/// once a first pass had added them.
pub const MESH_LABELS: [&str; 3] = [
    "sidecar.istio.io/inject",
    "istio.io/rev",
    "istio.io/dataplane-mode",
];

/// The SPIFFE-style identity Istio derives from a ServiceAccount in `trust_domain`
/// (<https://istio.io/latest/docs/reference/config/security/authorization-policy/#Source>).
/// Without a namespace (an object that names none, placed by whoever applies it), the
/// ServiceAccount is matched in any namespace: a suffix match on `/sa/<name>`.
pub fn istio_principal(
    trust_domain: &str,
    namespace: Option<&str>,
    service_account: &str,
) -> String {
    match namespace {
        Some(ns) => format!("{trust_domain}/ns/{ns}/sa/{service_account}"),
        None => format!("*/sa/{service_account}"),
    }
}
