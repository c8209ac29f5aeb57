//! Filter behaviours not covered by the examples: List items, in-stream configs and their
//! precedence, `type: auto`, namespaces, and anchors on the edited path.

use crate::common;
use crate::common::fixtures::GRAFANA;

fn gunj(args: &[&str], stdin: &str) -> (i32, String, String) {
    common::gunj(args, stdin)
}

const LINKERD_CONFIG: &str = "apiVersion: mesh.gunj.io/v1alpha1
kind: ServiceMesh
spec:
  type: linkerd
";

#[test]
fn list_items_are_processed_in_place() {
    let list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: grafana\n  spec:\n    template:\n      metadata:\n        labels:\n          app: grafana\n";
    let (code, out, err) = gunj(&["--mesh", "istio"], list);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        list.replace(
            "          app: grafana\n",
            "          app: grafana\n          sidecar.istio.io/inject: \"true\"\n"
        )
    );
    assert_eq!(
        err,
        "deployment grafana: injected (istio sidecar)\n\
         gunj-mesh: 2 object(s) read, 1 edited, 0 generated, 0 skipped, 0 warning(s)\n"
    );
}

#[test]
fn a_service_mesh_document_in_the_stream_is_the_config_and_is_consumed() {
    let stream = format!("{LINKERD_CONFIG}---\n{GRAFANA}");
    let (code, out, _) = gunj(&[], &stream);
    assert_eq!(code, 0);
    assert!(!out.contains("ServiceMesh"), "{out}");
    assert!(out.contains("linkerd.io/inject: \"enabled\""), "{out}");
}

#[test]
fn precedence_is_flags_then_config_file_then_stream() {
    let dir = std::env::temp_dir().join(format!("gunj-mesh-filter-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("istio.yaml");
    std::fs::write(&file, LINKERD_CONFIG.replace("linkerd", "istio")).unwrap();
    let stream = format!("{LINKERD_CONFIG}---\n{GRAFANA}");
    let (_, out, _) = gunj(&["-c", file.to_str().unwrap()], &stream);
    assert!(
        out.contains("sidecar.istio.io/inject"),
        "--config beats the stream: {out}"
    );
    let (_, out, _) = gunj(
        &["-c", file.to_str().unwrap(), "--mesh", "linkerd"],
        &stream,
    );
    assert!(
        out.contains("linkerd.io/inject"),
        "--mesh beats --config: {out}"
    );
}

#[test]
fn auto_follows_the_evidence_and_without_any_takes_the_default_with_a_note() {
    let (code, out, err) = gunj(&["--mesh", "auto"], GRAFANA);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("sidecar.istio.io/inject"), "{out}");
    assert!(err.contains("using the default, istio"), "{err}");
    let with_evidence = format!(
        "apiVersion: policy.linkerd.io/v1beta3\nkind: Server\nmetadata:\n  name: default\n---\n{GRAFANA}"
    );
    let (code, out, err) = gunj(&["--mesh", "auto"], &with_evidence);
    assert_eq!(code, 0);
    assert!(out.contains("linkerd.io/inject"), "{out}");
    assert!(!err.contains("using the default"), "{err}");
}

#[test]
fn namespaces_limit_the_scope_and_label_namespace_documents() {
    let config = "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: istio\n  namespaces: [observability]\n";
    let stream = format!(
        "{config}---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: observability\n---\n{GRAFANA}"
    );
    let (code, out, err) = gunj(&[], &stream);
    assert_eq!(code, 0);
    assert!(
        out.contains("  name: observability\n  labels:\n    istio-injection: \"enabled\"\n"),
        "{out}"
    );
    assert!(
        !out.contains("sidecar.istio.io/inject"),
        "grafana is in monitoring: {out}"
    );
    assert!(
        err.contains(
            "deployment monitoring/grafana: skipped: namespace monitoring is not in spec.namespaces"
        ),
        "{err}"
    );
}

#[test]
fn objects_without_a_namespace_take_the_release_namespace() {
    let stream = GRAFANA.replace("  namespace: monitoring\n", "");
    let (_, _, err) = gunj(&["--mesh", "istio", "-n", "kube-system"], &stream);
    assert_eq!(
        err,
        "deployment kube-system/grafana: skipped: system namespace kube-system\n\
         gunj-mesh: 1 object(s) read, 0 edited, 0 generated, 1 skipped, 0 warning(s)\n"
    );
}

#[test]
fn anchors_on_the_edited_path_keep_the_documents_meaning() {
    let doc = "# Source: chart/templates/x.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: grafana\n  labels: &l\n    app.kubernetes.io/name: grafana\n    flag: \"on\"\nspec:\n  template:\n    metadata:\n      labels: *l\n";
    let (code, out, _) = gunj(&["--mesh", "istio"], doc);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("# Source: chart/templates/x.yaml\n"),
        "{out}"
    );
    let node = gunj_mesh::internals::yaml::parse(&out, Default::default())
        .unwrap()
        .unwrap()
        .to_json();
    assert_eq!(
        node["spec"]["template"]["metadata"]["labels"]["sidecar.istio.io/inject"],
        "true"
    );
    assert_eq!(
        node["metadata"]["labels"]["flag"], "on",
        "a YAML 1.1 boolean-looking string stays a string"
    );
    assert!(out.contains("flag: \"on\""), "{out}");
    let (_, again, _) = gunj(&["--mesh", "istio"], &out);
    assert_eq!(again, out);
}

#[test]
fn disabled_config_passes_the_stream_through() {
    let stream = format!("{}  enabled: false\n---\n{GRAFANA}", LINKERD_CONFIG);
    let (code, out, err) = gunj(&[], &stream);
    assert_eq!(code, 0);
    assert_eq!(out, format!("---\n{GRAFANA}"));
    assert!(err.is_empty(), "{err}");
}

/// A policy of the same kind and name that gunj-mesh does not manage is the user's: it is
/// kept, nothing is generated in its place, and the report says so.
#[test]
fn a_users_policy_of_the_same_name_is_a_conflict_not_a_duplicate() {
    let config = "apiVersion: mesh.gunj.io/v1alpha1
kind: ServiceMesh
spec:
  type: istio
  mtls: {mode: STRICT}
---
";
    let users = "---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: grafana-mtls
  namespace: monitoring
spec:
  mtls: {mode: PERMISSIVE}
";
    let input = format!("{config}{GRAFANA}{users}");
    let (code, out, err) = gunj(&[], &input);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("kind: PeerAuthentication").count(), 1, "{out}");
    assert!(out.contains("mode: PERMISSIVE"), "{out}");
    assert!(
        err.contains("conflict: the stream already has PeerAuthentication monitoring/grafana-mtls not managed by gunj-mesh"),
        "{err}"
    );
    // Without the user's policy, gunj-mesh generates it.
    let (_, out, _) = gunj(&[], &format!("{config}{GRAFANA}"));
    assert!(
        out.contains("kind: PeerAuthentication\n") && out.contains("mode: STRICT"),
        "{out}"
    );
}

/// Linkerd with mesh metrics asked for (no authorization section): Prometheus may still
/// scrape the proxies when inbound policy denies by default (`linkerd viz allow-scrapes`).
#[test]
fn linkerd_metrics_authorize_prometheus_to_scrape_the_proxies() {
    let config = "apiVersion: mesh.gunj.io/v1alpha1
kind: ServiceMesh
spec:
  type: linkerd
  observability: {}
---
";
    let prometheus = GRAFANA
        .replace(
            "name: grafana\n  namespace",
            "name: prometheus\n  namespace",
        )
        .replace(
            "app.kubernetes.io/name: grafana",
            "app.kubernetes.io/name: prometheus",
        )
        .replace(
            "grafana/grafana:11.0.0",
            "quay.io/prometheus/prometheus:v3.0.0",
        );
    let (code, out, err) = gunj(&[], &format!("{config}{prometheus}"));
    assert_eq!(code, 0, "{err}");
    for expected in [
        "kind: Server\n",
        // One set per namespace, not per release (Linkerd admits one Server per pod port).
        "  name: proxy-admin\n",
        "  port: linkerd-admin\n",
        "  name: prometheus-scrapers\n",
        "    name: prometheus\n    namespace: linkerd-viz\n",
        "  name: prometheus-scrape\n",
    ] {
        assert!(out.contains(expected), "{expected:?} missing:\n{out}");
    }
}

/// Review finds, one regression test each.
/// A ConfigMap the filter does not read (it mentions no gunj-mesh, no URL) is still checked:
/// broken YAML anywhere fails the run, naming the document and line.
#[test]
fn a_broken_configmap_that_is_not_ours_fails_the_run() {
    let config = "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: istio\n  observability: {dashboards: {}}\n---\n";
    let broken =
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  c: [unclosed\n";
    let text = format!("{config}{GRAFANA}{broken}");
    let (code, out, err) = gunj(&[], &text);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    let line = text.lines().count();
    assert!(
        err.contains(&format!(
            "document 3 (<stdin>), line {line}, column 6: invalid YAML"
        )),
        "{err}"
    );
}

#[test]
fn a_workload_whose_only_callers_are_hooks_admits_nobody_in_both_meshes() {
    let config = |mesh: &str| {
        format!(
            "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: {mesh}\n  hooks: inject\n  authorization:\n    defaults: false\n    networkPolicies: true\n    allow: [{{from: promtail, to: grafana}}]\n---\n"
        )
    };
    let hook = "---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: promtail-hook\n  namespace: monitoring\n  annotations: {helm.sh/hook: post-install}\nspec:\n  template:\n    metadata:\n      labels: {app.kubernetes.io/name: promtail}\n    spec:\n      containers:\n      - {name: p, image: grafana/promtail:3.0.0}\n";
    let grafana = GRAFANA
        .replace(
            "spec:\n  template:",
            "spec:\n  selector:\n    matchLabels: {app.kubernetes.io/name: grafana}\n  template:",
        )
        .replace(
            "11.0.0\n",
            "11.0.0\n        ports: [{name: http, containerPort: 3000}]\n",
        );
    for mesh in ["istio", "linkerd"] {
        let (code, out, err) = gunj(&[], &format!("{}{grafana}{hook}", config(mesh)));
        assert_eq!(code, 0, "{err}");
        assert!(
            !out.contains("from: []"),
            "{mesh}: an empty `from` admits everyone:\n{out}"
        );
        let closed = match mesh {
            "istio" => "name: grafana-allow-nothing",
            _ => "accessPolicy: deny",
        };
        assert!(out.contains(closed), "{mesh}:\n{out}");
    }
}

#[test]
fn two_ingress_accounts_of_the_same_name_get_a_policy_each() {
    let config = "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: istio\n  authorization:\n    ingress: [ns-a/gateway, ns-b/gateway]\n---\n";
    let grafana = GRAFANA.replace(
        "spec:\n  template:",
        "spec:\n  selector:\n    matchLabels: {app.kubernetes.io/name: grafana}\n  template:",
    );
    let (code, out, err) = gunj(&[], &format!("{config}{grafana}"));
    assert_eq!(code, 0, "{err}");
    for ns in ["ns-a", "ns-b"] {
        assert!(
            out.contains(&format!("cluster.local/ns/{ns}/sa/gateway")),
            "{ns} missing:\n{out}"
        );
    }
}

#[test]
fn an_opentelemetry_collector_without_namespace_is_selected_in_the_release_namespace() {
    let config = "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: linkerd\n  authorization: {defaultDeny: true}\n---\n";
    let collector = "apiVersion: opentelemetry.io/v1beta1\nkind: OpenTelemetryCollector\nmetadata:\n  name: otel\nspec:\n  mode: deployment\n";
    let (code, out, err) = gunj(&["-n", "monitoring"], &format!("{config}{collector}"));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("app.kubernetes.io/instance: monitoring.otel"),
        "{out}"
    );
}

/// Streams over 1 MB are split on several threads: documents and lines are still counted
/// from the start of the stream.
#[test]
fn errors_in_a_large_stream_name_the_right_document_and_line() {
    let filler = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: blob\ndata:\n  k: v\n";
    let mut stream = String::new();
    for _ in 0..20_000 {
        stream.push_str(filler);
        stream.push_str("---\n");
    }
    assert!(stream.len() > 1 << 20);
    // The tab is on the sixth line of the last document.
    let line = stream.lines().count() + 6;
    stream.push_str(&GRAFANA.replace(
        "  namespace: monitoring\n",
        "  namespace: monitoring\n\tbad: tab\n",
    ));
    let (code, out, err) = gunj(&["--mesh", "istio"], &stream);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains(&format!("document 20001 (<stdin>), line {line},")),
        "{err}"
    );
    // A large stream still goes through unchanged where nothing applies.
    let clean = stream.replace("\tbad: tab\n", "");
    let (code, out, err) = gunj(&["--mesh", "istio"], &clean);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("kind: ConfigMap").count(), 20_000);
}

/// Fuzz find: generated resources appended to a stream without a final newline. The last
/// line is ended first; the document itself is not otherwise touched.
#[test]
fn generated_resources_after_a_last_line_without_newline_start_a_document() {
    let config = "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: linkerd\n  observability: {dashboards: {}}\n";
    let last = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: last\ndata:\n  x: \"on\"";
    let stream = format!("{config}---\n{GRAFANA}---\n{last}");
    let (code, out, err) = gunj(&[], &stream);
    assert_eq!(code, 0, "{err}");
    let (_, after) = out
        .split_once(&format!(
            "---\n{last}\n---\napiVersion: v1\nkind: ConfigMap\n"
        ))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        after.contains("gunj-mesh-linkerd-golden-signals.json"),
        "{out}"
    );
}

/// Fuzz find: a workload whose pods had no labels of their own got policies selecting
/// `sidecar.istio.io/inject: "true"` (every meshed pod of the namespace) on a second pass,
/// once the first had added that label.
#[test]
fn the_injection_label_never_selects_a_workload() {
    let config = "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: istio\n  authorization: {defaultDeny: true, networkPolicies: true}\n";
    let unlabelled = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: grafana\nspec:\n  template:\n    metadata:\n      annotations: {}\n    spec:\n      containers:\n      - name: grafana\n        image: grafana/grafana:11.0.0\n";
    let (code, first, err) = gunj(&[], &format!("{config}---\n{unlabelled}"));
    assert_eq!(code, 0, "{err}");
    assert!(
        first.contains("sidecar.istio.io/inject: \"true\""),
        "{first}"
    );
    let (code, second, err) = gunj(&[], &format!("{config}{first}"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(second, first);
    assert!(
        !first.contains("matchLabels:\n      sidecar.istio.io/inject"),
        "{first}"
    );
}

/// Fuzz find: a byte order mark shifted every column by three bytes, so a key added at the
/// top level of the document went in indented, and the output did not read back.
#[test]
fn a_byte_order_mark_does_not_indent_what_is_added() {
    let prometheus = "\u{feff}apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata:\n  name: k8s\n  namespace: monitoring\n";
    let (code, out, err) = gunj(&["--mesh", "istio"], prometheus);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("{prometheus}spec:\n  podMetadata:\n")),
        "{out}"
    );
    let (code, again, err) = gunj(&["--mesh", "istio"], out.as_str());
    assert_eq!((code, again.as_str()), (0, out.as_str()), "{err}");
}

/// A second input that starts with a document of its own (`--- {…}`) gets no `---` line
/// of ours before it: that would add an empty document.
#[test]
fn inputs_that_open_their_own_document_are_not_given_another() {
    let dir = std::env::temp_dir().join(format!("gunj-mesh-inputs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = [
        ("a.yaml", "kind: A\n"),
        ("b.yaml", "--- {kind: B}\n"),
        ("c.yaml", "---\nkind: C\n"),
        ("d.yaml", "kind: D\n"),
    ];
    let mut args = vec!["--mesh".to_string(), "istio".into()];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
        args.push(dir.join(name).display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = gunj(&args, "");
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "kind: A\n--- {kind: B}\n---\nkind: C\n---\nkind: D\n");
}

/// Past 64 KiB of changed documents, patching runs on every core; an error is still the
/// first in stream order (two bad Services, one in each half of the stream).
#[test]
fn a_patch_error_in_a_large_stream_names_the_first_bad_document() {
    const CONFIG: &str = "apiVersion: mesh.gunj.io/v1alpha1
kind: ServiceMesh
spec:
  type: linkerd
  trafficManagement:
    timeout: 30s
";
    let service = |ns: usize, bad: bool| {
        let annotations = if bad { "  annotations:\n  - x\n" } else { "" };
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: grafana\n  namespace: ns-{ns}\n\
             {annotations}spec:\n  ports:\n  - port: 3000\n  selector:\n    \
             app.kubernetes.io/name: grafana\n"
        )
    };
    let mut stream = format!("{CONFIG}---\n");
    for ns in 0..500 {
        let grafana = GRAFANA.replace("namespace: monitoring", &format!("namespace: ns-{ns}"));
        stream.push_str(&format!(
            "{grafana}---\n{}---\n",
            service(ns, ns == 100 || ns == 400)
        ));
    }
    assert!(stream.len() > 128 * 1024);
    // The config is document 1, then a Deployment and a Service per namespace.
    let (code, out, err) = gunj(&[], &stream);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("document 203 (<stdin>), line "), "{err}");
    assert!(err.contains("expected a mapping here"), "{err}");
    // Without the bad ones every Service gets its timeout.
    let fixed = stream.replace("  annotations:\n  - x\n", "");
    let (code, out, err) = gunj(&[], &fixed);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.matches("timeout.linkerd.io/request: \"30s\"").count(),
        500,
        "{out}"
    );
}
