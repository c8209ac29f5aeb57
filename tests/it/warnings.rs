//! What the filter cannot honour is said, never silenced: a `warning:` in the stderr
//! summary and in `explain` (`check` fails on it, see `check.rs`). And what the summary says
//! it assumed or built: workloads left out of a namespace put in the mesh namespace-wide,
//! objects without a namespace, the traffic graph's size.

use crate::common::{self, fixtures};
use gunj_mesh::internals::{stream, yaml};
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

/// The document of `kind` named `name` in `text`, as JSON.
fn find(text: &str, kind: &str, name: &str) -> Value {
    stream::split(0, text)
        .iter()
        .filter(|d| d.header.kind == Some(kind))
        .map(|d| yaml::from_str::<Value>(d.text).unwrap())
        .find(|v| v["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in\n{text}"))
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
                "  type: {mesh}\n  authorization:\n    defaultDeny: true\n    peers: []\n{extra}"
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

/// A Namespace put in the mesh namespace-wide, an excluded Grafana and a hostNetwork
/// node-exporter in it, and an excluded Grafana in a namespace the stream does not put in.
const NAMESPACE_WIDE: &str = "apiVersion: v1
kind: Namespace
metadata:
  name: monitoring
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: grafana
  namespace: monitoring
spec:
  template:
    metadata:
      labels:
        app.kubernetes.io/name: grafana
    spec:
      containers:
      - name: grafana
        image: grafana/grafana:11.0.0
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-exporter
  namespace: monitoring
spec:
  template:
    metadata:
      labels:
        app.kubernetes.io/name: prometheus-node-exporter
    spec:
      hostNetwork: true
      containers:
      - name: node-exporter
        image: quay.io/prometheus/node-exporter:v1.8.0
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: grafana
  namespace: elsewhere
spec:
  template:
    metadata:
      labels:
        app.kubernetes.io/name: grafana
    spec:
      containers:
      - name: grafana
        image: grafana/grafana:11.0.0
";

/// A workload left out in a namespace the filter puts in the mesh namespace-wide gets the
/// mesh's pod-level opt-out, and the summary says so; a hostNetwork pod, which no mesh
/// injects, and a workload in a namespace put in by no Namespace document get none. The
/// output is then mesh-ready.
#[test]
fn a_workload_left_out_of_a_namespace_wide_injection_is_opted_out() {
    // (mesh settings, where the opt-out is, its key and value)
    let cases = [
        (
            "  type: istio\n",
            "labels",
            "sidecar.istio.io/inject",
            "false",
        ),
        (
            "  type: istio\n  istio: {mode: ambient}\n",
            "labels",
            "istio.io/dataplane-mode",
            "none",
        ),
        (
            "  type: linkerd\n",
            "annotations",
            "linkerd.io/inject",
            "disabled",
        ),
    ];
    for (mesh, place, key, value) in cases {
        let cfg = config(&format!(
            "{mesh}  namespaces: [monitoring, elsewhere]\n  components: {{exclude: [grafana]}}\n"
        ));
        let (out, err) = filter(&[], &format!("{cfg}{NAMESPACE_WIDE}"));
        assert!(
            err.contains("namespace monitoring: injected (namespace-wide"),
            "{mesh}: {err}"
        );
        assert!(
            err.contains("deployment monitoring/grafana: skipped: excluded by spec.components.exclude; opted out of the namespace's injection\n"),
            "{mesh}: {err}"
        );
        assert!(
            err.contains("daemonset monitoring/node-exporter: skipped: hostNetwork\n"),
            "{mesh}: {err}"
        );
        assert!(
            err.contains(
                "deployment elsewhere/grafana: skipped: excluded by spec.components.exclude\n"
            ),
            "{mesh}: {err}"
        );
        let grafana = |ns: &str| {
            stream::split(0, &out)
                .iter()
                .map(|d| yaml::from_str::<Value>(d.text).unwrap())
                .find(|v| v["metadata"]["name"] == "grafana" && v["metadata"]["namespace"] == ns)
                .unwrap()
        };
        assert_eq!(
            grafana("monitoring")["spec"]["template"]["metadata"][place][key],
            value,
            "{mesh}"
        );
        let template = &grafana("elsewhere")["spec"]["template"]["metadata"];
        assert!(template[place][key].is_null(), "{mesh}: {template}");
        assert_eq!(
            find(&out, "DaemonSet", "node-exporter")["spec"]["template"]["metadata"],
            serde_json::json!({"labels": {"app.kubernetes.io/name": "prometheus-node-exporter"}}),
            "{mesh}: node-exporter unchanged"
        );
        // The config is consumed from the stream: check reads it from a file.
        let file = std::env::temp_dir().join(format!(
            "gunj-mesh-namespace-wide-{}-{}.yaml",
            std::process::id(),
            key.replace('/', "-")
        ));
        std::fs::write(&file, cfg.trim_end_matches("---\n")).unwrap();
        let (code, text, _) = common::gunj(
            &["check", "-c", file.to_str().unwrap(), "-"],
            out.as_bytes(),
        );
        assert_eq!(code, 0, "{mesh}: {text}");
        std::fs::remove_file(file).unwrap();
    }
}

/// Objects without a namespace and no `-n`: the summary says they are taken to be in the
/// release namespace, that what is generated for them has no namespace either, and, with
/// `spec.namespaces`, that it cannot leave them out. With `-n` there is nothing to say.
#[test]
fn objects_without_a_namespace_are_said_to_be_in_the_release_namespace() {
    let grafana = fixtures::GRAFANA.replace("  namespace: monitoring\n", "");
    let strict = |extra: &str| {
        format!(
            "{}{grafana}",
            config(&format!("  type: istio\n  mtls: {{mode: STRICT}}\n{extra}"))
        )
    };
    let notes = |err: &str| -> Vec<String> {
        lines(err, "note: 1 object(s) name no namespace")
            .into_iter()
            .map(String::from)
            .collect()
    };

    let (out, err) = filter(&[], &strict(""));
    assert_eq!(
        notes(&err),
        [
            "note: 1 object(s) name no namespace and no --namespace was given: they are taken to be in the release namespace; the 1 resource(s) generated for them carry no namespace either, so that Helm (or `kubectl apply -n`) places both there"
        ],
        "{err}"
    );
    assert!(
        find(&out, "PeerAuthentication", "grafana-mtls")["metadata"]["namespace"].is_null(),
        "{out}"
    );

    let (_, err) = filter(&[], &strict("  namespaces: [monitoring]\n"));
    assert_eq!(notes(&err).len(), 1, "{err}");
    assert!(
        notes(&err)[0].ends_with("; spec.namespaces cannot tell whether that namespace is one it lists, so they are acted on (pass --namespace to filter them)"),
        "{err}"
    );
    assert!(err.starts_with("deployment grafana: injected"), "{err}");

    for n in ["monitoring", "obs"] {
        let (_, err) = filter(&["-n", n], &strict("  namespaces: [monitoring]\n"));
        assert!(notes(&err).is_empty(), "-n {n}: {err}");
    }
    let (_, err) = filter(&["-n", "obs"], &strict("  namespaces: [monitoring]\n"));
    assert!(
        err.starts_with("deployment obs/grafana: skipped: namespace obs is not in spec.namespaces"),
        "{err}"
    );
    // Nothing generated and no spec.namespaces: nothing was assumed that matters.
    let (_, err) = filter(&[], &format!("{}{grafana}", config("  type: istio\n")));
    assert!(notes(&err).is_empty(), "{err}");
}

/// When the policies need the traffic graph, the summary counts its flows by how each was
/// found, as `gunj-mesh flows` does; without policies no graph is drawn and nothing is said.
#[test]
fn the_summary_counts_the_traffic_graph_flows_by_how_they_were_found() {
    let prometheus = "---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: prometheus
  namespace: monitoring
spec:
  selector:
    matchLabels: {app.kubernetes.io/name: prometheus}
  template:
    metadata:
      labels: {app.kubernetes.io/name: prometheus}
    spec:
      containers:
        - name: prometheus
          image: quay.io/prometheus/prometheus:v2.53.0
          ports:
            - {name: web, containerPort: 9090}
---
";
    let stream = format!(
        "{}{GRAFANA}{prometheus}{}",
        config("  type: istio\n  authorization:\n    ingress: [istio-system/gateway]\n"),
        fixtures::OPERATOR_WEBHOOK
    );
    let (_, err) = filter(&[], &stream);
    let (code, json, _) = common::gunj(&["flows", "--output", "json"], stream.as_bytes());
    assert_eq!(code, 0, "{json}");
    let totals = &serde_json::from_str::<Value>(&json).unwrap()["totals"];
    let count = |key: &str| totals[key].as_u64().unwrap();
    for key in ["read", "inferred", "configured"] {
        assert!(count(key) > 0, "no {key} flow: {json}");
    }
    assert_eq!(
        lines(&err, "traffic graph: "),
        [format!(
            "traffic graph: {} flows ({} read, {} inferred, {} configured)",
            count("flows"),
            count("read"),
            count("inferred"),
            count("configured")
        )],
        "{err}"
    );
    let plain = format!("{}{GRAFANA}{prometheus}", config("  type: istio\n"));
    let (_, err) = filter(&[], &plain);
    assert!(lines(&err, "traffic graph: ").is_empty(), "{err}");
}
