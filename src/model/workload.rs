//! A read-only view of a parsed object that runs pods: where its pod metadata lives, its
//! labels, images and the pod-spec facts injection depends on.

use super::kinds::{self, PodKind};
use super::mesh::MESH_LABELS;
use super::ports::Port;
use crate::yaml::Node;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Workload {
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// The pods' labels: those at `pod_labels_path`, and for an operator resource the others
    /// its operator puts on every pod ([`kinds::OperatorPods::more_labels`]).
    pub pod_labels: BTreeMap<String, String>,
    pub pod_annotations: BTreeMap<String, String>,
    /// Where the pod labels and annotations are written.
    pub pod_labels_path: &'static [&'static str],
    pub pod_annotations_path: &'static [&'static str],
    pub images: Vec<String>,
    pub containers: Vec<String>,
    pub host_network: bool,
    /// Pods that are meant to finish (Jobs, CronJobs, Pods that do not restart).
    pub runs_to_completion: bool,
    pub service_account: Option<String>,
    /// The labels that select the pods: the workload's selector, what the operator sets, or
    /// else the pod labels other than the mesh's own ([`MESH_LABELS`]).
    pub selector: BTreeMap<String, String>,
    /// The ports the containers declare (or the operator's defaults).
    pub ports: Vec<Port>,
    /// Where the pod spec is (`spec.template.spec`, `spec` for Pods and operator CRs).
    pub pod_spec_path: &'static [&'static str],
    /// The names and images of `containers`, with the names of their volume mounts.
    pub app_containers: Vec<(String, String, Vec<String>)>,
    /// The names of the pod's volumes.
    pub volumes: Vec<String>,
    /// Operator CRs: the names of `spec.volumeMounts` (added to the main container).
    pub spec_mounts: Vec<String>,
    /// The containers' liveness, readiness and startup probes that reach a port.
    pub probes: Vec<Probe>,
    /// The workload that runs the pods: this object, or the one its operator creates.
    pub workload: String,
    /// At most one pod at a time ([`single`]).
    pub single: bool,
}

/// A probe the kubelet sends to a port of the pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The container port, resolved from a name against the container's ports.
    pub port: u16,
    /// `httpGet` with scheme HTTP: its path (default `/`). `None` for HTTPS, TCP and gRPC
    /// probes.
    pub http_path: Option<String>,
}

/// A field of the object has the wrong shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    pub field: String,
    pub at: usize,
    /// What the field must be, or what is wrong with it (`has no value (null)`).
    pub problem: &'static str,
    pub hint: &'static str,
}

/// The hint of a field of a shape the API server rejects too.
const REJECTED: &str = "fix the manifest; Kubernetes would reject it too";

impl Workload {
    /// `None` when the object is not a workload kind.
    /// `default_ns` is the namespace of objects that name none (operators label pods with it).
    pub fn from_node(
        node: &Node,
        kind: &str,
        default_ns: Option<&str>,
    ) -> Result<Option<Workload>, ShapeError> {
        let Some(pod_kind) = kinds::pod_kind(kind) else {
            return Ok(None);
        };
        if let Some(m) = node
            .get("metadata")
            .filter(|m| !m.is_null() && m.entries().is_none())
        {
            return Err(ShapeError {
                field: "metadata".into(),
                at: m.start,
                problem: "must be a mapping",
                hint: REJECTED,
            });
        }
        let meta = |path: &[&str], field: &str| string_map(node.at(path), field);
        let PodKind {
            labels: labels_path,
            annotations: annotations_path,
            spec: spec_path,
            ..
        } = *pod_kind;
        let pod_spec = node.at(spec_path);
        let mut images = Vec::new();
        let mut containers = Vec::new();
        let mut ports = Vec::new();
        let mut app_containers = Vec::new();
        let mut probes = Vec::new();
        if let Some(spec) = pod_spec {
            if let Some(image) = spec.get("image").and_then(Node::str) {
                images.push(image.to_string());
            }
            for list in ["initContainers", "containers"] {
                for c in spec.get(list).and_then(Node::items).unwrap_or_default() {
                    if let Some(image) = c.get("image").and_then(Node::scalar) {
                        images.push(image.to_string());
                    }
                    if let Some(name) = c.get("name").and_then(Node::scalar) {
                        containers.push(name.to_string());
                    }
                    if list == "containers" {
                        let name =
                            |n: &Node| n.get("name").and_then(Node::scalar).map(str::to_string);
                        app_containers.push((
                            name(c).unwrap_or_default(),
                            c.get("image")
                                .and_then(Node::scalar)
                                .unwrap_or_default()
                                .to_string(),
                            c.get("volumeMounts")
                                .and_then(Node::items)
                                .unwrap_or_default()
                                .iter()
                                .filter_map(name)
                                .collect(),
                        ));
                        let own: Vec<Port> = c
                            .get("ports")
                            .and_then(Node::items)
                            .unwrap_or_default()
                            .iter()
                            .filter_map(port)
                            .collect();
                        probes.extend(container_probes(c, &own));
                        ports.extend(own);
                    }
                }
            }
        }
        let restart = pod_spec
            .and_then(|s| s.get("restartPolicy"))
            .and_then(Node::scalar);
        let name = node
            .at(&["metadata", "name"])
            .and_then(Node::scalar)
            .unwrap_or_default()
            .to_string();
        let namespace = node
            .at(&["metadata", "namespace"])
            .and_then(Node::scalar)
            .map(str::to_string);
        let mut pod_labels = meta(labels_path, &labels_path.join("."))?;
        let operator = match pod_kind.operator {
            Some(pods) => match pods(node, &name, namespace.as_deref().or(default_ns)) {
                Some(pods) => Some(pods),
                // Its pods are someone else's.
                None => return Ok(None),
            },
            None => None,
        };
        let mut operator_account = None;
        let mut workload = name.clone();
        let selector = match operator {
            Some(pods) => {
                workload = pods.workload;
                ports = pods.ports;
                operator_account = pods.service_account;
                pod_labels.extend(pods.more_labels);
                pods.labels
            }
            None => match node.at(&["spec", "selector", "matchLabels"]) {
                Some(m) if pod_kind.selector => m
                    .string_map()
                    .into_iter()
                    .filter_map(|(k, v)| Some((k.to_string(), v?.to_string())))
                    .collect(),
                _ => pod_labels
                    .iter()
                    .filter(|(k, _)| !MESH_LABELS.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            },
        };
        Ok(Some(Workload {
            kind: kind.to_string(),
            name,
            namespace,
            labels: meta(&["metadata", "labels"], "metadata.labels")?,
            annotations: meta(&["metadata", "annotations"], "metadata.annotations")?,
            pod_labels,
            pod_annotations: meta(annotations_path, &annotations_path.join("."))?,
            pod_labels_path: labels_path,
            pod_annotations_path: annotations_path,
            images,
            containers,
            // Read as Kubernetes reads it: `hostNetwork: yes` and `!!bool true` are true.
            host_network: pod_spec
                .and_then(|s| s.get("hostNetwork"))
                .and_then(Node::bool_11)
                == Some(true),
            runs_to_completion: pod_kind.finishes
                || (kind == "Pod" && matches!(restart, Some("Never" | "OnFailure"))),
            service_account: operator_account.or_else(|| {
                pod_spec
                    .and_then(|s| s.get("serviceAccountName"))
                    .and_then(Node::scalar)
                    .map(str::to_string)
            }),
            selector,
            ports,
            pod_spec_path: spec_path,
            app_containers,
            volumes: pod_spec
                .and_then(|s| s.get("volumes"))
                .and_then(Node::items)
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v.get("name").and_then(Node::scalar).map(str::to_string))
                .collect(),
            probes,
            workload,
            single: single(node, kind),
            spec_mounts: node
                .at(&["spec", "volumeMounts"])
                .filter(|_| pod_kind.operator.is_some())
                .and_then(Node::items)
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v.get("name").and_then(Node::scalar).map(str::to_string))
                .collect(),
        }))
    }

    /// True for Helm hooks and tests (`helm.sh/hook` annotation).
    pub fn is_hook(&self) -> bool {
        self.annotations.contains_key("helm.sh/hook")
    }

    /// The path of the pod annotation `key`.
    pub fn pod_annotation<'k>(&self, key: &'k str) -> Vec<&'k str> {
        let mut path = self.pod_annotations_path.to_vec();
        path.push(key);
        path
    }

    /// The path of the pod label `key`.
    pub fn pod_label<'k>(&self, key: &'k str) -> Vec<&'k str> {
        let mut path = self.pod_labels_path.to_vec();
        path.push(key);
        path
    }
}

/// True when the object runs at most one pod at a time: not a DaemonSet (nor an Alloy
/// resource's default `controller.type: daemonset`, nor an OpenTelemetryCollector in
/// `mode: daemonset`), and its replicas 1 or left out (Kubernetes' and the operators'
/// default; Alloy's are `controller.replicas`).
fn single(node: &Node, kind: &str) -> bool {
    let get = |path: &[&str]| node.at(path).and_then(Node::scalar);
    let (daemons, replicas) = match kind {
        "DaemonSet" => (true, None),
        "Alloy" => (
            get(&["spec", "controller", "type"]).unwrap_or("daemonset") == "daemonset",
            get(&["spec", "controller", "replicas"]),
        ),
        "OpenTelemetryCollector" => (
            get(&["spec", "mode"]) == Some("daemonset"),
            get(&["spec", "replicas"]),
        ),
        _ => (false, get(&["spec", "replicas"])),
    };
    !daemons
        && replicas
            .and_then(|r| r.parse::<u32>().ok())
            .is_none_or(|r| r <= 1)
}

/// A container port from its `ports` entry.
fn port(node: &Node) -> Option<Port> {
    Port::of_entry(node, &["containerPort"])
}

/// A container's probes that reach a port (`exec` probes run inside it).
fn container_probes(container: &Node, ports: &[Port]) -> Vec<Probe> {
    let mut probes = Vec::new();
    for kind in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let Some(probe) = container.get(kind) else {
            continue;
        };
        for (handler, http) in [("httpGet", true), ("tcpSocket", false), ("grpc", false)] {
            let Some(h) = probe.get(handler) else {
                continue;
            };
            let Some(target) = h.get("port").and_then(Node::scalar) else {
                continue;
            };
            let number = target.parse::<u16>().ok().or_else(|| {
                ports
                    .iter()
                    .find(|p| p.name.as_deref() == Some(target))
                    .map(|p| p.number)
            });
            let Some(port) = number else { continue };
            let scheme = h.get("scheme").and_then(Node::scalar).unwrap_or("HTTP");
            let http_path = (http && scheme.eq_ignore_ascii_case("HTTP")).then(|| {
                h.get("path")
                    .and_then(Node::scalar)
                    .unwrap_or("/")
                    .to_string()
            });
            let probe = Probe { port, http_path };
            if !probes.contains(&probe) {
                probes.push(probe);
            }
        }
    }
    probes
}

/// Reads labels or annotations; a missing or null map is empty.
pub fn string_map(
    node: Option<&Node>,
    field: &str,
) -> Result<BTreeMap<String, String>, ShapeError> {
    let Some(node) = node.filter(|n| !n.is_null()) else {
        return Ok(BTreeMap::new());
    };
    if node.entries().is_none() {
        return Err(ShapeError {
            field: field.to_string(),
            at: node.start,
            problem: "must be a mapping",
            hint: REJECTED,
        });
    }
    let mut map = BTreeMap::new();
    // Merge keys (`<<: *labels`) bring in their mappings' entries, as Kubernetes reads them.
    for (k, v) in node.merged_entries() {
        let value = v.str().ok_or_else(|| ShapeError {
            field: format!("{field}.{}", k.scalar().unwrap_or_default()),
            at: v.start,
            // A null is no number or boolean to quote: it lacks a value.
            problem: if v.is_null() {
                "has no value (null)"
            } else {
                "must be a string (quote it)"
            },
            hint: if v.is_null() {
                "give it a value, or write \"\" for an empty one"
            } else {
                REJECTED
            },
        })?;
        map.insert(
            k.scalar().unwrap_or_default().to_string(),
            value.to_string(),
        );
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::single;
    use crate::yaml::{Limits, parse};

    fn one_pod(kind: &str, spec: &str) -> bool {
        let text = format!("kind: {kind}\nspec:\n{spec}");
        single(&parse(&text, Limits::default()).unwrap().unwrap(), kind)
    }

    #[test]
    fn one_pod_at_a_time_by_kind_and_replicas() {
        assert!(one_pod("Deployment", "  selector: {}\n"));
        assert!(one_pod("StatefulSet", "  replicas: 1\n"));
        assert!(!one_pod("Deployment", "  replicas: 2\n"));
        assert!(!one_pod("DaemonSet", "  selector: {}\n"));
        // The alloy chart's controller is a DaemonSet unless it says otherwise.
        assert!(!one_pod("Alloy", "  alloy: {}\n"));
        assert!(one_pod("Alloy", "  controller: {type: deployment}\n"));
        assert!(!one_pod(
            "Alloy",
            "  controller: {type: statefulset, replicas: 3}\n"
        ));
        assert!(!one_pod("OpenTelemetryCollector", "  mode: daemonset\n"));
        assert!(one_pod("Prometheus", "  replicas: 1\n"));
    }
}
