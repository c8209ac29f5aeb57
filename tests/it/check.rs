//! `gunj-mesh check`: exit codes, and each output format is what its consumer expects.

use crate::common;
use std::path::PathBuf;

const STREAM: &str = "examples/stream/observability.yaml";

fn gunj(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    common::gunj(args, stdin)
}

#[test]
fn fails_on_raw_manifests_and_passes_on_filtered_ones() {
    let (code, text, _) = gunj(&["check", STREAM], b"");
    assert_eq!(code, 1, "{text}");
    // At the field to set: the labels of the pod template, line 51, column 9.
    assert!(text.contains(&format!("{STREAM}:51:9: error[GM001]: document 3: deployment monitoring/obs-grafana (grafana) is not in the mesh")), "{text}");
    assert!(
        text.contains(
            "  set spec.template.metadata.labels[\"sidecar.istio.io/inject\"] = \"true\""
        ),
        "{text}"
    );
    let (_, filtered, _) = gunj(&["-q", STREAM], b"");
    let (code, text, _) = gunj(&["check", "-"], filtered.as_bytes());
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with("0 object(s) not mesh-ready"), "{text}");
}

#[test]
fn errors_exit_2_with_nothing_on_stdout() {
    let (code, out, err) = gunj(
        &["check", "--mesh", "istio"],
        b"kind: Deployment\nmetadata: [\n",
    );
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("document 1"), "{err}");
}

#[test]
fn diff_shows_the_added_lines() {
    let (code, out, _) = gunj(&["check", "--diff", STREAM], b"");
    assert_eq!(code, 1);
    assert!(
        out.contains(&format!(
            "diff --git a/{STREAM} b/{STREAM}\n--- a/{STREAM}\n+++ b/{STREAM}\n"
        )),
        "{out}"
    );
    assert!(
        out.contains("\n+        sidecar.istio.io/inject: \"true\"\n"),
        "{out}"
    );
}

#[test]
fn json_lists_findings_with_fields() {
    let (_, out, _) = gunj(&["check", "--output", "json", STREAM], b"");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let findings = v["findings"].as_array().unwrap();
    // Six workloads, Grafana's Service (its port name `service` tells Istio nothing) and
    // Loki's Services (gRPC and gossip must be declared TCP, as Loki's Istio guide says) and
    // the collector's OTLP/HTTP port.
    assert_eq!(findings.len(), 10);
    assert_eq!(
        findings[9]["changes"][0]["field"],
        "spec.ports[1].appProtocol"
    );
    assert_eq!(findings[6]["kind"], "Service");
    assert_eq!(
        findings[6]["changes"][0]["field"],
        "spec.ports[0].appProtocol"
    );
    assert_eq!(findings[6]["changes"][0]["proposed"], "http");
    assert_eq!(findings[7]["name"], "obs-loki");
    assert_eq!(
        findings[7]["changes"][0]["field"],
        "spec.ports[1].appProtocol"
    );
    assert_eq!(findings[8]["name"], "obs-loki-memberlist");
    assert_eq!(findings[8]["changes"][0]["proposed"], "tcp");
    assert_eq!(
        findings[0]["changes"][0]["field"],
        "spec.template.metadata.labels[\"sidecar.istio.io/inject\"]"
    );
    assert_eq!(findings[0]["changes"][0]["proposed"], "true");
    assert_eq!(findings[0]["line"], 33);
}

#[test]
fn github_prints_workflow_error_annotations() {
    let (_, out, _) = gunj(&["check", "--output", "github", STREAM], b"");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 10);
    assert!(
        lines[0].starts_with(&format!(
            "::error file={STREAM},line=51,col=9,title=gunj-mesh GM001 NotInMesh::deployment monitoring/obs-grafana"
        )),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("%0Aset spec.template"), "{}", lines[0]);
}

#[test]
fn sarif_is_valid_sarif_2_1_0_pointing_at_file_and_line() {
    let (_, out, _) = gunj(&["check", "--output", "sarif", STREAM], b"");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let result = &v["runs"][0]["results"][0];
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"],
        serde_json::json!({"uri": STREAM, "uriBaseId": "%SRCROOT%"})
    );
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"],
        serde_json::json!({"startLine": 51, "startColumn": 9})
    );
    // The rest validates against the schema.
    assert_valid_sarif(&out, "findings.sarif");
}

/// Validates a SARIF log against the SARIF 2.1.0 JSON Schema, written to `name` in the
/// test directory ([`crate::sarif::assert_schema_valid`]).
fn assert_valid_sarif(log: &str, name: &str) {
    let path = tempdir().join(name);
    std::fs::write(&path, log).unwrap();
    crate::sarif::assert_schema_valid(&[path]);
}

/// A STRICT PeerAuthentication in the stream, beside a webhook the kube-apiserver (outside
/// the mesh, sending its own TLS) must reach: the filter's output denies that flow.
const STRICT_OVER_WEBHOOK: &str = "apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: strict
  namespace: monitoring
spec:
  mtls:
    mode: STRICT
---
";

/// The SARIF rule ids of the driver and of the results.
fn sarif_rules(out: &str) -> (Vec<String>, Vec<String>) {
    let v: serde_json::Value = serde_json::from_str(out).unwrap();
    let ids = |list: &serde_json::Value, key: &str| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|r| r[key].as_str().unwrap().to_string())
            .collect()
    };
    (
        ids(&v["runs"][0]["tool"]["driver"]["rules"], "id"),
        ids(&v["runs"][0]["results"], "ruleId"),
    )
}

/// GM003: a needed flow the output denies fails check, named in every format with both
/// ends, the port and the resource and rule that deny it; without that resource the same
/// stream passes.
#[test]
fn a_needed_flow_the_output_denies_fails_check_in_every_format() {
    let stream = format!(
        "{STRICT_OVER_WEBHOOK}{}",
        common::fixtures::OPERATOR_WEBHOOK
    );
    let (code, filtered, _) = gunj(&["-q", "--mesh", "istio"], stream.as_bytes());
    assert_eq!(code, 0);
    let file = tempdir().join("denied-flow.yaml");
    std::fs::write(&file, &filtered).unwrap();
    let file = file.to_str().unwrap();
    // The Deployment the flow reaches starts on line 10 of the file.
    let check = |format: &str| gunj(&["check", "--mesh", "istio", "--output", format, file], b"");

    let (code, text, _) = check("text");
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains(&format!(
            "{file}:10:1: error[GM003]: document 2: flow from kube-apiserver to deployment monitoring/otel-operator, port 9443/tls (webhook-server), is denied by PeerAuthentication monitoring/strict (ISTIO-PA-5: STRICT rejects plaintext"
        )),
        "{text}"
    );
    assert!(
        text.contains("\n  needed: ValidatingWebhookConfiguration otel-operator webhook vopentelemetrycollector.kb.io"),
        "{text}"
    );
    assert!(
        text.ends_with("0 object(s) not mesh-ready, 1 recognised, 0 policy resource(s) missing, 1 needed flow(s) denied, 0 request(s) not honoured, 0 conflict(s), 0 drifted resource(s)\n1 error(s), 0 warning(s), 0 note(s); --fail-on warning: failed\n"),
        "{text}"
    );

    let (code, out, _) = check("json");
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let denied = &v["denied"].as_array().unwrap()[..];
    assert_eq!(denied.len(), 1, "{out}");
    assert_eq!(denied[0]["from"]["type"], "api-server");
    assert_eq!(
        denied[0]["to"],
        serde_json::json!({"type": "workload", "kind": "Deployment", "namespace": "monitoring", "name": "otel-operator"})
    );
    assert_eq!(
        (denied[0]["port"].as_u64(), denied[0]["protocol"].as_str()),
        (Some(9443), Some("tls"))
    );
    assert_eq!(denied[0]["verdict"]["verdict"], "denied");
    assert_eq!(
        denied[0]["verdict"]["resource"],
        "PeerAuthentication monitoring/strict"
    );
    assert!(
        denied[0]["verdict"]["rule"]
            .as_str()
            .unwrap()
            .starts_with("ISTIO-PA-5")
    );
    assert_eq!(v["warnings"], serde_json::json!([]));

    let (code, out, _) = check("github");
    assert_eq!(code, 1);
    assert!(
        out.starts_with(&format!(
            "::error file={file},line=10,col=1,title=gunj-mesh GM003 DeniedFlow::flow from kube-apiserver to deployment monitoring/otel-operator, port 9443/tls (webhook-server), is denied by PeerAuthentication monitoring/strict"
        )),
        "{out}"
    );
    assert!(
        out.contains("%0Aneeded: ValidatingWebhookConfiguration"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1, "{out}");

    let (code, out, _) = check("sarif");
    assert_eq!(code, 1);
    let (rules, results) = sarif_rules(&out);
    assert_eq!(
        rules,
        ["GM001", "GM002", "GM003", "GM004", "GM005", "GM006"]
    );
    assert_eq!(results, ["GM003"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let result = &v["runs"][0]["results"][0];
    assert!(
        result["message"]["text"]
            .as_str()
            .unwrap()
            .contains("kube-apiserver to deployment monitoring/otel-operator, port 9443/tls"),
        "{out}"
    );
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        10
    );
    assert_eq!(
        v["runs"][0]["tool"]["driver"]["rules"][2]["name"],
        "DeniedFlow"
    );
    assert_valid_sarif(&out, "denied-flow.sarif");

    // Without the PeerAuthentication, nothing denies the webhook.
    let (_, filtered, _) = gunj(
        &["-q", "--mesh", "istio"],
        common::fixtures::OPERATOR_WEBHOOK.as_bytes(),
    );
    let (code, text, _) = gunj(&["check", "--mesh", "istio", "-"], filtered.as_bytes());
    assert_eq!(code, 0, "{text}");
}

/// Tracing asked for with no collector in the stream: no mesh traces are configured.
const TRACING_WITHOUT_COLLECTOR: &str = "apiVersion: mesh.gunj.io/v1alpha1
kind: ServiceMesh
spec:
  type: istio
  observability:
    tracing: {samplingRate: 10}
";

/// GM004: a request of the config the output does not honour fails check, in every
/// format, even once the manifests are otherwise mesh-ready.
#[test]
fn an_unhonoured_request_fails_check_in_every_format() {
    let config = tempdir().join("tracing-without-collector.yaml");
    std::fs::write(&config, TRACING_WITHOUT_COLLECTOR).unwrap();
    let config = config.to_str().unwrap();
    let (_, filtered, _) = gunj(&["-q", "-c", config], common::fixtures::GRAFANA.as_bytes());
    let check = |format: &str| {
        gunj(
            &["check", "-c", config, "--output", format, "-"],
            filtered.as_bytes(),
        )
    };
    let warning = "tracing: spec.observability.tracing asks for traces (samplingRate 10%), but the stream has no collector";

    let (code, text, _) = check("text");
    assert_eq!(code, 1, "{text}");
    // Nothing else to report; the warning is at the stack's first object.
    assert!(
        text.starts_with(&format!("stdin:1:1: warning[GM004]: document 1: {warning}")),
        "{text}"
    );
    assert!(
        text.ends_with(", 0 needed flow(s) denied, 1 request(s) not honoured, 0 conflict(s), 0 drifted resource(s)\n0 error(s), 1 warning(s), 0 note(s); --fail-on warning: failed\n"),
        "{text}"
    );
    // A warning fails only when --fail-on asks for it.
    let (code, text, _) = gunj(
        &["check", "-c", config, "--fail-on", "error", "-"],
        filtered.as_bytes(),
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.ends_with("--fail-on error: passed\n"), "{text}");

    let (code, out, _) = check("json");
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["warnings"][0].as_str().unwrap().starts_with(warning),
        "{out}"
    );
    assert_eq!(v["warnings"].as_array().unwrap().len(), 1);

    let (code, out, _) = check("github");
    assert_eq!(code, 1);
    // `%` is escaped as the workflow command syntax asks.
    assert!(
        out.starts_with(&format!(
            "::warning file=stdin,line=1,col=1,title=gunj-mesh GM004 UnhonouredRequest::{}",
            warning.replace('%', "%25")
        )),
        "{out}"
    );

    let (code, out, _) = check("sarif");
    assert_eq!(code, 1);
    let (_, results) = sarif_rules(&out);
    assert_eq!(results, ["GM004"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["runs"][0]["tool"]["driver"]["rules"][3]["name"],
        "UnhonouredRequest"
    );
    assert_valid_sarif(&out, "unhonoured.sarif");
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("gunj-mesh-check-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Over the corpus: check fails where the filter changes something and passes on the
/// filter's own output, in both meshes.
#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn corpus_fails_raw_and_passes_filtered() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut failed_raw = 0;
    for folder in [
        "helm-template",
        "postrender-stdin",
        "kube-prometheus",
        "istio-addons",
    ] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(corpus.join(folder))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let input = std::fs::read(&file).unwrap();
            for mesh in ["istio", "linkerd"] {
                let (_, filtered, _) = gunj(&["-q", "--mesh", mesh], &input);
                let changed = filtered.as_bytes() != input.as_slice();
                let (raw, _, err) = gunj(&["check", "--mesh", mesh], &input);
                // A file of nothing gunj-mesh knows (a ClusterRole) is no pass: exit 2.
                let unknown = raw == 2 && err.contains("nothing recognised");
                assert_eq!(
                    (raw, changed || unknown),
                    if changed {
                        (1, true)
                    } else if unknown {
                        (2, true)
                    } else {
                        (0, false)
                    },
                    "{} ({mesh}): {err}",
                    file.display()
                );
                failed_raw += usize::from(changed);
                let (own, report, err) = gunj(&["check", "--mesh", mesh], filtered.as_bytes());
                assert_eq!(
                    own,
                    if unknown { 2 } else { 0 },
                    "{} ({mesh}) after filtering:\n{report}{err}",
                    file.display()
                );
            }
        }
    }
    assert!(
        failed_raw > 20,
        "only {failed_raw} corpus runs had anything to fix"
    );
}

#[test]
fn version_completions_and_man_page_come_from_the_clap_definition() {
    let (code, out, _) = gunj(&["--version"], b"");
    assert_eq!(
        (code, out.as_str()),
        (0, concat!("gunj-mesh ", env!("CARGO_PKG_VERSION"), "\n"))
    );
    let (code, out, _) = gunj(&["completions", "bash"], b"");
    assert_eq!(code, 0);
    assert!(
        out.contains("check") && out.contains("explain") && out.contains("--mesh"),
        "{out}"
    );
    let (code, out, _) = gunj(&["man"], b"");
    assert_eq!(code, 0);
    assert!(
        out.contains(".TH gunj-mesh 1") && out.contains("\\-\\-config"),
        "{out}"
    );
}

/// Each item of a List is reported at its own line: in block YAML the line its item starts
/// on, in one-line JSON line 1.
#[test]
fn list_items_are_reported_at_their_own_lines() {
    let item = |i: usize| {
        format!(
            "- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: grafana-{i}\n  spec:\n    template:\n      metadata:\n        labels:\n          app: grafana\n"
        )
    };
    let yaml = format!(
        "apiVersion: v1\nkind: List\nitems:\n{}",
        (0..3).map(item).collect::<String>()
    );
    let json = r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"grafana-0"},"spec":{"template":{"metadata":{"labels":{"app":"grafana"}}}}},{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"grafana-1"},"spec":{"template":{"metadata":{"labels":{"app":"grafana"}}}}}]}"#;
    for (stream, lines) in [(yaml.as_str(), vec![4, 13, 22]), (json, vec![1, 1])] {
        let (code, out, err) = gunj(
            &["check", "--mesh", "istio", "--output", "json", "-"],
            stream.as_bytes(),
        );
        assert_eq!(code, 1, "{err}");
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        let found: Vec<(String, u64)> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().unwrap().to_string(),
                    f["line"].as_u64().unwrap(),
                )
            })
            .collect();
        let expected: Vec<(String, u64)> = lines
            .iter()
            .enumerate()
            .map(|(i, &l)| (format!("grafana-{i}"), l))
            .collect();
        assert_eq!(found, expected, "{stream}");
    }
}
