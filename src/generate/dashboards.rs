//! Grafana golden-signal dashboards per mesh: request rate, error rate and latency
//! percentiles for each observability component, built from a small typed model and shipped
//! in a ConfigMap that the Grafana dashboard sidecar picks up by label.
//!
//! Metric and label names follow the upstream references:
//! - Istio, <https://istio.io/latest/docs/reference/config/metrics/>:
//!   `istio_requests_total` and `istio_request_duration_milliseconds` (a histogram, so
//!   `_bucket` with `le`), labelled `reporter`, `destination_workload`,
//!   `destination_workload_namespace` and `response_code`. Only `reporter="destination"`
//!   is read, so each request is counted once, by the server's proxy.
//! - Linkerd, <https://linkerd.io/2-edge/reference/proxy-metrics/>: `request_total`,
//!   `response_total` (with `classification="success|failure"`) and `response_latency_ms`
//!   (a histogram), labelled `direction`; Prometheus adds `namespace` and one workload label
//!   per pod, named after its kind (`deployment`, `statefulset`, `daemonset`, from the
//!   `linkerd.io/proxy-<kind>` pod label). Only `direction="inbound"` is read: the traffic
//!   the component serves. A component's workload names carry no kind, so each Linkerd
//!   query is the union (`or`) of one selector per kind.
//!
//! The dashboard is Grafana's classic JSON model, schema 39 (uid at most 40 characters):
//! <https://grafana.com/docs/grafana/latest/visualizations/dashboards/build-dashboards/view-dashboard-json-model/>.
//!
//! Every query keeps its component's namespace exactly and also matches the dashboard's
//! `namespace` variable, so a viewer can narrow the dashboard to some namespaces.

use std::collections::BTreeMap;

use crate::model::mesh::Mesh;
use crate::model::stack::{MANAGED_BY, OWN_KEY};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_json::Value;

/// An observability component: its catalog name, namespace (empty: every namespace the
/// dashboard's variable selects) and workload names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub name: String,
    pub namespace: String,
    pub workloads: Vec<String>,
}

/// One dashboard per mesh covering the given components (catalog names such as "loki",
/// "grafana"; sorted, deduplicated by the caller) in the given namespaces.
///
/// The same input gives the same value, with every object's keys sorted.
pub fn dashboard(mesh: &Mesh, release: &str, components: &[Component]) -> Value {
    let mut value = serde_json::to_value(Dashboard::new(mesh, release, components))
        .expect("the dashboard model serializes");
    value.sort_all_objects();
    value
}

/// The ConfigMap carrying the dashboard, named `<release>-<mesh>-golden-signals`, with the
/// Grafana sidecar's `label` and the dashboard pretty-printed under `<name>.json`.
pub fn config_map(
    mesh: &Mesh,
    release: &str,
    namespace: Option<&str>,
    label: (&str, &str),
    components: &[Component],
) -> Value {
    let name = crate::generate::dns_name(&format!("{release}-{}-golden-signals", mesh.name()));
    let json = serde_json::to_string_pretty(&dashboard(mesh, release, components))
        .expect("a JSON value prints");
    let config_map = ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: namespace.map(str::to_string),
            labels: Some(BTreeMap::from([
                (label.0.to_string(), label.1.to_string()),
                (MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string()),
            ])),
            annotations: Some(BTreeMap::from([(
                OWN_KEY.to_string(),
                "grafana".to_string(),
            )])),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(format!("{name}.json"), json)])),
        ..ConfigMap::default()
    };
    serde_json::to_value(config_map).expect("a ConfigMap serializes")
}

/// The range of every `rate()`.
const WINDOW: &str = "5m";
/// The latency percentiles drawn, as quantiles.
const QUANTILES: [(&str, &str); 3] = [("p50", "0.5"), ("p90", "0.9"), ("p99", "0.99")];
/// Grafana's grid is 24 columns wide; each row holds three panels.
const GRID_WIDTH: u32 = 24;
const PANEL_HEIGHT: u32 = 8;
const PANELS_PER_ROW: u32 = 3;
/// The dashboard JSON schema this model writes (Grafana 10.3 and later).
const SCHEMA_VERSION: u32 = 39;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dashboard {
    editable: bool,
    panels: Vec<Panel>,
    refresh: &'static str,
    schema_version: u32,
    tags: Vec<&'static str>,
    templating: Templating,
    time: TimeRange,
    title: String,
    uid: String,
    version: u32,
}

#[derive(Serialize)]
#[serde(
    tag = "type",
    rename_all = "lowercase",
    rename_all_fields = "camelCase"
)]
enum Panel {
    Row {
        id: u32,
        title: String,
        grid_pos: GridPos,
        collapsed: bool,
        /// Empty: an expanded row's panels follow it in the dashboard's list.
        panels: Vec<Panel>,
    },
    Timeseries {
        id: u32,
        title: String,
        grid_pos: GridPos,
        datasource: Datasource,
        field_config: FieldConfig,
        options: PanelOptions,
        targets: Vec<Target>,
    },
}

#[derive(Serialize)]
struct GridPos {
    h: u32,
    w: u32,
    x: u32,
    y: u32,
}

#[derive(Serialize, Clone)]
struct Datasource {
    #[serde(rename = "type")]
    kind: &'static str,
    uid: &'static str,
}

/// The Prometheus data source the `datasource` variable picks.
const DATASOURCE: Datasource = Datasource {
    kind: "prometheus",
    uid: "${datasource}",
};

#[derive(Serialize)]
struct FieldConfig {
    defaults: FieldDefaults,
    overrides: Vec<Value>,
}

#[derive(Serialize)]
struct FieldDefaults {
    unit: &'static str,
    min: u32,
}

#[derive(Serialize)]
struct PanelOptions {
    legend: Legend,
    tooltip: Tooltip,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Legend {
    display_mode: &'static str,
    placement: &'static str,
    show_legend: bool,
}

#[derive(Serialize)]
struct Tooltip {
    mode: &'static str,
    sort: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Target {
    datasource: Datasource,
    expr: String,
    legend_format: String,
    ref_id: String,
}

#[derive(Serialize)]
struct Templating {
    list: Vec<Variable>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Variable {
    name: &'static str,
    label: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    query: String,
    include_all: bool,
    multi: bool,
    current: Choice,
    options: Vec<Choice>,
}

/// A variable's value as Grafana stores it, for `current` and each of `options`.
#[derive(Serialize)]
struct Choice {
    selected: bool,
    text: Value,
    value: Value,
}

#[derive(Serialize)]
struct TimeRange {
    from: &'static str,
    to: &'static str,
}

impl Dashboard {
    fn new(mesh: &Mesh, release: &str, components: &[Component]) -> Self {
        let mut namespaces: Vec<&str> = components
            .iter()
            .map(|c| c.namespace.as_str())
            .filter(|n| !n.is_empty())
            .collect();
        namespaces.sort_unstable();
        namespaces.dedup();
        let mut panels = Vec::new();
        let mut id = 0;
        let mut next_id = || {
            id += 1;
            id
        };
        for (row, component) in (0..).zip(components) {
            let y = row * (PANEL_HEIGHT + 1);
            panels.push(Panel::Row {
                id: next_id(),
                title: if component.namespace.is_empty() {
                    component.name.clone()
                } else {
                    format!("{} ({})", component.name, component.namespace)
                },
                grid_pos: GridPos {
                    h: 1,
                    w: GRID_WIDTH,
                    x: 0,
                    y,
                },
                collapsed: false,
                panels: Vec::new(),
            });
            let queries = Queries::new(mesh, component);
            let width = GRID_WIDTH / PANELS_PER_ROW;
            let signals = [
                ("Request rate", "reqps", queries.request_rate()),
                ("Error rate", "percentunit", queries.error_rate()),
                ("Latency", "ms", queries.latency()),
            ];
            for (column, (signal, unit, targets)) in (0..).zip(signals) {
                panels.push(Panel::Timeseries {
                    id: next_id(),
                    title: format!("{}: {signal}", component.name),
                    grid_pos: GridPos {
                        h: PANEL_HEIGHT,
                        w: width,
                        x: column * width,
                        y: y + 1,
                    },
                    datasource: DATASOURCE,
                    field_config: FieldConfig {
                        defaults: FieldDefaults { unit, min: 0 },
                        overrides: Vec::new(),
                    },
                    options: PanelOptions {
                        legend: Legend {
                            display_mode: "list",
                            placement: "bottom",
                            show_legend: true,
                        },
                        tooltip: Tooltip {
                            mode: "multi",
                            sort: "desc",
                        },
                    },
                    targets,
                });
            }
        }
        Dashboard {
            editable: true,
            panels,
            refresh: "30s",
            schema_version: SCHEMA_VERSION,
            tags: vec!["gunj-mesh", mesh.name(), "golden-signals"],
            templating: Templating {
                list: vec![datasource_variable(), namespace_variable(&namespaces)],
            },
            time: TimeRange {
                from: "now-1h",
                to: "now",
            },
            title: format!("{} golden signals: {release} (gunj-mesh)", mesh.title()),
            uid: uid(mesh, release, &namespaces),
            version: 1,
        }
    }
}

/// The uid: the mesh and a hash of the release and the namespaces, so it stays the same as
/// components are added to the same namespaces, and two releases or installations in
/// other namespaces do not collide in one Grafana. FNV-1a, because std's hashers may change
/// between Rust releases.
fn uid(mesh: &Mesh, release: &str, namespaces: &[&str]) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in format!("{release}/{}", namespaces.join(",")).bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("gunj-mesh-{}-{hash:08x}", mesh.name())
}

fn datasource_variable() -> Variable {
    Variable {
        name: "datasource",
        label: "Data source",
        kind: "datasource",
        query: "prometheus".to_string(),
        include_all: false,
        multi: false,
        current: Choice {
            selected: false,
            text: "default".into(),
            value: "default".into(),
        },
        options: Vec::new(),
    }
}

/// A custom variable over the components' namespaces, all selected by default.
fn namespace_variable(namespaces: &[&str]) -> Variable {
    let all = Choice {
        selected: true,
        text: "All".into(),
        value: "$__all".into(),
    };
    let options = std::iter::once(all)
        .chain(namespaces.iter().map(|n| Choice {
            selected: false,
            text: (*n).into(),
            value: (*n).into(),
        }))
        .collect();
    Variable {
        name: "namespace",
        label: "Namespace",
        kind: "custom",
        query: namespaces.join(","),
        include_all: true,
        multi: true,
        current: Choice {
            selected: true,
            text: vec!["All"].into(),
            value: vec!["$__all"].into(),
        },
        options,
    }
}

/// The PromQL of one component's panels.
struct Queries<'a> {
    mesh: &'a Mesh,
    component: &'a Component,
    /// The regex matching the component's workload names.
    workloads: String,
}

impl<'a> Queries<'a> {
    fn new(mesh: &'a Mesh, component: &'a Component) -> Self {
        let workloads = if component.workloads.is_empty() {
            ".+".to_string()
        } else {
            let names: Vec<String> = component.workloads.iter().map(|w| literal(w)).collect();
            names.join("|")
        };
        Queries {
            mesh,
            component,
            workloads,
        }
    }

    /// The labels naming a workload, grouped by in every query.
    fn workload_labels(&self) -> &'static str {
        match self.mesh {
            Mesh::Istio { .. } => "destination_workload",
            Mesh::Linkerd => "deployment, statefulset, daemonset",
        }
    }

    /// The legend: the workload's name (Grafana leaves an absent label empty).
    fn legend(&self) -> &'static str {
        match self.mesh {
            Mesh::Istio { .. } => "{{destination_workload}}",
            Mesh::Linkerd => "{{deployment}}{{statefulset}}{{daemonset}}",
        }
    }

    /// `rate()` over the component's series of `metric`, with `extra` matchers.
    fn rates(&self, metric: &str, extra: &[(&str, &str, &str)]) -> String {
        let namespace = &self.component.namespace;
        let (namespace_label, scope) = match self.mesh {
            Mesh::Istio { .. } => (
                "destination_workload_namespace",
                ("reporter", "=", "destination"),
            ),
            Mesh::Linkerd => ("namespace", ("direction", "=", "inbound")),
        };
        let workload_labels: &[&str] = match self.mesh {
            Mesh::Istio { .. } => &["destination_workload"],
            Mesh::Linkerd => &["deployment", "statefulset", "daemonset"],
        };
        let selectors: Vec<String> = workload_labels
            .iter()
            .map(|workload_label| {
                let exact = (namespace_label, "=", namespace.as_str());
                let matchers = [scope]
                    .into_iter()
                    .chain((!namespace.is_empty()).then_some(exact))
                    .chain([
                        (namespace_label, "=~", "$namespace"),
                        (workload_label, "=~", self.workloads.as_str()),
                    ])
                    .chain(extra.iter().copied())
                    .map(|(label, op, value)| format!("{label}{op}{}", quote(value)))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("rate({metric}{{{matchers}}}[{WINDOW}])")
            })
            .collect();
        selectors.join(" or ")
    }

    fn sum(&self, rates: &str) -> String {
        format!("sum by ({}) ({rates})", self.workload_labels())
    }

    fn target(&self, expr: String, legend: String, ref_id: &str) -> Target {
        Target {
            datasource: DATASOURCE,
            expr,
            legend_format: legend,
            ref_id: ref_id.to_string(),
        }
    }

    fn request_rate(&self) -> Vec<Target> {
        let metric = match self.mesh {
            Mesh::Istio { .. } => "istio_requests_total",
            Mesh::Linkerd => "request_total",
        };
        let expr = self.sum(&self.rates(metric, &[]));
        vec![self.target(expr, self.legend().to_string(), "A")]
    }

    /// Failed responses over all responses: 5xx for Istio, `classification="failure"` for
    /// Linkerd (5xx, a gRPC error status or a failed stream).
    fn error_rate(&self) -> Vec<Target> {
        let (metric, failed) = match self.mesh {
            Mesh::Istio { .. } => ("istio_requests_total", ("response_code", "=~", "5..")),
            Mesh::Linkerd => ("response_total", ("classification", "=", "failure")),
        };
        let expr = format!(
            "{} / {}",
            self.sum(&self.rates(metric, &[failed])),
            self.sum(&self.rates(metric, &[]))
        );
        vec![self.target(expr, self.legend().to_string(), "A")]
    }

    fn latency(&self) -> Vec<Target> {
        let metric = match self.mesh {
            Mesh::Istio { .. } => "istio_request_duration_milliseconds_bucket",
            Mesh::Linkerd => "response_latency_ms_bucket",
        };
        let buckets = format!(
            "sum by (le, {}) ({})",
            self.workload_labels(),
            self.rates(metric, &[])
        );
        ["A", "B", "C"]
            .into_iter()
            .zip(QUANTILES)
            .map(|(ref_id, (name, quantile))| {
                let expr = format!("histogram_quantile({quantile}, {buckets})");
                self.target(expr, format!("{name} {}", self.legend()), ref_id)
            })
            .collect()
    }
}

/// A regex matching `name` only: ASCII punctuation but `-` and `_` is escaped (Kubernetes
/// names may hold `.`).
fn literal(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_punctuation() && c != '-' && c != '_' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A PromQL string literal.
fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISTIO: Mesh = Mesh::Istio {
        ambient: false,
        revision: None,
    };
    use std::collections::HashSet;

    fn component(name: &str, namespace: &str, workloads: &[&str]) -> Component {
        Component {
            name: name.to_string(),
            namespace: namespace.to_string(),
            workloads: workloads.iter().map(|w| w.to_string()).collect(),
        }
    }

    /// A realistic stack: a split Loki, Grafana, Prometheus with its exporters, Tempo.
    fn stack() -> Vec<Component> {
        vec![
            component("grafana", "monitoring", &["obs-grafana"]),
            component(
                "loki",
                "logging",
                &["loki-backend", "loki-gateway", "loki-read", "loki-write"],
            ),
            component(
                "prometheus",
                "monitoring",
                &["obs-prometheus-server", "obs-prometheus-node-exporter"],
            ),
            component("tempo", "tracing", &["tempo.distributor"]),
            component("otel-collector", "tracing", &[]),
        ]
    }

    fn panels(dashboard: &Value) -> &Vec<Value> {
        dashboard["panels"].as_array().expect("panels")
    }

    fn exprs(dashboard: &Value) -> Vec<String> {
        panels(dashboard)
            .iter()
            .filter_map(|p| p["targets"].as_array())
            .flatten()
            .map(|t| t["expr"].as_str().expect("expr").to_string())
            .collect()
    }

    #[test]
    fn every_query_parses_as_promql() {
        // The parser checks types too, not only syntax.
        assert!(promql_parser::parser::parse("rate(x{a=\"b\"})").is_err());
        for mesh in &[ISTIO, Mesh::Linkerd] {
            let exprs = exprs(&dashboard(mesh, "obs", &stack()));
            assert_eq!(exprs.len(), stack().len() * 5, "{mesh:?}");
            for expr in exprs {
                if let Err(e) = promql_parser::parser::parse(&expr) {
                    panic!("{mesh:?}: {expr}\n{e}");
                }
            }
        }
    }

    #[test]
    fn a_component_over_every_namespace_is_narrowed_by_the_variable_only() {
        let all = [component("loki", "", &["loki-read", "loki-write"])];
        for mesh in &[ISTIO, Mesh::Linkerd] {
            let d = dashboard(mesh, "obs", &all);
            assert_eq!(panels(&d)[0]["title"], "loki");
            for expr in exprs(&d) {
                promql_parser::parser::parse(&expr).unwrap_or_else(|e| panic!("{expr}\n{e}"));
                assert!(!expr.contains("namespace=\"\""), "{expr}");
                assert!(expr.contains("namespace=~\"$namespace\""), "{expr}");
            }
        }
    }

    #[test]
    fn names_reach_prometheus_unchanged() {
        use promql_parser::parser::{Expr, parse};
        for name in ["loki-read", "tempo.distributor", "odd\"name\\x"] {
            let source = format!("x{{a={}, b=~{}}}", quote(name), quote(&literal(name)));
            let Ok(Expr::VectorSelector(selector)) = parse(&source) else {
                panic!("{source}");
            };
            let values: Vec<&str> = selector
                .matchers
                .matchers
                .iter()
                .map(|m| m.value.as_str())
                .collect();
            assert_eq!(values[0], name, "{source}");
            let regex = regex::Regex::new(&format!("^(?:{})$", values[1])).unwrap();
            assert!(regex.is_match(name), "{source}");
            assert!(!regex.is_match(&format!("{name}x")) && !regex.is_match("tempoxdistributor"));
        }
    }

    #[test]
    fn queries_use_the_mesh_metrics() {
        let istio = exprs(&dashboard(&ISTIO, "obs", &stack())).join("\n");
        for name in [
            "istio_requests_total{",
            "istio_request_duration_milliseconds_bucket{",
            "response_code=~\"5..\"",
            "reporter=\"destination\"",
        ] {
            assert!(istio.contains(name), "{name}");
        }
        let linkerd = exprs(&dashboard(&Mesh::Linkerd, "obs", &stack())).join("\n");
        for name in [
            "rate(request_total{",
            "rate(response_total{",
            "rate(response_latency_ms_bucket{",
            "classification=\"failure\"",
            "direction=\"inbound\"",
            "statefulset=~\"loki-backend|loki-gateway|loki-read|loki-write\"",
        ] {
            assert!(linkerd.contains(name), "{name}");
        }
        assert!(!linkerd.contains("istio_"));
        // A dot in a workload name matches only a dot.
        assert!(istio.contains(r#"destination_workload=~"tempo\\.distributor""#));
    }

    #[test]
    fn dashboard_structure_is_valid() {
        for mesh in &[ISTIO, Mesh::Linkerd] {
            let d = dashboard(mesh, "obs", &stack());
            assert_eq!(d["schemaVersion"], 39);
            let uid = d["uid"].as_str().expect("uid");
            assert!(!uid.is_empty() && uid.len() <= 40, "{uid}");
            let mut ids = HashSet::new();
            let mut rows = 0;
            for p in panels(&d) {
                assert!(ids.insert(p["id"].as_u64().expect("id")), "duplicate id");
                let pos = &p["gridPos"];
                let (x, w) = (pos["x"].as_u64().unwrap(), pos["w"].as_u64().unwrap());
                assert!(w > 0 && x + w <= 24, "{pos}");
                assert!(pos["h"].as_u64().unwrap() > 0);
                match p["type"].as_str() {
                    Some("row") => rows += 1,
                    Some("timeseries") => {
                        let targets = p["targets"].as_array().expect("targets");
                        assert!(!targets.is_empty());
                        let mut refs = HashSet::new();
                        for t in targets {
                            assert!(refs.insert(t["refId"].as_str().unwrap()));
                            assert!(t["legendFormat"].is_string());
                        }
                        let unit = &p["fieldConfig"]["defaults"]["unit"];
                        assert!(["reqps", "percentunit", "ms"].contains(&unit.as_str().unwrap()));
                        assert_eq!(p["datasource"]["type"], "prometheus");
                    }
                    other => panic!("unexpected panel type {other:?}"),
                }
            }
            assert_eq!(rows, stack().len());
            let variables: Vec<&str> = d["templating"]["list"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["name"].as_str().unwrap())
                .collect();
            assert_eq!(variables, ["datasource", "namespace"]);
            assert_eq!(
                d["templating"]["list"][1]["query"],
                "logging,monitoring,tracing"
            );
        }
    }

    #[test]
    fn output_is_stable_and_uid_follows_namespaces() {
        let a = config_map(
            &ISTIO,
            "obs",
            Some("monitoring"),
            ("grafana_dashboard", "1"),
            &stack(),
        );
        let b = config_map(
            &ISTIO,
            "obs",
            Some("monitoring"),
            ("grafana_dashboard", "1"),
            &stack(),
        );
        assert_eq!(a.to_string(), b.to_string());
        let uid = |components: &[Component]| dashboard(&ISTIO, "obs", components)["uid"].clone();
        let more = [stack(), vec![component("mimir", "logging", &["mimir"])]].concat();
        assert_eq!(uid(&stack()), uid(&more));
        assert_ne!(
            uid(&stack()),
            uid(&[component("loki", "elsewhere", &["loki"])])
        );
        assert_ne!(
            dashboard(&ISTIO, "obs", &stack())["uid"],
            dashboard(&Mesh::Linkerd, "obs", &stack())["uid"]
        );
        // Two releases in one namespace: two dashboards.
        assert_ne!(
            dashboard(&ISTIO, "obs", &stack())["uid"],
            dashboard(&ISTIO, "logs", &stack())["uid"]
        );
        assert_ne!(
            dashboard(&ISTIO, "obs", &stack())["title"],
            dashboard(&ISTIO, "logs", &stack())["title"]
        );
    }

    #[test]
    fn config_map_carries_the_dashboard() {
        let cm = config_map(
            &Mesh::Linkerd,
            "obs",
            Some("monitoring"),
            ("grafana_dashboard", "1"),
            &stack(),
        );
        assert_eq!(cm["apiVersion"], "v1");
        assert_eq!(cm["kind"], "ConfigMap");
        assert_eq!(cm["metadata"]["name"], "obs-linkerd-golden-signals");
        assert_eq!(cm["metadata"]["namespace"], "monitoring");
        assert_eq!(cm["metadata"]["labels"]["grafana_dashboard"], "1");
        assert_eq!(
            cm["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "gunj-mesh"
        );
        let data = cm["data"].as_object().unwrap();
        assert_eq!(data.len(), 1);
        let text = data["obs-linkerd-golden-signals.json"].as_str().unwrap();
        let parsed: Value = serde_json::from_str(text).expect("valid JSON");
        assert_eq!(parsed, dashboard(&Mesh::Linkerd, "obs", &stack()));
        assert!(
            text.starts_with("{\n  \"editable\": true,"),
            "sorted, pretty"
        );
    }

    #[test]
    fn istio_snapshot() {
        let components = [
            component("grafana", "monitoring", &["obs-grafana"]),
            component("loki", "logging", &["loki-read", "loki-write"]),
        ];
        let json =
            serde_json::to_string_pretty(&dashboard(&ISTIO, "obs", &components)).expect("prints");
        insta::assert_snapshot!(json);
    }
}
