//! Who is in which mesh, simulating the injection admission does from the labels and
//! annotations of the pod template and its namespace, and the ends of an edge as the layers
//! see them: namespace, labels, identity, source address and data plane.

use super::cidr::{Cidr, Source};
use super::objects::{Cluster, Labels, Namespace, Ns, Pod};
use super::{Settings, Tri};
use crate::model::graph::Party;
use crate::model::mesh::Mesh;

/// The namespace [`Party::AnyWorkload`] stands in: one no policy names.
pub const ANY_NAMESPACE: &str = "(any namespace)";
/// The ServiceAccount [`Party::AnyWorkload`] stands in: one no policy names.
const ANY_SERVICE_ACCOUNT: &str = "(any service account)";
/// A name for the release namespace when it is not known, to try policies against.
const RELEASE_NAMESPACE: &str = "(the release namespace)";

/// The data plane that handles a pod's traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataplane {
    /// Not in the mesh.
    Outside,
    IstioSidecar,
    IstioAmbient,
    Linkerd,
}

/// The pod's data plane under `mesh`. An Istio sidecar takes precedence over ambient
/// enrolment (ztunnel skips pods with sidecars); ambient enrolment counts only in an
/// ambient install.
pub fn dataplane(pod: &Pod, ns: &Namespace, mesh: &Mesh) -> Dataplane {
    match mesh {
        Mesh::Linkerd if linkerd_injected(pod, ns) => Dataplane::Linkerd,
        Mesh::Istio { .. } if istio_injected(pod, ns) => Dataplane::IstioSidecar,
        Mesh::Istio { ambient: true, .. } if ambient_enrolled(pod, ns) => Dataplane::IstioAmbient,
        _ => Dataplane::Outside,
    }
}

const ISTIO_INJECT: &str = "sidecar.istio.io/inject";

/// Istio sidecar injection, as the injector's webhooks select pods and as `injectRequired`
/// reads the value:
/// - hostNetwork pods and the `kube-system`/`kube-public` namespaces are never injected;
/// - the webhooks are called for a namespace labelled `istio-injection: enabled` or
///   `istio.io/rev` (unless the pod label is `"false"`), else only for a pod labelled
///   `sidecar.istio.io/inject: "true"` or `istio.io/rev`;
/// - then the pod label, else the (deprecated) annotation, decides: `y`, `yes`, `true`,
///   `on` in any case inject, no value takes the default policy (`enabled`), any other
///   value does not inject.
///
/// https://github.com/istio/istio/blob/master/pkg/kube/inject/inject.go (`injectRequired`),
/// https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/#controlling-the-injection-policy
fn istio_injected(pod: &Pod, ns: &Namespace) -> bool {
    if pod.host_network
        || matches!(
            pod.namespace.as_deref(),
            Some("kube-system" | "kube-public")
        )
    {
        return false;
    }
    let label = pod.labels.get(ISTIO_INJECT).map(String::as_str);
    let called = match ns.labels.get("istio-injection").map(String::as_str) {
        Some("enabled") => label != Some("false"),
        Some(_) => false,
        None if ns.labels.contains_key("istio.io/rev") => label != Some("false"),
        None => {
            label == Some("true")
                || pod.labels.contains_key("istio.io/rev") && label != Some("false")
        }
    };
    let value = label
        .or(pod.annotations.get(ISTIO_INJECT).map(String::as_str))
        .map(str::to_lowercase);
    called
        && match value.as_deref() {
            None | Some("") => true,
            Some(v) => matches!(v, "y" | "yes" | "true" | "on"),
        }
}

/// Ambient enrolment: `istio.io/dataplane-mode: ambient` on the pod or its namespace, and
/// not `none` on the pod; hostNetwork pods are not captured.
/// https://istio.io/latest/docs/reference/config/labels/#IoIstioDataplaneMode
fn ambient_enrolled(pod: &Pod, ns: &Namespace) -> bool {
    const MODE: &str = "istio.io/dataplane-mode";
    !pod.host_network
        && match pod.labels.get(MODE).map(String::as_str) {
            Some("none") => false,
            Some("ambient") => true,
            _ => ns.labels.get(MODE).map(String::as_str) == Some("ambient"),
        }
}

/// Linkerd injection: `linkerd.io/inject: enabled` (or `ingress`) on the pod template, else
/// on the namespace; `disabled` on the pod opts out; hostNetwork pods and `kube-system` are
/// never injected. https://linkerd.io/2-edge/features/proxy-injection/
fn linkerd_injected(pod: &Pod, ns: &Namespace) -> bool {
    const INJECT: &str = "linkerd.io/inject";
    let on = |v: Option<&String>| matches!(v.map(String::as_str), Some("enabled" | "ingress"));
    !pod.host_network
        && pod.namespace.as_deref() != Some("kube-system")
        && match pod.annotations.get(INJECT) {
            Some(v) => on(Some(v)),
            None => on(ns.annotations.get(INJECT)),
        }
}

/// The pods of a [`Party::Workload`] of the stream.
pub fn workload<'c>(
    cluster: &'c Cluster,
    party: &Party,
    settings: &Settings,
) -> Result<&'c Pod, String> {
    let Party::Workload {
        kind,
        namespace,
        name,
    } = party
    else {
        return Err(format!("{} is not a workload of the stream", party.label()));
    };
    let namespace = namespace
        .clone()
        .or_else(|| settings.release_namespace.clone());
    let pod = cluster.pod(kind, &namespace, name).ok_or_else(|| {
        format!(
            "{} is not in the output, or it is a resource whose operator the evaluator \
             does not know",
            party.label()
        )
    })?;
    if !pod.runs_pods {
        return Err(format!(
            "{} runs no pods of its own (sidecar mode)",
            pod.label()
        ));
    }
    Ok(pod)
}

/// A caller as the layers see it.
#[derive(Debug, Clone)]
pub struct Caller<'c> {
    pub party: &'c Party,
    pub label: String,
    /// Its pods, for a workload of the stream (its egress policies and annotations).
    pub pod: Option<&'c Pod>,
    /// Its namespace, for a caller in the pod network: NetworkPolicy selectors ignore
    /// hostNetwork pods, the kube-apiserver and the kubelet.
    pub namespace: Option<Namespace>,
    /// Its pod labels, for a pod whose labels are known.
    pub labels: Option<Labels>,
    /// Its identity `(namespace, ServiceAccount)`, for a pod.
    pub identity: Option<(Ns, String)>,
    pub dataplane: Dataplane,
    pub source: Source,
    /// On the destination pod's node (K8S-NP-8, ISTIO-AMB-2).
    pub node_local: Tri,
}

pub fn caller<'c>(
    cluster: &'c Cluster,
    party: &'c Party,
    settings: &Settings,
) -> Result<Caller<'c>, String> {
    let meshed = match &settings.mesh {
        Mesh::Linkerd => Dataplane::Linkerd,
        Mesh::Istio { ambient: true, .. } => Dataplane::IstioAmbient,
        Mesh::Istio { .. } => Dataplane::IstioSidecar,
    };
    let outside = |source, node_local| Caller {
        party,
        label: party.label(),
        pod: None,
        namespace: None,
        labels: None,
        identity: None,
        dataplane: Dataplane::Outside,
        source,
        node_local,
    };
    Ok(match party {
        Party::Workload { .. } => {
            let pod = workload(cluster, party, settings)?;
            let ns = cluster.namespace(&pod.namespace);
            let dataplane = dataplane(pod, &ns, &settings.mesh);
            let (namespace, source, node_local) = if pod.host_network {
                let why = "a hostNetwork caller may run on the destination's node";
                (None, Source::Node, Tri::Unknown(why.into()))
            } else {
                (Some(ns), Source::Pod, Tri::No)
            };
            Caller {
                party,
                label: pod.label(),
                pod: Some(pod),
                namespace,
                labels: Some(pod.labels.clone()),
                identity: Some((pod.namespace.clone(), pod.service_account.clone())),
                dataplane,
                source,
                node_local,
            }
        }
        // K8S-CALLER-4: the kubelet, on the pod's node; the kube-apiserver, whose address
        // is one of `api_server_networks` if given. Neither has a mesh identity.
        Party::Kubelet => outside(Source::Node, Tri::Yes),
        _ if party.outside_mesh() => {
            let source = match &settings.api_server_networks {
                Some(nets) => Source::Within(nets.iter().filter_map(|n| Cidr::parse(n)).collect()),
                None => Source::ApiServer,
            };
            outside(source, Tri::No)
        }
        Party::Ingress {
            namespace,
            service_account,
        } => Caller {
            party,
            label: party.label(),
            pod: None,
            namespace: Some(cluster.namespace(&Some(namespace.clone()))),
            labels: None,
            identity: Some((Some(namespace.clone()), service_account.clone())),
            dataplane: meshed,
            source: Source::Pod,
            node_local: Tri::No,
        },
        _ => {
            let ns = Some(ANY_NAMESPACE.to_string());
            Caller {
                party,
                label: party.label(),
                pod: None,
                namespace: Some(cluster.namespace(&ns)),
                labels: Some(Labels::new()),
                identity: Some((ns, ANY_SERVICE_ACCOUNT.into())),
                dataplane: meshed,
                source: Source::Pod,
                node_local: Tri::No,
            }
        }
    })
}

/// Decides `f` for a namespace that may be the release namespace of unknown name: known
/// when `f` gives the same answer for a name no policy uses and for each of `candidates`
/// (the names a policy mentions).
pub fn over_ns(
    ns: &Ns,
    candidates: impl IntoIterator<Item = String>,
    f: impl Fn(&str) -> Tri,
) -> Tri {
    if let Some(name) = ns {
        return f(name);
    }
    let first = f(RELEASE_NAMESPACE);
    if let Tri::Unknown(_) = first {
        return first;
    }
    for candidate in candidates {
        match f(&candidate) {
            unknown @ Tri::Unknown(_) => return unknown,
            answer if answer != first => {
                return Tri::Unknown(format!(
                    "it depends on whether the release namespace is `{candidate}`, and the \
                     release namespace is not known (set it)"
                ));
            }
            _ => {}
        }
    }
    first
}

/// Whether two namespaces are the same one (objects without a namespace are all in the
/// release namespace).
pub fn same_ns(a: &Ns, b: &Ns) -> Tri {
    match (a, b) {
        (Some(a), Some(b)) => Tri::of(a == b),
        (None, None) => Tri::Yes,
        (None, Some(named)) | (Some(named), None) => {
            if named == ANY_NAMESPACE {
                Tri::No
            } else {
                over_ns(&None, [named.clone()], |n| Tri::of(n == named))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::objects::{Cluster, parse};
    use super::*;

    /// The data plane of `app` in namespace `ns` (a Namespace document with `ns_meta`)
    /// with these pod labels and annotations, and `hostNetwork`.
    fn plane(
        mesh: &Mesh,
        ns: &str,
        ns_meta: &str,
        labels: &str,
        annotations: &str,
        host: bool,
    ) -> Dataplane {
        let yaml = format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}, {ns_meta}}}\n---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app, namespace: {ns}}}
spec:
  template:
    metadata: {{labels: {{app: app, {labels}}}, annotations: {{{annotations}}}}}
    spec: {{hostNetwork: {host}, containers: [{{name: c}}]}}
"
        );
        let roots = parse(&yaml);
        let cluster = Cluster::read(&roots, &None, |_| true);
        let pod = &cluster.pods[0];
        dataplane(pod, &cluster.namespace(&pod.namespace), mesh)
    }

    /// https://github.com/istio/istio/blob/master/pkg/kube/inject/inject.go (`injectRequired`)
    #[test]
    fn istio_injection_follows_the_webhook_selectors_and_inject_required() {
        use Dataplane::*;
        let sidecar = Mesh::Istio {
            ambient: false,
            revision: None,
        };
        let on = "labels: {istio-injection: enabled}";
        let none = "labels: {}";
        let cases = [
            (on, "", "", false, IstioSidecar),
            (on, "sidecar.istio.io/inject: \"false\"", "", false, Outside),
            (on, "", "sidecar.istio.io/inject: \"no\"", false, Outside),
            (
                on,
                "",
                "sidecar.istio.io/inject: \"Yes\"",
                false,
                IstioSidecar,
            ),
            (on, "", "", true, Outside),
            (
                "labels: {istio.io/rev: canary}",
                "",
                "",
                false,
                IstioSidecar,
            ),
            (
                "labels: {istio-injection: disabled}",
                "sidecar.istio.io/inject: \"true\"",
                "",
                false,
                Outside,
            ),
            (
                none,
                "sidecar.istio.io/inject: \"true\"",
                "",
                false,
                IstioSidecar,
            ),
            (
                none,
                "sidecar.istio.io/inject: \"True\"",
                "",
                false,
                Outside,
            ),
            (
                none,
                "",
                "sidecar.istio.io/inject: \"true\"",
                false,
                Outside,
            ),
            (none, "istio.io/rev: canary", "", false, IstioSidecar),
        ];
        for (ns, labels, annotations, host, expected) in cases {
            let got = plane(&sidecar, "mon", ns, labels, annotations, host);
            assert_eq!(
                got, expected,
                "namespace {ns}, pod labels {labels}, annotations {annotations}, hostNetwork {host}"
            );
        }
        let kube_system = plane(&sidecar, "kube-system", on, "", "", false);
        assert_eq!(kube_system, Outside);
    }

    /// https://istio.io/latest/docs/ambient/usage/add-workloads/
    #[test]
    fn ambient_enrolment_by_pod_or_namespace_label() {
        use Dataplane::*;
        let ambient = Mesh::Istio {
            ambient: true,
            revision: None,
        };
        let ns = "labels: {istio.io/dataplane-mode: ambient}";
        assert_eq!(plane(&ambient, "mon", ns, "", "", false), IstioAmbient);
        assert_eq!(
            plane(
                &ambient,
                "mon",
                ns,
                "istio.io/dataplane-mode: none",
                "",
                false
            ),
            Outside
        );
        assert_eq!(plane(&ambient, "mon", ns, "", "", true), Outside);
        assert_eq!(
            plane(
                &ambient,
                "mon",
                ns,
                "sidecar.istio.io/inject: \"true\"",
                "",
                false
            ),
            IstioSidecar
        );
        assert_eq!(
            plane(
                &ambient,
                "mon",
                "labels: {}",
                "istio.io/dataplane-mode: ambient",
                "",
                false
            ),
            IstioAmbient
        );
        // In a sidecar install, ambient labels enrol nothing.
        let sidecar = Mesh::Istio {
            ambient: false,
            revision: None,
        };
        assert_eq!(plane(&sidecar, "mon", ns, "", "", false), Outside);
    }

    /// https://linkerd.io/2-edge/features/proxy-injection/
    #[test]
    fn linkerd_injection_by_pod_or_namespace_annotation() {
        use Dataplane::*;
        let ns = "annotations: {linkerd.io/inject: enabled}";
        assert_eq!(plane(&Mesh::Linkerd, "mon", ns, "", "", false), Linkerd);
        assert_eq!(
            plane(
                &Mesh::Linkerd,
                "mon",
                ns,
                "",
                "linkerd.io/inject: disabled",
                false
            ),
            Outside
        );
        assert_eq!(
            plane(
                &Mesh::Linkerd,
                "mon",
                "labels: {}",
                "",
                "linkerd.io/inject: enabled",
                false
            ),
            Linkerd
        );
        assert_eq!(plane(&Mesh::Linkerd, "mon", ns, "", "", true), Outside);
    }
}
