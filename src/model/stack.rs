//! The observability stack found in the stream: the components in the mesh, their pods,
//! identities and ports, the Services in front of them, and the mesh policies already there.
//! Policies and telemetry are generated from this inventory.

use super::kinds::GENERATED_KINDS;
use super::object::Object;
use super::ports::Port;
use super::release::Release;
use super::workload::Workload;
use crate::yaml::Node;
use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// A recognised workload that is in the mesh (injected now or already).
#[derive(Debug, Clone)]
pub struct Member {
    pub component: String,
    pub kind: String,
    pub name: String,
    /// `None`: the object names no namespace and none was given (`--namespace`); it lands
    /// in the namespace it is applied to (Helm's release namespace).
    pub namespace: Option<String>,
    /// The pods' ServiceAccount (`default` when the pod spec names none).
    pub service_account: String,
    pub selector: Labels,
    /// Every label the pods carry that the stream shows (template labels and selector).
    pub pod_labels: BTreeMap<String, String>,
    pub ports: Vec<Port>,
    /// False for Jobs, CronJobs and one-shot Pods: they call components but serve nothing,
    /// so no policy targets them.
    pub serves: bool,
    /// A Helm hook or test pod: not one of the component's identities.
    pub hook: bool,
    /// At most one pod at a time ([`Workload::single`]).
    pub single: bool,
    /// The workload that runs the pods ([`Workload::workload`]).
    pub workload: String,
    /// What the names of its generated resources start with: its name, or `<kind>-<name>`
    /// when a workload of another kind in its namespace has the same name (an Alertmanager
    /// and a Prometheus both named `main`).
    pub slug: String,
}

impl Member {
    /// The member a workload put in the mesh makes, in `namespace` (its own, or the one
    /// objects without a namespace are in, if known).
    pub fn of(component: &str, w: &Workload, namespace: Option<&str>) -> Member {
        Member {
            component: component.to_string(),
            kind: w.kind.clone(),
            name: w.name.clone(),
            namespace: namespace.map(str::to_string),
            service_account: w
                .service_account
                .clone()
                .unwrap_or_else(|| "default".into()),
            selector: w.selector.clone().into(),
            pod_labels: w
                .pod_labels
                .iter()
                .chain(&w.selector)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            ports: w.ports.clone(),
            serves: !w.runs_to_completion,
            hook: w.is_hook(),
            single: w.single,
            workload: w.workload.clone(),
            slug: w.name.clone(),
        }
    }
}

/// Adds to a member's ports those a Service in front of it reaches by number without the
/// pods declaring them: Kubernetes routes to undeclared ports all the same, and the
/// policies must cover them.
fn serve_service_ports(m: &mut Member, services: &ByNamespace) {
    for svc in services.around(m.namespace.as_deref()) {
        let selects = !svc.selector.is_empty()
            && svc
                .selector
                .iter()
                .all(|(k, v)| m.pod_labels.get(k) == Some(v));
        if !selects {
            continue;
        }
        for sp in &svc.ports {
            let number = match &sp.target {
                None => Some(sp.port),
                Some(t) => t.parse::<u16>().ok(),
            };
            if let Some(number) = number
                && !m
                    .ports
                    .iter()
                    .any(|p| p.number == number && p.protocol == sp.protocol)
            {
                m.ports.push(Port {
                    name: None,
                    number,
                    protocol: sp.protocol.clone(),
                });
            }
        }
    }
}

/// Services by namespace, in stream order within each.
struct ByNamespace<'s> {
    all: &'s [Service],
    named: HashMap<&'s str, Vec<usize>>,
    unnamed: Vec<usize>,
}

impl<'s> ByNamespace<'s> {
    fn new(all: &'s [Service]) -> Self {
        let mut named: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut unnamed = Vec::new();
        for (i, svc) in all.iter().enumerate() {
            match &svc.namespace {
                Some(ns) => named.entry(ns).or_default().push(i),
                None => unnamed.push(i),
            }
        }
        ByNamespace {
            all,
            named,
            unnamed,
        }
    }

    /// The Services that may be in `namespace`: those in it and those naming none, in
    /// stream order; every Service when `namespace` is unknown.
    fn around(&self, namespace: Option<&str>) -> Vec<&'s Service> {
        let Some(ns) = namespace else {
            return self.all.iter().collect();
        };
        let mut at: Vec<usize> = self.named.get(ns).cloned().unwrap_or_default();
        at.extend(&self.unnamed);
        at.sort_unstable();
        at.into_iter().map(|i| &self.all[i]).collect()
    }
}

/// `namespace/name`, or just `name` for an object that names no namespace.
pub fn qualified(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

/// A label map shared by a member and every policy that selects its pods (a clone is a
/// reference count); serializes as the map.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Labels(Arc<BTreeMap<String, String>>);

impl std::ops::Deref for Labels {
    type Target = BTreeMap<String, String>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl From<BTreeMap<String, String>> for Labels {
    fn from(map: BTreeMap<String, String>) -> Self {
        Labels(Arc::new(map))
    }
}

impl Serialize for Labels {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// A Service document (or List item) and what it fronts.
#[derive(Debug, Clone)]
pub struct Service {
    /// Index into the objects the stack was built from.
    pub object: usize,
    pub name: String,
    pub namespace: Option<String>,
    pub ports: Vec<ServicePort>,
    pub headless: bool,
    /// The kube-apiserver calls it: a webhook's or an aggregated API's.
    pub api_server: bool,
    /// `spec.publishNotReadyAddresses: true`.
    pub publish_not_ready: bool,
    /// The cluster's DNS domain (`cluster.local`).
    pub cluster_domain: String,
    /// The component of the members the selector matches, if any.
    pub component: Option<String>,
    /// `spec.selector`: the labels of the pods it fronts (none: no pods of the stream).
    pub selector: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

impl Service {
    /// True when `multiCluster.exportServices` exports it: it names the Service, or names
    /// its component and the Service serves the component's API. By component, headless
    /// Services (peer discovery) and those of gossip or cache ports (memberlist,
    /// memcached) stay in their cluster.
    pub fn exported(&self, mc: &crate::config::MultiCluster) -> bool {
        if !mc.enabled {
            return false;
        }
        let named = |s: &String| *s == self.name;
        let by_component = |s: &String| Some(s.as_str()) == self.component.as_deref();
        mc.export_services.iter().any(named)
            || (mc.export_services.iter().any(by_component)
                && !self.headless
                && self.ports.iter().any(|p| p.protocol != "UDP")
                && !self
                    .ports
                    .iter()
                    .any(|p| p.numbers().into_iter().any(super::ports::is_opaque)))
    }

    pub fn host(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}.{ns}.svc.{}", self.name, self.cluster_domain),
            // Short names resolve in the namespace of whoever names them: here the release
            // namespace that both the Service and the resource naming it land in.
            None => self.name.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServicePort {
    /// The index in `spec.ports`.
    pub index: usize,
    pub name: Option<String>,
    pub port: u16,
    /// `targetPort`: a number or a container port name.
    pub target: Option<String>,
    pub protocol: String,
    pub app_protocol: Option<String>,
}

impl ServicePort {
    /// The port's number and, when numeric, its target's.
    pub fn numbers(&self) -> Vec<u16> {
        let mut n = vec![self.port];
        n.extend(self.target.as_deref().and_then(|t| t.parse::<u16>().ok()));
        n
    }
}

/// The inventory.
#[derive(Debug, Default)]
pub struct Stack {
    pub members: Vec<Member>,
    pub services: Vec<Service>,
    /// Namespaces that hold members, sorted.
    pub namespaces: BTreeSet<Option<String>>,
    /// Mesh policies already in the stream: (kind, namespace, name) → the index of the
    /// first object of that identity.
    pub existing: BTreeMap<(String, Option<String>, String), usize>,
    /// Component → indexes of its members, and (component, namespace) → the same.
    by_component: BTreeMap<String, Vec<usize>>,
    by_place: BTreeMap<(String, Option<String>), Vec<usize>>,
    /// (kind, namespace, name) → index of the first member with that identity.
    by_identity: HashMap<(String, Option<String>, String), usize>,
    /// The release the generated resources belong to ([`Release::scoped`] names).
    pub release: Release,
}

/// The label every generated resource carries. Helm overwrites it with `Helm` when it
/// installs a release, so it does not tell gunj-mesh's resources apart ([`OWN_KEY`] does).
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "gunj-mesh");

/// The annotation every generated resource carries, naming the component it serves: what
/// tells gunj-mesh's own resources apart, in a stream or captured from a cluster.
pub const OWN_KEY: &str = "mesh.gunj.io/component";

/// Whether `node` (an object) is a resource gunj-mesh generated: it carries [`OWN_KEY`].
pub fn is_ours(node: &Node) -> bool {
    node.at(&["metadata", "annotations", OWN_KEY]).is_some()
}

impl Stack {
    /// Builds the inventory. `members` are the in-mesh workloads decided by the filter;
    /// `default_ns` is the namespace of objects that name none, if known; Service hosts
    /// end in `cluster_domain`.
    pub fn build(
        objects: &[Object],
        members: Vec<Member>,
        default_ns: Option<&str>,
        cluster_domain: &str,
        release: Release,
    ) -> Stack {
        let mut by_namespace: BTreeMap<Option<&str>, Vec<&Member>> = BTreeMap::new();
        for m in &members {
            by_namespace
                .entry(m.namespace.as_deref())
                .or_default()
                .push(m);
        }
        let mut services = Vec::new();
        let mut existing = BTreeMap::new();
        for (i, o) in objects.iter().enumerate() {
            let meta = |key: &str| {
                o.node
                    .at(&["metadata", key])
                    .and_then(Node::scalar)
                    .map(str::to_string)
            };
            let namespace = meta("namespace").or_else(|| default_ns.map(str::to_string));
            let name = meta("name").unwrap_or_default();
            if o.kind == "Service" {
                let mut service = Stack::service(&by_namespace, i, o.node, name, namespace);
                service.cluster_domain = cluster_domain.to_string();
                services.push(service);
            } else if GENERATED_KINDS.contains(&o.kind.as_str()) || o.kind == "ConfigMap" {
                existing
                    .entry((o.kind.clone(), namespace, name))
                    .or_insert(i);
            }
        }
        for o in objects {
            for (_, service) in o.api_server_services() {
                let get = |k: &str| service.get(k).and_then(Node::scalar);
                let (Some(name), namespace) = (get("name"), get("namespace")) else {
                    continue;
                };
                let namespace = namespace.or(default_ns);
                for svc in services.iter_mut().filter(|s| {
                    s.name == name
                        && (namespace.is_none()
                            || s.namespace.is_none()
                            || s.namespace.as_deref() == namespace)
                }) {
                    svc.api_server = true;
                }
            }
        }
        let mut members = members;
        let by_ns = ByNamespace::new(&services);
        for m in &mut members {
            serve_service_ports(m, &by_ns);
        }
        // A HorizontalPodAutoscaler keeps `minReplicas` (default 1) of its target running,
        // whatever the target's own `replicas` (charts leave them out when it scales).
        for o in objects
            .iter()
            .filter(|o| o.kind == "HorizontalPodAutoscaler")
        {
            let get = |path: &[&str]| o.node.at(path).and_then(Node::scalar);
            let min = get(&["spec", "minReplicas"]).and_then(|r| r.parse::<u32>().ok());
            let (Some(kind), Some(name)) = (
                get(&["spec", "scaleTargetRef", "kind"]),
                get(&["spec", "scaleTargetRef", "name"]),
            ) else {
                continue;
            };
            let namespace = get(&["metadata", "namespace"]).or(default_ns);
            for m in members
                .iter_mut()
                .filter(|m| m.kind == kind && m.name == name && m.namespace.as_deref() == namespace)
            {
                m.single = min.unwrap_or(1) <= 1;
            }
        }
        let mut kinds: std::collections::HashMap<(&Option<String>, &str), BTreeSet<&str>> =
            std::collections::HashMap::new();
        for m in &members {
            kinds
                .entry((&m.namespace, &m.name))
                .or_default()
                .insert(&m.kind);
        }
        let clashes: Vec<usize> = (0..members.len())
            .filter(|&i| kinds[&(&members[i].namespace, members[i].name.as_str())].len() > 1)
            .collect();
        for i in clashes {
            let m = &mut members[i];
            m.slug = format!("{}-{}", m.kind.to_lowercase(), m.name);
        }
        let mut by_component: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut by_place: BTreeMap<(String, Option<String>), Vec<usize>> = BTreeMap::new();
        let mut by_identity = HashMap::new();
        for (i, m) in members.iter().enumerate() {
            by_identity
                .entry((m.kind.clone(), m.namespace.clone(), m.name.clone()))
                .or_insert(i);
            by_component.entry(m.component.clone()).or_default().push(i);
            by_place
                .entry((m.component.clone(), m.namespace.clone()))
                .or_default()
                .push(i);
        }
        Stack {
            namespaces: members.iter().map(|m| m.namespace.clone()).collect(),
            services,
            existing,
            members,
            by_component,
            by_place,
            by_identity,
            release,
        }
    }

    /// The index of the member that is workload `kind` `namespace/name`.
    pub fn position(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<usize> {
        let key = (
            kind.to_string(),
            namespace.map(str::to_string),
            name.to_string(),
        );
        self.by_identity.get(&key).copied()
    }

    fn service(
        by_namespace: &BTreeMap<Option<&str>, Vec<&Member>>,
        object: usize,
        node: &Node,
        name: String,
        namespace: Option<String>,
    ) -> Service {
        let map = |path: &[&str]| -> BTreeMap<String, String> {
            node.at(path)
                .map(Node::string_map)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(k, v)| Some((k.to_string(), v?.to_string())))
                .collect()
        };
        let selector = map(&["spec", "selector"]);
        let component = (!selector.is_empty())
            .then(|| {
                by_namespace
                    .get(&namespace.as_deref())?
                    .iter()
                    .find(|m| selector.iter().all(|(k, v)| m.pod_labels.get(k) == Some(v)))
            })
            .flatten()
            .map(|m| m.component.clone());
        let ports = node
            .at(&["spec", "ports"])
            .and_then(Node::items)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter_map(|(index, p)| {
                let get = |k: &str| p.get(k).and_then(Node::scalar).map(str::to_string);
                Some(ServicePort {
                    index,
                    name: get("name"),
                    port: get("port")?.parse().ok()?,
                    target: get("targetPort"),
                    protocol: get("protocol").unwrap_or_else(|| "TCP".into()),
                    app_protocol: get("appProtocol"),
                })
            })
            .collect();
        Service {
            object,
            name,
            namespace,
            ports,
            headless: node.at(&["spec", "clusterIP"]).and_then(Node::scalar) == Some("None"),
            api_server: false,
            publish_not_ready: node
                .at(&["spec", "publishNotReadyAddresses"])
                .and_then(Node::bool_11)
                == Some(true),
            cluster_domain: String::new(),
            component,
            selector,
            labels: map(&["metadata", "labels"]),
            annotations: map(&["metadata", "annotations"]),
        }
    }

    /// The members of a component, in stream order.
    pub fn of<'a>(&'a self, component: &str) -> impl Iterator<Item = &'a Member> + 'a {
        self.by_component
            .get(component)
            .into_iter()
            .flatten()
            .map(|&i| &self.members[i])
    }

    /// The pods of a component that call into namespace `ns`: those in `ns` when it has
    /// some (one stack per namespace), else those of every namespace (one stack across
    /// namespaces). Hook and test pods are not callers. Pods that name no namespace may be
    /// in any, and so may the callers of a namespace that is not named.
    pub fn callers(&self, component: &str, ns: Option<&str>) -> Vec<&Member> {
        let at = |ns: Option<&str>| {
            self.by_place
                .get(&(component.to_string(), ns.map(str::to_string)))
                .into_iter()
                .flatten()
                .map(|&i| &self.members[i])
                .filter(|m| !m.hook)
        };
        let local: Vec<&Member> = match ns {
            Some(_) => at(ns).chain(at(None)).collect(),
            None => self.of(component).filter(|m| !m.hook).collect(),
        };
        if local.is_empty() {
            self.of(component).filter(|m| !m.hook).collect()
        } else {
            local
        }
    }

    /// The members that serve traffic, which policies protect.
    pub fn servers(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(|m| m.serves)
    }

    /// The Services in front of a component's pods.
    pub fn services_of<'a>(&'a self, component: &'a str) -> impl Iterator<Item = &'a Service> {
        self.services
            .iter()
            .filter(move |s| s.component.as_deref() == Some(component))
    }

    /// True when the pods a Service selects are those of one workload of at most one
    /// replica: ejecting that pod leaves the Service without endpoints.
    pub fn single_pod(&self, service: &Service) -> bool {
        let mut selected = self.members.iter().filter(|m| {
            m.serves
                && !service.selector.is_empty()
                && (m.namespace == service.namespace
                    || m.namespace.is_none()
                    || service.namespace.is_none())
                && service
                    .selector
                    .iter()
                    .all(|(k, v)| m.pod_labels.get(k) == Some(v))
        });
        matches!((selected.next(), selected.next()), (Some(m), None) if m.single)
    }

    /// The components in the mesh, sorted.
    pub fn components(&self) -> BTreeSet<&str> {
        self.members.iter().map(|m| m.component.as_str()).collect()
    }
}
