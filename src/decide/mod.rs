//! Decides, per workload and per Namespace, whether it joins the mesh and which labels and
//! annotations say so. The rules every mesh shares are here; what each mesh writes and how
//! it reads an opt-out are in [`istio`] and [`linkerd`].
//!
//! - Pods with `hostNetwork: true` are never injected by either mesh: the proxy's iptables
//!   rules would capture the node's traffic.
//! - A workload left out by the config (excluded, not included, a Helm hook) in a namespace
//!   whose Namespace document is put in the mesh would be injected by the namespace's
//!   setting: it gets the pod-level opt-out.
//! - prometheus-operator copies `spec.podMetadata` to the pods it creates
//!   (<https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.EmbeddedObjectMetadata>);
//!   the OpenTelemetry operator copies `spec.podAnnotations`, and the resource's own labels,
//!   to the collector pods ([`crate::model::kinds`] says where each kind keeps them).

mod istio;
mod linkerd;

use crate::config::{Hooks, Spec};
use crate::model::catalog::Match;
use crate::model::mesh::Mesh;
use crate::model::workload::Workload;
use crate::yaml::patch::Patch;

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
/// non-empty for a skip: hooks get an explicit opt-out). `namespace_wide` says that the
/// workload's namespace is a Namespace document of the stream put in the mesh
/// ([`namespace`]): a workload skipped there gets an explicit opt-out too, since the
/// namespace's injection would otherwise take it.
pub fn workload(
    w: &Workload,
    m: &Match,
    spec: &Spec,
    mesh: &Mesh,
    default_ns: Option<&str>,
    namespace_wide: bool,
) -> (Action, Patch) {
    let skip = |reason: String| {
        if !namespace_wide {
            return (Action::Skip(reason), Patch::new());
        }
        let mut patch = Patch::new();
        match mesh {
            Mesh::Istio { ambient, .. } => istio::opt_out(&mut patch, w, *ambient),
            Mesh::Linkerd => linkerd::opt_out(&mut patch, w),
        }
        (
            Action::Skip(format!("{reason}; opted out of the namespace's injection")),
            patch,
        )
    };
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
    let sidecar = mesh.has_sidecars();
    if w.is_hook() && spec.hooks == Hooks::Skip {
        // A hook or test pod with a sidecar that never exits blocks the release; opt it
        // out explicitly so that namespace-wide injection cannot catch it either.
        if sidecar {
            let mut patch = Patch::new();
            match mesh {
                Mesh::Istio { .. } => istio::opt_out(&mut patch, w, false),
                Mesh::Linkerd => linkerd::opt_out(&mut patch, w),
            }
            return (
                Action::Skip("Helm hook (hooks: skip); opted out".into()),
                patch,
            );
        }
        return skip("Helm hook (hooks: skip)".into());
    }
    if w.host_network {
        // Neither mesh's injector takes such pods, even namespace-wide: no opt-out needed.
        return (Action::Skip("hostNetwork".into()), Patch::new());
    }
    if let Some(proxy) = w
        .containers
        .iter()
        .find(|c| *c == "istio-proxy" || *c == "linkerd-proxy")
    {
        // In the mesh already, by its own proxy: an opt-out would say otherwise.
        return (Action::Skip(format!("already runs {proxy}")), Patch::new());
    }
    let opted_out = match mesh {
        Mesh::Istio { ambient, .. } => istio::opted_out(w, *ambient),
        Mesh::Linkerd => linkerd::opted_out(w),
    };
    if let Some(how) = &opted_out
        && spec.injection.respect_opt_out
    {
        return (Action::Skip(format!("opted out ({how})")), Patch::new());
    }
    let native = w.runs_to_completion && spec.injection.native_sidecars && sidecar;
    let patch = match mesh {
        Mesh::Istio { ambient, revision } => {
            istio::inject(w, *ambient, revision.as_deref(), native)
        }
        Mesh::Linkerd => linkerd::inject(w, spec, native),
    };
    let mut how = mesh.describe().to_string();
    if native {
        how.push_str(", native sidecar");
    }
    if opted_out.is_some() {
        how.push_str(", opt-out overridden");
    }
    if matches!(mesh, Mesh::Istio { ambient: true, .. }) && istio::asks_for_sidecar(w) {
        how.push_str(", sidecar.istio.io/inject turned off");
    }
    (Action::Inject(how), patch)
}

/// The injection setting of a Namespace document in scope, from its labels and annotations
/// (a null value is `None`).
pub fn namespace(
    name: &str,
    labels: &[(&str, Option<&str>)],
    annotations: &[(&str, Option<&str>)],
    spec: &Spec,
    mesh: &Mesh,
) -> Option<(Action, Patch)> {
    if spec.namespaces.is_empty() || !spec.namespaces.iter().any(|n| n == name) {
        return None;
    }
    let meta = NamespaceMeta {
        labels,
        annotations,
    };
    if is_system_namespace(name) {
        return Some((
            Action::Skip(format!("system namespace {name}")),
            Patch::new(),
        ));
    }
    let opted_out = match mesh {
        Mesh::Istio { ambient, .. } => istio::namespace_opted_out(&meta, *ambient),
        Mesh::Linkerd => linkerd::namespace_opted_out(&meta),
    };
    if let Some(how) = opted_out
        && spec.injection.respect_opt_out
    {
        return Some((Action::Skip(format!("opted out ({how})")), Patch::new()));
    }
    let patch = match mesh {
        Mesh::Istio { ambient, revision } => istio::namespace(&meta, *ambient, revision.as_deref()),
        Mesh::Linkerd => Ok(linkerd::namespace()),
    };
    Some(match patch {
        Ok(patch) => (
            Action::Inject(format!("namespace-wide {}", mesh.describe())),
            patch,
        ),
        Err(reason) => (Action::Skip(reason), Patch::new()),
    })
}

/// A Namespace document's labels and annotations (a null value is `None`).
struct NamespaceMeta<'a> {
    labels: &'a [(&'a str, Option<&'a str>)],
    annotations: &'a [(&'a str, Option<&'a str>)],
}

impl<'a> NamespaceMeta<'a> {
    fn label(&self, key: &str) -> Option<&'a str> {
        find(self.labels, key)
    }

    fn annotation(&self, key: &str) -> Option<&'a str> {
        find(self.annotations, key)
    }
}

fn find<'a>(map: &[(&'a str, Option<&'a str>)], key: &str) -> Option<&'a str> {
    map.iter().find(|(k, _)| *k == key).and_then(|(_, v)| *v)
}

/// The value of `key` where the mesh reads it first, else where the chart may have put it
/// meaning the same (`places`: `"label"` or `"annotation"` of the pod template, `"own
/// label"` of the workload), with where it was found.
fn setting<'w>(
    w: &'w Workload,
    key: &str,
    places: &[&'static str],
) -> Option<(&'static str, &'w str)> {
    places.iter().find_map(|&place| {
        let (what, map) = match place {
            "label" => ("label", &w.pod_labels),
            "annotation" => ("annotation", &w.pod_annotations),
            _ => ("label", &w.labels),
        };
        map.get(key).map(|v| (what, v.as_str()))
    })
}
