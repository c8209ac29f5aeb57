//! The `ServiceMesh` config (`mesh.gunj.io/v1alpha1`): its types, which also generate the
//! JSON Schema (`gunj-mesh schema`) and the README's reference, and where it comes from.

mod policy;
mod telemetry;

pub use policy::*;
pub use telemetry::*;

use crate::catalog;
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
    /// already in the stream.
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
    /// Retries, timeouts, circuit breaking, load balancing, canaries and fault injection for
    /// every component; `components.overrides` changes them per component.
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
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum MeshType {
    Istio,
    Linkerd,
    #[default]
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
    /// `$.spec.template.spec.containers[?(@.name == 'vector')]`.
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
    /// The config used when none is given: Istio, sidecar mode, every known component.
    pub fn embedded_default() -> ServiceMesh {
        ServiceMesh {
            api_version: API_VERSION.into(),
            kind: KIND.into(),
            metadata: None,
            spec: Spec {
                mesh: MeshType::Istio,
                ..Spec::default()
            },
        }
    }

    /// Reads a config document (YAML or JSON).
    pub fn from_yaml(text: &str) -> Result<ServiceMesh, String> {
        let config: ServiceMesh = crate::yaml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Builds a config from a KRM `ConfigMap` functionConfig: each data key is a top-level
    /// spec field, or a dotted path to one (`istio.mode`), and each value is YAML. Keys not
    /// given keep the embedded default's values (so `type` is `istio` unless set, and
    /// `kpt fn eval --exec gunj-mesh` with no arguments behaves like no config at all).
    pub fn from_config_map(
        data: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<ServiceMesh, String> {
        let mut spec = serde_json::Map::new();
        spec.insert("type".into(), serde_json::json!(MeshType::Istio));
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
                        format!("functionConfig data key `{key}`: `{part}` is not a mapping")
                    })?;
            }
        }
        let doc = serde_json::json!({"apiVersion": API_VERSION, "kind": KIND, "spec": spec});
        let config: ServiceMesh =
            serde_json::from_value(doc).map_err(|e| format!("functionConfig: {e}"))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what the types cannot: names, regexes, JSONPath filters.
    pub fn validate(&self) -> Result<(), String> {
        if self.api_version != API_VERSION || self.kind != KIND {
            return Err(format!(
                "apiVersion/kind: expected `{API_VERSION}` `{KIND}`, found `{}` `{}`",
                self.api_version, self.kind
            ));
        }
        let spec = &self.spec;
        let known = catalog::names();
        let is_component = |name: &str| {
            known.contains(&name) || spec.components.custom.iter().any(|c| c.name == name)
        };
        let overrides: Vec<&String> = spec.components.overrides.keys().collect();
        for (field, names) in [
            (
                "spec.components.include",
                spec.components.include.iter().collect(),
            ),
            (
                "spec.components.exclude",
                spec.components.exclude.iter().collect(),
            ),
            ("spec.components.overrides", overrides),
        ] {
            for name in names {
                if !is_component(name) {
                    return Err(format!(
                        "{field}: unknown component `{name}`; known components: {}",
                        known.join(", ")
                    ));
                }
            }
        }
        for (i, custom) in spec.components.custom.iter().enumerate() {
            let field = format!("spec.components.custom[{i}]");
            if custom.name.is_empty() {
                return Err(format!("{field}.name: must not be empty"));
            }
            if custom.match_labels.is_empty()
                && custom.image.is_none()
                && custom.json_path.is_none()
            {
                return Err(format!(
                    "{field}: give at least one of matchLabels, image, jsonPath"
                ));
            }
            if let Some(re) = &custom.image {
                regex::Regex::new(re)
                    .map_err(|e| format!("{field}.image: not a valid regular expression: {e}"))?;
            }
            if let Some(path) = &custom.json_path {
                jsonpath_rust::parser::parse_json_path(path)
                    .map_err(|e| format!("{field}.jsonPath: not a valid JSONPath: {e}"))?;
            }
        }
        for ns in &spec.namespaces {
            if !is_dns_label(ns) {
                return Err(format!(
                    "spec.namespaces: `{ns}` is not a valid namespace name (RFC 1123 label)"
                ));
            }
        }
        if let Some(rev) = &spec.istio.revision
            && !is_label_value(rev)
        {
            return Err(format!(
                "spec.istio.revision: `{rev}` is not a valid label value"
            ));
        }
        if let Some(t) = &spec.traffic_management {
            t.validate("spec.trafficManagement")?;
        }
        for (name, t) in &spec.components.overrides {
            t.validate(&format!("spec.components.overrides.{name}"))?;
        }
        if let Some(m) = &spec.mtls
            && m.port_exceptions.contains(&0)
        {
            return Err("spec.mtls.portExceptions: 0 is not a port".into());
        }
        if let Some(a) = &spec.authorization {
            for (i, rule) in a.allow.iter().enumerate() {
                let field = format!("spec.authorization.allow[{i}]");
                policy::check_identity(&format!("{field}.from"), &rule.from, &is_component)?;
                if !is_component(&rule.to) {
                    return Err(format!(
                        "{field}.to: unknown component `{}`; known components: {}",
                        rule.to,
                        known.join(", ")
                    ));
                }
            }
            for (i, id) in a.ingress.iter().flatten().enumerate() {
                policy::check_identity(&format!("spec.authorization.ingress[{i}]"), id, &|_| {
                    false
                })?;
            }
        }
        if let Some(o) = &spec.observability {
            o.validate()?;
        }
        if let Some(v) = &spec.linkerd.proxy.await_ready
            && v != "enabled"
            && v != "disabled"
        {
            return Err(format!(
                "spec.linkerd.proxy.awaitReady: `{v}`; allowed values: enabled, disabled"
            ));
        }
        Ok(())
    }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_label_value(s: &str) -> bool {
    s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// The JSON Schema of the config.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ServiceMesh)).expect("a schema is JSON")
}

/// The config reference as a Markdown table, generated from the same types as [`schema`]
/// (the README embeds it; a test keeps the two equal).
pub fn reference() -> String {
    let schema = schema();
    let mut rows = vec![
        "| field | type | default | description |".to_string(),
        "|---|---|---|---|".to_string(),
    ];
    walk(&schema, &schema, "", &mut rows);
    rows.join("\n") + "\n"
}

fn walk(
    schema: &serde_json::Value,
    node: &serde_json::Value,
    prefix: &str,
    rows: &mut Vec<String>,
) {
    let resolve = |v: &serde_json::Value| -> serde_json::Value {
        match v.get("$ref").and_then(|r| r.as_str()) {
            Some(r) => schema["$defs"][r.trim_start_matches("#/$defs/")].clone(),
            None => v.clone(),
        }
    };
    let Some(props) = resolve(node)
        .get("properties")
        .and_then(|p| p.as_object())
        .cloned()
    else {
        return;
    };
    for (name, prop) in props {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let target = resolve(&prop);
        let ty = if let Some(values) = target.get("enum").and_then(|e| e.as_array()) {
            values
                .iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(" \\| ")
        } else if let Some(variants) = target.get("oneOf").and_then(|e| e.as_array()) {
            variants
                .iter()
                .filter_map(|v| {
                    v.get("const")
                        .or_else(|| v["enum"].get(0))
                        .and_then(|c| c.as_str())
                })
                .collect::<Vec<_>>()
                .join(" \\| ")
        } else if let Some(items) = target.get("items") {
            let item = resolve(items);
            let inner = item
                .get("type")
                .and_then(|t| t.as_str())
                .unwrap_or("object");
            format!("list of {inner}")
        } else {
            match &target["type"] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(a) => a
                    .iter()
                    .filter_map(|v| v.as_str())
                    .filter(|t| *t != "null")
                    .collect::<Vec<_>>()
                    .join(" \\| "),
                _ => "object".into(),
            }
        };
        let default = match prop.get("default") {
            Some(serde_json::Value::Object(_)) | None => String::new(),
            Some(d) => format!("`{d}`"),
        };
        let description = prop
            .get("description")
            .or_else(|| target.get("description"))
            .and_then(|d| d.as_str())
            .unwrap_or_default()
            .replace('\n', " ")
            .replace('|', "\\|");
        rows.push(format!("| `{path}` | {ty} | {default} | {description} |"));
        walk(schema, &prop, &path, rows);
        if let Some(items) = target.get("items") {
            walk(schema, items, &format!("{path}[]"), rows);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(spec: &str) -> Result<ServiceMesh, String> {
        ServiceMesh::from_yaml(&format!(
            "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n{spec}"
        ))
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
        let c = ServiceMesh::from_config_map(data.as_object().unwrap()).unwrap();
        assert_eq!(c.spec.mesh, MeshType::Linkerd);
        assert_eq!(c.spec.istio.mode, IstioMode::Ambient);
        assert_eq!(c.spec.namespaces, ["monitoring"]);
    }
}
