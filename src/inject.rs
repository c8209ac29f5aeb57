//! Decides, per workload and per Namespace, whether it joins the mesh and which labels and
//! annotations say so.
//!
//! Sources for the rules:
//! - Istio sidecar injection is selected by the pod *label* `sidecar.istio.io/inject`; the
//!   annotation form is deprecated, and the webhook's objectSelector only sees labels
//!   (<https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/#controlling-the-injection-policy>).
//!   A revision is chosen with `istio.io/rev`; a namespace opts in with `istio-injection:
//!   enabled` or `istio.io/rev` (the former wins when both are set).
//! - Istio ambient mode: `istio.io/dataplane-mode: ambient` on the namespace or pod
//!   (<https://istio.io/latest/docs/ambient/usage/add-workloads/>).
//! - Native sidecars for Jobs: `sidecar.istio.io/nativeSidecar: "true"`
//!   (<https://istio.io/latest/blog/2023/native-sidecars/>); Linkerd:
//!   `config.alpha.linkerd.io/proxy-enable-native-sidecar: "true"`
//!   (<https://linkerd.io/2-edge/reference/proxy-configuration/>).
//! - Linkerd: the pod-template or namespace annotation `linkerd.io/inject: enabled`
//!   (<https://linkerd.io/2-edge/features/proxy-injection/>).
//! - Pods with `hostNetwork: true` are never injected by either mesh: the proxy's iptables
//!   rules would capture the node's traffic.
//! - prometheus-operator copies `spec.podMetadata` to the pods it creates
//!   (<https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.EmbeddedObjectMetadata>);
//!   the OpenTelemetry operator copies `spec.podAnnotations`, and the resource's own labels,
//!   to the collector pods.

use crate::catalog::Match;
use crate::config::{Hooks, IstioMode, Spec};
use crate::workload::Workload;
use crate::yaml::edit::Patch;

/// The pod labels injection writes. They mark mesh membership, not a workload: a selector
/// built from them would pick every meshed pod of the namespace, and it would appear only
/// once a first pass had added them.
pub const MESH_LABELS: [&str; 3] = [
    "sidecar.istio.io/inject",
    "istio.io/rev",
    "istio.io/dataplane-mode",
];

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
}

/// What happens to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Put in the mesh (the text is how: `istio sidecar`).
    Inject(String),
    /// Left out, with the reason.
    Skip(String),
    /// A non-workload object given mesh settings (a Service's protocol hints), with why.
    Edit(String),
}

/// Namespaces whose pods are never touched: Kubernetes' own and the meshes' control planes.
fn is_system_namespace(ns: &str) -> bool {
    ns.starts_with("kube-") || ns == "istio-system" || ns.starts_with("linkerd")
}

/// Decides what happens to a recognised workload and builds the patch (which may be
/// non-empty for a skip: hooks get an explicit opt-out).
pub fn workload(
    w: &Workload,
    m: &Match,
    spec: &Spec,
    mesh: &Mesh,
    default_ns: Option<&str>,
) -> (Action, Patch) {
    let mut patch = Patch::new();
    let skip = |reason: String| (Action::Skip(reason), Patch::new());
    let components = &spec.components;
    if components.exclude.contains(&m.component) {
        return skip("excluded by spec.components.exclude".into());
    }
    if !m.custom && !components.include.is_empty() && !components.include.contains(&m.component) {
        return skip("not in spec.components.include".into());
    }
    let ns = w.namespace.as_deref().or(default_ns);
    if let Some(ns) = ns {
        if !spec.namespaces.is_empty() && !spec.namespaces.iter().any(|n| n == ns) {
            return skip(format!("namespace {ns} is not in spec.namespaces"));
        }
        if is_system_namespace(ns) {
            return skip(format!("system namespace {ns}"));
        }
    }
    let sidecar = matches!(mesh, Mesh::Istio { ambient: false, .. } | Mesh::Linkerd);
    if w.is_hook() && spec.hooks == Hooks::Skip {
        // A hook or test pod with a sidecar that never exits blocks the release; opt it
        // out explicitly so that namespace-wide injection cannot catch it either.
        if sidecar {
            set_opt_out(&mut patch, w, mesh);
            return (
                Action::Skip("Helm hook (hooks: skip); opted out".into()),
                patch,
            );
        }
        return skip("Helm hook (hooks: skip)".into());
    }
    if w.host_network {
        return skip("hostNetwork".into());
    }
    if let Some(proxy) = w
        .containers
        .iter()
        .find(|c| *c == "istio-proxy" || *c == "linkerd-proxy")
    {
        return skip(format!("already runs {proxy}"));
    }
    let opt_out = opt_out(w, mesh);
    if let Some(how) = &opt_out
        && spec.injection.respect_opt_out
    {
        return skip(format!("opted out ({how})"));
    }
    let native = w.runs_to_completion && spec.injection.native_sidecars && sidecar;
    match mesh {
        Mesh::Istio { ambient: true, .. } => {
            patch.set(
                &path(w.pod_labels_path, "istio.io/dataplane-mode"),
                "ambient",
            );
        }
        Mesh::Istio { revision, .. } => {
            patch.set(&path(w.pod_labels_path, "sidecar.istio.io/inject"), "true");
            if let Some(rev) = revision {
                patch.set(&path(w.pod_labels_path, "istio.io/rev"), rev);
            }
            if w.pod_annotations
                .get("sidecar.istio.io/inject")
                .is_some_and(|v| v != "true")
            {
                patch.set(
                    &path(w.pod_annotations_path, "sidecar.istio.io/inject"),
                    "true",
                );
            }
            if native {
                patch.set(
                    &path(w.pod_annotations_path, "sidecar.istio.io/nativeSidecar"),
                    "true",
                );
            }
        }
        Mesh::Linkerd => {
            patch.set(
                &path(w.pod_annotations_path, "linkerd.io/inject"),
                "enabled",
            );
            for (key, value) in spec.linkerd.proxy.annotations() {
                patch.set(&path(w.pod_annotations_path, key), value);
            }
            // Ports no Server covers follow the default inbound policy
            // (<https://linkerd.io/2-edge/reference/authorization-policy/>).
            if spec.authorization.as_ref().is_some_and(|a| a.default_deny) {
                patch.set(
                    &path(
                        w.pod_annotations_path,
                        "config.linkerd.io/default-inbound-policy",
                    ),
                    "deny",
                );
            }
            if let Some(ports) = opaque_ports(w)
                && spec.linkerd.proxy.opaque_ports.is_none()
            {
                patch.set(
                    &path(w.pod_annotations_path, "config.linkerd.io/opaque-ports"),
                    &ports,
                );
            }
            if native {
                patch.set(
                    &path(
                        w.pod_annotations_path,
                        "config.alpha.linkerd.io/proxy-enable-native-sidecar",
                    ),
                    "true",
                );
            }
        }
    }
    let mut how = mesh.describe().to_string();
    if native {
        how.push_str(", native sidecar");
    }
    if opt_out.is_some() {
        how.push_str(", opt-out overridden");
    }
    (Action::Inject(how), patch)
}

/// The injection setting of a Namespace document in scope.
pub fn namespace(
    name: &str,
    labels: &[(&str, Option<&str>)],
    spec: &Spec,
    mesh: &Mesh,
) -> Option<(Action, Patch)> {
    if spec.namespaces.is_empty() || !spec.namespaces.iter().any(|n| n == name) {
        return None;
    }
    let mut patch = Patch::new();
    let label = |k: &str| {
        labels
            .iter()
            .find(|(key, _)| *key == k)
            .and_then(|(_, v)| *v)
    };
    if is_system_namespace(name) {
        return Some((Action::Skip(format!("system namespace {name}")), patch));
    }
    let opted_out = match mesh {
        Mesh::Istio { ambient: true, .. } => label("istio.io/dataplane-mode") == Some("none"),
        Mesh::Istio { .. } => label("istio-injection") == Some("disabled"),
        Mesh::Linkerd => label("linkerd.io/inject") == Some("disabled"),
    };
    if opted_out && spec.injection.respect_opt_out {
        return Some((Action::Skip("opted out".into()), patch));
    }
    match mesh {
        Mesh::Istio { ambient: true, .. } => patch.set(
            &["metadata", "labels", "istio.io/dataplane-mode"],
            "ambient",
        ),
        Mesh::Istio {
            revision: Some(rev),
            ..
        } => {
            if label("istio-injection").is_some() {
                return Some((
                    Action::Skip("has istio-injection, which overrides istio.io/rev: remove it to use a revision".into()),
                    patch,
                ));
            }
            patch.set(&["metadata", "labels", "istio.io/rev"], rev)
        }
        Mesh::Istio { revision: None, .. } => {
            patch.set(&["metadata", "labels", "istio-injection"], "enabled")
        }
        Mesh::Linkerd => patch.set(&["metadata", "annotations", "linkerd.io/inject"], "enabled"),
    }
    Some((
        Action::Inject(format!("namespace-wide {}", mesh.describe())),
        patch,
    ))
}

/// The pod's `config.linkerd.io/opaque-ports`: its gossip and server-first container ports,
/// added to what the chart says (<https://linkerd.io/2-edge/features/protocol-detection/>).
fn opaque_ports(w: &Workload) -> Option<String> {
    let opaque: Vec<u16> = w
        .ports
        .iter()
        .filter(|p| p.protocol != "UDP" && crate::policy::is_opaque(p.number))
        .map(|p| p.number)
        .collect();
    crate::policy::opaque_annotation(
        &opaque,
        w.pod_annotations
            .get("config.linkerd.io/opaque-ports")
            .map(String::as_str),
    )
}

fn path<'a>(base: &[&'a str], key: &'a str) -> Vec<&'a str> {
    let mut p = base.to_vec();
    p.push(key);
    p
}

/// How a workload opts out of this mesh, if it does.
fn opt_out(w: &Workload, mesh: &Mesh) -> Option<String> {
    let checks: &[(&str, &str)] = match mesh {
        Mesh::Istio { ambient: true, .. } => &[
            ("istio.io/dataplane-mode", "none"),
            ("sidecar.istio.io/inject", "false"),
        ],
        Mesh::Istio { .. } => &[("sidecar.istio.io/inject", "false")],
        Mesh::Linkerd => &[("linkerd.io/inject", "disabled")],
    };
    checks.iter().find_map(|(key, value)| {
        for (what, map) in [
            ("label", &w.pod_labels),
            ("annotation", &w.pod_annotations),
            ("label", &w.labels),
        ] {
            if map.get(*key).map(String::as_str) == Some(value) {
                return Some(format!("{what} {key}={value}"));
            }
        }
        None
    })
}

fn set_opt_out(patch: &mut Patch, w: &Workload, mesh: &Mesh) {
    match mesh {
        Mesh::Linkerd => patch.set(
            &path(w.pod_annotations_path, "linkerd.io/inject"),
            "disabled",
        ),
        Mesh::Istio { .. } => {
            patch.set(&path(w.pod_labels_path, "sidecar.istio.io/inject"), "false")
        }
    }
}
