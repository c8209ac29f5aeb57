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
    assert!(text.contains(&format!("{STREAM}:33: document 3: deployment monitoring/obs-grafana (grafana) is not in the mesh")), "{text}");
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
    assert!(out.contains("--- input\n+++ gunj-mesh\n"), "{out}");
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
            "::error file={STREAM},line=33,title=gunj-mesh::deployment monitoring/obs-grafana"
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
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        STREAM
    );
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        33
    );
    // The rest validates against the schema.
    let Some(schema) = common::needs::tool("sarif-2.1.0.json") else {
        return;
    };
    if !common::needs::python3(&["jsonschema"]) {
        return;
    }
    let dir = tempdir();
    let log = dir.join("out.sarif");
    std::fs::write(&log, &out).unwrap();
    let status = std::process::Command::new("python3")
        .args(["-c", "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1]))); print('valid')"])
        .arg(&schema)
        .arg(&log)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "SARIF invalid: {}",
        String::from_utf8_lossy(&status.stderr)
    );
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
                let (raw, _, _) = gunj(&["check", "--mesh", mesh], &input);
                assert_eq!(
                    raw,
                    if changed { 1 } else { 0 },
                    "{} ({mesh})",
                    file.display()
                );
                failed_raw += usize::from(changed);
                let (own, report, _) = gunj(&["check", "--mesh", mesh], filtered.as_bytes());
                assert_eq!(
                    own,
                    0,
                    "{} ({mesh}) after filtering:\n{report}",
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
