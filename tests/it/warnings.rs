//! What the filter cannot honour is said, never silenced: a `warning:` in the stderr
//! summary and in `explain`.

use crate::common::{self, fixtures};
use serde_json::Value;

/// Runs the filter on `stream` (an in-stream ServiceMesh config first, if any) with `args`;
/// returns the output and the stderr summary.
fn filter(args: &[&str], stream: &str) -> (String, String) {
    let (code, out, err) = common::gunj(args, stream.as_bytes());
    assert_eq!(code, 0, "{err}");
    (out, err)
}

/// A ServiceMesh config document with `spec`, indented under `spec:`, and a separator.
fn config(spec: &str) -> String {
    format!("apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n{spec}---\n")
}

/// The summary lines that start with `prefix`.
fn lines<'a>(summary: &'a str, prefix: &str) -> Vec<&'a str> {
    summary.lines().filter(|l| l.starts_with(prefix)).collect()
}

/// An OpenTelemetry Collector in `monitoring` with its OTLP Service.
const COLLECTOR: &str = "---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: otel
  namespace: monitoring
spec:
  selector:
    matchLabels: {app.kubernetes.io/name: opentelemetry-collector}
  template:
    metadata:
      labels: {app.kubernetes.io/name: opentelemetry-collector}
    spec:
      containers:
        - name: otel
          image: otel/opentelemetry-collector:0.100.0
          ports:
            - {name: otlp, containerPort: 4317}
---
apiVersion: v1
kind: Service
metadata:
  name: otel
  namespace: monitoring
spec:
  selector: {app.kubernetes.io/name: opentelemetry-collector}
  ports:
    - {name: otlp, port: 4317, targetPort: otlp}
";

const TRACING: &str = "  type: istio\n  observability:\n    tracing: {samplingRate: 10}\n";

/// Tracing asked for, with no collector in the stream: a warning naming the field and the
/// two fixes in the summary and in `explain`, and no tracing in the output. With a collector
/// in the stream, or its address in the config, tracing is configured and nothing is said.
#[test]
fn tracing_without_a_collector_is_a_warning_naming_the_field() {
    let stream = format!("{}{}", config(TRACING), fixtures::GRAFANA);
    let (out, err) = filter(&[], &stream);
    let warnings = lines(&err, "warning: ");
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].starts_with("warning: tracing: spec.observability.tracing asks for traces (samplingRate 10%), but the stream has no collector"),
        "{err}"
    );
    assert!(
        warnings[0].contains("Add the collector's workload and Service to the stream, or set spec.observability.tracing.service"),
        "{err}"
    );
    assert!(!out.contains("randomSamplingPercentage"), "{out}");

    let (code, table, _) = common::gunj(&["explain"], stream.as_bytes());
    assert_eq!(code, 0);
    assert!(table.contains(&format!("\n{}\n", warnings[0])), "{table}");
    let (_, json, _) = common::gunj(&["explain", "--output", "json"], stream.as_bytes());
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["warnings"],
        serde_json::json!([warnings[0].trim_start_matches("warning: ")])
    );

    let (out, err) = filter(&[], &format!("{stream}{COLLECTOR}"));
    assert!(lines(&err, "warning: ").is_empty(), "{err}");
    assert!(out.contains("randomSamplingPercentage: 10"), "{out}");
    let addressed = format!(
        "{}{}",
        config(&TRACING.replace(
            "samplingRate: 10",
            "samplingRate: 10, service: otel.example.svc"
        )),
        fixtures::GRAFANA
    );
    let (out, err) = filter(&[], &addressed);
    assert!(lines(&err, "warning: ").is_empty(), "{err}");
    assert!(out.contains("randomSamplingPercentage: 10"), "{out}");
}

/// Grafana with a container port and a Service selector, so that Linkerd Servers cover it.
const GRAFANA: &str = fixtures::GRAFANA_HELM_WITH_SELECTOR_AND_PORT;

/// Linkerd authorization without `authorization.ingress`: Grafana's Servers admit no
/// ingress, and the warning names the field. Naming an ingress silences it, and Istio,
/// which has a default ingress identity, says nothing.
#[test]
fn linkerd_authorization_without_an_ingress_warns_that_grafana_is_unreachable() {
    let auth = |mesh: &str, extra: &str| {
        format!(
            "{}{GRAFANA}",
            config(&format!(
                "  type: {mesh}\n  authorization:\n    defaultDeny: true\n{extra}"
            ))
        )
    };
    let (_, err) = filter(&[], &auth("linkerd", ""));
    assert_eq!(
        lines(&err, "warning: "),
        [
            "warning: authorization: deployment monitoring/grafana (grafana) admits only the callers spec.authorization allows, and spec.authorization.ingress names no ingress (Linkerd has no default): Grafana is unreachable from the ingress. Set spec.authorization.ingress to the ingress controller's identities (namespace/serviceaccount)"
        ],
        "{err}"
    );
    let (out, err) = filter(
        &[],
        &auth("linkerd", "    ingress: [ingress-nginx/ingress-nginx]\n"),
    );
    assert!(lines(&err, "warning: ").is_empty(), "{err}");
    assert!(
        out.contains("name: ingress-nginx\n    namespace: ingress-nginx"),
        "the ingress is authorized: {out}"
    );
    let (_, err) = filter(&[], &auth("istio", ""));
    assert!(lines(&err, "warning: ").is_empty(), "{err}");
}
