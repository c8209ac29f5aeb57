//! The observability components gunj-mesh knows, and how an object is recognised as one.

use super::workload::Workload;
use crate::config::Custom;
use crate::yaml::Node;
use jsonpath_rust::JsonPath;

/// A known component: the label values, chart names and image repositories that identify it.
pub struct Component {
    pub name: &'static str,
    /// Values of `app.kubernetes.io/name`, `app`, `k8s-app`, `app.kubernetes.io/component`;
    /// also matched as the suffix of a release-prefixed value (`obs-grafana`).
    labels: &'static [&'static str],
    /// Image repositories, matched against the end of the image path without tag/digest.
    images: &'static [&'static str],
    /// Operator custom resources that are this component.
    kinds: &'static [&'static str],
}

const fn entry(
    name: &'static str,
    labels: &'static [&'static str],
    images: &'static [&'static str],
    kinds: &'static [&'static str],
) -> Component {
    Component {
        name,
        labels,
        images,
        kinds,
    }
}

pub static CATALOG: &[Component] = &[
    entry(
        "prometheus",
        &["prometheus", "prometheus-server"],
        &["prometheus/prometheus", "prom/prometheus"],
        &["Prometheus", "PrometheusAgent"],
    ),
    entry(
        "alertmanager",
        &["alertmanager"],
        &["prometheus/alertmanager", "prom/alertmanager"],
        &["Alertmanager"],
    ),
    entry(
        "grafana",
        &["grafana"],
        &[
            "grafana/grafana",
            "grafana/grafana-oss",
            "grafana/grafana-enterprise",
        ],
        &[],
    ),
    entry(
        "loki",
        &[
            "loki",
            "loki-distributed",
            "loki-simple-scalable",
            "loki-canary",
        ],
        &[
            "grafana/loki",
            "grafana/loki-canary",
            "grafana/enterprise-logs",
        ],
        &[],
    ),
    entry(
        "tempo",
        &["tempo", "tempo-distributed", "tempo-vulture"],
        &[
            "grafana/tempo",
            "grafana/tempo-query",
            "grafana/tempo-vulture",
        ],
        &[],
    ),
    entry(
        "mimir",
        &["mimir", "mimir-distributed"],
        &["grafana/mimir", "grafana/enterprise-metrics"],
        &[],
    ),
    entry(
        "thanos",
        &[
            "thanos",
            "thanos-query",
            "thanos-store",
            "thanos-compactor",
            "thanos-receive",
            "thanos-ruler",
        ],
        &["thanos/thanos", "bitnami/thanos"],
        &["ThanosRuler"],
    ),
    entry(
        "jaeger",
        &["jaeger"],
        &[
            "jaegertracing/jaeger",
            "jaegertracing/all-in-one",
            "jaegertracing/jaeger-collector",
            "jaegertracing/jaeger-query",
        ],
        &["Jaeger"],
    ),
    entry(
        "jaeger-operator",
        &["jaeger-operator"],
        &["jaegertracing/jaeger-operator"],
        &[],
    ),
    entry(
        "opentelemetry-collector",
        &["opentelemetry-collector", "otel-collector", "otelcol"],
        &[
            "otel/opentelemetry-collector",
            "otel/opentelemetry-collector-contrib",
            "otel/opentelemetry-collector-k8s",
            "opentelemetry-collector-releases/opentelemetry-collector",
            "opentelemetry-collector-releases/opentelemetry-collector-contrib",
            "opentelemetry-collector-releases/opentelemetry-collector-k8s",
        ],
        &["OpenTelemetryCollector"],
    ),
    entry("promtail", &["promtail"], &["grafana/promtail"], &[]),
    entry(
        "fluent-bit",
        &["fluent-bit", "fluent-bit-loki", "fluentbit"],
        &["fluent/fluent-bit", "grafana/fluent-bit-plugin-loki"],
        &[],
    ),
    entry(
        "grafana-agent",
        &["grafana-agent", "grafana-agent-operator"],
        &["grafana/agent", "grafana/agent-operator"],
        &[],
    ),
    entry("alloy", &["alloy"], &["grafana/alloy"], &["Alloy"]),
    entry(
        "alloy-operator",
        &["alloy-operator"],
        &["grafana/alloy-operator"],
        &[],
    ),
    entry("vector", &["vector"], &["timberio/vector"], &[]),
    entry(
        "windows-exporter",
        &["windows-exporter", "prometheus-windows-exporter"],
        &["prometheus-community/windows-exporter"],
        &[],
    ),
    entry(
        "node-exporter",
        &["node-exporter", "prometheus-node-exporter"],
        &["prometheus/node-exporter", "prom/node-exporter"],
        &[],
    ),
    entry(
        "kube-state-metrics",
        &["kube-state-metrics"],
        &["kube-state-metrics/kube-state-metrics"],
        &[],
    ),
    entry(
        "blackbox-exporter",
        &["blackbox-exporter", "prometheus-blackbox-exporter"],
        &["prometheus/blackbox-exporter", "prom/blackbox-exporter"],
        &[],
    ),
    entry(
        "pushgateway",
        &["pushgateway", "prometheus-pushgateway"],
        &["prometheus/pushgateway", "prom/pushgateway"],
        &[],
    ),
    entry(
        "prometheus-adapter",
        &["prometheus-adapter"],
        &[
            "prometheus-adapter/prometheus-adapter",
            "directxman12/k8s-prometheus-adapter",
        ],
        &[],
    ),
    entry("kiali", &["kiali", "kiali-server"], &["kiali/kiali"], &[]),
    entry(
        "prometheus-operator",
        &[
            "prometheus-operator",
            "prometheus-operator-admission-webhook",
        ],
        &[
            "prometheus-operator/prometheus-operator",
            "prometheus-operator/admission-webhook",
        ],
        &[],
    ),
    entry(
        "opentelemetry-operator",
        &["opentelemetry-operator"],
        &["opentelemetry-operator/opentelemetry-operator"],
        &[],
    ),
];

/// Catalog names, for validation messages and the schema.
pub fn names() -> Vec<&'static str> {
    CATALOG.iter().map(|e| e.name).collect()
}

/// What an object was recognised as, and by which rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Match {
    pub component: String,
    pub rule: String,
    /// True for user-defined components (`components.custom`).
    #[serde(skip)]
    pub custom: bool,
}

/// Label keys that name a component, in the order they are trusted.
const NAME_LABELS: &[&str] = &[
    "app.kubernetes.io/name",
    "app",
    "k8s-app",
    "app.kubernetes.io/component",
];

/// Recognises a workload: user selectors first, then operator kinds, labels, chart, images.
/// `node` is the object itself, for JSONPath selectors.
pub fn recognise(w: &Workload, node: &Node, custom: &[Custom]) -> Option<Match> {
    let json = std::cell::OnceCell::new();
    for c in custom {
        if let Some(rule) = custom_rule(w, || json.get_or_init(|| node.to_json()), c) {
            return Some(Match {
                component: c.name.clone(),
                rule,
                custom: true,
            });
        }
    }
    let found = |e: &Component, rule: String| Match {
        component: e.name.to_string(),
        rule,
        custom: false,
    };
    if let Some(e) = CATALOG.iter().find(|e| e.kinds.contains(&w.kind.as_str())) {
        return Some(found(e, format!("kind {}", w.kind)));
    }
    for key in NAME_LABELS {
        for labels in [&w.labels, &w.pod_labels] {
            let Some(value) = labels.get(*key) else {
                continue;
            };
            if let Some(e) = by_label(value) {
                return Some(found(e, format!("label {key}={value}")));
            }
        }
    }
    if let Some(chart) = w.labels.get("helm.sh/chart") {
        let name = chart_name(chart);
        if let Some(e) = CATALOG.iter().find(|e| e.labels.contains(&name)) {
            return Some(found(e, format!("label helm.sh/chart={chart}")));
        }
    }
    let image = match main_container(w) {
        Some(i) => &w.app_containers[i].1,
        // An operator resource's `spec.image`.
        None => w.images.first()?,
    };
    let repo = repository(image);
    CATALOG
        .iter()
        .find(|e| e.images.iter().any(|i| ends_with_path(repo, i)))
        .map(|e| found(e, format!("image {image}")))
}

/// The index in [`Workload::app_containers`] of the container that is the workload: the
/// one the pod's `kubectl.kubernetes.io/default-container` annotation names, else the one
/// named after the workload (`prometheus-server` in Deployment `obs-prometheus-server`,
/// behind a config reloader), else the first. The others are sidecars (a Fluent Bit log
/// shipper beside an application): what they run says nothing of what the workload is.
/// `None` without containers.
pub fn main_container(w: &Workload) -> Option<usize> {
    if w.app_containers.is_empty() {
        return None;
    }
    let position = |f: &dyn Fn(&str) -> bool| w.app_containers.iter().position(|c| f(&c.0));
    let default = w
        .pod_annotations
        .get("kubectl.kubernetes.io/default-container");
    default
        .and_then(|d| position(&|n| n == d))
        .or_else(|| position(&|n| !n.is_empty() && ends_with_part(&w.name, n)))
        .or(Some(0))
}

/// `value` is `part`, or ends with `-<part>`.
fn ends_with_part(value: &str, part: &str) -> bool {
    value == part
        || (value.len() > part.len()
            && value.ends_with(part)
            && value.as_bytes()[value.len() - part.len() - 1] == b'-')
}

fn by_label(value: &str) -> Option<&'static Component> {
    CATALOG
        .iter()
        .find(|e| e.labels.contains(&value))
        .or_else(|| {
            // `obs-grafana`, `kube-prometheus-stack-prometheus-operator`: the longest known
            // name that ends the value after a dash.
            CATALOG
                .iter()
                .flat_map(|e| e.labels.iter().map(move |l| (e, *l)))
                .filter(|(_, l)| value != *l && ends_with_part(value, l))
                .max_by_key(|(_, l)| l.len())
                .map(|(e, _)| e)
        })
}

/// `grafana-12.11.1` → `grafana`.
fn chart_name(chart: &str) -> &str {
    chart
        .match_indices('-')
        .find(|(i, _)| chart[i + 1..].starts_with(|c: char| c.is_ascii_digit()))
        .map_or(chart, |(i, _)| &chart[..i])
}

/// `docker.io/grafana/grafana:13.2.0@sha256:…` → `docker.io/grafana/grafana`.
fn repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => &image[..i],
        _ => image,
    }
}

fn ends_with_path(repo: &str, suffix: &str) -> bool {
    repo == suffix
        || (repo.ends_with(suffix) && repo.as_bytes()[repo.len() - suffix.len() - 1] == b'/')
}

/// `json` gives the object as JSON, converted at most once per workload.
fn custom_rule<'a>(
    w: &Workload,
    json: impl FnOnce() -> &'a serde_json::Value,
    c: &Custom,
) -> Option<String> {
    let mut rules = Vec::new();
    if !c.match_labels.is_empty() {
        let all = c
            .match_labels
            .iter()
            .all(|(k, v)| w.labels.get(k) == Some(v) || w.pod_labels.get(k) == Some(v));
        if !all {
            return None;
        }
        rules.push("matchLabels".to_string());
    }
    if c.image.is_some() {
        let re = c.image_regex()?;
        let image = w.images.iter().find(|i| re.is_match(i))?;
        rules.push(format!("image {image}"));
    }
    if let Some(path) = &c.json_path {
        let found = json().query(path).ok()?;
        if found.is_empty() {
            return None;
        }
        rules.push(format!("jsonPath {path}"));
    }
    Some(format!("custom {}: {}", c.name, rules.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_images_and_charts() {
        assert_eq!(
            chart_name("prometheus-node-exporter-4.56.1"),
            "prometheus-node-exporter"
        );
        assert_eq!(
            repository("docker.io/grafana/grafana:13.2.0"),
            "docker.io/grafana/grafana"
        );
        assert_eq!(
            repository("localhost:5000/grafana/loki"),
            "localhost:5000/grafana/loki"
        );
        assert!(ends_with_path(
            "quay.io/prometheus/prometheus",
            "prometheus/prometheus"
        ));
        assert!(!ends_with_path(
            "quay.io/xprometheus/prometheus",
            "prometheus/prometheus"
        ));
        assert_eq!(
            by_label("kube-prometheus-stack-prometheus-operator")
                .unwrap()
                .name,
            "prometheus-operator"
        );
        assert_eq!(by_label("obs-grafana").unwrap().name, "grafana");
        assert!(by_label("grafanax").is_none());
    }
}
