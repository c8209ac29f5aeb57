//! Mesh telemetry wired into the stack: where traces go, what the pods need, and the
//! resources that make the stack observe the mesh.
//!
//! - Istio `Telemetry` (`telemetry.istio.io/v1`): tracing providers and sampling, access
//!   logging, metrics (<https://istio.io/latest/docs/reference/config/telemetry/>); the
//!   providers it names are `meshConfig.extensionProviders`
//!   (<https://istio.io/latest/docs/tasks/observability/distributed-tracing/opentelemetry/>).
//! - Prometheus under STRICT mTLS: the sidecar writes its certificates to a shared
//!   in-memory volume and intercepts no traffic
//!   (<https://istio.io/latest/docs/ops/integrations/prometheus/#tls-settings>).
//! - Envoy's metrics are `/stats/prometheus` on the container port `http-envoy-prom`
//!   (15090); Linkerd's proxy serves `/metrics` on `linkerd-admin` (4191)
//!   (<https://linkerd.io/2-edge/tasks/external-prometheus/>).
//! - Linkerd proxies send spans to `config.linkerd.io/trace-collector`, in the protocol
//!   `config.linkerd.io/trace-collector-protocol` names (OpenCensus unless it says
//!   `opentelemetry`), and verify the collector's identity from
//!   `config.alpha.linkerd.io/trace-collector-service-account` (the ServiceAccount; the
//!   namespace is the host's): what the linkerd-jaeger injector sets
//!   (<https://linkerd.io/2-edge/tasks/distributed-tracing/>, linkerd/linkerd2
//!   `jaeger/injector/mutator`).

use super::policy::{TargetRef, WorkloadSelector};
use super::{Additions, Resource, metadata};
use super::{dashboards, merge};
use crate::config::{MtlsMode, Release, Spec, TraceProvider};
use crate::model::kinds::is_operator_cr;
use crate::model::mesh::{ISTIO_V1_APIS, Mesh};
use crate::model::object::Object;
use crate::model::stack::{Service, Stack, qualified};
use crate::model::workload::Workload;
use crate::yaml::Node;
use crate::yaml::patch::Patch;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// Where the proxies send traces.
#[derive(Debug, Clone, PartialEq)]
pub struct Collector {
    pub provider: TraceProvider,
    pub host: String,
    pub port: u16,
    pub sampling: f64,
    /// The ServiceAccount of the collector's pods, when the stream has them.
    pub account: Option<String>,
}

impl Collector {
    /// The provider name the Telemetry resource refers to.
    fn name(&self) -> String {
        format!("gunj-mesh-{}", self.provider.as_str())
    }
}

/// What telemetry needs to know before workloads are patched.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub collector: Option<Collector>,
    /// The stream uses prometheus-operator (PodMonitors are understood).
    pub operator: bool,
    /// How the stream's `Prometheus` selects PodMonitors, when it has one.
    pub prometheus: Option<Selection>,
}

/// How a prometheus-operator `Prometheus` selects PodMonitors
/// (<https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.PrometheusSpec>):
/// a null `podMonitorSelector` selects none and an empty one all; a null
/// `podMonitorNamespaceSelector` only the Prometheus's own namespace, an empty one every
/// namespace. kube-prometheus-stack sets `podMonitorSelector.matchLabels.release` to the
/// release name.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// `namespace/name` of the Prometheus.
    pub prometheus: String,
    pub namespace: Option<String>,
    /// The labels a PodMonitor needs to be selected; `None` when the selector is null.
    pub labels: Option<BTreeMap<String, String>>,
    /// Selector expressions no label set meets by itself (`NotIn`, `DoesNotExist`,
    /// `Exists`): said in a warning.
    pub unmet: Vec<String>,
    /// `podMonitorNamespaceSelector` is null.
    pub own_namespace: bool,
}

/// The PodMonitor selection of the first `Prometheus` of the stream.
pub fn selection(objects: &[Object], release: Option<&str>) -> Option<Selection> {
    let prom = objects.iter().find(|o| o.kind == "Prometheus")?;
    let spec = |k: &str| prom.node.at(&["spec", k]).filter(|n| !n.is_null());
    let namespace = prom
        .node
        .at(&["metadata", "namespace"])
        .and_then(Node::scalar)
        .or(release)
        .map(str::to_string);
    let mut unmet = Vec::new();
    let labels = spec("podMonitorSelector").map(|selector| {
        let mut labels: BTreeMap<String, String> = selector
            .get("matchLabels")
            .map(Node::string_map)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_string(), v?.to_string())))
            .collect();
        for e in selector
            .get("matchExpressions")
            .and_then(Node::items)
            .unwrap_or_default()
        {
            let get = |k: &str| e.get(k).and_then(Node::scalar).unwrap_or_default();
            let first = e
                .get("values")
                .and_then(Node::items)
                .and_then(|v| v.first().and_then(|v| v.scalar()));
            match (get("operator"), first) {
                ("In", Some(value)) => {
                    labels.insert(get("key").to_string(), value.to_string());
                }
                (op, _) => unmet.push(format!("{} {op}", get("key"))),
            }
        }
        labels
    });
    Some(Selection {
        prometheus: qualified(namespace.as_deref(), prom.name()),
        namespace,
        labels,
        unmet,
        own_namespace: spec("podMonitorNamespaceSelector").is_none(),
    })
}

/// Resolves the tracing collector: the config's, or the first of the OpenTelemetry
/// Collector, Tempo and Jaeger found in the stream with an OTLP (4317) or Zipkin (9411) port,
/// or else any component serving OTLP.
/// Linkerd's proxies export OpenTelemetry or OpenCensus only, so under Linkerd a Jaeger's
/// OTLP port is taken over its Zipkin port, and a Zipkin-only collector is none.
pub fn context(stack: &Stack, spec: &Spec, mesh: &Mesh, operator: bool) -> Context {
    let linkerd = matches!(mesh, Mesh::Linkerd);
    let Some(obs) = &spec.observability else {
        return Context::default();
    };
    let tracing = obs.tracing.as_ref();
    if tracing.is_some_and(|t| !t.enabled) {
        return Context {
            collector: None,
            operator,
            prometheus: None,
        };
    }
    let sampling = tracing.map_or(1.0, |t| t.sampling_rate);
    let explicit = tracing.and_then(|t| {
        let host = t.service.clone()?;
        let provider = t.provider.unwrap_or(TraceProvider::Otel);
        let port = t.port.unwrap_or(if provider.otlp() { 4317 } else { 9411 });
        Some(Collector {
            account: stack
                .services
                .iter()
                .find(|s| s.host() == host || s.name == host)
                .and_then(|s| account(stack, s)),
            provider,
            host,
            port,
            sampling,
        })
    });
    let found = || {
        for (component, provider) in [
            ("opentelemetry-collector", TraceProvider::Otel),
            ("tempo", TraceProvider::Tempo),
            ("jaeger", TraceProvider::Jaeger),
        ] {
            for service in stack.services_of(component).filter(|s| !s.headless) {
                let otlp = service.ports.iter().find(|p| p.port == 4317);
                let zipkin = service.ports.iter().find(|p| p.port == 9411);
                let (provider, port) = match (otlp, zipkin) {
                    (Some(p), _) if provider != TraceProvider::Jaeger => (provider, p.port),
                    (Some(p), _) if linkerd => (TraceProvider::Otel, p.port),
                    (_, Some(_)) if linkerd => continue,
                    (_, Some(p)) => (TraceProvider::Zipkin, p.port),
                    (Some(p), None) => (TraceProvider::Otel, p.port),
                    (None, None) => continue,
                };
                return Some(Collector {
                    provider,
                    host: service.host(),
                    port,
                    sampling,
                    account: account(stack, service),
                });
            }
        }
        // A custom collector: any component serving OTLP.
        let service = stack.services.iter().find(|s| {
            s.component.is_some() && !s.headless && s.ports.iter().any(|p| p.port == 4317)
        })?;
        Some(Collector {
            provider: TraceProvider::Otel,
            host: service.host(),
            port: 4317,
            sampling,
            account: account(stack, service),
        })
    };
    Context {
        collector: explicit.or_else(found),
        operator,
        prometheus: None,
    }
}

/// The ServiceAccount of the pods behind a Service.
fn account(stack: &Stack, service: &Service) -> Option<String> {
    let component = service.component.as_deref()?;
    stack
        .of(component)
        .find(|m| {
            !m.hook
                && m.namespace == service.namespace
                && service
                    .selector
                    .iter()
                    .all(|(k, v)| m.pod_labels.get(k) == Some(v))
        })
        .map(|m| m.service_account.clone())
}

/// Pod-template changes for an injected workload that do not depend on the stack: the
/// Prometheus certificate pattern and metrics merging. Returns the patch and what it does.
pub fn pod_patch(
    w: &Workload,
    component: &str,
    spec: &Spec,
    mesh: &Mesh,
) -> (Patch, Vec<&'static str>) {
    let mut patch = Patch::new();
    let mut what = Vec::new();
    let strict = spec
        .mtls
        .as_ref()
        .is_some_and(|m| m.mode == MtlsMode::Strict);
    let sidecar = matches!(mesh, Mesh::Istio { ambient: false, .. });
    if sidecar && strict && component == "prometheus" {
        prometheus_certificates(w, &mut patch);
        what.push("Istio certificates for scraping under STRICT mTLS");
    }
    if let (Mesh::Istio { .. }, Some(merge)) = (
        mesh,
        spec.observability
            .as_ref()
            .and_then(|o| o.metrics.merge_metrics),
    ) {
        patch.set(
            &w.pod_annotation("prometheus.istio.io/merge-metrics"),
            if merge { "true" } else { "false" },
        );
    }
    (patch, what)
}

/// Where the pods of an injected workload send traces, once the stack's collector is known
/// (Linkerd's `config.linkerd.io/trace-collector`; Istio takes it from a `Telemetry`
/// resource): the patch at the pod annotations `annotations`, and what it does.
pub fn trace_patch(
    annotations: &[&str],
    mesh: &Mesh,
    ctx: &Context,
) -> Option<(Patch, &'static str)> {
    let (Mesh::Linkerd, Some(c)) = (mesh, &ctx.collector) else {
        return None;
    };
    let mut patch = Patch::new();
    let mut set = |key: &str, value: &str| {
        let mut path = annotations.to_vec();
        path.push(key);
        patch.set(&path, value);
    };
    set(
        "config.linkerd.io/trace-collector",
        &format!("{}:{}", c.host, c.port),
    );
    if c.provider.otlp() {
        set(
            "config.linkerd.io/trace-collector-protocol",
            "opentelemetry",
        );
    }
    if let Some(account) = &c.account {
        set(
            "config.alpha.linkerd.io/trace-collector-service-account",
            account,
        );
    }
    Some((patch, "traces to the collector"))
}

/// The documented pattern, on the pod template or the Prometheus CR, with inbound capture
/// left on: the page also turns it off (`includeInboundPorts: ""`), but the pod keeps the
/// `security.istio.io/tlsMode: istio` label, so callers in the mesh (Grafana, the adapter)
/// send it mTLS that nothing decrypts (istio/istio#30311). With capture on, they reach it
/// like any workload; an earlier run's `""` becomes Istio's default, `*`.
fn prometheus_certificates(w: &Workload, patch: &mut Patch) {
    let inbound = "traffic.sidecar.istio.io/includeInboundPorts";
    if w.pod_annotations.get(inbound).is_some_and(String::is_empty) {
        patch.set(&w.pod_annotation(inbound), "*");
    }
    let mut at = |key: &str, value: &str| patch.set(&w.pod_annotation(key), value);
    at("traffic.sidecar.istio.io/includeOutboundIPRanges", "");
    let existing = |key: &str| w.pod_annotations.get(key).map(String::as_str);
    let config = "proxy.istio.io/config";
    if let Some(merged) =
        merge::proxy_metadata(existing(config), "OUTPUT_CERTS", "/etc/istio-output-certs")
    {
        at(config, &merged);
    }
    let mounts = "sidecar.istio.io/userVolumeMount";
    let mount = r#"{"name": "istio-certs", "mountPath": "/etc/istio-output-certs"}"#;
    if let Some(merged) = merge::json_list_item(existing(mounts), mount) {
        at(mounts, &merged);
    }
    let spec = {
        let mut p = &mut *patch;
        for key in w.pod_spec_path {
            p = p.field(key);
        }
        p
    };
    if !w.volumes.iter().any(|v| v == "istio-certs") {
        *spec.field("volumes") = Patch::Push(vec![
            json!({"name": "istio-certs", "emptyDir": {"medium": "Memory"}}),
        ]);
    }
    let mount = json!({"name": "istio-certs", "mountPath": "/etc/prom-certs/"});
    if is_operator_cr(&w.kind) {
        if !w.spec_mounts.iter().any(|m| m == "istio-certs") {
            *spec.field("volumeMounts") = Patch::Push(vec![mount]);
        }
        return;
    }
    let main = w
        .app_containers
        .iter()
        .position(|(name, image, _)| {
            (image.contains("prometheus/prometheus") || image.contains("prom/prometheus"))
                || name == "prometheus"
                || name == "prometheus-server"
        })
        .unwrap_or(0);
    if let Some((_, _, mounts)) = w.app_containers.get(main)
        && !mounts.iter().any(|m| m == "istio-certs")
    {
        *spec.field("containers").item(main).field("volumeMounts") = Patch::Push(vec![mount]);
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct Telemetry {
    #[serde(skip_serializing_if = "Option::is_none")]
    selector: Option<WorkloadSelector>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    target_refs: Vec<TargetRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tracing: Vec<TracingSpec>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    access_logging: Vec<AccessLogging>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    metrics: Vec<MetricsSpec>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct TracingSpec {
    providers: Vec<ProviderRef>,
    random_sampling_percentage: f64,
}

#[derive(Debug, Clone, Serialize)]
struct ProviderRef {
    name: String,
}

#[derive(Debug, Clone, Serialize)]
struct AccessLogging {
    providers: Vec<ProviderRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filter: Option<Filter>,
}

#[derive(Debug, Clone, Serialize)]
struct Filter {
    expression: String,
}

#[derive(Debug, Clone, Serialize)]
struct MetricsSpec {
    providers: Vec<ProviderRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    overrides: Vec<MetricOverride>,
}

#[derive(Debug, Clone, Serialize)]
struct MetricOverride {
    disabled: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct PodMonitor {
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace_selector: Option<NamespaceSelector>,
    selector: Selector,
    pod_metrics_endpoints: Vec<Endpoint>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct NamespaceSelector {
    match_names: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Relabel {
    action: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    source_labels: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_label: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    regex: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Selector {
    match_expressions: Vec<Expression>,
}

#[derive(Debug, Clone, Serialize)]
struct Expression {
    key: &'static str,
    operator: &'static str,
}

#[derive(Debug, Clone, Serialize)]
struct Endpoint {
    port: &'static str,
    path: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    relabelings: Vec<Relabel>,
}

/// The Telemetry resources, PodMonitors and dashboards, and the notes on what to set by
/// hand.
pub fn generate(stack: &Stack, spec: &Spec, mesh: &Mesh, ctx: &Context, out: &mut Additions) {
    let Some(obs) = &spec.observability else {
        return;
    };
    if let Some(t) = obs.tracing.as_ref().filter(|t| t.enabled)
        && ctx.collector.is_none()
    {
        out.warn(format!(
            "tracing: spec.observability.tracing asks for traces (samplingRate {}%), but the stream has no collector: no Service with an OTLP (4317) or Zipkin (9411) port in front of a component in the mesh; no tracing is configured. Add the collector's workload and Service to the stream, or set spec.observability.tracing.service (and port) to its address",
            t.sampling_rate
        ));
    }
    if let Mesh::Istio { .. } = mesh {
        istio_telemetry(
            stack,
            obs,
            ctx,
            spec.istio.release(),
            matches!(mesh, Mesh::Istio { ambient: true, .. }),
            out,
        );
    }
    if let Some(c) = &ctx.collector
        && matches!(mesh, Mesh::Linkerd)
    {
        if !c.provider.otlp() {
            out.warn(format!(
                "tracing: spec.observability.tracing.provider {} sends Zipkin, which Linkerd's proxies do not export (OpenTelemetry or OpenCensus only): no spans arrive at {}:{}. Point spec.observability.tracing at the collector's OTLP port (4317) with provider otel",
                c.provider.as_str(),
                c.host,
                c.port
            ));
        }
        out.note(format!(
            "tracing: Linkerd proxies send spans to {}:{} (config.linkerd.io/trace-collector){}",
            c.host,
            c.port,
            match &c.account {
                Some(sa) => format!(" and verify it as ServiceAccount {sa}"),
                None => "; its pods are not in the stream, so set config.alpha.linkerd.io/trace-collector-service-account to its ServiceAccount on the injected pods".into(),
            }
        ));
    }
    if obs.metrics.enabled && obs.metrics.service_monitors {
        if ctx.operator {
            pod_monitors(stack, mesh, ctx.prometheus.as_ref(), out);
        } else {
            out.note(match mesh {
                Mesh::Istio { .. } => "metrics: no prometheus-operator in the stream; Istio's metrics merging sets prometheus.io/* scrape annotations (port 15020) on injected pods".into(),
                Mesh::Linkerd => "metrics: no prometheus-operator in the stream; scrape the proxies' linkerd-admin port (4191, /metrics) from your Prometheus config".into(),
            });
        }
    }
    if spec
        .mtls
        .as_ref()
        .is_some_and(|m| m.mode == MtlsMode::Strict)
        && matches!(mesh, Mesh::Istio { ambient: false, .. })
        && stack.of("prometheus").next().is_some()
    {
        out.note("prometheus: under STRICT mTLS it scrapes outside its sidecar with the Istio certificate: the ServiceMonitors and Alertmanager endpoints of the stream that reach workloads in the mesh get `scheme: https` and `tlsConfig` with the files in /etc/prom-certs/; the ports other scrapes reach (PodMonitors, prometheus.yml jobs, targets with their own TLS) accept plaintext. A scrape job written by hand needs `scheme: https` and `tls_config: {ca_file: /etc/prom-certs/root-cert.pem, cert_file: /etc/prom-certs/cert-chain.pem, key_file: /etc/prom-certs/key.pem, insecure_skip_verify: true}`".into());
    }
    if let Some(d) = obs.dashboards.as_ref().filter(|d| d.enabled) {
        dashboard(stack, mesh, d, out);
    }
}

fn istio_telemetry(
    stack: &Stack,
    obs: &crate::config::Observability,
    ctx: &Context,
    release: Release,
    ambient: bool,
    out: &mut Additions,
) {
    let mut spec = Telemetry::default();
    let mut why = Vec::new();
    if let Some(c) = &ctx.collector {
        spec.tracing.push(TracingSpec {
            providers: vec![ProviderRef { name: c.name() }],
            random_sampling_percentage: c.sampling,
        });
        why.push(format!("traces to {} ({}%)", c.host, c.sampling));
        let provider = if c.provider.otlp() {
            "opentelemetry"
        } else {
            "zipkin"
        };
        out.note(format!(
            "tracing: add to meshConfig.extensionProviders: `- name: {}` with `{provider}: {{service: {}, port: {}}}`",
            c.name(),
            c.host,
            c.port
        ));
    }
    if let Some(a) = obs.access_logs.as_ref().filter(|a| a.enabled) {
        spec.access_logging.push(AccessLogging {
            providers: vec![ProviderRef {
                name: a.provider.clone(),
            }],
            filter: a.filter.clone().map(|expression| Filter { expression }),
        });
        why.push("access logs".into());
    }
    spec.metrics.push(MetricsSpec {
        providers: vec![ProviderRef {
            name: "prometheus".into(),
        }],
        overrides: if obs.metrics.enabled {
            Vec::new()
        } else {
            vec![MetricOverride { disabled: true }]
        },
    });
    why.push(if obs.metrics.enabled {
        "Prometheus metrics".into()
    } else {
        "Prometheus metrics off".to_string()
    });
    let api_version = if release >= ISTIO_V1_APIS {
        "telemetry.istio.io/v1"
    } else {
        "telemetry.istio.io/v1alpha1"
    };
    let why = why.join(", ");
    // One Telemetry per workload (per waypoint in ambient mode, where the proxies that
    // apply it are the waypoints), not a namespace-wide one: the releases of a namespace
    // would each replace it. A workload-specific Telemetry overrides the namespace's
    // (<https://istio.io/latest/docs/reference/config/telemetry/>).
    if ambient {
        for ns in &out.waypoints.clone() {
            out.add(
                "stack",
                format!("telemetry of the waypoint: {why}"),
                Resource {
                    api_version,
                    kind: "Telemetry",
                    metadata: metadata(&stack.release.scoped("waypoint"), ns.as_deref(), "stack"),
                    spec: Telemetry {
                        target_refs: vec![TargetRef {
                            group: "gateway.networking.k8s.io",
                            kind: "Gateway",
                            name: "waypoint".into(),
                        }],
                        ..spec.clone()
                    },
                },
            );
        }
        return;
    }
    // Workloads that serve: a Job's or test pod's labels (its "selector") may select the
    // pods of the workload it belongs to as well, and of two Telemetry resources on one
    // workload Istio applies either.
    for m in stack
        .servers()
        .filter(|m| !m.hook && !m.selector.is_empty())
    {
        out.add(
            &m.component,
            format!("telemetry of {}: {why}", m.name),
            Resource {
                api_version,
                kind: "Telemetry",
                metadata: metadata(
                    &format!("{}-telemetry", m.slug),
                    m.namespace.as_deref(),
                    &m.component,
                ),
                spec: Telemetry {
                    selector: Some(WorkloadSelector {
                        match_labels: m.selector.clone(),
                    }),
                    ..spec.clone()
                },
            },
        );
    }
}

/// PodMonitors for the proxies' metrics, labelled and placed so the stream's Prometheus
/// selects them; Linkerd's get the relabelling of Linkerd's own scrape configuration
/// (<https://linkerd.io/2-edge/tasks/external-prometheus/>): the workload labels
/// (`deployment`, `statefulset`, …) from the injector's `linkerd.io/proxy-<kind>` pod
/// labels, and `k8s_job` from `linkerd.io/proxy-job`.
fn pod_monitors(stack: &Stack, mesh: &Mesh, selection: Option<&Selection>, out: &mut Additions) {
    let (name, key, port, path) = match mesh {
        Mesh::Istio { ambient: true, .. } => return,
        Mesh::Istio { .. } => (
            "istio-proxies",
            "security.istio.io/tlsMode",
            "http-envoy-prom",
            "/stats/prometheus",
        ),
        Mesh::Linkerd => (
            "linkerd-proxies",
            "linkerd.io/control-plane-ns",
            "linkerd-admin",
            "/metrics",
        ),
    };
    let relabelings = match mesh {
        Mesh::Linkerd => vec![
            Relabel {
                action: "replace",
                source_labels: vec!["__meta_kubernetes_pod_label_linkerd_io_proxy_job"],
                target_label: Some("k8s_job"),
                regex: None,
            },
            Relabel {
                action: "labelmap",
                source_labels: Vec::new(),
                target_label: None,
                regex: Some("__meta_kubernetes_pod_label_linkerd_io_proxy_(.+)"),
            },
        ],
        Mesh::Istio { .. } => Vec::new(),
    };
    let labels = selection.and_then(|s| s.labels.clone()).unwrap_or_default();
    if let Some(s) = selection {
        if s.labels.is_none() {
            out.warn(format!(
                "metrics: Prometheus {} has no spec.podMonitorSelector, so it selects no PodMonitor and the proxies' metrics are not scraped. Set podMonitorSelector (`{{}}` selects all; kube-prometheus-stack: prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues=false)",
                s.prometheus
            ));
        }
        if !s.unmet.is_empty() {
            out.warn(format!(
                "metrics: Prometheus {} selects PodMonitors by {}, which the generated PodMonitors' labels cannot be shown to meet; check that it selects the proxies' PodMonitors",
                s.prometheus,
                s.unmet.join(", ")
            ));
        }
    }
    // A Prometheus that reads PodMonitors from its own namespace only gets one there that
    // reaches into the stack's namespaces.
    let home = selection
        .filter(|s| s.own_namespace)
        .and_then(|s| s.namespace.clone());
    let named: Option<Vec<String>> = stack.namespaces.iter().cloned().collect();
    let placements: Vec<(Option<String>, Vec<String>)> = match (home, named) {
        (Some(home), Some(names)) if names.iter().any(|n| *n != home) => {
            vec![(Some(home), names)]
        }
        _ => stack
            .namespaces
            .iter()
            .map(|ns| (ns.clone(), Vec::new()))
            .collect(),
    };
    for (ns, match_names) in placements {
        out.add(
            "prometheus",
            format!("Prometheus scrapes the proxies' {port} port ({path})"),
            Resource {
                api_version: "monitoring.coreos.com/v1",
                kind: "PodMonitor",
                metadata: metadata(&stack.release.scoped(name), ns.as_deref(), "prometheus")
                    .labelled(&labels),
                spec: PodMonitor {
                    namespace_selector: (!match_names.is_empty())
                        .then_some(NamespaceSelector { match_names }),
                    selector: Selector {
                        match_expressions: vec![Expression {
                            key,
                            operator: "Exists",
                        }],
                    },
                    pod_metrics_endpoints: vec![Endpoint {
                        port,
                        path,
                        relabelings: relabelings.clone(),
                    }],
                },
            },
        );
    }
}

/// Beyond this many namespaces, dashboard rows are per component, not per namespace.
const MAX_NAMESPACE_ROWS: usize = 8;

fn dashboard(stack: &Stack, mesh: &Mesh, d: &crate::config::Dashboards, out: &mut Additions) {
    let mut components: Vec<dashboards::Component> = Vec::new();
    let mut index: HashMap<(&str, Option<&str>), usize> = HashMap::new();
    for m in stack.servers() {
        match index.entry((&m.component, m.namespace.as_deref())) {
            Entry::Occupied(i) => components[*i.get()].workloads.push(m.workload.clone()),
            Entry::Vacant(v) => {
                v.insert(components.len());
                components.push(dashboards::Component {
                    name: m.component.clone(),
                    // Empty: every namespace the dashboard's variable selects.
                    namespace: m.namespace.clone().unwrap_or_default(),
                    workloads: vec![m.workload.clone()],
                });
            }
        }
    }
    // Many namespaces (one stack per tenant): one row per component over all of them,
    // narrowed by the dashboard's namespace variable, not a row per namespace.
    if stack.namespaces.len() > MAX_NAMESPACE_ROWS {
        let mut merged: Vec<dashboards::Component> = Vec::new();
        for c in components {
            match merged.iter_mut().find(|m| m.name == c.name) {
                Some(m) => m.workloads.extend(c.workloads),
                None => merged.push(dashboards::Component {
                    namespace: String::new(),
                    ..c
                }),
            }
        }
        for m in &mut merged {
            m.workloads.sort();
            m.workloads.dedup();
        }
        components = merged;
    }
    components.sort_by(|a, b| (&a.name, &a.namespace).cmp(&(&b.name, &b.namespace)));
    let Some(namespace) = d
        .namespace
        .clone()
        .map(Some)
        .or_else(|| stack.of("grafana").next().map(|g| g.namespace.clone()))
        .or_else(|| stack.namespaces.iter().next().cloned())
    else {
        return;
    };
    let (key, value) = d.label.iter().next().expect("validated: one label");
    let config_map = dashboards::config_map(
        mesh,
        &stack.release.scope,
        namespace.as_deref(),
        (key, value),
        &components,
    );
    let name = config_map["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    out.add_value(
        "grafana",
        format!(
            "golden-signal dashboard for {} component(s)",
            components.len()
        ),
        "v1",
        "ConfigMap",
        &name,
        namespace.as_deref(),
        config_map,
    );
}
