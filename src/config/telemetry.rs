//! The `observability` section: mesh metrics, traces, access logs and dashboards.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Observability {
    #[serde(default)]
    pub metrics: Metrics,
    /// Traces. Left out: on when the stream has an OpenTelemetry Collector, Tempo or Jaeger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<Tracing>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_logs: Option<AccessLogs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboards: Option<Dashboards>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metrics {
    /// Proxy metrics for Prometheus (Istio `Telemetry` metrics; scrape configuration).
    #[serde(default = "super::yes")]
    pub enabled: bool,
    /// With prometheus-operator in the stream: PodMonitors for the proxies' metrics.
    #[serde(default = "super::yes")]
    pub service_monitors: bool,
    /// Istio metrics merging (`prometheus.istio.io/merge-metrics`) on injected pods; left
    /// out, Istio's default (on) stays, except for Prometheus scraping over mTLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_metrics: Option<bool>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            enabled: true,
            service_monitors: true,
            merge_metrics: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Tracing {
    #[serde(default = "super::yes")]
    pub enabled: bool,
    /// The backend; left out, the one found in the stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<TraceProvider>,
    /// The collector's host, e.g. `otel-collector.monitoring.svc.cluster.local`; left out,
    /// the Service of the collector found in the stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The collector's port (default 4317 for OTLP, 9411 for Zipkin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The percentage of requests traced (0–100).
    #[serde(default = "one_percent")]
    pub sampling_rate: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TraceProvider {
    Tempo,
    Jaeger,
    Otel,
    Zipkin,
}

impl TraceProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            TraceProvider::Tempo => "tempo",
            TraceProvider::Jaeger => "jaeger",
            TraceProvider::Otel => "otel",
            TraceProvider::Zipkin => "zipkin",
        }
    }

    /// OTLP over gRPC (Tempo, the OpenTelemetry Collector), or Zipkin (Jaeger, Zipkin).
    pub fn otlp(self) -> bool {
        matches!(self, TraceProvider::Tempo | TraceProvider::Otel)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AccessLogs {
    #[serde(default = "super::yes")]
    pub enabled: bool,
    /// The Istio access-log provider (`envoy` is built in; others come from
    /// `meshConfig.extensionProviders`).
    #[serde(default = "envoy")]
    pub provider: String,
    /// A CEL filter, e.g. `response.code >= 400`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Dashboards {
    #[serde(default = "super::yes")]
    pub enabled: bool,
    /// Where the dashboard ConfigMap goes; left out, Grafana's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The label the Grafana dashboard sidecar watches.
    #[serde(default = "grafana_dashboard")]
    pub label: BTreeMap<String, String>,
}

fn one_percent() -> f64 {
    1.0
}

fn envoy() -> String {
    "envoy".into()
}

fn grafana_dashboard() -> BTreeMap<String, String> {
    BTreeMap::from([("grafana_dashboard".into(), "1".into())])
}
