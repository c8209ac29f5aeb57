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
        for file in common::files(&corpus.join(folder)) {
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

/// `--version` names the commit the binary was built from: in a git checkout,
/// `git rev-parse --short HEAD`, with `-dirty` exactly when the binary's sources differ
/// from it (as `build.rs` decides), so a build from a modified tree cannot pass for the
/// commit.
#[test]
fn version_names_the_commit_the_binary_was_built_from() {
    let (code, out, _) = gunj(&["--version"], b"");
    assert_eq!(code, 0);
    let prefix = concat!("gunj-mesh ", env!("CARGO_PKG_VERSION"), " (commit ");
    let commit = out
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(")\n"))
        .unwrap_or_else(|| panic!("not `{prefix}COMMIT)`: {out:?}"));
    let git = |args: &[&str]| {
        common::run::command("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_string())
    };
    let head = git(&["rev-parse", "--short", "HEAD"]);
    let top = git(&["rev-parse", "--show-toplevel"]);
    let checkout = top.is_some_and(|t| {
        std::path::Path::new(&t).canonicalize().ok() == common::repo().canonicalize().ok()
    });
    if !common::needs::require(
        "a git checkout of this repository and git",
        "run the tests in a clone",
        checkout && head.is_some(),
    ) {
        assert_eq!(commit, "unknown");
        return;
    }
    let dirty = !git(&[
        "status",
        "--porcelain",
        "--",
        "src",
        "build.rs",
        "Cargo.toml",
        "Cargo.lock",
        "examples/init.yaml",
    ])
    .unwrap()
    .is_empty();
    let head = head.unwrap();
    let want = if dirty { format!("{head}-dirty") } else { head };
    assert_eq!(commit, want, "--version: {out}");
}

#[test]
fn completions_and_man_page_come_from_the_clap_definition() {
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

/// A config asking for STRICT mTLS in the stack's namespaces.
const STRICT: &str = "apiVersion: mesh.gunj.io/v1alpha1
kind: ServiceMesh
spec:
  type: istio
  mtls: {mode: STRICT}
";

/// A file `name` of the filter's output for [`common::fixtures::GRAFANA`] under [`STRICT`],
/// with `edit` applied, and the config's path.
fn filtered_strict(
    dir: &common::TempDir,
    name: &str,
    edit: impl Fn(&str) -> String,
) -> (String, String) {
    let config = dir.write("strict.yaml", STRICT).display().to_string();
    let (code, filtered, err) = gunj(&["-q", "-c", &config], common::fixtures::GRAFANA.as_bytes());
    assert_eq!(code, 0, "{err}");
    let file = dir.write(name, &edit(&filtered)).display().to_string();
    (file, config)
}

/// The 1-based line of `file` that holds `text` first.
fn line_of(file: &str, text: &str) -> usize {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .position(|l| l.contains(text))
        .unwrap()
        + 1
}

/// GM006: gunj-mesh's own PeerAuthentication edited by hand fails check, at the field,
/// even once Helm has overwritten its managed-by label (its own annotation tells it apart);
/// one the config no longer generates fails too.
#[test]
fn a_stale_managed_resource_fails_check_with_a_drift_finding() {
    let dir = common::TempDir::new("check-drift");
    let (file, config) = filtered_strict(&dir, "out.yaml", str::to_string);
    let (code, text, _) = gunj(&["check", "-c", &config, &file], b"");
    assert_eq!(code, 0, "the filter's own output passes: {text}");

    let (stale, _) = filtered_strict(&dir, "stale.yaml", |out| {
        out.replace("mode: STRICT", "mode: PERMISSIVE")
            .replace("managed-by: gunj-mesh", "managed-by: Helm")
    });
    let mode_line = line_of(&stale, "mode: PERMISSIVE");
    let (code, text, _) = gunj(&["check", "-c", &config, &stale], b"");
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains(&format!(
            "{stale}:{mode_line}:11: error[GM006]: document 2: drift: PeerAuthentication monitoring/grafana-mtls differs from what the config generates in 1 field(s)"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "\n  set spec.mtls.mode = \"STRICT\" (now \"PERMISSIVE\", line {mode_line})\n"
        )),
        "{text}"
    );
    let (_, out, _) = gunj(&["check", "-c", &config, "--output", "json", &stale], b"");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["drift"][0]["changes"][0]["field"], "spec.mtls.mode");
    assert_eq!(v["results"][0]["rule"], "GM006");
    assert_eq!(v["passed"], false);

    // The config no longer asks for mTLS: the PeerAuthentication is stale as a whole.
    let plain = dir.write(
        "plain.yaml",
        "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: istio\n",
    );
    let (code, text, _) = gunj(&["check", "-c", plain.to_str().unwrap(), &file], b"");
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("error[GM006]: document 2: drift: PeerAuthentication monitoring/grafana-mtls is gunj-mesh's, but the config no longer generates it: delete it"),
        "{text}"
    );
}

/// GM005: a PERMISSIVE PeerAuthentication of the chart's own on the pods of a workload
/// beside a STRICT config fails check at its mode, though the filter changes nothing else.
/// A namespace-wide one does not: gunj-mesh's workload-specific policy takes precedence,
/// and the namespace's policy is its owner's.
#[test]
fn a_conflicting_peer_authentication_fails_check_with_a_conflict_finding() {
    let dir = common::TempDir::new("check-conflict");
    let namespace_wide = "---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: legacy\n  namespace: monitoring\nspec:\n  mtls:\n    mode: PERMISSIVE\n";
    let (file, config) = filtered_strict(&dir, "wide.yaml", |out| format!("{out}{namespace_wide}"));
    let (code, text, _) = gunj(&["check", "-c", &config, &file], b"");
    assert_eq!(code, 0, "{text}");
    let legacy = namespace_wide.replace(
        "spec:\n",
        "spec:\n  selector:\n    matchLabels: {app.kubernetes.io/name: grafana}\n",
    );
    let (file, config) = filtered_strict(&dir, "out.yaml", |out| format!("{out}{legacy}"));
    let line = line_of(&file, "mode: PERMISSIVE");
    let (code, text, _) = gunj(&["check", "-c", &config, &file], b"");
    assert_eq!(code, 1, "{text}");
    assert!(
        text.starts_with(&format!(
            "{file}:{line}:11: error[GM005]: document 3: conflict: PeerAuthentication monitoring/legacy sets mtls.mode PERMISSIVE for the pods of deployment grafana, against spec.mtls.mode STRICT of the config"
        )),
        "{text}"
    );
    assert!(
        text.contains("  set spec.mtls.mode = \"STRICT\" (now \"PERMISSIVE\""),
        "{text}"
    );
    let (code, out, _) = gunj(&["check", "-c", &config, "--output", "sarif", &file], b"");
    assert_eq!(code, 1);
    let (_, results) = sarif_rules(&out);
    assert_eq!(results, ["GM005"]);
    assert_valid_sarif(&out, "conflict.sarif");
    // UNSET on the same pods defers to the namespace's mode: as much a conflict.
    let unset = file.replace("out.yaml", "unset.yaml");
    std::fs::write(
        &unset,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("PERMISSIVE", "UNSET"),
    )
    .unwrap();
    let (code, text, _) = gunj(&["check", "-c", &config, &unset], b"");
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("sets mtls.mode UNSET for the pods of deployment grafana"),
        "{text}"
    );
}

/// GM005: another STRICT policy on the pods whose gunj-mesh policy lets a port accept
/// plaintext conflicts too (Istio applies the older of the two, which may drop the port);
/// without such ports, the same mode is no conflict.
#[test]
fn a_second_policy_on_pods_with_plaintext_ports_is_a_conflict_even_in_the_same_mode() {
    let dir = common::TempDir::new("check-conflict-ports");
    let theirs = "---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: theirs\n  namespace: monitoring\nspec:\n  selector:\n    matchLabels: {app.kubernetes.io/name: grafana}\n  mtls:\n    mode: STRICT\n";
    let grafana = common::fixtures::GRAFANA_HELM_WITH_SELECTOR_AND_PORT;
    let run = |name: &str, config: &str| {
        let config = dir.write(&format!("{name}.config.yaml"), config);
        let config = config.to_str().unwrap();
        let (code, filtered, err) = gunj(&["-q", "-c", config], grafana.as_bytes());
        assert_eq!(code, 0, "{err}");
        let file = dir.write(&format!("{name}.yaml"), &format!("{filtered}{theirs}"));
        gunj(&["check", "-c", config, file.to_str().unwrap()], b"")
    };
    let (code, text, _) = run("plain", STRICT);
    assert_eq!(code, 0, "{text}");
    let (code, text, _) = run(
        "ports",
        &STRICT.replace("{mode: STRICT}", "{mode: STRICT, portExceptions: [3000]}"),
    );
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("warning[GM005]: document 3: conflict: PeerAuthentication monitoring/theirs also sets mtls.mode STRICT for the pods of deployment grafana; of two policies on one workload Istio applies the older, which may drop the ports gunj-mesh's grafana-mtls lets accept plaintext: delete it"),
        "{text}"
    );
}

/// The example stream as `helm template --output-dir` writes a chart: a file per
/// document, in nested directories under `obs/`.
fn output_dir(dir: &common::TempDir) {
    let stream = std::fs::read_to_string(common::repo().join(STREAM)).unwrap();
    for (i, doc) in stream.split("\n---\n").enumerate() {
        let sub = if i % 3 == 2 {
            "obs/charts/sub/templates"
        } else {
            "obs/templates"
        };
        std::fs::create_dir_all(format!("{}/{sub}", dir.arg())).unwrap();
        dir.write(
            &format!("{sub}/doc{i:02}.yaml"),
            &format!("{}\n", doc.trim_end()),
        );
    }
}

/// `--diff` over a directory of several files is a patch `git apply --check` takes (paths
/// relative to where check runs, the generated resources as a new file); applied, the
/// stream is mesh-ready. With `--output sarif`, the patch goes to `--diff-file`.
#[test]
fn diff_over_a_directory_of_several_files_is_a_patch_git_applies() {
    let git = |dir: &common::TempDir, args: &[&str]| {
        common::run::command("git")
            .current_dir(dir.arg())
            .args(args)
            .output()
    };
    let probe = common::TempDir::new("check-git-probe");
    if !common::needs::require(
        "git",
        "install git",
        git(&probe, &["--version"]).is_ok_and(|o| o.status.success()),
    ) {
        return;
    }
    let dir = common::TempDir::new("check-git-apply");
    output_dir(&dir);
    let config = common::repo().join("examples/istio-advanced.yaml");
    let check = |args: &[&str]| {
        common::gunj_process()
            .current_dir(dir.arg())
            .args(["check", "-q", "-c"])
            .arg(&config)
            .args(args)
            .output()
            .unwrap()
    };
    let out = check(&["--diff", "obs"]);
    assert_eq!(out.status.code(), Some(1));
    let patch = String::from_utf8(out.stdout).unwrap();
    for header in [
        "diff --git a/obs/templates/doc03.yaml b/obs/templates/doc03.yaml\n--- a/obs/templates/doc03.yaml\n+++ b/obs/templates/doc03.yaml\n",
        "diff --git a/obs/charts/sub/templates/doc05.yaml b/obs/charts/sub/templates/doc05.yaml\n",
        "diff --git a/obs/charts/sub/templates/gunj-mesh-generated.yaml b/obs/charts/sub/templates/gunj-mesh-generated.yaml\nnew file mode 100644\n--- /dev/null\n",
    ] {
        assert!(patch.contains(header), "{header}\n{patch}");
    }
    assert!(!patch.contains("+---\n+---"), "{patch}");
    dir.write("fix.patch", &patch);
    let applied = git(&dir, &["apply", "--check", "fix.patch"]).unwrap();
    assert!(
        applied.status.success(),
        "{}\n{patch}",
        String::from_utf8_lossy(&applied.stderr)
    );

    // SARIF on stdout, the same patch in the file.
    let out = check(&["--output", "sarif", "--diff-file", "sarif.patch", "obs"]);
    assert_eq!(out.status.code(), Some(1));
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap();
    let file = std::fs::read_to_string(format!("{}/sarif.patch", dir.arg())).unwrap();
    assert!(patch.ends_with(&file), "{file}");
    let out = check(&["--output", "json", "--diff", "obs"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());

    // Applied, nothing is left to change or add.
    let applied = git(&dir, &["apply", "fix.patch"]).unwrap();
    assert!(applied.status.success());
    let out = check(&["obs"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("0 object(s) not mesh-ready, ")
            || text.contains("\n0 object(s) not mesh-ready, "),
        "{text}"
    );
    assert!(
        text.contains(" recognised, 0 policy resource(s) missing, "),
        "{text}"
    );
}

/// check reads `helm template --output-dir` trees and `.json` manifests, and does not pass
/// on nothing: an empty directory, an empty stream and a stream of nothing it knows are
/// errors (exit 2).
#[test]
fn check_reads_nested_trees_and_json_and_fails_on_nothing() {
    let empty = common::TempDir::new("check-empty");
    std::fs::create_dir(format!("{}/sub", empty.arg())).unwrap();
    let (code, out, err) = gunj(&["check", "--mesh", "istio", &empty.arg()], b"");
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(
        err.contains("the directory has no *.yaml, *.yml or *.json file"),
        "{err}"
    );

    let tree = common::TempDir::new("check-tree");
    output_dir(&tree);
    let (code, text, err) = gunj(&["check", "--mesh", "istio", &tree.arg()], b"");
    assert_eq!(code, 1, "{err}");
    assert!(
        text.contains(&format!("{}/obs/templates/doc03.yaml:", tree.arg()))
            && text.contains(&format!(
                "{}/obs/charts/sub/templates/doc05.yaml:",
                tree.arg()
            )),
        "{text}"
    );
    assert!(text.contains(", 12 recognised,"), "{text}");
    // The filter reads subdirectories only when asked.
    let (code, _, err) = gunj(&["--mesh", "istio", &tree.arg()], b"");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("-r reads its subdirectories too"), "{err}");
    let (code, out, err) = gunj(&["-q", "-r", "--mesh", "istio", &tree.arg()], b"");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("sidecar.istio.io/inject"));

    let json = common::TempDir::new("check-json");
    json.write(
        "grafana.json",
        r#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "grafana", "namespace": "monitoring"},
 "spec": {"template": {"metadata": {"labels": {"app.kubernetes.io/name": "grafana"}}, "spec": {"containers": [{"name": "grafana", "image": "grafana/grafana:11.0.0"}]}}}}
"#,
    );
    let (code, text, err) = gunj(&["check", "--mesh", "istio", &json.arg()], b"");
    assert_eq!(code, 1, "{err}");
    assert!(
        text.starts_with(&format!(
            "{}/grafana.json:2:47: error[GM001]: document 1: deployment monitoring/grafana (grafana) is not in the mesh",
            json.arg()
        )),
        "{text}"
    );

    let (code, out, err) = gunj(&["check", "--mesh", "istio"], b"# nothing\n---\n");
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(
        err.contains("-: no Kubernetes objects read: nothing to check"),
        "{err}"
    );
    let (code, _, err) = gunj(
        &["check", "--mesh", "istio"],
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("nothing recognised: none of the 1 Kubernetes object(s) read"),
        "{err}"
    );
    let (code, _, err) = gunj(
        &["check", "--mesh", "istio"],
        b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    spec: {containers: [{name: web, image: nginx}]}\n",
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("its 1 workload(s) (deployment web) match no rule"),
        "{err}"
    );
    assert!(
        err.contains("`gunj-mesh explain` lists the workloads"),
        "{err}"
    );
}

/// A ResourceList on stdin (`kpt fn source | gunj-mesh check`): each item is placed in its
/// own file (`config.kubernetes.io/path`), as the document its index names, with lines and
/// columns counted in the item; not at the Kptfile, the first item.
#[test]
fn resource_list_items_are_placed_in_their_own_files() {
    let item = |path: &str, index: usize, name: &str| {
        format!(
            "- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: {name}\n    namespace: monitoring\n    annotations:\n      config.kubernetes.io/path: '{path}'\n      config.kubernetes.io/index: '{index}'\n  spec:\n    template:\n      metadata:\n        labels:\n          app.kubernetes.io/name: grafana\n"
        )
    };
    let list = format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: kpt.dev/v1\n  kind: Kptfile\n  metadata:\n    name: obs\n    annotations:\n      config.kubernetes.io/local-config: \"true\"\n      config.kubernetes.io/path: 'Kptfile'\n{}{}",
        item("deploy/a.yaml", 0, "grafana-a"),
        item("deploy/b.yaml", 1, "grafana-b")
    );
    let (code, text, err) = gunj(&["check", "--mesh", "istio"], list.as_bytes());
    assert_eq!(code, 1, "{err}");
    assert!(!text.contains("Kptfile"), "{text}");
    // The labels start on line 13 of the item, at column 9 once it is not indented.
    assert!(
        text.contains(
            "deploy/a.yaml:13:9: error[GM001]: document 1: deployment monitoring/grafana-a"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "deploy/b.yaml:13:9: error[GM001]: document 2: deployment monitoring/grafana-b"
        ),
        "{text}"
    );
}

/// Documents are numbered per file, as their lines are.
#[test]
fn documents_are_numbered_per_file() {
    let dir = common::TempDir::new("check-numbers");
    let first = dir.write("a.yaml", common::fixtures::GRAFANA);
    let second = dir.write(
        "b.yaml",
        &format!(
            "{}---\n{}",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
            common::fixtures::GRAFANA.replace("name: grafana\n", "name: grafana-2\n")
        ),
    );
    let (code, text, err) = gunj(
        &[
            "check",
            "--mesh",
            "istio",
            first.to_str().unwrap(),
            second.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        text.contains(&format!(
            "{}:10:9: error[GM001]: document 1: deployment monitoring/grafana ",
            first.display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{}:14:9: error[GM001]: document 2: deployment monitoring/grafana-2 ",
            second.display()
        )),
        "{text}"
    );
}

/// Helm 3 never passes hooks to a post-renderer: `helm template --post-renderer gunj-mesh`
/// puts the chart's test Pod back as the chart wrote it, after the filtered manifests.
/// That fails check, unless `--helm3` says where the manifests come from: the hook's
/// finding is then a note.
#[test]
fn helm3_keeps_a_charts_test_pod_from_failing_a_post_renderer_pipeline() {
    let (code, filtered, err) = gunj(
        &["-q", "--mesh", "istio"],
        common::fixtures::GRAFANA_HELM.as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    let test_pod = "---\n# Source: grafana/templates/tests/test.yaml\napiVersion: v1\nkind: Pod\nmetadata:\n  name: grafana-test\n  namespace: monitoring\n  labels:\n    app.kubernetes.io/name: grafana\n  annotations:\n    \"helm.sh/hook\": test\nspec:\n  containers:\n  - name: test\n    image: bats/bats:v1.4.1\n";
    let pipeline = format!("{filtered}{test_pod}");
    let (code, text, _) = gunj(&["check", "--mesh", "istio", "-"], pipeline.as_bytes());
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("warning[GM001]: document 2: pod monitoring/grafana-test"),
        "{text}"
    );
    let (code, text, _) = gunj(
        &["check", "--helm3", "--mesh", "istio", "-"],
        pipeline.as_bytes(),
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("note[GM001]: document 2: pod monitoring/grafana-test")
            && text.contains("  a Helm hook: Helm 3 never passes hooks to a post-renderer"),
        "{text}"
    );
    // A note fails only under --fail-on note.
    let (code, _, _) = gunj(
        &[
            "check",
            "--helm3",
            "--fail-on",
            "note",
            "--mesh",
            "istio",
            "-",
        ],
        pipeline.as_bytes(),
    );
    assert_eq!(code, 1);
}

/// `explain` fits a terminal: rows cut to `COLUMNS`, no rule or place, generated
/// resources counted; `--wide` has them all. Workloads it does not recognise are listed
/// with a `spec.components.custom` entry, and that entry includes them.
#[test]
fn explain_fits_a_terminal_and_says_how_to_include_what_it_does_not_recognise() {
    let config = common::repo().join("examples/istio-advanced.yaml");
    let config = config.to_str().unwrap();
    let unknown = "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: shipper, namespace: monitoring}\nspec:\n  template:\n    spec: {containers: [{name: s, image: \"registry.example.com/log.shipper:2.1\"}]}\n";
    let stream = format!(
        "{}{unknown}",
        std::fs::read_to_string(common::repo().join(STREAM)).unwrap()
    );
    let explain = |args: &[&str]| {
        let out = common::gunj_process()
            .env("COLUMNS", "80")
            .args(["explain", "-q", "-c", config])
            .args(args)
            .arg("-")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(stream.as_bytes())?;
                child.wait_with_output()
            })
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    let compact = explain(&[]);
    let table: Vec<&str> = compact
        .lines()
        .take_while(|l| !l.starts_with("not recognised"))
        .collect();
    assert!(table[1].starts_with("DOC  OBJECT"), "{compact}");
    assert!(table.iter().all(|l| l.chars().count() <= 80), "{compact}");
    assert!(
        !compact.contains("label app.kubernetes.io/name=grafana"),
        "{compact}"
    );
    assert!(
        compact.contains("\n+ 32 generated resource(s): 11 AuthorizationPolicy, "),
        "{compact}"
    );
    let hint = "{name: shipper, image: '^registry\\.example\\.com/log\\.shipper'}";
    assert!(
        compact.contains(&format!(
            "not recognised (a spec.components.custom entry that would include each):\n  deployment monitoring/shipper  {hint}\n"
        )),
        "{compact}"
    );
    let wide = explain(&["--wide"]);
    assert!(
        wide.contains("label app.kubernetes.io/name=grafana")
            && wide.contains("-:33 ")
            && wide.contains("peerauthentication monitoring/obs-grafana-mtls"),
        "{wide}"
    );
    assert!(wide.lines().any(|l| l.chars().count() > 80));

    // The entry includes the workload.
    let dir = common::TempDir::new("explain-include");
    let custom = dir.write(
        "custom.yaml",
        &format!("apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: istio\n  components:\n    custom:\n    - {hint}\n"),
    );
    let (code, out, err) = gunj(
        &["explain", "-c", custom.to_str().unwrap(), "-"],
        unknown.as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines()
            .any(|l| l.contains("deployment monitoring/shipper  shipper")
                && l.ends_with("inject: istio sidecar")),
        "{out}"
    );
    assert!(!out.contains("not recognised"), "{out}");
}

/// Copies of a component that calls itself make n² flows: 500 Grafana Deployments (0.2 MB)
/// would make 250,000, and the verdicts of 5,000 took `check` 24 GB. `check` and `flows`
/// refuse past 200,000 with exit 2 and say why; the filter, which needs no verdicts, still
/// runs.
#[test]
fn check_and_flows_refuse_more_flows_than_they_evaluate() {
    let stream: String = (0..500)
        .map(|i| {
            format!(
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: grafana-{i}, namespace: monitoring, labels: {{app.kubernetes.io/name: grafana}}}}\nspec:\n  selector: {{matchLabels: {{app: grafana-{i}}}}}\n  template:\n    metadata: {{labels: {{app: grafana-{i}, app.kubernetes.io/name: grafana}}}}\n    spec: {{containers: [{{name: grafana, image: grafana/grafana:11.0.0, ports: [{{containerPort: 3000, name: http}}]}}]}}\n"
            )
        })
        .collect();
    let config = ["-c", "benches/all-features.yaml"];
    for command in ["check", "flows"] {
        let (code, out, err) = gunj(&[&[command], &config[..]].concat(), stream.as_bytes());
        assert_eq!(code, 2, "{command}: {err}");
        assert!(out.is_empty(), "{command}: {out}");
        assert!(
            err.contains("more than 200000 flows between them") && err.contains("hint:"),
            "{command}: {err}"
        );
    }
    let (code, out, err) = gunj(&[&["-q"], &config[..]].concat(), stream.as_bytes());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("name: grafana-499"));
}
