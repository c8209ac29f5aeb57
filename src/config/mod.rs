//! The `ServiceMesh` config (`mesh.gunj.io/v1alpha1`): its types, which also generate the
//! JSON Schema (`gunj-mesh schema`) and the README's reference ([`reference`]), how it is
//! read, and what is checked beyond the types ([`validate`]).

mod policy;
mod reference;
mod telemetry;
pub(crate) mod validate;

pub use policy::*;
pub use reference::reference;
pub use telemetry::*;
pub use validate::{ConfigError, millis};

use crate::error::redact;
use crate::yaml::{Limits, Node};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const API_VERSION: &str = "mesh.gunj.io/v1alpha1";
pub const KIND: &str = "ServiceMesh";

/// A ServiceMesh config document.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceMesh {
    /// Must be `mesh.gunj.io/v1alpha1`.
    pub api_version: String,
    /// Must be `ServiceMesh`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub spec: Spec,
}

/// Only `name` is used (in reports); the rest is accepted so configs can live in packages.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// What to do to the stream.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Spec {
    /// `false` passes the stream through unchanged.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Which mesh. `auto` decides from Istio or Linkerd resources and injection settings
    /// already in the stream, and takes the default, `istio`, when it finds neither.
    #[serde(default, rename = "type")]
    pub mesh: MeshType,
    /// What happens to Helm hook and test resources (Helm 4 sends them to post-renderers).
    #[serde(default)]
    pub hooks: Hooks,
    /// Istio settings (used when the mesh is Istio).
    #[serde(default)]
    pub istio: Istio,
    /// Linkerd settings (used when the mesh is Linkerd).
    #[serde(default)]
    pub linkerd: Linkerd,
    /// Act only on objects in these namespaces (all when empty). Objects without a namespace
    /// count as being in the release namespace given by `--namespace`, if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub components: Components,
    /// How workloads are injected.
    #[serde(default)]
    pub injection: Injection,
    /// Mutual TLS (Istio PeerAuthentication and DestinationRule TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtls: Option<Mtls>,
    /// Retries, timeouts, circuit breaking, load balancing, canaries, A/B tests and fault
    /// injection for every component; `components.overrides` changes them per component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_management: Option<Traffic>,
    /// Which components may call which (Istio AuthorizationPolicy, Linkerd Server and
    /// AuthorizationPolicy, optional NetworkPolicy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    /// Mesh metrics, traces, access logs and dashboards for the stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<Observability>,
    /// Spanning clusters (Linkerd service mirroring, Istio networks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_cluster: Option<MultiCluster>,
    /// The mesh's trust domain (Istio's `meshConfig.trustDomain`): authorization principals
    /// are `<trustDomain>/ns/<namespace>/sa/<serviceaccount>`.
    #[serde(default = "cluster_local")]
    pub trust_domain: String,
    /// The cluster's DNS domain (the kubelet's `clusterDomain`): Service hosts are
    /// `<service>.<namespace>.svc.<clusterDomain>`.
    #[serde(default = "cluster_local")]
    pub cluster_domain: String,
}

fn cluster_local() -> String {
    "cluster.local".into()
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            enabled: true,
            mesh: MeshType::default(),
            hooks: Hooks::default(),
            istio: Istio::default(),
            linkerd: Linkerd::default(),
            namespaces: Vec::new(),
            components: Components::default(),
            injection: Injection::default(),
            mtls: None,
            traffic_management: None,
            authorization: None,
            observability: None,
            multi_cluster: None,
            trust_domain: cluster_local(),
            cluster_domain: cluster_local(),
        }
    }
}

fn yes() -> bool {
    true
}

/// The mesh a config asks for. The default, `istio`, is the one default everywhere: with
/// no config, a config without `type`, a KRM functionConfig without it, and what `auto`
/// takes when the stream shows neither mesh.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MeshType {
    #[default]
    Istio,
    Linkerd,
    Auto,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Hooks {
    /// Leave hook and test resources out of the mesh: a hook Job or test Pod with a sidecar
    /// that never exits blocks the release.
    #[default]
    Skip,
    /// Treat hooks like other resources (Jobs still get native sidecars).
    Inject,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Istio {
    /// The control-plane revision (`istio.io/rev`); empty for the default revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// `sidecar` (an Envoy per pod) or `ambient` (ztunnel, no sidecars).
    #[serde(default)]
    pub mode: IstioMode,
    /// The Istio release the control plane runs (`1.28`, `1.21.6`): it picks the API
    /// versions written (`v1` from 1.22, `v1beta1` and Telemetry `v1alpha1` before). Left
    /// out: the current release, 1.28.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl Istio {
    /// The release the config names, else [`ISTIO_RELEASE`].
    pub fn release(&self) -> Release {
        Release::or(self.version.as_deref(), ISTIO_RELEASE)
    }
}

/// The current Istio release, assumed when `spec.istio.version` is left out.
pub const ISTIO_RELEASE: Release = Release(1, 28);
/// The current Linkerd release, assumed when `spec.linkerd.version` is left out.
pub const LINKERD_RELEASE: Release = Release(2, 19);

/// A mesh release, `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Release(pub u32, pub u32);

impl Release {
    /// The release `version` names, else `default` (validation rejects what does not parse).
    pub fn or(version: Option<&str>, default: Release) -> Release {
        version.and_then(Release::parse).unwrap_or(default)
    }

    /// `1.28`, `v1.21.6`, `2.19.0` → major and minor; `None` for anything else.
    pub fn parse(text: &str) -> Option<Release> {
        let mut parts = text.strip_prefix('v').unwrap_or(text).split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        match parts.next() {
            None => {}
            Some(patch) if patch.parse::<u32>().is_ok() && parts.next().is_none() => {}
            Some(_) => return None,
        }
        Some(Release(major, minor))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IstioMode {
    #[default]
    Sidecar,
    Ambient,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Linkerd {
    /// Proxy settings, written as `config.linkerd.io/*` pod annotations.
    #[serde(default)]
    pub proxy: LinkerdProxy,
    /// Express retries and timeouts as ServiceProfiles (Linkerd before 2.16) instead of the
    /// `retry.linkerd.io`/`timeout.linkerd.io` Service annotations.
    #[serde(default)]
    pub service_profiles: bool,
    /// The Linkerd stable release the control plane runs (`2.19`, `2.18.2`): from 2.19 the
    /// native-sidecar annotation is `config.beta.linkerd.io/proxy-enable-native-sidecar`
    /// (the alpha one before), and before 2.16 retries and timeouts are written as
    /// ServiceProfiles. Left out: the current release, 2.19.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl Linkerd {
    /// The release the config names, else [`LINKERD_RELEASE`].
    pub fn release(&self) -> Release {
        Release::or(self.version.as_deref(), LINKERD_RELEASE)
    }

    /// Retries and timeouts as ServiceProfiles: asked for, or Linkerd before 2.16, which
    /// reads no `retry.linkerd.io`/`timeout.linkerd.io` annotations.
    pub fn uses_service_profiles(&self) -> bool {
        self.service_profiles || self.release() < Release(2, 16)
    }
}

/// Linkerd proxy overrides; each field becomes one pod-template annotation
/// (<https://linkerd.io/2-edge/reference/proxy-configuration/>).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LinkerdProxy {
    /// `config.linkerd.io/proxy-cpu-request`, e.g. `10m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_request: Option<String>,
    /// `config.linkerd.io/proxy-cpu-limit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_limit: Option<String>,
    /// `config.linkerd.io/proxy-memory-request`, e.g. `32Mi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_request: Option<String>,
    /// `config.linkerd.io/proxy-memory-limit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<String>,
    /// `config.linkerd.io/proxy-log-level`, e.g. `warn,linkerd=info`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
    /// `config.linkerd.io/proxy-log-format`: `plain` or `json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
    /// `config.linkerd.io/proxy-image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// `config.linkerd.io/proxy-version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `config.linkerd.io/proxy-await`: `enabled` or `disabled` (hold the app container
    /// until the proxy is ready).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub await_ready: Option<String>,
    /// `config.linkerd.io/skip-inbound-ports`: comma-separated ports or ranges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_inbound_ports: Option<String>,
    /// `config.linkerd.io/skip-outbound-ports`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_outbound_ports: Option<String>,
    /// `config.linkerd.io/opaque-ports`: ports whose protocol is not detected (gossip,
    /// server-first protocols), e.g. `7946,9094`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opaque_ports: Option<String>,
    /// `config.linkerd.io/shutdown-grace-period`, e.g. `30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown_grace_period: Option<String>,
}

impl LinkerdProxy {
    /// The annotations these settings stand for, in a fixed order.
    pub fn annotations(&self) -> Vec<(&'static str, &str)> {
        [
            ("config.linkerd.io/proxy-cpu-request", &self.cpu_request),
            ("config.linkerd.io/proxy-cpu-limit", &self.cpu_limit),
            (
                "config.linkerd.io/proxy-memory-request",
                &self.memory_request,
            ),
            ("config.linkerd.io/proxy-memory-limit", &self.memory_limit),
            ("config.linkerd.io/proxy-log-level", &self.log_level),
            ("config.linkerd.io/proxy-log-format", &self.log_format),
            ("config.linkerd.io/proxy-image", &self.image),
            ("config.linkerd.io/proxy-version", &self.version),
            ("config.linkerd.io/proxy-await", &self.await_ready),
            (
                "config.linkerd.io/skip-inbound-ports",
                &self.skip_inbound_ports,
            ),
            (
                "config.linkerd.io/skip-outbound-ports",
                &self.skip_outbound_ports,
            ),
            ("config.linkerd.io/opaque-ports", &self.opaque_ports),
            (
                "config.linkerd.io/shutdown-grace-period",
                &self.shutdown_grace_period,
            ),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.as_deref()?)))
        .collect()
    }
}

/// Which components to act on.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Components {
    /// Catalog names to act on (all known components when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Catalog names to leave alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Components the catalog does not know.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom: Vec<Custom>,
    /// Component name → traffic settings that replace the global `trafficManagement` ones.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, Traffic>,
}

/// A user-defined component: a workload matches when every matcher given matches.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Custom {
    /// The component name reports use (and `include`/`exclude` may name).
    pub name: String,
    /// Labels the workload (or its pod template) must carry.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// A regular expression one container image must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// A JSONPath filter that must select something in the object, such as
    /// `$.spec.template.spec.containers[?(@.name == 'vector')]`; at most one `..`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_path: Option<String>,
    /// `image`, compiled once (it is matched against every workload).
    #[serde(skip)]
    #[schemars(skip)]
    image_regex: std::sync::OnceLock<Option<regex::Regex>>,
}

impl Custom {
    /// The compiled `image` pattern (validated when the config was read).
    pub fn image_regex(&self) -> Option<&regex::Regex> {
        self.image_regex
            .get_or_init(|| {
                self.image
                    .as_deref()
                    .and_then(|re| regex::Regex::new(re).ok())
            })
            .as_ref()
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Injection {
    /// Leave workloads that opt out (`sidecar.istio.io/inject: "false"`,
    /// `linkerd.io/inject: disabled`) alone.
    #[serde(default = "yes")]
    pub respect_opt_out: bool,
    /// Run the proxy of Jobs, CronJobs and non-restarting Pods as a native sidecar, so that
    /// they can complete.
    #[serde(default = "yes")]
    pub native_sidecars: bool,
}

impl Default for Injection {
    fn default() -> Self {
        Injection {
            respect_opt_out: true,
            native_sidecars: true,
        }
    }
}

impl ServiceMesh {
    /// `metadata.name`, if set.
    pub fn name(&self) -> Option<&str> {
        self.metadata.as_ref()?.name.as_deref()
    }

    /// The config used when none is given: every default (Istio, sidecar mode, every
    /// known component).
    pub fn embedded_default() -> ServiceMesh {
        ServiceMesh {
            api_version: API_VERSION.into(),
            kind: KIND.into(),
            metadata: None,
            spec: Spec::default(),
        }
    }

    /// Reads a config document (YAML or JSON); `known` are the catalog's component names.
    /// The filter's own parser reads it first, within the default limits: it must be one
    /// `ServiceMesh` document. Another file passed by mistake (a Secret, a Helm values
    /// file) is named by its apiVersion and kind, and what a YAML error in it quotes from
    /// under a Secret is masked ([`redact::message`]).
    pub fn from_yaml(text: &str, known: &[&str]) -> Result<ServiceMesh, ConfigError> {
        let node = match crate::yaml::parse(text, Limits::default()) {
            Ok(Some(node)) => node,
            Ok(None) => {
                return Err(ConfigError::other(
                    "the config is empty; give one ServiceMesh document",
                ));
            }
            Err(e) => {
                let message = if e.message.starts_with("more than one YAML document") {
                    "the file holds more than one YAML document; give one ServiceMesh document"
                        .to_string()
                } else if redact::sensitive(text, None) {
                    format!("invalid YAML: {}", redact::message(&e.message))
                } else {
                    format!("invalid YAML: {}", e.message)
                };
                return Err(ConfigError::other(message).placed(e.line, e.col));
            }
        };
        let found = |key: &str| node.get(key).and_then(Node::scalar);
        if found("apiVersion") != Some(API_VERSION) || found("kind") != Some(KIND) {
            let shown = |key: &str| found(key).map_or(format!("no {key}"), |v| format!("`{v}`"));
            return Err(ConfigError::at(
                "apiVersion/kind",
                format!(
                    "expected `{API_VERSION}` `{KIND}`, found {} {}: is it the right file?",
                    shown("apiVersion"),
                    shown("kind")
                ),
            ));
        }
        let config: ServiceMesh = crate::yaml::from_str_placed(text).map_err(|e| {
            let Some((line, column)) = e.place else {
                return ConfigError::other(e.message);
            };
            let at = crate::yaml::pos::offset(text, line, column);
            let error = match at.and_then(|at| field_at(&node, at, String::new())) {
                Some(field) => ConfigError::at(field, e.message),
                None => ConfigError::other(e.message),
            };
            error.placed(line, column)
        })?;
        config.validate(known)?;
        Ok(config)
    }

    /// Builds a config from a KRM `ConfigMap` functionConfig: each data key is a top-level
    /// spec field, or a dotted path to one (`istio.mode`), and each value is YAML. Keys not
    /// given keep the defaults (so `kpt fn eval --exec gunj-mesh` with no arguments behaves
    /// like no config at all).
    pub fn from_config_map(
        data: &serde_json::Map<String, serde_json::Value>,
        known: &[&str],
    ) -> Result<ServiceMesh, ConfigError> {
        let mut spec = serde_json::Map::new();
        for (key, value) in data {
            let value = match value {
                serde_json::Value::String(s) => crate::yaml::from_str::<serde_json::Value>(s)
                    .unwrap_or_else(|_| serde_json::Value::String(s.clone())),
                other => other.clone(),
            };
            let mut path = key.split('.').peekable();
            let mut node = &mut spec;
            while let Some(part) = path.next() {
                if path.peek().is_none() {
                    node.insert(part.to_string(), value.clone());
                    break;
                }
                node = node
                    .entry(part.to_string())
                    .or_insert_with(|| serde_json::Value::Object(Default::default()))
                    .as_object_mut()
                    .ok_or_else(|| {
                        ConfigError::at(
                            format!("functionConfig data key `{key}`"),
                            format!("`{part}` is not a mapping"),
                        )
                    })?;
            }
        }
        let doc = serde_json::json!({"apiVersion": API_VERSION, "kind": KIND, "spec": spec});
        let config: ServiceMesh = serde_json::from_value(doc)
            .map_err(|e| ConfigError::at("functionConfig", e.to_string()))?;
        config.validate(known)?;
        Ok(config)
    }
}

/// The path (`spec.mtls.mode`) of the value at byte `at` under `node`, whose own path is
/// `path`; `None` at the top level or on a key.
fn field_at(node: &Node, at: usize, path: String) -> Option<String> {
    let inside = |n: &Node| n.start <= at && (at < n.end || n.start == n.end);
    if let Some(entries) = node.entries() {
        for (key, value) in entries {
            let name = key.scalar()?;
            let path = if path.is_empty() {
                name.to_string()
            } else {
                format!("{path}.{name}")
            };
            if inside(value) {
                return field_at(value, at, path.clone()).or(Some(path));
            }
        }
    } else if let Some(items) = node.items() {
        for (i, item) in items.iter().enumerate() {
            if inside(item) {
                let path = format!("{path}[{i}]");
                return field_at(item, at, path.clone()).or(Some(path));
            }
        }
    }
    None
}

/// True for a `ServiceMesh` document of `mesh.gunj.io`.
pub fn is_service_mesh(node: &Node) -> bool {
    node.get("kind").and_then(Node::str) == Some(KIND)
        && node
            .get("apiVersion")
            .and_then(Node::str)
            .is_some_and(|v| v.starts_with("mesh.gunj.io/"))
}

/// The JSON Schema of the config.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ServiceMesh)).expect("a schema is JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Component names, as the catalog would give them.
    const KNOWN: &[&str] = &["grafana", "loki", "prometheus"];

    fn config(spec: &str) -> Result<ServiceMesh, String> {
        ServiceMesh::from_yaml(
            &format!("apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n{spec}"),
            KNOWN,
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_apply() {
        let c = config("  type: linkerd\n").unwrap();
        assert!(
            c.spec.enabled && c.spec.injection.respect_opt_out && c.spec.injection.native_sidecars
        );
        assert_eq!(c.spec.hooks, Hooks::Skip);
    }

    #[test]
    fn unknown_fields_and_bad_enums_name_the_field() {
        let e = config("  typo: 1\n").unwrap_err();
        assert!(e.contains("typo"), "{e}");
        let e = config("  type: consul\n").unwrap_err();
        assert!(e.contains("consul") && e.contains("istio"), "{e}");
        let e = config("  istio:\n    mode: sidecars\n").unwrap_err();
        assert!(e.contains("sidecars") && e.contains("ambient"), "{e}");
    }

    #[test]
    fn unknown_component_lists_the_catalog() {
        let e = config("  components:\n    include: [grafna]\n").unwrap_err();
        assert!(
            e.contains("spec.components.include") && e.contains("grafana"),
            "{e}"
        );
    }

    #[test]
    fn config_map_keys_become_spec_fields() {
        let data = serde_json::json!({"type": "linkerd", "istio.mode": "ambient", "namespaces": "[monitoring]"});
        let c = ServiceMesh::from_config_map(data.as_object().unwrap(), KNOWN).unwrap();
        assert_eq!(c.spec.mesh, MeshType::Linkerd);
        assert_eq!(c.spec.istio.mode, IstioMode::Ambient);
        assert_eq!(c.spec.namespaces, ["monitoring"]);
    }
}
